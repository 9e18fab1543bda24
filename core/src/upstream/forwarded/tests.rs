use std::collections::BTreeMap;

use bytes::BytesMut;
use http::{HeaderMap, HeaderValue, Method, Uri};

use super::Forwarded;
use crate::upstream::h1::{encode_request, ReqFraming};

fn told(client: &str, host: &'static [u8]) -> Forwarded<'static> {
    Forwarded {
        client: client.parse().expect("an address"),
        port: 9080,
        host,
        proto: "http",
    }
}

#[test]
fn set_appends_and_keeps_a_trusted_proxys_claims() {
    let f = told("10.0.0.9", b"a.com");
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-for", "1.1.1.1".parse().expect("value"));
    f.set(&mut h);
    assert_eq!(h["x-forwarded-for"], "1.1.1.1, 10.0.0.9");
    assert_eq!(h["x-real-ip"], "10.0.0.9");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-port"], "9080");
    assert_eq!(h["x-forwarded-host"], "a.com");
    let mut h = HeaderMap::new();
    h.insert("x-real-ip", "1.1.1.1".parse().expect("value"));
    h.insert("x-forwarded-proto", "https".parse().expect("value"));
    f.set(&mut h);
    assert_eq!(h["x-real-ip"], "1.1.1.1");
    assert_eq!(h["x-forwarded-proto"], "https");
}

/// The head `encode_request` writes, as name -> values in order.
fn head_of(
    headers: &HeaderMap,
    forwarded: Option<&Forwarded<'_>>,
) -> BTreeMap<String, Vec<Vec<u8>>> {
    let uri = Uri::from_static("/a");
    let mut out = BytesMut::new();
    encode_request(
        &Method::GET,
        &uri,
        headers,
        forwarded,
        ReqFraming::None,
        false,
        &mut out,
    );
    let mut slots = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut slots);
    let parsed = req.parse(&out).expect("a valid head");
    assert!(parsed.is_complete());
    let mut lines: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for h in req.headers.iter() {
        lines
            .entry(h.name.to_ascii_lowercase())
            .or_default()
            .push(h.value.to_vec());
    }
    lines
}

#[test]
fn the_head_written_tells_the_node_what_set_headers_would() {
    let value = |v: &[u8]| HeaderValue::from_bytes(v).expect("value");
    let cases: Vec<Vec<(&str, &[u8])>> = vec![
        vec![],
        vec![("x-forwarded-for", b"1.1.1.1")],
        vec![
            ("x-forwarded-for", b"1.1.1.1"),
            ("accept", b"*/*"),
            ("x-forwarded-for", b"2.2.2.2, 3.3.3.3"),
        ],
        // A value that is not text is left out of the list, by both.
        vec![
            ("x-forwarded-for", b"\xff"),
            ("x-forwarded-for", b"4.4.4.4"),
        ],
        vec![("x-real-ip", b"5.5.5.5")],
        vec![("x-forwarded-proto", b"https")],
        vec![("x-forwarded-host", b"b.com")],
        vec![("x-forwarded-port", b"443")],
        vec![
            ("x-forwarded-for", b"6.6.6.6"),
            ("x-real-ip", b"6.6.6.6"),
            ("x-forwarded-proto", b"https"),
            ("x-forwarded-host", b"c.com"),
            ("x-forwarded-port", b"8443"),
            ("apikey", b"k"),
        ],
    ];
    let clients = [
        ("10.0.0.9", &b"a.com"[..]),
        ("2001:db8::7", b""),
        ("127.0.0.1", b"a\x01b"),
    ];
    for (client, host) in clients {
        let f = told(client, host);
        for case in &cases {
            let mut headers = HeaderMap::new();
            for (name, v) in case {
                headers.append(*name, value(v));
            }
            let written = head_of(&headers, Some(&f));
            let mut set = headers.clone();
            f.set(&mut set);
            assert_eq!(
                written,
                head_of(&set, None),
                "client {client}, headers {case:?}"
            );
        }
    }
    // And what that is, for two proxies before this one.
    let mut headers = HeaderMap::new();
    headers.append("x-forwarded-for", value(b"1.1.1.1"));
    headers.append("x-forwarded-for", value(b"2.2.2.2"));
    let head = head_of(&headers, Some(&told("10.0.0.9", b"a.com")));
    let one = |name: &str| head.get(name).map(|v| v.concat());
    assert_eq!(head["x-forwarded-for"].len(), 1);
    assert_eq!(
        one("x-forwarded-for").as_deref(),
        Some(&b"1.1.1.1, 2.2.2.2, 10.0.0.9"[..])
    );
    assert_eq!(one("x-real-ip").as_deref(), Some(&b"10.0.0.9"[..]));
    assert_eq!(one("x-forwarded-proto").as_deref(), Some(&b"http"[..]));
    assert_eq!(one("x-forwarded-host").as_deref(), Some(&b"a.com"[..]));
    assert_eq!(one("x-forwarded-port").as_deref(), Some(&b"9080"[..]));
}
