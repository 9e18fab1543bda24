//! End to end: how the balancers spread requests over real nodes through
//! the real binary. roundrobin keeps weights; least_conn avoids a node
//! whose requests are still in flight; chash keeps a key on its node and,
//! when a node leaves, moves only that node's keys; ewma avoids a slow node.

use std::collections::HashMap;
use std::thread;

use radixgate_test_support::{eventually, get, request, Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// The node (`x-upstream`) that answered `path`, with `headers`.
fn served_by(port: u16, path: &str, headers: &[(&str, &str)]) -> String {
    let r = request(port, "GET", path, headers).expect("gateway reachable");
    assert_eq!(r.status, 200, "{r:?}");
    r.headers.get("x-upstream").cloned().unwrap_or_default()
}

#[test]
fn roundrobin_keeps_weights_1_2_3() {
    let (a, b, c) = (Node::start("a"), Node::start("b"), Node::start("c"));
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - id: rr\n    uri: /rr\n    upstream: {{nodes: {{\"{}\": 1, \"{}\": 2, \"{}\": 3}}}}\n#END\n",
        a.addr(),
        b.addr(),
        c.addr()
    ));
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..600 {
        *counts.entry(served_by(gw.port, "/rr", &[])).or_default() += 1;
    }
    for (name, expected) in [("a", 100.0), ("b", 200.0), ("c", 300.0)] {
        let got = counts.get(name).copied().unwrap_or(0) as f64;
        assert!(
            (got - expected).abs() <= expected * 0.05,
            "{name}: {got} of 600, expected {expected}: {counts:?}"
        );
    }
}

#[test]
fn least_conn_prefers_the_idle_node_while_another_is_slow() {
    let (slow, idle) = (Node::start("slow"), Node::start("idle"));
    slow.hold(true);
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - id: lc\n    uri: /lc\n    upstream: {{type: least_conn, nodes: {{\"{}\": 1, \"{}\": 1}}}}\n#END\n",
        slow.addr(),
        idle.addr()
    ));
    let port = gw.port;
    let mut waiting = Vec::new();
    for i in 1..=20 {
        let slow_before = slow.hits();
        let client = thread::spawn(move || get(port, "/lc"));
        assert!(
            eventually(10, || slow.hits() + idle.hits() == i),
            "request {i} reached no node"
        );
        if slow.hits() > slow_before {
            waiting.push(client);
        } else {
            // The idle node answers at once: wait for the answer, so that
            // its in-flight count is back to 0 before the next pick.
            let r = client.join().expect("client thread");
            assert_eq!(r.status, 200, "{r:?}");
        }
    }
    // At most the first pick (a tie: both idle) lands on the slow node.
    assert!(
        slow.hits() <= 1,
        "slow {} idle {}",
        slow.hits(),
        idle.hits()
    );
    assert_eq!(idle.hits() + slow.hits(), 20);
    slow.hold(false);
    for c in waiting {
        assert_eq!(c.join().expect("client thread").status, 200);
    }
}

#[test]
fn chash_keeps_keys_and_moves_only_a_leaving_node_s_keys() {
    let (a, b, c) = (Node::start("a"), Node::start("b"), Node::start("c"));
    let yaml = |nodes: &[&Node]| {
        let list: Vec<String> = nodes
            .iter()
            .map(|n| format!("\"{}\": 1", n.addr()))
            .collect();
        format!(
            "routes:\n  - id: ch\n    uri: /ch\n    upstream: {{type: chash, hash_on: header, key: x-user, nodes: {{{}}}}}\n#END\n",
            list.join(", ")
        )
    };
    let gw = Gateway::start_file(BIN, &yaml(&[&a, &b, &c]));
    let owner = |k: usize| served_by(gw.port, "/ch", &[("X-User", &format!("user-{k}"))]);
    let before: Vec<String> = (0..1000).map(owner).collect();
    // The same key lands on the same node.
    for (k, was) in before.iter().enumerate().take(100) {
        assert_eq!(&owner(k), was, "key user-{k} moved without a change");
    }
    let share = |n: &str| before.iter().filter(|o| *o == n).count();
    for n in ["a", "b", "c"] {
        assert!((200..=470).contains(&share(n)), "{n}: {} of 1000", share(n));
    }
    // Node c leaves.
    gw.write_apisix(&yaml(&[&a, &b]));
    let probe = before.iter().position(|o| o == "c").expect("c owns a key");
    assert!(
        eventually(10, || owner(probe) != "c"),
        "the change was not applied"
    );
    let mut moved = 0;
    for (k, was) in before.iter().enumerate() {
        let now = owner(k);
        assert_ne!(now, "c");
        if was == "c" {
            moved += 1;
        } else {
            assert_eq!(&now, was, "key user-{k} of a staying node moved");
        }
    }
    assert_eq!(moved, share("c"));
}

#[test]
fn ewma_avoids_a_slow_node() {
    let (slow, fast) = (Node::start("slow"), Node::start("fast"));
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - id: ew\n    uri: /ew\n    upstream: {{type: ewma, nodes: {{\"{}\": 1, \"{}\": 1}}}}\n#END\n",
        slow.addr(),
        fast.addr()
    ));
    // Requests go one at a time until one lands on the slow node, which
    // holds it for a while: its latency average rises above the fast
    // node's, and stays so (it decays over 10 s).
    slow.hold(true);
    let port = gw.port;
    let mut held = None;
    for _ in 0..20 {
        let fast_before = fast.hits();
        let client = thread::spawn(move || get(port, "/ew"));
        assert!(eventually(10, || slow.held() == 1 || fast.hits() > fast_before));
        if slow.held() == 1 {
            held = Some(client);
            break;
        }
        assert_eq!(client.join().expect("client").status, 200);
    }
    let held = held.expect("a fresh node (no latency yet) is picked soon");
    thread::sleep(std::time::Duration::from_millis(300));
    slow.hold(false);
    assert_eq!(held.join().expect("client").status, 200);
    let slow_before = slow.hits();
    for _ in 0..50 {
        served_by(gw.port, "/ew", &[]);
    }
    assert_eq!(slow.hits(), slow_before, "fast {}", fast.hits());
}

#[test]
fn chash_on_consumer_falls_back_to_the_client_address_and_vars_combinations_stick() {
    let (a, b, c) = (Node::start("a"), Node::start("b"), Node::start("c"));
    let nodes = format!(
        "{{\"{}\": 1, \"{}\": 1, \"{}\": 1}}",
        a.addr(),
        b.addr(),
        c.addr()
    );
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - id: co\n    uri: /co\n    upstream: {{type: chash, hash_on: consumer, nodes: {nodes}}}\n  - id: vc\n    uri: /vc\n    upstream: {{type: chash, hash_on: vars_combinations, key: \"$http_x_a-$arg_b\", nodes: {nodes}}}\n#END\n"
    ));
    // No authentication yet: every request of this client lands on one node.
    let first = served_by(gw.port, "/co", &[]);
    for _ in 0..20 {
        assert_eq!(served_by(gw.port, "/co", &[]), first);
    }
    let mut seen = std::collections::HashSet::new();
    for k in 0..30 {
        let path = format!("/vc?b={k}");
        let owner = served_by(gw.port, &path, &[("X-A", "x")]);
        assert_eq!(served_by(gw.port, &path, &[("X-A", "x")]), owner);
        seen.insert(owner);
    }
    assert_eq!(seen.len(), 3, "30 combinations spread over the 3 nodes");
}
