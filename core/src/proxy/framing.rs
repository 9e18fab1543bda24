//! Framing is the host's alone: how long a body is, and how it is
//! delimited, is computed from the body that is actually sent, towards
//! nodes (`upstream::h1` writes `Content-Length` or chunked from the
//! request body) and towards clients ([`response`]). A plugin's edit that
//! sets `Content-Length` or `Transfer-Encoding` is dropped by the request
//! state it edits (`RequestState::framing`) and logged here by the
//! plugin's name ([`after_plugin`]); its removal of them is fine, as the
//! host writes its own anyway. The plugin that gives a response its
//! `Content-Encoding` in header_filter is noted (`RequestState::encoders`):
//! the body filters then run it last, so that it encodes what the others
//! produced.

use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use hyper::body::Body as _;

use super::respond::Body;
use crate::plugin_host::{FramingEdits, Phase, RequestState};

/// After `plugin` ran `phase`: a warning naming it when it tried to set a
/// framing header (the edit was dropped); in header_filter, it joins the
/// request's encoders when it gave the response a `Content-Encoding`.
pub fn after_plugin(phase: Phase, plugin: &str, state: &mut RequestState) {
    let edits = std::mem::take(&mut state.framing);
    if edits == FramingEdits::default() {
        return;
    }
    if edits.encoded
        && phase == Phase::HeaderFilter
        && state
            .response_headers
            .contains_key(header::CONTENT_ENCODING)
    {
        state.encoders.push(plugin.to_owned());
    }
    for (refused, side) in [
        (edits.refused_request, "request"),
        (edits.refused_response, "response"),
    ] {
        if refused {
            tracing::warn!(plugin, side,
                "a plugin set Content-Length or Transfer-Encoding: ignored, the gateway frames bodies itself");
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
    use http::header::HeaderName;
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

    /// Sets request (or response) header `name: value` as a plugin does.
    fn plugin_sets(state: &mut RequestState, response: bool, name: &str, value: &str) {
        use radixgate_plugin::abi::RequestCtx;
        if response {
            state.set_response_header(name.into(), value.into());
        } else {
            state.add_header(name.into(), value.into());
        }
    }

    #[test]
    fn a_plugins_framing_is_dropped_and_its_removal_kept() {
        let mut state = RequestState::default();
        state
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        plugin_sets(&mut state, false, "Content-Length", "300");
        plugin_sets(&mut state, false, "transfer-encoding", "chunked");
        plugin_sets(&mut state, false, "x-kept", "1");
        assert_eq!(state.headers[header::CONTENT_LENGTH], "3");
        assert!(!state.headers.contains_key(header::TRANSFER_ENCODING));
        assert_eq!(state.headers["x-kept"], "1");
        let refused = FramingEdits {
            refused_request: true,
            ..FramingEdits::default()
        };
        assert_eq!(state.framing, refused);
        after_plugin(Phase::Rewrite, "evil", &mut state);
        assert_eq!(state.framing, FramingEdits::default(), "taken");
        // Removal is fine: the host writes its own.
        radixgate_plugin::abi::RequestCtx::remove_header(&mut state, "content-length".into());
        assert!(!state.headers.contains_key(header::CONTENT_LENGTH));
        plugin_sets(&mut state, true, "Content-Length", "1");
        assert!(state.response_headers.is_empty());
        assert!(state.framing.refused_response);
    }

    #[test]
    fn the_plugin_that_gives_the_response_its_content_encoding_is_noted() {
        let mut state = RequestState::default();
        // Request headers are not the response's.
        plugin_sets(&mut state, false, "content-encoding", "gzip");
        after_plugin(Phase::Rewrite, "request-side", &mut state);
        after_plugin(Phase::HeaderFilter, "untouched", &mut state);
        plugin_sets(&mut state, true, "content-encoding", "gzip");
        after_plugin(Phase::HeaderFilter, "encoder", &mut state);
        // Already encoded: changing it makes no second encoder.
        plugin_sets(&mut state, true, "content-encoding", "br");
        after_plugin(Phase::HeaderFilter, "later", &mut state);
        assert_eq!(state.encoders, ["encoder"]);
    }
}
