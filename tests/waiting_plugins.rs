//! Plugins whose phases wait on host operations, through the real gateway
//! and a real `.so` (`tests/plugins/test-wait`): a waiting request holds
//! no worker (one worker serves other requests meanwhile), and a plugin
//! that never decides is cut off by the route's timeout.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use radixgate_test_support::{Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A one-worker gateway with `routes` (YAML list items) in front of `node`.
fn gateway(node: &Node, routes: &str) -> Gateway {
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n{routes}#END\n",
        node.addr()
    );
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["test-wait"])
        .start()
}

#[test]
fn a_waiting_plugin_holds_no_worker() {
    let node = Node::start("n");
    let gw = gateway(
        &node,
        "  - {id: slow, uri: /slow, upstream_id: u, plugins: {test-wait: {sleep_ms: 1500}}}\n  \
         - {id: bare, uri: /bare, upstream_id: u}\n",
    );
    let port = gw.port;
    // Ten requests wait in access on the one worker at once.
    let (done, finished) = mpsc::channel();
    let started = Instant::now();
    for _ in 0..10 {
        let done = done.clone();
        thread::spawn(move || {
            let r = radixgate_test_support::get(port, "/slow");
            let _ = done.send((r, Instant::now()));
        });
    }
    // Meanwhile the same worker serves a bare route, request after request.
    let mut bare = Vec::new();
    for _ in 0..20 {
        let r = gw.get("/bare", &[]);
        assert_eq!(r.status, 200, "{r:?}");
        bare.push(Instant::now());
    }
    let slow: Vec<_> = (0..10)
        .map(|_| {
            finished
                .recv_timeout(Duration::from_secs(20))
                .expect("a slow request ends")
        })
        .collect();
    let first_slow = slow.iter().map(|(_, at)| *at).min().expect("ten ended");
    let last_bare = *bare.last().expect("twenty bare requests");
    assert!(
        last_bare < first_slow,
        "the bare route waited for the waiting plugin ({:?} vs {:?} after start)",
        last_bare - started,
        first_slow - started
    );
    for (r, at) in &slow {
        assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
        // The plugin went on after its sleep, with the request edited.
        assert_eq!(r.echoed("x-waited").as_deref(), Some("1500"), "{}", r.body);
        assert!(*at - started >= Duration::from_millis(1500));
    }
    // They waited side by side, not one after another (ten in turn: 15 s).
    let last_slow = slow.iter().map(|(_, at)| *at).max().expect("ten ended");
    assert!(
        last_slow - started < Duration::from_secs(10),
        "{:?}",
        last_slow - started
    );
}

#[test]
fn a_plugin_that_never_decides_is_cut_off_by_the_route_timeout() {
    let node = Node::start("n");
    let gw = gateway(
        &node,
        "  - {id: stuck, uri: /stuck, upstream_id: u, timeout: {connect: 1, send: 1, read: 1}, \
         plugins: {test-wait: {forever: true}}}\n",
    );
    let started = Instant::now();
    let r = gw.get("/stuck", &[]);
    assert_eq!(r.status, 500, "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        gw.log().contains("did not decide access within 1s"),
        "{}",
        gw.log()
    );
    assert_eq!(node.hits(), 0, "the request went on to the node");
}
