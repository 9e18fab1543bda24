//! limit-conn's documented examples through the real gateway, with the
//! node holding requests so that they are in flight together: `conn` 2
//! and `burst` 1 let three of five concurrent requests through (the third
//! after its delay) and reject two with `rejected_code`, per remote
//! address and per `$remote_addr $consumer_name`. And a request counts
//! until it ends, whatever the end: after answers the node could not give
//! (502), and after clients that went away while their request waited on
//! the node or in limit-conn's own delay, new requests are let in.

use std::thread;
use std::time::{Duration, Instant};

use radixgate_test_support::{eventually, free_port, Gateway, Node, Request};

use crate::harness;

type Headers = &'static [(&'static str, &'static str)];

/// Sends five GETs of `path` at once while the node holds requests:
/// exactly three reach the node and two are rejected with 429; once the
/// node lets go, the three get 200.
fn three_of_five(gw: &Gateway, node: &Node, path: &'static str, headers: Headers) {
    let held_before = node.held();
    node.hold(true);
    let port = gw.port;
    let threads: Vec<_> = (0..5)
        .map(|_| {
            thread::spawn(move || {
                Request::get(path)
                    .headers(headers)
                    .send(port)
                    .map_or(0, |r| r.status)
            })
        })
        .collect();
    assert!(
        eventually(10, || node.held() == held_before + 3),
        "{} held, want {}\n{}",
        node.held(),
        held_before + 3,
        gw.log()
    );
    // The two over conn + burst were answered at once, not held.
    let finished = || threads.iter().filter(|t| t.is_finished()).count();
    assert!(
        eventually(10, || finished() == 2),
        "{} answered",
        finished()
    );
    node.hold(false);
    let mut statuses: Vec<u16> = threads
        .into_iter()
        .map(|t| t.join().expect("a client thread"))
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 429, 429], "{path} {headers:?}");
}

fn config(node: &str, dead: u16) -> String {
    let lc = |extra: &str| {
        format!(
            "limit-conn: {{conn: 2, burst: 1, default_conn_delay: 0.1, rejected_code: 429{extra}}}"
        )
    };
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
  - {{id: dead, nodes: {{"127.0.0.1:{dead}": 1}}}}
consumers:
  - {{username: john}}
  - {{id: john/credentials/cred-john-key-auth, plugins: {{key-auth: {{key: john-key}}}}}}
  - {{username: jane}}
  - {{id: jane/credentials/cred-jane-key-auth, plugins: {{key-auth: {{key: jane-key}}}}}}
routes:
  - {{id: limit-conn-route, uri: /get, upstream_id: u, plugins: {{{remote}}}}}
  - id: consumers
    uri: /consumers
    upstream_id: u
    plugins:
      key-auth: {{}}
      {combined}
  - {{id: one, uri: /one, upstream_id: u, plugins: {{limit-conn: {{conn: 1, burst: 0, default_conn_delay: 0.1, key: remote_addr}}}}}}
  - {{id: delayed, uri: /delayed, upstream_id: u, timeout: {{connect: 2, send: 2, read: 30}}, plugins: {{limit-conn: {{conn: 1, burst: 1, default_conn_delay: 1, only_use_default_delay: true, key: remote_addr}}}}}}
  - {{id: down, uri: /down, upstream_id: dead, plugins: {{limit-conn: {{conn: 1, burst: 0, default_conn_delay: 0.1, key: remote_addr}}}}}}
#END
"#,
        remote = lc(", key_type: var, key: remote_addr, policy: local"),
        combined = lc(r#", key_type: var_combination, key: "$remote_addr $consumer_name""#),
    )
}

#[test]
fn limit_conn_doc_examples() {
    let node = Node::start("u");
    let gw = harness::start_with(
        &config(&node.addr(), free_port()),
        &["limit-conn", "key-auth"],
    );
    // Apply Rate Limiting by Remote Address.
    three_of_five(&gw, &node, "/get", &[]);
    // ... by Remote Address and Consumer Name: John's five, then Jane's
    // five while John's three are still in.
    three_of_five(&gw, &node, "/consumers", &[("apikey", "john-key")]);
    three_of_five(&gw, &node, "/consumers", &[("apikey", "jane-key")]);
    // Every one of them was counted out: the routes serve again.
    assert!(eventually(5, || gw.get("/get", &[]).status == 200));
}

#[test]
fn a_request_counts_until_it_ends_whatever_the_end() {
    let node = Node::start("u");
    let gw = harness::start_with(&config(&node.addr(), free_port()), &["limit-conn"]);
    // The node cannot be reached: each request ends with 502 and is
    // counted out (conn 1: one not counted out would leave every later
    // request a 503). The log phase runs just after the answer is handed
    // over: a request sent at once may still find the slot taken.
    for i in 0..3 {
        assert!(
            eventually(5, || gw.get("/down", &[]).status == 502),
            "request {i} never reached the node's failure:\n{}",
            gw.log()
        );
    }
    // A client that gives up while the node holds its request: the next
    // request is let in (it reaches the node) while the first is still held.
    node.hold(true);
    let gone = Request::get("/one")
        .timeout(Duration::from_millis(300))
        .send(gw.port);
    assert!(gone.is_err(), "{gone:?}");
    assert_eq!(node.held(), 1);
    let port = gw.port;
    // Retried while refused: the gateway counts the first out once it saw
    // its client close.
    let next = thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = radixgate_test_support::get(port, "/one").status;
            if status != 503 || Instant::now() > deadline {
                return status;
            }
        }
    });
    assert!(
        eventually(10, || node.held() == 2),
        "the next request was not let in:\n{}",
        gw.log()
    );
    node.hold(false);
    assert_eq!(next.join().expect("a client thread"), 200);
    // A client that gives up during limit-conn's own delay (the second
    // request in waits 1 s): its slot is freed too. With the first request
    // held (no read timeout frees it meanwhile), a third is over conn +
    // burst (503) unless it was; once let in it waits its second and
    // reaches the node.
    node.hold(true);
    let first = thread::spawn(move || radixgate_test_support::get(port, "/delayed").status);
    assert!(eventually(10, || node.held() == 1));
    let gone = Request::get("/delayed")
        .timeout(Duration::from_millis(300))
        .send(gw.port);
    assert!(gone.is_err(), "{gone:?}");
    let third = thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = radixgate_test_support::get(port, "/delayed").status;
            if status != 503 || Instant::now() > deadline {
                return status;
            }
        }
    });
    assert!(
        eventually(10, || node.held() == 2),
        "the delayed request's slot was never freed:\n{}",
        gw.log()
    );
    node.hold(false);
    assert_eq!(first.join().expect("a client thread"), 200);
    assert_eq!(third.join().expect("a client thread"), 200);
}
