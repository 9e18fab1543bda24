//! End to end: the gateway's client towards nodes. An `https` node (a
//! test TLS server with a self-signed certificate, `tls.verify` off) is
//! reached with SNI and kept alive; `keepalive_pool.requests` closes a
//! connection after that many requests and `idle_timeout` closes idle
//! ones; connect and read timeouts give
//! 504; a request is retried on another node only when that is safe.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use radixgate_test_support::{bad_upstream, eventually, get, Gateway, Node, Request};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// What a counting node saw: requests per connection, TLS server names.
#[derive(Default)]
struct Seen {
    per_conn: Mutex<Vec<usize>>,
    /// The SNI of each TLS connection, in handshake order (`None`: none sent).
    sni: Mutex<Vec<Option<String>>>,
    /// Connections the gateway closed.
    closed: std::sync::atomic::AtomicUsize,
}

impl Seen {
    fn conns(&self) -> Vec<usize> {
        self.per_conn.lock().expect("the node's counters").clone()
    }

    fn sni(&self) -> Vec<Option<String>> {
        self.sni.lock().expect("the node's SNI list").clone()
    }
}

/// A node that answers `conn=<i> req=<n>` and closes when asked to
/// (`Connection: close`), over TLS when `tls` is given.
fn counting_node(tls: Option<Arc<rustls::ServerConfig>>) -> (u16, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind node");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let id = {
                let mut v = s.per_conn.lock().expect("the node's counters");
                v.push(0);
                v.len() - 1
            };
            let (s, tls) = (s.clone(), tls.clone());
            thread::spawn(move || match tls {
                None => {
                    serve_counting(tcp, id, &s);
                    s.closed.fetch_add(1, Ordering::Relaxed);
                }
                Some(cfg) => {
                    let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                        return;
                    };
                    let mut stream = rustls::StreamOwned::new(conn, tcp);
                    // Finish the handshake first so that the SNI is known.
                    while stream.conn.is_handshaking() {
                        if stream.conn.complete_io(&mut stream.sock).is_err() {
                            return;
                        }
                    }
                    let name = stream.conn.server_name().map(str::to_owned);
                    s.sni.lock().expect("the node's SNI list").push(name);
                    serve_counting(stream, id, &s);
                }
            });
        }
    });
    (port, seen)
}

fn serve_counting<S: Read + Write>(mut stream: S, id: usize, seen: &Seen) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + len);
        let n = {
            let mut v = seen.per_conn.lock().expect("the node's counters");
            v[id] += 1;
            v[id]
        };
        let close = head.contains("connection: close");
        let body = format!("conn={id} req={n}\n");
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n{}\r\n{body}",
            body.len(),
            if close { "connection: close\r\n" } else { "" }
        );
        if stream.write_all(resp.as_bytes()).is_err() || stream.flush().is_err() || close {
            return;
        }
    }
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config");
    Arc::new(cfg)
}

/// Sends a raw request; returns the status (0 when none came back).
fn raw_status(port: u16, bytes: &[u8]) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let _ = s.shutdown(Shutdown::Both);
    String::from_utf8_lossy(&out)
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn https_nodes_get_sni_and_keep_alive() {
    // One TLS node per SNI rule: `upstream_host` with `pass_host: rewrite`;
    // else the node's host (a name: sent, not the client's Host; an IP
    // address: no SNI at all).
    let cfg = tls_config();
    let (rewrite, rewrite_seen) = counting_node(Some(cfg.clone()));
    let (named, named_seen) = counting_node(Some(cfg.clone()));
    let (ip, ip_seen) = counting_node(Some(cfg));
    let gw = Gateway::start_file(
        BIN,
        &format!(
            r#"routes:
  - id: rewrite
    uri: /rewrite
    upstream:
      scheme: https
      nodes: {{"127.0.0.1:{rewrite}": 1}}
      pass_host: rewrite
      upstream_host: rewritten.example
      tls: {{verify: false}}
  - id: named
    uri: /named
    upstream:
      scheme: https
      nodes: {{"localhost:{named}": 1}}
      tls: {{verify: false}}
  - id: ip
    uri: /ip
    upstream:
      scheme: https
      nodes: {{"127.0.0.1:{ip}": 1}}
      tls: {{verify: false}}
#END
"#
        ),
    );
    for path in ["/rewrite", "/named", "/ip"] {
        for _ in 0..4 {
            let r = Request::get(path)
                .header("Host", "client.example")
                .send(gw.port)
                .unwrap_or_else(|e| panic!("GET {path}: no answer: {e}"));
            assert_eq!(r.status, 200, "{path}: {r:?}\n{}", gw.log());
            assert!(r.body.starts_with("conn="), "{path}: {r:?}");
        }
    }
    let cases = [
        ("rewrite", &rewrite_seen, Some("rewritten.example")),
        ("named", &named_seen, Some("localhost")),
        ("ip", &ip_seen, None),
    ];
    for (route, seen, sni) in cases {
        let conns = seen.conns();
        assert_eq!(conns.iter().sum::<usize>(), 4, "{route}: {conns:?}");
        // Two workers, each with its own pool: connections are reused.
        assert!(
            (1..=2).contains(&conns.len()),
            "{route}: one TLS connection per request: {conns:?}"
        );
        let want = vec![sni.map(str::to_owned); conns.len()];
        assert_eq!(seen.sni(), want, "{route}: the SNI of each connection");
    }
}

#[test]
fn keepalive_pool_idle_timeout_closes_idle_connections() {
    let (port, seen) = counting_node(None);
    let gw = Gateway::start_file(
        BIN,
        &format!(
            r#"routes:
  - id: idle
    uri: /idle
    upstream:
      nodes: {{"127.0.0.1:{port}": 1}}
      keepalive_pool: {{idle_timeout: 0.5}}
#END
"#
        ),
    );
    for _ in 0..3 {
        assert_eq!(get(gw.port, "/idle").status, 200, "{}", gw.log());
    }
    // The pool's sweep closes them after 0.5 s idle (it runs each second).
    let all_closed = eventually(10, || {
        seen.closed.load(Ordering::Relaxed) == seen.conns().len()
    });
    assert!(all_closed, "{:?} open", seen.conns());
    assert_eq!(get(gw.port, "/idle").status, 200);
}

#[test]
fn keepalive_pool_requests_closes_after_that_many() {
    let (port, seen) = counting_node(None);
    let gw = Gateway::start_file(
        BIN,
        &format!(
            r#"routes:
  - id: ka
    uri: /ka
    upstream:
      nodes: {{"127.0.0.1:{port}": 1}}
      keepalive_pool: {{size: 4, idle_timeout: 30, requests: 3}}
#END
"#
        ),
    );
    for _ in 0..12 {
        assert_eq!(get(gw.port, "/ka").status, 200, "{}", gw.log());
    }
    let conns = seen.conns();
    assert_eq!(conns.iter().sum::<usize>(), 12);
    // Each worker's connections carry 3 requests, then close; one worker
    // got at least 6 of the 12, so connections were reused up to the limit.
    assert_eq!(conns.iter().max(), Some(&3), "{conns:?}");
    assert!(conns.len() >= 4, "{conns:?}");
}

/// A listener whose accept queue is full: new connects to it hang.
fn unaccepted_listener() -> (SocketAddr, Vec<TcpStream>, std::net::TcpListener) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(async {
            let s = tokio::net::TcpSocket::new_v4()?;
            s.bind("127.0.0.1:0".parse().expect("addr"))?;
            s.listen(0)?.into_std()
        })
        .expect("listener");
    let addr = listener.local_addr().expect("addr");
    let mut held = Vec::new();
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    (addr, held, listener)
}

#[test]
fn connect_and_read_timeouts_give_504() {
    let (silent, _held, _listener) = unaccepted_listener();
    let hang = bad_upstream(true);
    let gw = Gateway::start_file(
        BIN,
        &format!(
            r#"routes:
  - id: connect
    uri: /connect
    timeout: {{connect: 0.5, send: 2, read: 2}}
    upstream: {{nodes: {{"{silent}": 1}}}}
  - id: read
    uri: /read
    timeout: {{connect: 2, send: 0.5, read: 0.5}}
    upstream: {{nodes: {{"127.0.0.1:{hang}": 1}}}}
#END
"#
        ),
    );
    let r = get(gw.port, "/connect");
    assert_eq!(r.status, 504, "{r:?}\n{}", gw.log());
    assert_eq!(r.body, r#"{"error_msg":"504 Gateway Timeout"}"#);
    let r = get(gw.port, "/read");
    assert_eq!(r.status, 504, "{r:?}\n{}", gw.log());
    let log = gw.log();
    // The connect budget for /connect; for /read the read budget alone
    // (nginx's proxy_read_timeout: from when the request went out).
    let lines = |route: &str| {
        log.lines()
            .filter(|l| l.contains(&format!("route={route} ")))
            .filter(|l| l.contains("timed out after 500ms"))
            .count()
    };
    assert_eq!((lines("connect"), lines("read")), (1, 1), "{log}");
}

#[test]
fn only_safe_requests_are_retried() {
    let ok = Node::start("ok");
    // Reads at most 4 KiB of a request, then hangs up without answering.
    let closer = bad_upstream(false);
    let gw = Gateway::start_file(
        BIN,
        &format!(
            r#"routes:
  - id: flaky
    uri: /flaky
    upstream: {{nodes: {{"127.0.0.1:{closer}": 1, "{ok}": 1}}, retries: 1}}
#END
"#,
            ok = ok.addr()
        ),
    );
    let body = vec![b'x'; 16 * 1024];
    let mut post = format!(
        "POST /flaky HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    post.extend_from_slice(&body);
    let statuses: Vec<u16> = (0..4).map(|_| raw_status(gw.port, &post)).collect();
    let served = statuses.iter().filter(|&&s| s == 200).count();
    assert!(statuses.contains(&502), "{statuses:?}\n{}", gw.log());
    // The POSTs the closer took were not sent again to the good node.
    assert_eq!(ok.hits(), served, "{statuses:?}");
    let before = ok.hits();
    let statuses: Vec<u16> = (0..4).map(|_| get(gw.port, "/flaky").status).collect();
    assert_eq!(statuses, vec![200; 4], "{}", gw.log());
    assert_eq!(ok.hits(), before + 4);
}
