//! Header rules of a proxy: hop-by-hop headers stay on their hop, and
//! `Host` follows the upstream's `pass_host`. (What the node learns of the
//! client, `X-Real-IP` and `X-Forwarded-*`: `upstream::Forwarded`.)

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::upstream::{h1, Node, PassHost};

/// Whether `name` is a hop-by-hop header (RFC 9110 7.6.1: never forwarded)
/// or `Transfer-Encoding` (each hop frames its body itself).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TRANSFER_ENCODING
        || name == header::TE
        || name == header::TRAILER
        || name == header::UPGRADE
        || name == header::PROXY_AUTHENTICATE
        || name == header::PROXY_AUTHORIZATION
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most requests carry none, most responses only `Connection`: one pass
    // over the names finds them, each is removed once.
    let Some(mut found) = headers.keys().find(|n| is_hop_by_hop(n)).cloned() else {
        return;
    };
    // Its usual tokens (close, keep-alive, upgrade) name no other header.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| h1::tokens(v.as_bytes()))
        .filter(|t| !h1::names_no_header(t))
        .filter_map(|n| HeaderName::from_bytes(n).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    loop {
        headers.remove(&found);
        match headers.keys().find(|n| is_hop_by_hop(n)) {
            Some(n) => found = n.clone(),
            None => return,
        }
    }
}

/// The host without its port (`[::1]:80` -> `::1`... kept in brackets, like
/// nginx's `$host`), lower case is left to the router.
pub fn host_only(raw: &[u8]) -> &[u8] {
    if raw.first() == Some(&b'[') {
        return match raw.iter().position(|&b| b == b']') {
            Some(end) => &raw[..=end],
            None => raw,
        };
    }
    match raw.iter().rposition(|&b| b == b':') {
        Some(i) if raw[i + 1..].iter().all(u8::is_ascii_digit) => &raw[..i],
        _ => raw,
    }
}

/// Sets `Host` for the node by `pass_host`; `pass` keeps the client's (or,
/// when the client sent none, uses the node's).
///
/// What `Host` was when it was replaced (`Some(None)`: there was none);
/// `None` when it was kept.
pub fn set_host(
    headers: &mut HeaderMap,
    pass: &PassHost,
    node: &Node,
) -> Option<Option<HeaderValue>> {
    let value = match pass {
        PassHost::Pass if headers.contains_key(header::HOST) => return None,
        PassHost::Pass | PassHost::Node => node.host_header.clone(),
        PassHost::Rewrite(h) => h.clone(),
    };
    Some(headers.insert(header::HOST, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named() {
        let mut h = HeaderMap::new();
        h.insert("connection", "close, x-secret".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("proxy-connection", "keep-alive".parse().unwrap());
        h.append("te", "trailers".parse().unwrap());
        h.append("te", "gzip".parse().unwrap());
        h.insert("x-keep", "1".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("x-keep"));
    }

    #[test]
    fn host_without_port() {
        assert_eq!(host_only(b"a.com:8080"), b"a.com");
        assert_eq!(host_only(b"a.com"), b"a.com");
        assert_eq!(host_only(b"[::1]:80"), b"[::1]");
        assert_eq!(host_only(b"a.com:x"), b"a.com:x");
    }
}
