//! End to end: health checks through the real binary. A node that fails
//! its active check (http, or tcp: it stops listening) stops getting
//! traffic and gets it again once it passes; passive checks eject a node
//! answering 500s, one refusing connections (`tcp_failures`) and one
//! timing out (`timeouts`) after the configured count, while the healthy
//! node takes the traffic; a backup priority group serves only while the
//! primary is down; probers of an upstream that leaves the config stop.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use radixgate_test_support::{eventually, free_port, request, Gateway, Node};

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

/// A node that can stop listening and listen again on its port (the
/// support crate's `Node` listens as long as the test runs). It answers
/// each connection once, `x-upstream: <name>`, and closes it, so the
/// gateway keeps no connection to it open.
struct Switchable {
    name: &'static str,
    port: u16,
    running: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Switchable {
    fn start(name: &'static str) -> Switchable {
        let mut node = Switchable {
            name,
            port: free_port(),
            running: None,
        };
        node.listen();
        node
    }

    fn listen(&mut self) {
        let listener =
            TcpListener::bind(("127.0.0.1", self.port)).expect("bind the switchable node");
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, name) = (stop.clone(), self.name);
        let thread = thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let mut reader = BufReader::new(tcp);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nx-upstream: {name}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                );
                let _ = reader.get_mut().write_all(resp.as_bytes());
            }
        });
        self.running = Some((stop, thread));
    }

    /// Stops listening: connections to its port are refused from now on.
    fn close(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            stop.store(true, Ordering::SeqCst);
            // Wakes the accept loop, which sees the flag and drops the listener.
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            thread.join().expect("the switchable node's thread");
        }
    }
}

impl Drop for Switchable {
    fn drop(&mut self) {
        self.close();
    }
}

#[test]
fn a_node_that_stops_listening_fails_its_tcp_check_and_comes_back() {
    let (mut a, b) = (Switchable::start("a"), Node::start("b"));
    let checks = "{active: {type: tcp, timeout: 1, healthy: {interval: 1, successes: 1}, unhealthy: {interval: 1, tcp_failures: 1}}}";
    // No retries: a request sent to a refusing node is a 502, not b's answer.
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - id: t\n    uri: /t\n    upstream: {{nodes: {{\"127.0.0.1:{}\": 1, \"{}\": 1}}, retries: 0, checks: {checks}}}\n#END\n",
        a.port,
        b.addr()
    ));
    let first = serve(gw.port, "/t", 10);
    assert!(
        first.iter().any(|(n, _)| n == "a") && first.iter().any(|(n, _)| n == "b"),
        "{first:?}"
    );
    a.close();
    assert!(
        eventually(6, || only(&serve(gw.port, "/t", 10), "b")),
        "node a still got requests after it stopped listening:\n{}",
        gw.log()
    );
    a.listen();
    assert!(
        eventually(6, || serve(gw.port, "/t", 10)
            .iter()
            .any(|(n, s)| n == "a" && *s == 200)),
        "node a did not come back once it listened again:\n{}",
        gw.log()
    );
}

/// An upstream of `bad` and `good` without retries, whose passive checks
/// are `passive`; the active probes of both nodes go to `good`'s port
/// once (hourly intervals, two successes to restore), so that only
/// passive checks count against `bad`.
fn passive_gateway(bad: &str, good: &Node, passive: &str, timeout: &str) -> Gateway {
    Gateway::start_file(BIN, &format!(
        "routes:\n  - id: p\n    uri: /p\n    upstream:\n      nodes: {{\"{bad}\": 1, \"{}\": 1}}\n      retries: 0\n{timeout}      checks:\n        active: {{type: tcp, port: {}, healthy: {{interval: 3600}}, unhealthy: {{interval: 3600}}}}\n        passive: {passive}\n#END\n",
        good.addr(),
        good.port
    ))
}

#[test]
fn a_node_refusing_connections_is_ejected_after_tcp_failures() {
    let good = Node::start("good");
    // Nothing listens there: every connect is refused.
    let refusing = format!("127.0.0.1:{}", free_port());
    let gw = passive_gateway(&refusing, &good, "{unhealthy: {tcp_failures: 2}}", "");
    let served = serve(gw.port, "/p", 20);
    let failed = served.iter().filter(|(_, s)| *s == 502).count();
    // Two refusals eject it (three when the one active probe's success
    // came between them and reset the count).
    assert!((2..=3).contains(&failed), "{failed} failures: {served:?}");
    assert!(only(&served[8..], "good"), "{served:?}");
    assert!(gw.log().contains("node is unhealthy"), "{}", gw.log());
}

#[test]
fn a_node_timing_out_is_ejected_after_timeouts() {
    let (slow, good) = (Node::start("slow"), Node::start("good"));
    slow.hold(true);
    let gw = passive_gateway(
        &slow.addr(),
        &good,
        "{unhealthy: {timeouts: 2}}",
        "      timeout: {connect: 1, send: 1, read: 0.3}\n",
    );
    let served = serve(gw.port, "/p", 14);
    let timed_out = served.iter().filter(|(_, s)| *s == 504).count();
    assert!(
        (2..=3).contains(&timed_out),
        "{timed_out} timeouts: {served:?}"
    );
    assert!(only(&served[8..], "good"), "{served:?}");
    assert!(
        slow.hits() <= 3,
        "the slow node got {} requests",
        slow.hits()
    );
}
