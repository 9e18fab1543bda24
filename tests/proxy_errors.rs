//! End to end: what the gateway answers when a node hangs or hangs up, and
//! when a client sends something it must refuse. The process keeps serving
//! after each.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use radixgate_test_support::{bad_upstream, free_port, get, request, Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

fn gateway() -> (Gateway, Node) {
    let ok = Node::start("ok");
    let hang = bad_upstream(true);
    let close = bad_upstream(false);
    let dead = free_port();
    let gw = Gateway::start_file(
        BIN,
        &format!(
            r#"routes:
  - id: ok
    uri: /ok/*
    upstream: {{nodes: {{"{ok}": 1}}}}
  - id: hang
    uri: /hang
    timeout: {{connect: 0.5, send: 0.5, read: 0.5}}
    upstream: {{nodes: {{"127.0.0.1:{hang}": 1}}}}
  - id: close
    uri: /close
    upstream: {{nodes: {{"127.0.0.1:{close}": 1}}}}
  - id: none
    uri: /none
    upstream: {{nodes: {{}}}}
  - id: retry
    uri: /retry
    upstream: {{nodes: {{"127.0.0.1:{dead}": 1, "{ok}": 1}}}}
  - id: no-retry
    uri: /no-retry
    upstream: {{nodes: {{"127.0.0.1:{dead}": 1, "{ok}": 1}}, retries: 0}}
#END
"#,
            ok = ok.addr()
        ),
    );
    (gw, ok)
}

fn raw(port: u16, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn node_failures_are_json_errors() {
    let (mut gw, _ok) = gateway();
    let p = gw.port;
    let t = Instant::now();
    let r = get(p, "/hang");
    assert_eq!(r.status, 504, "{r:?}");
    assert_eq!(r.body, r#"{"error_msg":"504 Gateway Timeout"}"#);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let r = get(p, "/close");
    assert_eq!(r.status, 502, "{r:?}");
    assert!(r.body.contains("502"), "{r:?}");
    let r = get(p, "/none");
    assert_eq!(r.status, 502, "{r:?}");
    assert!(r.body.contains("no available node"), "{r:?}");
    assert_eq!(get(p, "/ok/x").status, 200);
    assert!(gw.alive());
    assert!(gw.log().contains("forwarding failed"), "errors are logged");
}

#[test]
fn bodyless_requests_retry_on_another_node_after_a_failed_connect() {
    let (gw, ok) = gateway();
    let p = gw.port;
    let statuses: Vec<u16> = (0..6).map(|_| get(p, "/retry").status).collect();
    assert_eq!(statuses, vec![200; 6]);
    assert_eq!(ok.hits(), 6);
    // retries: 0 -> the dead node's turns fail.
    let statuses: Vec<u16> = (0..4).map(|_| get(p, "/no-retry").status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 502).count(),
        2,
        "{statuses:?}"
    );
    // A request with a body whose connect failed was not sent at all: it
    // goes to the other node too (bodies are never sent twice: see
    // upstream_client.rs for a node that hangs up mid-request).
    let statuses: Vec<u16> = (0..4)
        .map(|_| {
            let out = raw(
                p,
                b"POST /retry HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
            );
            out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
        })
        .collect();
    assert_eq!(statuses, vec![200; 4]);
}

#[test]
fn slow_clients_are_cut_off() {
    let (gw, _ok) = gateway();
    // Half a request head, then nothing: cut off after header_read_timeout (2 s).
    let mut s = TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /ok/x HTTP/1.1\r\nHost: x\r\n").unwrap();
    let t = Instant::now();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(1500),
        "cut off too early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(6), "not cut off: {waited:?}");
    let text = String::from_utf8_lossy(&out);
    assert!(out.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    assert_eq!(get(gw.port, "/ok/after").status, 200);
}

#[test]
fn bad_requests_are_refused_and_nothing_breaks() {
    let (mut gw, ok) = gateway();
    let p = gw.port;
    // A path that climbs above the root.
    let r = get(p, "/ok/../../etc/passwd");
    assert_eq!(r.status, 400, "{r:?}");
    // Dot segments and unreserved escapes are resolved before matching, and
    // the node gets the path that was matched.
    let r = get(p, "/hang/../ok/%61b");
    assert_eq!(
        (r.status, r.echoed("path").as_deref()),
        (200, Some("/ok/ab")),
        "{r:?}"
    );
    // An oversized head: 431.
    let big = "a".repeat(200_000);
    let r = request(p, "GET", "/ok/x", &[("X-Big", &big)]).unwrap();
    assert_eq!(r.status, 431, "{:?}", r.status);
    // A request target longer than max_uri_size (8192): 414.
    let long = format!("/ok/{}", "a".repeat(9000));
    let r = get(p, &long);
    assert_eq!(r.status, 414, "{:?}", r.status);
    assert!(r.body.contains("414"), "{r:?}");
    // Not HTTP at all: 400.
    assert!(raw(p, b"GARBAGE\r\n\r\n").starts_with("HTTP/1.1 400"));
    // A header value with bytes that are not text passes as bytes.
    let out = raw(
        p,
        b"GET /ok/bin HTTP/1.1\r\nHost: x\r\nX-Bin: \xff\xfe\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    // A Host header that is not a host, and vars that read odd input.
    let r = request(
        p,
        "GET",
        "/ok/h?a=%zz&&=&b",
        &[("Host", "[::1"), ("Cookie", ";;=;a")],
    )
    .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(gw.alive());
    assert_eq!(get(p, "/ok/still").status, 200);
    assert!(ok.hits() >= 3);
}
