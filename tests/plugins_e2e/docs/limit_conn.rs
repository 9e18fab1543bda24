//! limit-conn's documented examples through the real gateway, with the
//! node holding requests so that they are in flight together: `conn` 2
//! and `burst` 1 let three of five concurrent requests through (the third
//! after its delay) and reject two with `rejected_code`, per remote
//! address and per `$remote_addr $consumer_name`.

use std::thread;

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
