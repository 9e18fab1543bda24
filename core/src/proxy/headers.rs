//! Header rules of a proxy: hop-by-hop headers stay on their hop, the node
//! learns who the client is (`X-Real-IP`, `X-Forwarded-*`), and `Host`
//! follows the upstream's `pass_host`.

use std::net::SocketAddr;

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

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");

/// The headers that say who the client is and how it came in: set for the
/// node here, believed from a client only at a trusted address
/// (`arrival`).
pub const FORWARDED: [HeaderName; 5] = [
    X_FORWARDED_FOR,
    X_REAL_IP,
    X_FORWARDED_PROTO,
    X_FORWARDED_HOST,
    X_FORWARDED_PORT,
];

/// Sets what the node is told about the client and the hop it came in on.
/// `X-Forwarded-For` gets the client appended to what earlier proxies
/// reported; `X-Real-IP`, `X-Forwarded-Proto`, `-Host` and `-Port` are set
/// unless the request carries them already (from a trusted proxy: the
/// arrival step removed an untrusted client's, or a plugin's own).
/// `proto` is the client's scheme (`http`, `https`).
pub fn set_forwarded(
    headers: &mut HeaderMap,
    client: SocketAddr,
    local: SocketAddr,
    host: &[u8],
    proto: &'static str,
) {
    // Which of them the request carries, in one pass over the names: most
    // carry none, and each lookup would hash its name.
    let mut has = [false; 5];
    for name in headers.keys() {
        if let Some(i) = FORWARDED.iter().position(|f| f == name) {
            has[i] = true;
        }
    }
    let [has_for, has_real_ip, has_proto, has_host, has_port] = has;
    let ip_text = radixgate_plugin::IpText::new(client.ip());
    let ip = ip_text.as_bytes();
    let ip_value = HeaderValue::from_bytes(ip).ok();
    // Append to what earlier proxies reported, as nginx's $proxy_add_x_forwarded_for.
    let xff = if has_for {
        let mut xff = Vec::with_capacity(64);
        for v in headers.get_all(&X_FORWARDED_FOR).iter() {
            if v.to_str().is_ok() {
                xff.extend_from_slice(v.as_bytes());
                xff.extend_from_slice(b", ");
            }
        }
        xff.extend_from_slice(ip);
        HeaderValue::from_bytes(&xff).ok()
    } else {
        ip_value.clone()
    };
    if let Some(v) = xff {
        headers.insert(X_FORWARDED_FOR, v);
    }
    if let (false, Some(v)) = (has_real_ip, ip_value) {
        headers.insert(X_REAL_IP, v);
    }
    if !has_proto {
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    }
    if !has_host && !host.is_empty() {
        if let Ok(v) = HeaderValue::from_bytes(host) {
            headers.insert(X_FORWARDED_HOST, v);
        }
    }
    if !has_port {
        headers.insert(X_FORWARDED_PORT, HeaderValue::from(local.port()));
    }
}

/// Sets `Host` for the node by `pass_host`; `pass` keeps the client's (or,
/// when the client sent none, uses the node's).
pub fn set_host(headers: &mut HeaderMap, pass: &PassHost, node: &Node) {
    let value = match pass {
        PassHost::Pass if headers.contains_key(header::HOST) => return,
        PassHost::Pass | PassHost::Node => node.host_header.clone(),
        PassHost::Rewrite(h) => h.clone(),
    };
    headers.insert(header::HOST, value);
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

    #[test]
    fn forwarded_appends() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.1.1.1".parse().unwrap());
        let client = "10.0.0.9:1234".parse().unwrap();
        let local = "127.0.0.1:9080".parse().unwrap();
        set_forwarded(&mut h, client, local, b"a.com", "http");
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 10.0.0.9");
        assert_eq!(h["x-real-ip"], "10.0.0.9");
        assert_eq!(h["x-forwarded-port"], "9080");
        assert_eq!(h["x-forwarded-host"], "a.com");
        // A trusted proxy's own claims stay.
        let mut h = HeaderMap::new();
        h.insert("x-real-ip", "1.1.1.1".parse().unwrap());
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        set_forwarded(&mut h, client, local, b"a.com", "http");
        assert_eq!(h["x-real-ip"], "1.1.1.1");
        assert_eq!(h["x-forwarded-proto"], "https");
    }
}
