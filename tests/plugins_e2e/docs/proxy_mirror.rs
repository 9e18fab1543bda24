//! proxy-mirror's documented examples through the gateway, against a real
//! mirror sink: the copy arrives with the path `path` and
//! `path_concat_mode` make, with the request's method, headers and body; a sink
//! that is down or never answers leaves every client's response as the
//! node gave it; `sample_ratio` 0.5 mirrors about half of 400 requests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use radixgate_test_support::http::Request;
use radixgate_test_support::{eventually, free_port, Gateway, Node};

use crate::harness;

/// A mirror server on loopback: records each request's line and headers,
/// then a blank line and its body (`Content-Length` framed); answers 200
/// at once, or never (`silent`).
struct Sink {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Sink {
    fn start(silent: bool) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sink");
        let port = listener.local_addr().expect("address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut writer = stream;
                    loop {
                        let mut head = String::new();
                        loop {
                            let mut line = String::new();
                            match reader.read_line(&mut line) {
                                Ok(0) | Err(_) => return,
                                Ok(_) if line == "\r\n" => break,
                                Ok(_) => head.push_str(&line),
                            }
                        }
                        let length = head
                            .lines()
                            .filter_map(|l| l.split_once(':'))
                            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        head.push_str("\r\n");
                        head.push_str(&String::from_utf8_lossy(&body));
                        s.lock().unwrap_or_else(|e| e.into_inner()).push(head);
                        if silent {
                            // Holds the connection, never answers.
                            thread::sleep(Duration::from_secs(3600));
                        }
                        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if writer.write_all(ok).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Sink { port, seen }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The request heads received.
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many once no more arrive for half a second (sequencing only).
    fn settled(&self) -> usize {
        let mut last = usize::MAX;
        loop {
            let now = self.seen().len();
            if now == last {
                return now;
            }
            last = now;
            thread::sleep(Duration::from_millis(500));
        }
    }
}

fn config(node: &str, sink: &str, down: &str, silent: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - {{id: whole, uri: /hello, upstream_id: u, plugins: {{proxy-mirror: {{host: "http://{sink}"}}}}}}
  - {{id: replace, uri: /replace/*, upstream_id: u, plugins: {{proxy-mirror: {{host: "http://{sink}", path: /mirror}}}}}}
  - {{id: prefix, uri: /prefix/*, upstream_id: u, plugins: {{proxy-mirror: {{host: "http://{sink}", path: /mirror, path_concat_mode: prefix}}}}}}
  - {{id: half, uri: /half, upstream_id: u, plugins: {{proxy-mirror: {{host: "http://{sink}", path: /half-mirror, sample_ratio: 0.5}}}}}}
  - {{id: down, uri: /down, upstream_id: u, plugins: {{proxy-mirror: {{host: "http://{down}"}}}}}}
  - {{id: silent, uri: /silent, upstream_id: u, plugins: {{proxy-mirror: {{host: "http://{silent}"}}}}}}
#END
"#
    )
}

#[test]
fn proxy_mirror_doc_examples() {
    let node = Node::start_named("node");
    let (sink, silent) = (Sink::start(false), Sink::start(true));
    let down = format!("127.0.0.1:{}", free_port());
    let gw = Gateway::file(
        harness::BIN,
        &config(&node.addr(), &sink.addr(), &down, &silent.addr()),
    )
    .plugins(&["proxy-mirror"])
    .workers(1)
    .start();

    let cases = [
        ("/hello?x=1", "GET /hello?x=1 HTTP/1.1"),
        ("/replace/a?x=1", "GET /mirror?x=1 HTTP/1.1"),
        ("/prefix/a?x=1", "GET /mirror/prefix/a?x=1 HTTP/1.1"),
    ];
    for (path, want) in cases {
        let r = gw.get(path, &[("X-Trace", "t1")]);
        assert_eq!((r.status, r.body.as_str()), (200, "node"), "{path}: {r:?}");
        assert!(
            eventually(5, || sink.seen().iter().any(|h| h.starts_with(want))),
            "{path}: the sink did not get {want:?}: {:?}\n{}",
            sink.seen(),
            gw.log()
        );
    }
    let copy = sink
        .seen()
        .into_iter()
        .find(|h| h.starts_with("GET /mirror/prefix/a"));
    assert!(
        copy.is_some_and(|h| h.to_ascii_lowercase().contains("x-trace: t1")),
        "the copy lacks the request's headers: {:?}",
        sink.seen()
    );

    // A POST with a body: the copy carries the same bytes; the client
    // gets the node's answer.
    let body = "{\"order\": 42, \"items\": [\"a\", \"b\"]}";
    let r = Request::new("POST", "/hello?post=1")
        .body(body.as_bytes().to_vec())
        .send(gw.port)
        .expect("the gateway answers");
    assert_eq!((r.status, r.body.as_str()), (200, "node"), "{r:?}");
    let want = format!("\r\n\r\n{body}");
    assert!(
        eventually(5, || sink.seen().iter().any(|h| h
            .starts_with("POST /hello?post=1 HTTP/1.1")
            && h.ends_with(&want)
            && h.to_ascii_lowercase()
                .contains(&format!("content-length: {}", body.len())))),
        "the sink did not get the body: {:?}\n{}",
        sink.seen(),
        gw.log()
    );

    // A sink that is down or never answers: every client gets the node's
    // answer (one worker, so a wait for the mirror would hold them all).
    for path in ["/down", "/silent"] {
        for _ in 0..20 {
            let r = gw.get(path, &[]);
            assert_eq!((r.status, r.body.as_str()), (200, "node"), "{path}: {r:?}");
        }
    }
    assert_eq!(silent.settled(), 20, "the silent sink got every copy");
    assert!(
        eventually(5, || gw.log().contains("failed to mirror the request")),
        "the down sink is not logged:\n{}",
        gw.log()
    );

    // sample_ratio 0.5 over 400 requests (5 standard deviations either side).
    for _ in 0..400 {
        assert_eq!(gw.get("/half", &[]).status, 200);
    }
    sink.settled();
    let mirrored = sink
        .seen()
        .iter()
        .filter(|h| h.starts_with("GET /half-mirror"))
        .count();
    assert!(
        (150..=250).contains(&mirrored),
        "{mirrored} of 400 mirrored at 0.5"
    );
}
