//! The native HTTP/1.1 server (`gateway.http1_server: native`) on what
//! only an HTTP/1.1 server decides, against the real binary, a real node
//! and raw sockets: pipelined requests answered in order on one
//! connection, a chunked body decoded, `Expect: 100-continue`, an
//! unread body dropped so that the connection serves the next request,
//! request framing that two parsers could read two ways refused with 400,
//! a response of unknown length chunked to HTTP/1.1 clients and delimited
//! by the close for HTTP/1.0 ones, and `HEAD`; and that `hyper` can still
//! be chosen. The limits and timeouts are the other suites'
//! (hostile_clients, proxy_errors, timeouts, ...), which run on the
//! default server, the native one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use radixgate_test_support::{Connection, Gateway, Node, Request};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// One worker on the native server, `/t*` to the node on `port`.
fn gateway(port: u16) -> Gateway {
    let apisix = format!(
        "routes:\n  - id: t\n    uri: /t*\n    upstream: {{nodes: {{\"127.0.0.1:{port}\": 1}}}}\n#END\n"
    );
    Gateway::file(BIN, &apisix)
        .workers(1)
        .gateway_yaml("  http1_server: native\n")
        .start()
}

/// A connection to `port` that gives up reading after 5 s.
fn open(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s
}

/// Everything `s` receives until the peer closes (or 5 s of silence).
fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn pipelined_requests_are_answered_in_order_on_one_connection() {
    let node = Node::start("n");
    let gw = gateway(node.port);
    let mut s = open(gw.port);
    // Three requests in one write: the second waits in the read buffer
    // while the first (with a body) is served.
    s.write_all(
        b"POST /t/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
          GET /t/b HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /t/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("write");
    let out = read_all(&mut s);
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 3, "{out}");
    let (a, b, c) = (
        out.find("path=/t/a").expect("a answered"),
        out.find("path=/t/b").expect("b answered"),
        out.find("path=/t/c").expect("c answered"),
    );
    assert!(a < b && b < c, "answered in order: {out}");
    assert!(out.contains("body=hello"), "{out}");
    assert_eq!(node.hits(), 3);
}

/// A node that reads a chunked request body to its last chunk and
/// answers with the bytes it received on the wire.
fn chunk_echo_node() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for s in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut reader = BufReader::new(s.try_clone().expect("clone"));
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut wire = Vec::new();
                while !wire.ends_with(b"\r\n0\r\n\r\n") && !wire.starts_with(b"0\r\n\r\n") {
                    let mut l = Vec::new();
                    if reader.read_until(b'\n', &mut l).unwrap_or(0) == 0 {
                        return;
                    }
                    wire.extend_from_slice(&l);
                }
                let mut out = s;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", wire.len());
                let _ = out.write_all(head.as_bytes());
                let _ = out.write_all(&wire);
            });
        }
    });
    port
}

#[test]
fn a_chunked_body_is_decoded_and_sent_on_whole() {
    let gw = gateway(chunk_echo_node());
    let mut s = open(gw.port);
    // Chunk extensions and trailers are read and dropped.
    s.write_all(
        b"POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    )
    .expect("write");
    let out = read_all(&mut s);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let body = &out[out.find("\r\n\r\n").expect("a head") + 4..];
    let data: String = body
        .split("\r\n")
        .filter(|l| l.len() > 1 && !l.chars().all(|c| c.is_ascii_hexdigit()))
        .collect();
    assert_eq!(data, "hello world", "{out}");
    assert!(
        !out.contains("ext=1") && !out.contains("X-Trailer"),
        "{out}"
    );
}

#[test]
fn expect_100_continue_gets_continue_before_the_body_is_sent() {
    let node = Node::start("n");
    let gw = gateway(node.port);
    let s = open(gw.port);
    let mut w = s.try_clone().expect("clone");
    let mut r = BufReader::new(s);
    w.write_all(
        b"PUT /t/up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .expect("write head");
    let mut line = String::new();
    r.read_line(&mut line)
        .expect("an interim answer before the body");
    assert_eq!(line, "HTTP/1.1 100 Continue\r\n");
    line.clear();
    r.read_line(&mut line).expect("its end");
    assert_eq!(line, "\r\n");
    w.write_all(b"hello").expect("write body");
    line.clear();
    r.read_line(&mut line).expect("the response");
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    assert_eq!(node.bodies(), ["hello"]);
}

#[test]
fn an_unread_body_is_dropped_and_the_connection_serves_the_next_request() {
    let node = Node::start("n");
    let gw = gateway(node.port);
    let mut c = Connection::open(gw.port).expect("connect");
    // No route: answered before a byte of the body is read.
    let body = "x".repeat(200_000);
    let r = c
        .send(&Request::new("POST", "/nowhere").body(body.as_str()))
        .expect("an answer");
    assert_eq!(r.status, 404, "{r:?}");
    let r = c.send(&Request::get("/t/next")).expect("the next answer");
    assert_eq!(
        (r.status, r.echoed("path").as_deref()),
        (200, Some("/t/next"))
    );
}

#[test]
fn framing_two_parsers_could_read_two_ways_gets_400() {
    let node = Node::start("n");
    let gw = gateway(node.port);
    let heads: [&[u8]; 4] = [
        b"POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd",
        b"POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"GET /t HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
    ];
    for head in heads {
        let mut s = open(gw.port);
        s.write_all(head).expect("write");
        let out = read_all(&mut s);
        assert!(
            out.starts_with("HTTP/1.1 400"),
            "{:?} -> {out}",
            String::from_utf8_lossy(head)
        );
    }
    assert_eq!(node.hits(), 0, "the node saw none of them");
    // A chunk size that is not hex breaks the body: 400, and the
    // connection closes (what follows cannot be framed).
    let mut s = open(gw.port);
    s.write_all(
        b"POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    )
    .expect("write");
    let out = read_all(&mut s);
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
}

/// A node answering every request with a body of unknown length: no
/// `Content-Length`, the end marked by its close.
fn closing_node() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for s in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut reader = BufReader::new(s.try_clone().expect("clone"));
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut out = s;
                let _ = out.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                let _ = out.write_all(b"a body of unknown length");
            });
        }
    });
    port
}

#[test]
fn a_body_of_unknown_length_is_chunked_or_closed_as_the_client_speaks() {
    let gw = gateway(closing_node());
    let mut c = Connection::open(gw.port).expect("connect");
    let r = c.send(&Request::get("/t")).expect("an answer");
    assert_eq!(r.header("transfer-encoding"), Some("chunked"), "{r:?}");
    assert!(r.body.contains("a body of unknown length"), "{r:?}");
    // The connection is still usable after the chunked body.
    let r = c.send(&Request::get("/t")).expect("a second answer");
    assert_eq!(r.status, 200, "{r:?}");
    let mut s = open(gw.port);
    s.write_all(b"GET /t HTTP/1.0\r\nHost: x\r\n\r\n")
        .expect("write");
    let out = read_all(&mut s);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(!out.contains("transfer-encoding"), "{out}");
    assert!(out.ends_with("\r\n\r\na body of unknown length"), "{out}");
}

#[test]
fn head_gets_the_length_and_no_body() {
    let node = Node::start_named("n");
    let gw = gateway(node.port);
    let mut s = open(gw.port);
    s.write_all(
        b"HEAD /t HTTP/1.1\r\nHost: x\r\n\r\nGET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("write");
    let out = read_all(&mut s);
    let (head, get) = out.split_at(out.rfind("HTTP/1.1 200").expect("two answers"));
    assert!(head.starts_with("HTTP/1.1 200"), "{out}");
    assert!(head.contains("content-length: 1\r\n"), "{out}");
    assert!(
        head.ends_with("\r\n\r\n"),
        "no body after HEAD's head: {out}"
    );
    assert!(get.ends_with("\r\n\r\nn"), "{out}");
}

#[test]
fn the_hyper_server_still_serves_when_chosen() {
    let node = Node::start("n");
    let apisix = format!(
        "routes:\n  - id: t\n    uri: /t*\n    upstream: {{nodes: {{\"127.0.0.1:{}\": 1}}}}\n#END\n",
        node.port
    );
    let gw = Gateway::file(BIN, &apisix)
        .workers(1)
        .gateway_yaml("  http1_server: hyper\n")
        .start();
    let mut c = Connection::open(gw.port).expect("connect");
    let r = c
        .send(&Request::new("POST", "/t/a").body("hello"))
        .expect("an answer");
    assert_eq!(
        (r.status, r.echoed("body").as_deref()),
        (200, Some("hello"))
    );
    let r = c.send(&Request::get("/t/b")).expect("a second answer");
    assert_eq!(r.echoed("path").as_deref(), Some("/t/b"), "{r:?}");
}
