//! Hostile clients against the real binary on real sockets, each bounded in
//! time: slowloris on the proxy, Admin API and metrics ports (cut off at the
//! header timeout while a normal client is served), a slow request body on the
//! proxy and on the Admin API (408), an oversized one (413, the node saw
//! nothing), a client that stops reading a large response (closed after
//! `send_timeout`, the node's connection with it), a connection flood past
//! `max_connections` (the process's descriptors stay under the cap, the
//! connections it serves go on, and it serves again once the flood ends), and
//! the keep-alive limits.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use radixgate_test_support::{eventually, Connection, Gateway, Node, Request, ADMIN_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A standalone file routing `/t` (any method) to `127.0.0.1:port`.
fn route_to(port: u16) -> String {
    format!(
        "routes:\n  - id: t\n    uri: /t\n    upstream: {{nodes: {{\"127.0.0.1:{port}\": 1}}}}\n#END\n"
    )
}

/// One worker serving `/t` from `node`, with `gateway` lines added.
fn gateway(node: u16, gateway: &str) -> Gateway {
    Gateway::file(BIN, &route_to(node))
        .workers(1)
        .gateway_yaml(gateway)
        .start()
}

/// `n` connections to `port`, each having sent the start of a request
/// head, and a thread adding a header line to each every 200 ms (10 times
/// at most), as slowloris does.
fn slowloris(port: u16, n: usize) -> Vec<TcpStream> {
    let conns: Vec<TcpStream> = (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.write_all(b"GET /t HTTP/1.1\r\nHost: a\r\n")
                .expect("the start of a head");
            s
        })
        .collect();
    let writers: Vec<TcpStream> = conns.iter().filter_map(|s| s.try_clone().ok()).collect();
    thread::spawn(move || {
        let mut writers = writers;
        for _ in 0..10 {
            thread::sleep(Duration::from_millis(200));
            for w in &mut writers {
                let _ = w.write_all(b"X-Slow: 1\r\n");
            }
        }
    });
    conns
}

/// Whether the server closed `s` within `limit` (what it sent first, if
/// anything, is read and dropped).
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Asserts that every connection of `conns` is closed between about
/// `timeout` and a margin after it, counted from `start`.
fn all_cut_off(conns: &mut [TcpStream], start: Instant, timeout: Duration) {
    for (i, c) in conns.iter_mut().enumerate() {
        assert!(
            closed_within(c, timeout + Duration::from_secs(4)),
            "slow connection {i} still open {:?} after it started",
            start.elapsed()
        );
    }
    let took = start.elapsed();
    assert!(
        took >= timeout - Duration::from_millis(100),
        "cut off after {took:?}, before the header timeout"
    );
}

#[test]
fn slowloris_on_the_proxy_port_is_cut_off_while_others_are_served() {
    let node = Node::start("n");
    let gw = gateway(node.port, "  header_read_timeout: 1\n");
    let start = Instant::now();
    let mut slow = slowloris(gw.port, 50);
    let r = Request::get("/t").send(gw.port).expect("a normal client");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "the normal client waited {:?}",
        start.elapsed()
    );
    all_cut_off(&mut slow, start, Duration::from_secs(1));
    assert_eq!(node.hits(), 1, "no slow request reached the node");
}

#[test]
fn slowloris_on_the_admin_port_is_cut_off_while_others_are_served() {
    let gw = Gateway::file(BIN, "routes: []\n#END\n")
        .workers(1)
        .gateway_yaml("  header_read_timeout: 1\n")
        .admin()
        .start();
    let start = Instant::now();
    let mut slow = slowloris(gw.admin_port(), 50);
    let r = Request::get("/apisix/admin/routes")
        .header("X-API-KEY", ADMIN_KEY)
        .send(gw.admin_port())
        .expect("the Admin API answers");
    assert_eq!(r.status, 200, "{r:?}");
    all_cut_off(&mut slow, start, Duration::from_secs(1));
}

#[test]
fn a_slow_scrape_delays_no_other_and_is_cut_off() {
    let gw = Gateway::file(BIN, "routes: []\n#END\n")
        .workers(1)
        .gateway_yaml("  header_read_timeout: 1\n")
        .plugins(&["prometheus"])
        .start();
    let port = gw.metrics_port();
    let path = "/apisix/prometheus/metrics";
    assert!(eventually(10, || Request::get(path)
        .send(port)
        .is_ok_and(|r| r.status == 200)));
    let start = Instant::now();
    let mut slow = slowloris(port, 5);
    let r = Request::get(path)
        .timeout(Duration::from_secs(5))
        .send(port)
        .expect("a scrape");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.contains("radixgate_log_phases_dropped_total"),
        "{}",
        r.body
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    all_cut_off(&mut slow, start, Duration::from_secs(1));
}

/// Sends `head` (and `body`) on a connection of its own and reads the
/// answer to the end within `limit`: its status (0 when none came).
fn raw_status(port: u16, head: &str, body: &[u8], limit: Duration) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(head.as_bytes()).expect("head");
    let _ = s.write_all(body);
    let _ = s.set_read_timeout(Some(limit));
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_request_body_slower_than_client_body_timeout_gets_408() {
    let node = Node::start("n");
    let gw = gateway(node.port, "  client_body_timeout: 1\n");
    let start = Instant::now();
    let head = "POST /t HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n";
    let status = raw_status(gw.port, head, b"ten bytes.", Duration::from_secs(8));
    let took = start.elapsed();
    assert_eq!(status, 408, "{}", gw.log());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "answered after {took:?}; the body timeout is 1 s"
    );
    assert_eq!(node.hits(), 0, "the node never got a whole request");
}

#[test]
fn an_admin_body_slower_than_client_body_timeout_gets_408() {
    let gw = Gateway::file(BIN, "routes: []\n#END\n")
        .workers(1)
        .gateway_yaml("  client_body_timeout: 1\n")
        .admin()
        .start();
    let start = Instant::now();
    let head = format!(
        "POST /apisix/admin/schema/validate/routes HTTP/1.1\r\nHost: a\r\nX-API-KEY: {ADMIN_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    let status = raw_status(gw.admin_port(), &head, b"{\"uri\":", Duration::from_secs(8));
    let took = start.elapsed();
    assert_eq!(status, 408, "{}", gw.log());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "answered after {took:?}; the body timeout is 1 s"
    );
}

#[test]
fn a_body_over_client_max_body_size_gets_413_and_the_node_sees_nothing() {
    let node = Node::start("n");
    let gw = gateway(node.port, "  client_max_body_size: 1k\n");
    let r = Request::new("POST", "/t")
        .body(vec![b'x'; 5000])
        .send(gw.port)
        .expect("an answer");
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!((node.hits(), node.connections()), (0, 0));
    // Without a length, the body is counted as it comes.
    let head = "POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    let chunks = format!(
        "400\r\n{}\r\n400\r\n{}\r\n0\r\n\r\n",
        "y".repeat(1024),
        "z".repeat(1024)
    );
    let status = raw_status(gw.port, head, chunks.as_bytes(), Duration::from_secs(8));
    assert_eq!(status, 413);
    // Within the limit, a body goes through.
    let r = Request::new("POST", "/t")
        .body("small")
        .send(gw.port)
        .expect("an answer");
    assert_eq!(
        (r.status, r.echoed("body").as_deref()),
        (200, Some("small"))
    );
}

/// A node answering every request with 64 MiB, written until the gateway
/// stops taking them; `cut` turns true when a write fails.
fn endless_node(cut: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let cut = cut.clone();
            thread::spawn(move || {
                let mut head = [0u8; 1024];
                let _ = s.read(&mut head);
                let total = 64usize << 20;
                let _ = write!(s, "HTTP/1.1 200 OK\r\ncontent-length: {total}\r\n\r\n");
                let piece = vec![b'x'; 64 * 1024];
                for _ in 0..total / piece.len() {
                    if s.write_all(&piece).is_err() {
                        cut.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_client_that_stops_reading_is_closed_after_send_timeout() {
    let cut = Arc::new(AtomicBool::new(false));
    let port = endless_node(cut.clone());
    let gw = gateway(port, "  send_timeout: 1\n");
    let mut idle = TcpStream::connect(("127.0.0.1", gw.port)).expect("connect");
    idle.write_all(b"GET /t HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("request");
    // Never read: the gateway's writes stall, then it gives up, and lets
    // go of the node's connection too.
    assert!(
        eventually(15, || cut.load(Ordering::SeqCst)),
        "the node's connection is still open:\n{}",
        gw.log()
    );
    assert!(closed_within(&mut idle, Duration::from_secs(10)));
    assert_eq!(gw.fetch("/healthz").0, 200);
}

/// The number of descriptors process `pid` has open.
fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

#[test]
fn a_connection_flood_stays_under_max_connections_and_ends() {
    let node = Node::start("n");
    let gw = gateway(node.port, "  max_connections: 16\n");
    let mut served = Connection::open(gw.port).expect("connect");
    let r = served.send(&Request::get("/t")).expect("served");
    assert_eq!(r.status, 200);
    let before = fds(gw.pid());
    let flood: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", gw.port)).ok())
        .collect();
    assert!(flood.len() > 100, "{} connections made", flood.len());
    // Every connection past the cap was closed at once.
    for _ in 0..5 {
        let now = fds(gw.pid());
        assert!(
            now <= before + 16,
            "{now} descriptors open, {before} before the flood"
        );
        thread::sleep(Duration::from_millis(50));
    }
    // The connection served before the flood goes on.
    let r = served.send(&Request::get("/t")).expect("still served");
    assert_eq!(r.status, 200);
    drop(flood);
    assert!(
        eventually(10, || gw.fetch("/healthz").0 == 200),
        "not serving again after the flood:\n{}",
        gw.log()
    );
    assert!(
        gw.log().contains("connection limit reached"),
        "{}",
        gw.log()
    );
}

#[test]
fn the_last_request_a_connection_may_carry_says_close() {
    let node = Node::start("n");
    let gw = gateway(node.port, "  keepalive_requests: 2\n");
    let mut c = Connection::open(gw.port).expect("connect");
    let first = c.send(&Request::get("/t")).expect("first");
    assert_eq!((first.status, first.header("connection")), (200, None));
    let second = c.send(&Request::get("/t")).expect("second");
    assert_eq!(
        (second.status, second.header("connection")),
        (200, Some("close"))
    );
    assert!(
        c.send(&Request::get("/t")).is_err(),
        "a third request went through"
    );
}

#[test]
fn an_idle_keepalive_connection_closes_after_keepalive_timeout() {
    // hyper's header timeout also ends an idle wait: far off here.
    let gw = gateway(1, "  keepalive_timeout: 1\n  header_read_timeout: 30\n");
    let mut s = TcpStream::connect(("127.0.0.1", gw.port)).expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("request");
    let start = Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(5)), "still open");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(800), "closed after {took:?}");
}
