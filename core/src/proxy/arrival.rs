//! The arrival step, before any other step reads the request: a request
//! whose `Host` is ambiguous gets 400 (two `Host` headers, or one that
//! disagrees with an absolute-form target: the router and the node could
//! read different hosts); a body declared larger than
//! `client_max_body_size` gets 413 before any of it is read; the
//! hop-by-hop headers, and those the client's `Connection` names, are
//! removed once, here, so that no client can remove what a plugin sets
//! later; and `X-Forwarded-*` / `X-Real-IP` are kept only from
//! `trusted_addresses`.

use http::header::{self, HeaderMap, HeaderValue};
use http::uri::{Authority, Scheme, Uri};
use http::{Request, Response, StatusCode};

use super::client_body::ClientBody;
use super::exchange::Exchange;
use super::headers::strip_hop_by_hop;
use super::respond::{self, Answer, Body};
use super::upgrade;
use crate::upstream::FORWARDED;

/// Checks and cleans `req` as it arrives; the answer when it is refused.
pub fn admit(ex: &mut Exchange<'_>, req: &mut Request<ClientBody>) -> Result<(), Answer> {
    let (host, more) = ex.host_sent();
    if let Err(why) = check_host(host, more, req.uri()) {
        tracing::info!(client = %ex.conn.remote, why, "request refused");
        return Err(Box::new(closing(
            StatusCode::BAD_REQUEST,
            "400 Bad Request",
        )));
    }
    if req.body().declared_too_large() {
        let msg = "413 Request Entity Too Large";
        return Err(Box::new(closing(StatusCode::PAYLOAD_TOO_LARGE, msg)));
    }
    ex.websocket = upgrade::websocket_requested(req.headers());
    strip_hop_by_hop(req.headers_mut());
    let ip = ex.conn.remote.ip();
    if !ex.worker.trusted.iter().any(|t| t.contains(&ip)) {
        drop_forwarded(req.headers_mut());
    }
    Ok(())
}

/// Why the request's host is ambiguous, if it is: `host` is its (first)
/// `Host` header, `more` whether it had another, `target` its target.
fn check_host(host: Option<&[u8]>, more: bool, target: &Uri) -> Result<(), &'static str> {
    if more {
        return Err("more than one Host header");
    }
    match (host, target.authority()) {
        (Some(h), Some(a)) if !same_authority(h, a, target.scheme()) => {
            Err("Host disagrees with the absolute-form target")
        }
        _ => Ok(()),
    }
}

/// Whether a `Host` and the target's authority (an absolute-form target,
/// or HTTP/2's `:authority`) say the same, case aside and the default
/// port of the target's scheme (`:80`, or `:443` for `https`) left out.
fn same_authority(host: &[u8], target: &Authority, scheme: Option<&Scheme>) -> bool {
    let port: &[u8] = if scheme == Some(&Scheme::HTTPS) {
        b":443"
    } else {
        b":80"
    };
    let norm = |x: &[u8]| {
        x.strip_suffix(port)
            .map_or_else(|| x.to_vec(), <[u8]>::to_vec)
    };
    norm(host).eq_ignore_ascii_case(&norm(target.as_str().as_bytes()))
}

/// Removes what an untrusted client claimed about who it is.
fn drop_forwarded(headers: &mut HeaderMap) {
    // Most requests carry none: one pass over the names finds any, where
    // each removal would hash its name.
    if !headers.keys().any(|n| FORWARDED.contains(n)) {
        return;
    }
    for name in &FORWARDED {
        headers.remove(name);
    }
}

/// An error answer after which the connection closes (the request's body
/// is not read).
pub fn closing(status: StatusCode, msg: &str) -> Response<Body> {
    let mut resp = respond::error(status, msg);
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check_host` for a request to `target` with `hosts` as its `Host`
    /// headers.
    fn check(target: &str, hosts: &[&str]) -> Result<(), &'static str> {
        let target: Uri = target.parse().expect("a target");
        let first = hosts.first().map(|h| h.as_bytes());
        check_host(first, hosts.len() > 1, &target)
    }

    #[test]
    fn one_host_that_agrees_with_the_target() {
        assert!(check("/a", &["a.com"]).is_ok());
        assert!(check("/a", &[]).is_ok());
        assert!(check("http://A.com/a", &["a.com:80"]).is_ok());
        assert!(check("http://a.com:8080/a", &["a.com:8080"]).is_ok());
        assert!(check("http://a.com/a", &[]).is_ok());
        assert!(check("/a", &["a.com", "b.com"]).is_err());
        assert!(check("/a", &["a.com", "a.com"]).is_err());
        assert!(check("http://a.com/a", &["b.com"]).is_err());
        assert!(check("http://a.com:81/a", &["a.com"]).is_err());
        // HTTP/2's :authority beside a Host header, over TLS.
        assert!(check("https://a.com:443/a", &["a.com"]).is_ok());
        assert!(check("https://a.com/a", &["a.com:80"]).is_err());
    }

    #[test]
    fn untrusted_forwarded_headers_go() {
        let mut h = HeaderMap::new();
        for name in &FORWARDED {
            h.insert(name, HeaderValue::from_static("6.6.6.6"));
        }
        h.insert("x-keep", HeaderValue::from_static("1"));
        drop_forwarded(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
    }
}
