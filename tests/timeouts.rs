//! End to end: the time limits a user sets, each seen from outside.
//! `gateway.shutdown_timeout` caps how long SIGTERM waits for a request
//! in flight; `timeout.read` applies between two reads of a node's body
//! (a stall longer than it cuts the response, a slow body within it each
//! time arrives whole); `retry_timeout` stops further tries once it has
//! passed, however many `retries` are left.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use radixgate_test_support::{eventually, Gateway, Node, Request};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A node answering every request with a `content-length` of `declared`
/// bytes, then `pieces` one after another, each after `gap`; then it
/// keeps the connection open for `linger` and closes it.
fn paced_node(declared: usize, pieces: Vec<&'static str>, gap: Duration, linger: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the paced node");
    let port = listener
        .local_addr()
        .expect("the paced node's address")
        .port();
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let pieces = pieces.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(tcp.try_clone().expect("clone the node's socket"));
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut out = tcp;
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {declared}\r\n\r\n");
                if out.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for piece in pieces {
                    thread::sleep(gap);
                    if out.write_all(piece.as_bytes()).is_err() {
                        return;
                    }
                }
                thread::sleep(linger);
            });
        }
    });
    port
}

/// A gateway serving `/t` from `port` with `timeout: {connect: 1, send: 1, read}`.
fn gateway_with_read(port: u16, read: f64) -> Gateway {
    Gateway::start_file(
        BIN,
        &format!(
            "routes:\n  - id: t\n    uri: /t\n    timeout: {{connect: 1, send: 1, read: {read}}}\n    upstream: {{nodes: {{\"127.0.0.1:{port}\": 1}}}}\n#END\n"
        ),
    )
}

#[test]
fn a_node_stalling_mid_body_longer_than_read_cuts_the_response() {
    // Half the body, then nothing for 8 s: the gateway gives up after 0.5 s.
    let port = paced_node(10, vec!["hello"], Duration::ZERO, Duration::from_secs(8));
    let gw = gateway_with_read(port, 0.5);
    let t = Instant::now();
    let resp = Request::get("/t")
        .send(gw.port)
        .expect("the gateway answers");
    let took = t.elapsed();
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.header("content-length"), Some("10"));
    assert_eq!(
        resp.body, "hello",
        "the cut response should end where the node stalled"
    );
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(4),
        "cut after {took:?}: the read timeout is 0.5 s, the node stalls 8 s"
    );
}

#[test]
fn a_body_streamed_slowly_within_read_each_time_arrives_whole() {
    // Six pieces 125 ms apart: 0.75 s in all, longer than `read` (0.5 s),
    // but no wait between two reads comes near it.
    let pieces = vec!["one ", "two ", "three ", "four ", "five ", "six"];
    let whole: String = pieces.concat();
    let port = paced_node(
        whole.len(),
        pieces,
        Duration::from_millis(125),
        Duration::ZERO,
    );
    let gw = gateway_with_read(port, 0.5);
    let t = Instant::now();
    let resp = Request::get("/t")
        .send(gw.port)
        .expect("the gateway answers");
    assert_eq!(
        (resp.status, resp.body.as_str()),
        (200, whole.as_str()),
        "{}",
        gw.log()
    );
    assert!(
        t.elapsed() >= Duration::from_millis(700),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn retry_timeout_stops_further_tries_once_it_has_passed() {
    // Eight nodes that take the request and never answer: each try ends
    // at the read timeout (0.2 s). Seven retries would make eight tries
    // (1.6 s); the retry budget (0.5 s) allows about three.
    let nodes: Vec<Node> = (0..8).map(|i| Node::start(&format!("n{i}"))).collect();
    for n in &nodes {
        n.hold(true);
    }
    let list: Vec<String> = nodes
        .iter()
        .map(|n| format!("\"{}\": 1", n.addr()))
        .collect();
    let gw = Gateway::start_file(
        BIN,
        &format!(
            "routes:\n  - id: r\n    uri: /r\n    upstream:\n      nodes: {{{}}}\n      retries: 7\n      retry_timeout: 0.5\n      timeout: {{connect: 1, send: 1, read: 0.2}}\n#END\n",
            list.join(", ")
        ),
    );
    let t = Instant::now();
    let (status, body) = gw.fetch("/r");
    let took = t.elapsed();
    assert_eq!(status, 504, "{body}");
    let tries: usize = nodes.iter().map(Node::hits).sum();
    assert!(
        (2..=5).contains(&tries),
        "{tries} tries in {took:?}: retries should stop once 0.5 s have passed\n{}",
        gw.log()
    );
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[test]
fn shutdown_timeout_caps_the_wait_for_a_request_in_flight() {
    let node = Node::start("held");
    node.hold(true);
    let mut gw = Gateway::file(
        BIN,
        &format!(
            "routes:\n  - {{id: h, uri: /h, upstream: {{nodes: {{\"{}\": 1}}}}}}\n#END\n",
            node.addr()
        ),
    )
    .prepare();
    // The builder writes no shutdown_timeout: add it to the gateway section.
    let config = gw.dir.path("config.yaml");
    let text = std::fs::read_to_string(&config).expect("read the gateway's config.yaml");
    let text = text.replacen("gateway:\n", "gateway:\n  shutdown_timeout: 0.5\n", 1);
    std::fs::write(&config, text).expect("write the gateway's config.yaml");
    gw.start_process();

    let port = gw.port;
    let client = thread::spawn(move || {
        Request::get("/h")
            .timeout(Duration::from_secs(10))
            .send(port)
    });
    assert!(
        eventually(5, || node.held() == 1),
        "the request never reached the node"
    );
    let t = Instant::now();
    gw.terminate();
    let status = gw.wait_exit(5);
    let took = t.elapsed();
    assert!(
        status.is_some(),
        "still running 5 s after SIGTERM with a 0.5 s shutdown_timeout:\n{}",
        gw.log()
    );
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(2000),
        "exited {took:?} after SIGTERM; the cap is 0.5 s"
    );
    // The process ended while the node still held the request.
    assert_eq!(node.held(), 1);
    node.hold(false);
    let answer = client.join().expect("the client thread");
    assert!(
        answer.as_ref().map_or(true, |r| r.status != 200),
        "the held request should have been cut: {answer:?}"
    );
    assert!(gw.log().contains("stopped"), "{}", gw.log());
}
