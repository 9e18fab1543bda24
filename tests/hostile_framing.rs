//! Framing and headers in hostile hands, against the real binary on real
//! sockets: a plugin-set `Content-Length` cannot smuggle a second request
//! onto a node's pooled connection; a node's response with both
//! `Transfer-Encoding` and `Content-Length` reaches the client whole;
//! headers a plugin sets reach the node whatever the client's `Connection`
//! names; an ambiguous `Host` or a bad escape in the path gets 400; and
//! `X-Forwarded-*` are believed from `trusted_addresses` only.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

use radixgate_test_support::{Connection, Gateway, Node, Request};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// One worker (so that requests share the node's pooled connection)
/// serving `/t` and `/after` from `port`, proxy-rewrite setting `headers`
/// on `/t` when given.
fn gateway(port: u16, headers: Option<&str>, gateway: &str) -> Gateway {
    let plugins = headers.map_or(String::new(), |h| {
        format!("    plugins:\n      proxy-rewrite: {{headers: {{set: {h}}}}}\n")
    });
    let apisix = format!(
        "routes:\n  - id: t\n    uri: /t\n{plugins}    upstream: {{nodes: {{\"127.0.0.1:{port}\": 1}}}}\n\
         \x20 - id: after\n    uri: /after\n    upstream: {{nodes: {{\"127.0.0.1:{port}\": 1}}}}\n#END\n"
    );
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["proxy-rewrite"])
        .gateway_yaml(gateway)
        .start()
}

#[test]
fn a_plugin_set_content_length_smuggles_no_request() {
    let node = Node::start("n");
    // The plugin claims an empty body; the client's body is a request.
    let gw = gateway(node.port, Some("{Content-Length: \"0\"}"), "");
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: n\r\n\r\n";
    let mut c = Connection::open(gw.port).expect("connect");
    let r = c
        .send(&Request::new("POST", "/t").body(smuggled))
        .expect("an answer");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.echoed("path").as_deref(), Some("/t"));
    assert!(
        r.body.contains("GET /smuggled"),
        "the body went as the body: {r:?}"
    );
    // A smuggled request would answer this one in its place.
    let next = c.send(&Request::get("/after")).expect("an answer");
    assert_eq!(next.echoed("path").as_deref(), Some("/after"), "{next:?}");
    assert_eq!(node.hits(), 2, "the node saw a request nobody sent");
    assert!(
        gw.log().contains("proxy-rewrite") && gw.log().contains("ignored"),
        "the plugin is named:\n{}",
        gw.log()
    );
}

/// A node answering each request with `head` then `body`, then closing.
fn raw_node(head: &'static str, body: &'static str) -> u16 {
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
                let _ = out.write_all(head.as_bytes());
                let _ = out.write_all(body.as_bytes());
            });
        }
    });
    port
}

#[test]
fn a_node_sending_both_framings_reaches_the_client_whole() {
    let port = raw_node(
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "5\r\nhello\r\n13\r\n, the whole body.\r\n\r\n0\r\n\r\n",
    );
    let gw = gateway(port, None, "");
    let mut c = Connection::open(gw.port).expect("connect");
    let r = c.send(&Request::get("/t")).expect("an answer");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-length"), None, "{r:?}");
    assert!(
        r.body.contains("hello") && r.body.contains("the whole body."),
        "{r:?}"
    );
}

#[test]
fn headers_a_plugin_sets_reach_the_node_whatever_connection_names() {
    let node = Node::start("n");
    let gw = gateway(node.port, Some("{X-Api: plugin}"), "");
    let r = Request::get("/t")
        .header("Connection", "keep-alive, X-Api, X-Client")
        .header("X-Client", "hop")
        .send(gw.port)
        .expect("an answer");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.echoed("x-api").as_deref(), Some("plugin"), "{r:?}");
    assert_eq!(
        r.echoed("x-client"),
        None,
        "a header the client named stays on its hop"
    );
    assert_eq!(r.echoed("connection"), None);
}

#[test]
fn an_ambiguous_host_or_a_bad_escape_gets_400() {
    let node = Node::start("n");
    let gw = gateway(node.port, None, "");
    let two = Request::get("/t")
        .header("Host", "a.example")
        .header("Host", "b.example")
        .send(gw.port)
        .expect("an answer");
    assert_eq!(two.status, 400, "{two:?}");
    let absolute = Request::get("http://a.example/t")
        .header("Host", "b.example")
        .send(gw.port)
        .expect("an answer");
    assert_eq!(absolute.status, 400, "{absolute:?}");
    let agreeing = Request::get("http://a.example/t")
        .header("Host", "a.example")
        .send(gw.port)
        .expect("an answer");
    assert_eq!(agreeing.status, 200, "{agreeing:?}");
    // Kept, the `%` would join the decoded `%36%31` into `%61`: `/admin`
    // for the node, a path no route saw.
    let escape = Request::get("/%%36%31dmin")
        .send(gw.port)
        .expect("an answer");
    assert_eq!(escape.status, 400, "{escape:?}");
    assert_eq!(node.hits(), 1);
}

#[test]
fn forwarded_headers_are_believed_from_trusted_addresses_only() {
    let node = Node::start("n");
    let claims = [
        ("X-Forwarded-For", "6.6.6.6"),
        ("X-Real-IP", "6.6.6.6"),
        ("X-Forwarded-Proto", "https"),
    ];
    let untrusted = gateway(node.port, None, "  trusted_addresses: [10.0.0.0/8]\n");
    let r = untrusted.get("/t", &claims);
    assert_eq!(
        r.echoed("x-forwarded-for").as_deref(),
        Some("127.0.0.1"),
        "{r:?}"
    );
    assert_eq!(r.echoed("x-real-ip").as_deref(), Some("127.0.0.1"));
    assert_eq!(r.echoed("x-forwarded-proto").as_deref(), Some("http"));
    let trusted = gateway(node.port, None, "  trusted_addresses: [127.0.0.1]\n");
    let r = trusted.get("/t", &claims);
    assert_eq!(
        r.echoed("x-forwarded-for").as_deref(),
        Some("6.6.6.6, 127.0.0.1"),
        "{r:?}"
    );
    assert_eq!(r.echoed("x-real-ip").as_deref(), Some("6.6.6.6"));
    assert_eq!(r.echoed("x-forwarded-proto").as_deref(), Some("https"));
}

/// An answer that says `Connection: close` (a 400 for an ambiguous `Host`)
/// ends the connection: a request pipelined behind the refused one is
/// not read, as the client was told.
#[test]
fn a_refusal_that_says_close_ends_the_connection() {
    let node = Node::start("n");
    let gw = gateway(node.port, None, "");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", gw.port)).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(
        b"GET /t HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n\
          GET /t HTTP/1.1\r\nHost: a.example\r\n\r\n",
    )
    .expect("send");
    let mut answer = Vec::new();
    let read = std::io::Read::read_to_end(&mut s, &mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "{read:?}\n{text}");
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert!(text.contains("connection: close\r\n"), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    assert_eq!(node.hits(), 0);
}
