//! Framing is the host's alone: how long a body is, and how it is
//! delimited, is computed from the body that is actually sent, towards
//! nodes (`upstream::h1` writes `Content-Length` or chunked from the
//! request body) and towards clients ([`response`]). A plugin that sets
//! `Content-Length` or `Transfer-Encoding` is overruled and logged by
//! name ([`Guard`]); its removal of them is fine, as the host writes its
//! own anyway. The guard also notes the plugin that gives a response its
//! `Content-Encoding` (`RequestState::encoders`): the body filters then
//! run it last, so that it encodes what the others produced.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use hyper::body::Body as _;

use super::respond::Body;
use crate::plugin_host::{Phase, RequestState};

/// The framing headers of one header map before a plugin ran.
pub struct Guard {
    response: bool,
    length: Option<HeaderValue>,
    coding: Option<HeaderValue>,
    count: usize,
    /// The response had a `Content-Encoding` (header_filter only).
    encoded: bool,
}

/// Whether `name` is one only the host sets.
pub fn is_framing(name: &HeaderName) -> bool {
    name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING
}

fn count(map: &HeaderMap) -> usize {
    map.get_all(header::CONTENT_LENGTH).iter().count()
        + map.get_all(header::TRANSFER_ENCODING).iter().count()
}

impl Guard {
    /// Notes the framing headers a plugin in `phase` could change: the
    /// request's in rewrite, access and before_proxy, the response's in
    /// header_filter; `None` in the other phases.
    pub fn before(phase: Phase, state: &RequestState) -> Option<Guard> {
        let response = match phase {
            Phase::Rewrite | Phase::Access | Phase::BeforeProxy => false,
            Phase::HeaderFilter => true,
            _ => return None,
        };
        let map = if response {
            &state.response_headers
        } else {
            &state.headers
        };
        Some(Guard {
            response,
            length: map.get(header::CONTENT_LENGTH).cloned(),
            coding: map.get(header::TRANSFER_ENCODING).cloned(),
            count: count(map),
            encoded: response && map.contains_key(header::CONTENT_ENCODING),
        })
    }

    /// After `plugin` ran: framing headers it set or changed are put back
    /// as they were, with a warning naming it; a plugin that gave the
    /// response a `Content-Encoding` joins the request's encoders.
    pub fn after(self, plugin: &str, state: &mut RequestState) {
        if self.response
            && !self.encoded
            && state
                .response_headers
                .contains_key(header::CONTENT_ENCODING)
        {
            state.encoders.push(plugin.to_owned());
        }
        let map = if self.response {
            &mut state.response_headers
        } else {
            &mut state.headers
        };
        let length = map.get(header::CONTENT_LENGTH);
        let coding = map.get(header::TRANSFER_ENCODING);
        let same = length == self.length.as_ref()
            && coding == self.coding.as_ref()
            && count(map) == self.count;
        if same || (length.is_none() && coding.is_none()) {
            return;
        }
        tracing::warn!(plugin, side = if self.response { "response" } else { "request" },
            "a plugin set Content-Length or Transfer-Encoding: ignored, the gateway frames bodies itself");
        map.remove(header::CONTENT_LENGTH);
        map.remove(header::TRANSFER_ENCODING);
        if let Some(v) = self.length {
            map.insert(header::CONTENT_LENGTH, v);
        }
        if let Some(v) = self.coding {
            map.insert(header::TRANSFER_ENCODING, v);
        }
    }
}

/// The response's framing headers as its body says: no
/// `Transfer-Encoding` (the server chunks a body of unknown length
/// itself), `Content-Length` the body's exact length, or none when it is
/// not known. A response to `HEAD` and a `304` keep the length the node
/// gave (it describes a body not sent); a `204` and 1xx have none.
pub fn response(head: bool, resp: &mut Response<Body>) {
    let status = resp.status();
    let exact = resp.body().size_hint().exact();
    let headers = resp.headers_mut();
    headers.remove(header::TRANSFER_ENCODING);
    if status == StatusCode::NO_CONTENT || status.is_informational() {
        headers.remove(header::CONTENT_LENGTH);
        return;
    }
    if head || status == StatusCode::NOT_MODIFIED {
        return;
    }
    match exact {
        Some(n) => {
            let right = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                == Some(n);
            if !right {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
            }
        }
        None => {
            headers.remove(header::CONTENT_LENGTH);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{Either, Full};

    fn full(body: &'static str, headers: &[(&str, &str)]) -> Response<Body> {
        let mut r = Response::new(Either::Right(Either::Left(Full::new(Bytes::from(body)))));
        for (n, v) in headers {
            r.headers_mut().append(
                HeaderName::from_bytes(n.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        r
    }

    #[test]
    fn the_length_is_the_bodys() {
        let mut r = full(
            "hello",
            &[("content-length", "99"), ("transfer-encoding", "chunked")],
        );
        response(false, &mut r);
        assert_eq!(r.headers()["content-length"], "5");
        assert!(!r.headers().contains_key("transfer-encoding"));
        let mut r = full("", &[("content-length", "12")]);
        response(true, &mut r);
        assert_eq!(r.headers()["content-length"], "12", "HEAD keeps the node's");
        let mut r = full("", &[("content-length", "12")]);
        *r.status_mut() = StatusCode::NO_CONTENT;
        response(false, &mut r);
        assert!(!r.headers().contains_key("content-length"));
    }

    #[test]
    fn a_plugins_framing_is_put_back() {
        let mut state = RequestState::default();
        state
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        let g = Guard::before(Phase::Rewrite, &state).expect("guarded");
        state
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("300"));
        state.headers.append(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        g.after("evil", &mut state);
        assert_eq!(state.headers[header::CONTENT_LENGTH], "3");
        assert!(!state.headers.contains_key(header::TRANSFER_ENCODING));
        // Removal is fine: the host writes its own.
        let g = Guard::before(Phase::HeaderFilter, &state).expect("guarded");
        state
            .response_headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("1"));
        g.after("evil", &mut state);
        assert!(state.response_headers.is_empty());
        assert!(Guard::before(Phase::Log, &state).is_none());
    }

    #[test]
    fn the_plugin_that_gives_the_response_its_content_encoding_is_noted() {
        let mut state = RequestState::default();
        let coding = || HeaderValue::from_static("gzip");
        // Request headers are not the response's.
        let g = Guard::before(Phase::Rewrite, &state).expect("guarded");
        state.headers.insert(header::CONTENT_ENCODING, coding());
        g.after("request-side", &mut state);
        let g = Guard::before(Phase::HeaderFilter, &state).expect("guarded");
        g.after("untouched", &mut state);
        let g = Guard::before(Phase::HeaderFilter, &state).expect("guarded");
        state
            .response_headers
            .insert(header::CONTENT_ENCODING, coding());
        g.after("encoder", &mut state);
        // Already encoded: changing it makes no second encoder.
        let g = Guard::before(Phase::HeaderFilter, &state).expect("guarded");
        state
            .response_headers
            .insert(header::CONTENT_ENCODING, coding());
        g.after("later", &mut state);
        assert_eq!(state.encoders, ["encoder"]);
    }
}
