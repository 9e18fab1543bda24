//! End to end: health checks through the real binary. A node that fails
//! its active check stops getting traffic and gets it again once it
//! passes; a node answering 500s is ejected by passive checks; a backup
//! priority group serves only while the primary is down; probers of an
//! upstream that leaves the config stop.

use std::thread;
use std::time::Duration;

use radixgate_test_support::{eventually, request, Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// Active checks every second on `/health`; one failure ejects, one
/// success restores (APISIX's intervals are whole seconds).
const ACTIVE: &str = "{active: {type: http, http_path: /health, timeout: 1, healthy: {interval: 1, successes: 1}, unhealthy: {interval: 1, http_failures: 1}}}";

/// The nodes (`x-upstream`) that served `n` requests to `path`, and
/// their statuses.
fn serve(port: u16, path: &str, n: usize) -> Vec<(String, u16)> {
    (0..n)
        .map(|_| {
            let r = request(port, "GET", path, &[]).expect("gateway reachable");
            let node = r.headers.get("x-upstream").cloned().unwrap_or_default();
            (node, r.status)
        })
        .collect()
}

fn only(served: &[(String, u16)], name: &str) -> bool {
    served.iter().all(|(n, s)| n == name && *s == 200)
}

#[test]
fn a_node_failing_its_active_check_is_ejected_and_comes_back() {
    let (a, b) = (Node::start("a"), Node::start("b"));
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - id: h\n    uri: /h\n    upstream: {{nodes: {{\"{}\": 1, \"{}\": 1}}, checks: {ACTIVE}}}\n#END\n",
        a.addr(),
        b.addr()
    ));
    let first = serve(gw.port, "/h", 10);
    assert!(first.iter().any(|(n, _)| n == "a") && first.iter().any(|(n, _)| n == "b"));
    assert!(eventually(5, || a.probes() > 0), "no probe reached node a");
    a.set_health(500);
    assert!(
        eventually(6, || only(&serve(gw.port, "/h", 10), "b")),
        "node a still served after failing its check:\n{}",
        gw.log()
    );
    a.set_health(200);
    assert!(
        eventually(6, || serve(gw.port, "/h", 10).iter().any(|(n, _)| n == "a")),
        "node a did not come back"
    );
    let log = gw.log();
    assert!(
        log.contains("node is unhealthy") && log.contains("node is healthy again"),
        "{log}"
    );
}

#[test]
fn a_node_answering_500s_is_ejected_by_passive_checks() {
    let (bad, good) = (Node::start("bad"), Node::start("good"));
    bad.set_status(500);
    // Active probes pass on both; restoring takes 10 successes (10 s),
    // longer than this test: only passive checks act here.
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - id: p\n    uri: /p\n    upstream:\n      nodes: {{\"{}\": 1, \"{}\": 1}}\n      checks:\n        active: {{http_path: /health, healthy: {{interval: 1, successes: 10}}}}\n        passive: {{unhealthy: {{http_statuses: [500], http_failures: 2}}}}\n#END\n",
        bad.addr(),
        good.addr()
    ));
    let served = serve(gw.port, "/p", 30);
    assert!(only(&served[20..], "good"), "{served:?}");
    assert!((2..=6).contains(&bad.hits()), "bad got {}", bad.hits());
    assert!(gw.log().contains("node is unhealthy"));
}

#[test]
fn the_backup_group_serves_only_while_the_primary_is_down() {
    let (primary, backup) = (Node::start("primary"), Node::start("backup"));
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - id: pr\n    uri: /pr\n    upstream:\n      nodes:\n        - {{host: 127.0.0.1, port: {}, weight: 1, priority: 1}}\n        - {{host: 127.0.0.1, port: {}, weight: 1, priority: 0}}\n      checks: {ACTIVE}\n#END\n",
        primary.port, backup.port
    ));
    assert!(only(&serve(gw.port, "/pr", 10), "primary"));
    assert_eq!(backup.hits(), 0);
    primary.set_health(503);
    assert!(
        eventually(6, || only(&serve(gw.port, "/pr", 10), "backup")),
        "the backup did not take over"
    );
    primary.set_health(200);
    assert!(
        eventually(6, || only(&serve(gw.port, "/pr", 10), "primary")),
        "the primary did not take back"
    );
}

#[test]
fn probers_stop_when_their_upstream_leaves() {
    let (n, other) = (Node::start("n"), Node::start("other"));
    let yaml = |id: &str, node: &Node| {
        format!(
            "routes:\n  - id: {id}\n    uri: /s\n    upstream: {{nodes: {{\"{}\": 1}}, checks: {ACTIVE}}}\n#END\n",
            node.addr()
        )
    };
    let gw = Gateway::start_file(BIN, &yaml("s", &n));
    serve(gw.port, "/s", 1);
    assert!(eventually(5, || n.probes() >= 2), "node n was not probed");
    // Route s (and its upstream) leaves, route t serves /s from another
    // node: n's prober ends within an interval.
    gw.write_apisix(&yaml("t", &other));
    assert!(eventually(10, || only(&serve(gw.port, "/s", 1), "other")));
    thread::sleep(Duration::from_millis(1500));
    let settled = n.probes();
    thread::sleep(Duration::from_millis(2500));
    assert!(
        n.probes() <= settled + 1,
        "n still probed: {settled} then {}",
        n.probes()
    );
    assert!(
        eventually(5, || other.probes() >= 1),
        "node other was not probed"
    );
}

#[test]
fn when_every_node_is_unhealthy_all_of_them_serve() {
    let (a, b) = (Node::start("a"), Node::start("b"));
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - id: all\n    uri: /all\n    upstream: {{nodes: {{\"{}\": 1, \"{}\": 1}}, checks: {ACTIVE}}}\n#END\n",
        a.addr(),
        b.addr()
    ));
    serve(gw.port, "/all", 1);
    a.set_health(500);
    b.set_health(500);
    assert!(
        eventually(6, || gw.log().matches("node is unhealthy").count() >= 2),
        "both nodes should be ejected:\n{}",
        gw.log()
    );
    // As APISIX: with no healthy node, every node serves rather than none.
    let served = serve(gw.port, "/all", 10);
    assert!(served.iter().all(|(_, s)| *s == 200), "{served:?}");
    assert!(served.iter().any(|(n, _)| n == "a") && served.iter().any(|(n, _)| n == "b"));
}
