//! The gateway's HTTP/1.1 client against nodes that script their side of
//! the wire byte by byte: chunked and close-delimited bodies, interim
//! answers, bodiless answers, chunked uploads, idle connections the node
//! closes, a node that closes a reused connection without answering, a
//! node that is not speaking HTTP (502) or cuts its body short (the
//! client's connection is cut), one that stops reading (send timeout),
//! and least_conn counting a response until its body ends.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use radixgate_test_support::{eventually, Gateway};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A request as the node read it.
struct Seen {
    head: String,
    body: Vec<u8>,
}

/// What a scripted node does with the `n`th request (from 0) of a connection:
/// writes its answer on the stream and says whether to read another.
type Script = dyn Fn(usize, &Seen, &mut TcpStream) -> bool + Send + Sync;

/// A node on a free port running `script` on every connection; counts them.
fn node(script: Arc<Script>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind node");
    let port = listener.local_addr().expect("addr").port();
    let conns = Arc::new(AtomicUsize::new(0));
    let count = conns.clone();
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let script = script.clone();
            thread::spawn(move || {
                let Ok(read) = s.try_clone() else { return };
                let mut r = BufReader::new(read);
                for n in 0.. {
                    let Some(seen) = read_request(&mut r) else {
                        return;
                    };
                    if !script(n, &seen, &mut s) {
                        return;
                    }
                }
            });
        }
    });
    (port, conns)
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let lower = head.to_ascii_lowercase();
    let mut body = Vec::new();
    if lower.contains("transfer-encoding: chunked") {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(len) = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        body = vec![0; len];
        r.read_exact(&mut body).ok()?;
    }
    Some(Seen { head, body })
}

fn gateway(port: u16) -> Gateway {
    Gateway::start_file(BIN, &format!(
        "routes:\n  - {{id: wire, uri: /t/*, upstream: {{nodes: {{\"127.0.0.1:{port}\": 1}}}}}}\n#END\n"
    ))
}

/// Sends `raw` (which must ask for `Connection: close`) and returns the
/// status line, the head and the body, chunked coding undone.
fn exchange(port: u16, raw: &[u8]) -> (String, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect gateway");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.write_all(raw).expect("send");
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let _ = s.shutdown(Shutdown::Both);
    let at = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(all.len());
    let head = String::from_utf8_lossy(&all[..at]).into_owned();
    let mut body = all.get(at + 4..).unwrap_or_default().to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, head, body)
}

fn unchunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..eol]).unwrap_or("0");
        let n =
            usize::from_str_radix(size.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        if n == 0 || b.len() < eol + 2 + n {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
    out
}

fn get(port: u16, path: &str) -> (String, String, Vec<u8>) {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    exchange(port, raw.as_bytes())
}

#[test]
fn chunked_close_delimited_and_interim_answers_reach_the_client() {
    let (port, _) = node(Arc::new(|_, seen: &Seen, s: &mut TcpStream| {
        let path = seen
            .head
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        let answer: &[u8] = match path.as_str() {
            "/t/chunked" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
            "/t/interim" => b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello, world",
            _ => b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello, world",
        };
        let _ = s.write_all(answer);
        path != "/t/close"
    }));
    let gw = gateway(port);
    for path in ["/t/chunked", "/t/interim", "/t/close", "/t/chunked"] {
        let (status, head, body) = get(gw.port, path);
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "{path}: {head}\n{}",
            gw.log()
        );
        assert_eq!(
            String::from_utf8_lossy(&body),
            "hello, world",
            "{path}: {head}"
        );
    }
}

#[test]
fn bodiless_answers_end_at_their_head() {
    let (port, conns) = node(Arc::new(|_, seen: &Seen, s: &mut TcpStream| {
        let answer: &[u8] = if seen.head.starts_with("HEAD") {
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
        } else if seen.head.contains("/t/none") {
            b"HTTP/1.1 204 No Content\r\n\r\n"
        } else {
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"
        };
        s.write_all(answer).is_ok()
    }));
    let gw = gateway(port);
    for _ in 0..3 {
        let (status, head, body) = exchange(
            gw.port,
            b"HEAD /t/h HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        );
        assert!(status.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("content-length: 5"),
            "{head}"
        );
        assert!(body.is_empty());
        let (status, _, body) = get(gw.port, "/t/none");
        assert!(status.starts_with("HTTP/1.1 204"), "{status}");
        assert!(body.is_empty());
        let (status, _, _) = get(gw.port, "/t/cached");
        assert!(status.starts_with("HTTP/1.1 304"), "{status}");
    }
    // Each worker kept its one connection for all of them.
    assert!(conns.load(Ordering::SeqCst) <= 2, "{}", gw.log());
}

#[test]
fn a_chunked_upload_goes_chunked_and_whole() {
    let (port, _) = node(Arc::new(|_, seen: &Seen, s: &mut TcpStream| {
        let te = seen
            .head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let expect = seen.head.to_ascii_lowercase().contains("expect:");
        let body = format!(
            "te={te} expect={expect} body={}",
            String::from_utf8_lossy(&seen.body)
        );
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(answer.as_bytes()).is_ok()
    }));
    let gw = gateway(port);
    let raw = b"POST /t/up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
    let (status, head, body) = exchange(gw.port, raw);
    assert!(
        status.contains(" 100 ") || status.contains(" 200 "),
        "{head}"
    );
    let body = String::from_utf8_lossy(&body).into_owned();
    assert!(
        body.ends_with("te=true expect=false body=abcdefg"),
        "{head}\n{body}"
    );
}

#[test]
fn idle_connections_the_node_closed_are_not_used() {
    // The node closes each connection once the client has its answer (the
    // gateway has pooled the connection by then), and counts the closes.
    let (answered, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (got, shut) = (answered.clone(), closed.clone());
    let (port, conns) = node(Arc::new(move |_, seen: &Seen, s: &mut TcpStream| {
        let body = String::from_utf8_lossy(&seen.body).into_owned();
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = s.write_all(answer.as_bytes());
        eventually(10, || {
            got.load(Ordering::SeqCst) > shut.load(Ordering::SeqCst)
        });
        let _ = s.shutdown(Shutdown::Both);
        shut.fetch_add(1, Ordering::SeqCst);
        false
    }));
    let gw = gateway(port);
    for i in 0..5 {
        // POSTs: a request sent on a connection the node closed is lost
        // (502), never sent again.
        let body = format!("upload {i}");
        let raw = format!(
            "POST /t/p HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (status, head, got) = exchange(gw.port, raw.as_bytes());
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "{i}: {head}\n{}",
            gw.log()
        );
        assert_eq!(String::from_utf8_lossy(&got), body);
        answered.fetch_add(1, Ordering::SeqCst);
        assert!(
            eventually(10, || closed.load(Ordering::SeqCst) == i + 1),
            "the node did not close connection {i}"
        );
    }
    assert_eq!(conns.load(Ordering::SeqCst), 5);
}

#[test]
fn a_get_is_sent_again_when_a_reused_connection_closes_unanswered() {
    // Each connection answers its first request only: the second finds the
    // connection closing, as when a node times an idle connection out
    // while the request is on its way.
    let unanswered = Arc::new(AtomicUsize::new(0));
    let seen_closes = unanswered.clone();
    let (port, _) = node(Arc::new(move |n, _: &Seen, s: &mut TcpStream| {
        if n > 0 {
            seen_closes.fetch_add(1, Ordering::SeqCst);
            return false;
        }
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .is_ok()
    }));
    let gw = gateway(port);
    for i in 0..6 {
        let (status, head, body) = get(gw.port, "/t/g");
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "{i}: {head}\n{}",
            gw.log()
        );
        assert_eq!(body, b"ok");
    }
    // Six requests over two workers: one worker reused a connection.
    assert!(unanswered.load(Ordering::SeqCst) >= 1, "{}", gw.log());
}

#[test]
fn a_node_speaking_something_else_is_502() {
    let (port, _) = node(Arc::new(|_, _: &Seen, s: &mut TcpStream| {
        let _ = s.write_all(b"SSH-2.0-OpenSSH\r\n\r\n");
        false
    }));
    let gw = gateway(port);
    // Twice: the gateway goes on after a node spoke something else.
    for _ in 0..2 {
        let (status, head, body) = get(gw.port, "/t/garbage");
        assert_eq!(status, "HTTP/1.1 502 Bad Gateway", "{head}\n{}", gw.log());
        assert_eq!(
            String::from_utf8_lossy(&body),
            r#"{"error_msg":"502 Bad Gateway"}"#,
            "{head}"
        );
        // None of the node's bytes reach the client.
        assert!(!head.contains("SSH"), "{head}");
    }
    assert!(gw.log().contains("invalid response head"), "{}", gw.log());
}

#[test]
fn a_body_cut_short_cuts_the_client_connection() {
    // The node sends its head and 9 of the 100 bytes it announced, and
    // closes once the test has seen them reach the client.
    let cut = Arc::new(AtomicBool::new(false));
    let close = cut.clone();
    let (port, _) = node(Arc::new(move |_, _: &Seen, s: &mut TcpStream| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
        eventually(10, || close.load(Ordering::SeqCst));
        false
    }));
    let gw = gateway(port);
    let mut s = TcpStream::connect(("127.0.0.1", gw.port)).expect("connect gateway");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    // Kept alive: only a cut ends this connection.
    s.write_all(b"GET /t/short HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"\r\n\r\nonly this") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => panic!(
                "the connection ended before the body's first bytes: {:?}\n{}",
                String::from_utf8_lossy(&got),
                gw.log()
            ),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200 ok\r\n"), "{text}");
    assert!(text.contains("\r\ncontent-length: 100\r\n"), "{text}");
    // The node closes: the gateway ends the client's connection without
    // another byte (a body of 9 bytes, never a complete-looking answer).
    cut.store(true, Ordering::SeqCst);
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut rest = Vec::new();
    let end = s.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "bytes after the cut: {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert!(
        end.is_ok()
            || end
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::ConnectionReset),
        "the client connection was not closed: {end:?}\n{}",
        gw.log()
    );
}

#[test]
fn a_node_that_stops_reading_hits_the_send_timeout() {
    // The node takes the connection and never reads from it.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind node");
    let port = listener.local_addr().expect("addr").port();
    let held = thread::spawn(move || listener.accept().map(|(s, _)| s));
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - {{id: deaf, uri: /t/*, timeout: {{connect: 2, send: 0.5, read: 5}}, upstream: {{nodes: {{\"127.0.0.1:{port}\": 1}}}}}}\n#END\n"
    ));
    let size = 64 << 20;
    let mut s = TcpStream::connect(("127.0.0.1", gw.port)).expect("connect gateway");
    s.set_read_timeout(Some(Duration::from_secs(20))).ok();
    let head = format!(
        "POST /t/up HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("head");
    let mut w = s.try_clone().expect("clone");
    // Writes until the gateway stops taking the body (or cuts the connection).
    thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 16];
        for _ in 0..(size >> 16) {
            if w.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 504"),
        "{answer:.200}\n{}",
        gw.log()
    );
    assert!(gw.log().contains("timed out after 500ms"), "{}", gw.log());
    drop(held);
}

#[test]
fn least_conn_counts_a_response_in_flight_until_its_body_ends() {
    // `slow` sends its head and half its body at once, the rest on release.
    let (slow_hits, release) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let (hits, open) = (slow_hits.clone(), release.clone());
    let (slow, _) = node(Arc::new(move |_, _: &Seen, s: &mut TcpStream| {
        hits.fetch_add(1, Ordering::SeqCst);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Node: slow\r\n\r\nab");
        for _ in 0..1000 {
            if open.load(Ordering::SeqCst) {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        s.write_all(b"cd").is_ok()
    }));
    let fast_hits = Arc::new(AtomicUsize::new(0));
    let hits = fast_hits.clone();
    let (fast, _) = node(Arc::new(move |_, _: &Seen, s: &mut TcpStream| {
        hits.fetch_add(1, Ordering::SeqCst);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Node: fast\r\n\r\nabcd")
            .is_ok()
    }));
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - {{id: lc, uri: /t/*, upstream: {{type: least_conn, nodes: {{\"127.0.0.1:{slow}\": 1, \"127.0.0.1:{fast}\": 1}}}}}}\n#END\n"
    ));
    let port = gw.port;
    let total = || slow_hits.load(Ordering::SeqCst) + fast_hits.load(Ordering::SeqCst);
    // Requests until one is streaming from `slow`.
    let streaming = loop {
        let before = total();
        let client = thread::spawn(move || get(port, "/t/lc"));
        assert!(eventually(10, || total() > before), "no node reached");
        if slow_hits.load(Ordering::SeqCst) > 0 {
            break client;
        }
        let (status, _, body) = client.join().expect("client");
        assert!(status.contains(" 200 ") && body == b"abcd", "{status}");
        assert!(total() < 20, "least_conn never chose the slow node");
    };
    // While that body streams, the slow node counts one request in flight.
    for i in 0..10 {
        let (status, head, body) = get(port, "/t/lc");
        assert!(
            head.to_ascii_lowercase().contains("x-node: fast"),
            "{i}: {status}\n{head}"
        );
        assert_eq!(body, b"abcd");
    }
    assert_eq!(slow_hits.load(Ordering::SeqCst), 1);
    release.store(true, Ordering::SeqCst);
    let (status, _, body) = streaming.join().expect("client");
    assert!(status.contains(" 200 "), "{status}");
    assert_eq!(body, b"abcd");
}
