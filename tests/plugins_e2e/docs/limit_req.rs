//! limit-req's documented examples through the real gateway: 1 request a
//! second per remote address (`nodelay`, burst 0: of requests sent at once
//! exactly one passes, the rest get `rejected_code`), throttling (burst 1
//! without `nodelay`: three requests in a row all pass, the later ones
//! delayed by the bucket), per `$remote_addr $consumer_name` with
//! key-auth, `rejected_msg`; and a delayed request holding no worker: a
//! one-worker gateway serves other requests, one after another without a
//! pause, while it waits.
//!
//! Rates are checked by counting decisions, with the time the requests
//! took to send allowed for (a loaded machine may spread them over more
//! than a second): what passed is at most 1 + burst + rate x elapsed.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use radixgate_test_support::{Gateway, Node, Request, Response};

use crate::harness;

/// `n` GETs of `path` (with `headers`) sent at once, each on its own
/// connection; their statuses and how long the sending took.
fn at_once(gw: &Gateway, path: &str, headers: &[(&str, &str)], n: usize) -> (Vec<u16>, f64) {
    let start = Instant::now();
    let port = gw.port;
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let req = Request::get(path).headers(headers);
            thread::spawn(move || req.send(port).map_or(0, |r| r.status))
        })
        .collect();
    let statuses = threads
        .into_iter()
        .map(|t| t.join().expect("a client thread"))
        .collect();
    (statuses, start.elapsed().as_secs_f64())
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// `n` requests at once on a route of rate 1/s and burst 0: exactly one
/// passes unless the sending took a second or more.
fn one_a_second(gw: &Gateway, path: &str, headers: &[(&str, &str)]) {
    let (statuses, secs) = at_once(gw, path, headers, 5);
    let passed = count(&statuses, 200);
    let most = 1 + secs.floor() as usize;
    assert!(
        (1..=most).contains(&passed) && passed + count(&statuses, 429) == 5,
        "{path} {headers:?}: {statuses:?} in {secs:.2} s\n{}",
        gw.log()
    );
}

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
consumers:
  - {{username: john}}
  - {{id: john/credentials/cred-john-key-auth, plugins: {{key-auth: {{key: john-key}}}}}}
  - {{username: jane}}
  - {{id: jane/credentials/cred-jane-key-auth, plugins: {{key-auth: {{key: jane-key}}}}}}
routes:
  - id: limit-req-route
    uri: /get
    upstream_id: u
    plugins:
      limit-req: {{rate: 1, burst: 0, key: remote_addr, key_type: var, rejected_code: 429, policy: local, nodelay: true}}
  - id: throttle
    uri: /throttle
    upstream_id: u
    plugins:
      limit-req: {{rate: 1, burst: 1, key: remote_addr, rejected_code: 429, policy: local}}
  - id: throttle-burst-0
    uri: /throttle-burst-0
    upstream_id: u
    plugins:
      limit-req: {{rate: 1, burst: 0, key: remote_addr, rejected_code: 429, policy: local}}
  - id: consumers
    uri: /consumers
    upstream_id: u
    plugins:
      key-auth: {{}}
      limit-req: {{rate: 1, burst: 0, key: "$remote_addr $consumer_name", key_type: var_combination, rejected_code: 429, policy: local}}
  - id: msg
    uri: /msg
    upstream_id: u
    plugins:
      limit-req: {{rate: 0.1, burst: 0, key: remote_addr, rejected_msg: "Requests are too frequent, please try again later."}}
#END
"#
    )
}

#[test]
fn limit_req_doc_examples() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["limit-req", "key-auth"]);

    // Apply Rate Limiting by Remote Address.
    one_a_second(&gw, "/get", &[]);
    // ... by Remote Address and Consumer Name: each consumer its own.
    one_a_second(&gw, "/consumers", &[("apikey", "john-key")]);
    one_a_second(&gw, "/consumers", &[("apikey", "jane-key")]);
    assert_eq!(gw.get("/consumers", &[]).status, 401);

    // Implement API Throttling: burst 1, three requests in a row all pass;
    // the second and third waited for the bucket (about 1 s each).
    let start = Instant::now();
    for i in 0..3 {
        let r = gw.get("/throttle", &[]);
        assert_eq!(r.status, 200, "request {i}: {r:?}\n{}", gw.log());
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(1800), "not delayed: {took:?}");
    // ... and with burst 0 (the docs' other way), of three sent at once
    // only one passes.
    let (statuses, secs) = at_once(&gw, "/throttle-burst-0", &[], 3);
    assert!(
        count(&statuses, 200) <= 1 + secs.floor() as usize && count(&statuses, 429) >= 1,
        "{statuses:?} in {secs:.2} s"
    );

    // rejected_msg, with the default rejected_code.
    assert_eq!(gw.get("/msg", &[]).status, 200);
    let r: Response = gw.get("/msg", &[]);
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(
        r.body,
        r#"{"error_msg":"Requests are too frequent, please try again later."}"#
    );
}

#[test]
fn a_delayed_request_holds_no_worker() {
    let up = Node::start("u");
    let gw = Gateway::file(
        harness::BIN,
        &format!(
            r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - {{id: slow, uri: /slow, upstream_id: u, plugins: {{limit-req: {{rate: 0.5, burst: 1, key: remote_addr}}}}}}
  - {{id: bare, uri: /bare, upstream_id: u}}
#END
"#,
            node = up.addr()
        ),
    )
    .workers(1)
    .plugins(&["limit-req"])
    .start();
    assert_eq!(gw.get("/slow", &[]).status, 200);
    // The second is one request over the rate of 1 per 2 s: delayed 2 s.
    let (done, finished) = mpsc::channel();
    let (started, port) = (Instant::now(), gw.port);
    thread::spawn(move || {
        let r = radixgate_test_support::get(port, "/slow");
        let _ = done.send(r.status);
    });
    // Meanwhile the one worker serves the bare route without a pause:
    // requests one after another until the delayed one is answered.
    let mut last = Instant::now();
    let mut longest = Duration::ZERO;
    let status = loop {
        let r = gw.get("/bare", &[]);
        assert_eq!(r.status, 200, "{r:?}");
        longest = longest.max(last.elapsed());
        last = Instant::now();
        if let Ok(status) = finished.try_recv() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never answered"
        );
    };
    assert_eq!(status, 200, "{}", gw.log());
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1800), "not delayed: {took:?}");
    // A worker held by the delay would have kept a bare request ~2 s.
    assert!(
        longest < Duration::from_millis(1000),
        "a bare request waited {longest:?} while the other was delayed"
    );
}
