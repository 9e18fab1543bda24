//! Outbound HTTP from a waiting plugin phase (`test-wait`'s `http`
//! config) through the real gateway: the plugin answers with what a local
//! node answered, over a kept-alive connection reused by the next call;
//! a node that never answers costs the plugin its budget, then an error
//! (its own 502), never a hung request; an https node with a certificate
//! of no trusted CA is reached when the call does not verify, refused when
//! it does; a body over 8 MiB (declared, or streamed in chunks) is an
//! error, 8 MiB an answer.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use radixgate_test_support::{bad_upstream, Gateway, Node};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A one-worker gateway whose route `/call` runs `test-wait` with
/// `config` (YAML flow map) in front of `node`.
fn gateway(node: &Node, config: &str) -> Gateway {
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n  \
         - {{id: call, uri: /call, upstream_id: u, plugins: {{test-wait: {config}}}}}\n#END\n",
        node.addr()
    );
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["test-wait"])
        .start()
}

#[test]
fn a_plugin_answers_with_what_a_local_node_answered() {
    let upstream = Node::start("upstream");
    let called = Node::start("called");
    called.set_status_of("/answer", 203);
    let url = format!("http://{}/answer?q=1", called.addr());
    let gw = gateway(&upstream, &format!("{{http: \"{url}\"}}"));

    let r = gw.get("/call", &[]);
    assert_eq!(r.status, 203, "{r:?}\n{}", gw.log());
    // The called node's echo: the plugin's GET, with the Host the URL names.
    assert!(r.body.contains("upstream=called\n"), "{}", r.body);
    assert!(
        r.body.contains("method=GET\npath=/answer?q=1\n"),
        "{}",
        r.body
    );
    let host = format!("host: {}\n", called.addr());
    assert!(r.body.contains(&host), "{}", r.body);
    assert_eq!(
        upstream.hits(),
        0,
        "the plugin answered; the route's node saw nothing"
    );

    // The next call goes over the same kept-alive connection.
    let r = gw.get("/call", &[]);
    assert_eq!(r.status, 203, "{r:?}");
    assert_eq!(called.hits(), 2);
    assert_eq!(
        called.connections(),
        1,
        "the host's connection was not reused"
    );
}

#[test]
fn a_node_that_never_answers_fails_the_call_within_its_budget() {
    let upstream = Node::start("upstream");
    let port = bad_upstream(true);
    let url = format!("http://127.0.0.1:{port}/hang");
    let gw = gateway(
        &upstream,
        &format!("{{http: \"{url}\", http_timeout_ms: 300}}"),
    );

    let started = Instant::now();
    let r = gw.get("/call", &[]);
    let took = started.elapsed();
    assert_eq!(r.status, 502, "{r:?}\n{}", gw.log());
    assert!(
        r.body.contains("no complete answer within 300ms"),
        "{}",
        r.body
    );
    assert!(r.body.contains(&url), "the error names the URL: {}", r.body);
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_refused_connection_is_the_plugin_s_error() {
    let upstream = Node::start("upstream");
    // A port nothing listens on: bound, then released.
    let port = radixgate_test_support::free_port();
    let url = format!("http://127.0.0.1:{port}/x");
    let gw = gateway(&upstream, &format!("{{http: \"{url}\"}}"));
    let r = gw.get("/call", &[]);
    assert_eq!(r.status, 502, "{r:?}\n{}", gw.log());
    assert!(r.body.contains("connecting to 127.0.0.1"), "{}", r.body);
}

/// An https node with a self-signed certificate for 127.0.0.1, answering
/// each connection's one request with 200 `tls node`; its port.
fn tls_node() -> u16 {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .expect("a self-signed certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server config");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the TLS node");
    let port = listener.local_addr().expect("its address").port();
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = config.clone();
            thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let resp =
                    "HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\ntls node";
                let _ = tls.write_all(resp.as_bytes());
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    port
}

#[test]
fn https_is_reached_without_verification_and_refused_with_it() {
    let upstream = Node::start("upstream");
    let port = tls_node();
    let url = format!("https://127.0.0.1:{port}/t");
    let gw = gateway(
        &upstream,
        &format!("{{http: \"{url}\", http_insecure: true}}"),
    );
    let r = gw.get("/call", &[]);
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "tls node"),
        "{r:?}\n{}",
        gw.log()
    );

    let gw = gateway(&upstream, &format!("{{http: \"{url}\"}}"));
    let r = gw.get("/call", &[]);
    assert_eq!(r.status, 502, "{r:?}");
    assert!(
        r.body.contains("TLS handshake with 127.0.0.1"),
        "{}",
        r.body
    );
    assert!(r.body.contains("certificate"), "{}", r.body);
}

/// A node answering each connection's request with `head` and then
/// `chunks` of 1 MiB in chunked coding (none: nothing after the head); its
/// port.
fn raw_node(head: &'static str, chunks: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the raw node");
    let port = listener.local_addr().expect("its address").port();
    thread::spawn(move || {
        for mut tcp in listener.incoming().flatten() {
            thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf);
                let _ = tcp.write_all(head.as_bytes());
                let chunk = vec![b'x'; 1 << 20];
                for _ in 0..chunks {
                    let framed = tcp
                        .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                        .and_then(|()| tcp.write_all(&chunk))
                        .and_then(|()| tcp.write_all(b"\r\n"));
                    if framed.is_err() {
                        return;
                    }
                }
                let _ = tcp.write_all(b"0\r\n\r\n");
                // Held open until the gateway closes it.
                let _ = tcp.read(&mut buf);
            });
        }
    });
    port
}

#[test]
fn a_body_over_8_mib_is_the_plugin_s_error() {
    let upstream = Node::start("upstream");
    let declared = raw_node("HTTP/1.1 200 OK\r\ncontent-length: 8388609\r\n\r\n", 0);
    let streamed = raw_node("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", 9);
    for port in [declared, streamed] {
        let url = format!("http://127.0.0.1:{port}/big");
        let gw = gateway(&upstream, &format!("{{http: \"{url}\"}}"));
        let r = gw.get("/call", &[]);
        assert_eq!(r.status, 502, "{port}: {r:?}\n{}", gw.log());
        assert!(
            r.body
                .contains("the response body is larger than 8388608 bytes"),
            "{}",
            r.body
        );
    }
    // Just under the cap is an answer.
    let fits = raw_node("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", 8);
    let url = format!("http://127.0.0.1:{fits}/big");
    let gw = gateway(&upstream, &format!("{{http: \"{url}\"}}"));
    let r = gw.get("/call", &[]);
    assert_eq!((r.status, r.body.len()), (200, 8 << 20), "{}", gw.log());
}
