//! Redis commands from a waiting plugin phase (`test-wait`'s `redis` and
//! `redis_cluster` configs: `INCR test-wait:<path>`, the count sent on in
//! the request header `x-count`) against real `redis-server` processes
//! started here: one server, whose connection the gateway keeps and
//! reuses; a Redis Cluster of three masters, keys on different slots all
//! counted; a server that goes away, which gives the plugin's own answer
//! at once, and comes back, which the gateway reconnects to.

use std::time::{Duration, Instant};

use radixgate_test_support::redis::{command, RedisCluster, RedisServer};
use radixgate_test_support::{Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A one-worker gateway with route `/c/*` running `test-wait` with
/// `config` (YAML flow map) in front of `node`.
fn gateway(node: &Node, config: &str) -> Gateway {
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n  \
         - {{id: count, uri: \"/c/*\", upstream_id: u, plugins: {{test-wait: {config}}}}}\n#END\n",
        node.addr()
    );
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["test-wait"])
        .start()
}

/// `INFO stats`' count of connections the server accepted.
fn connections_received(port: u16) -> u64 {
    let info = command(port, &["INFO", "stats"]).expect("INFO stats");
    info.lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("total_connections_received in INFO stats")
}

#[test]
fn incr_counts_across_requests_over_one_kept_connection() {
    let redis = RedisServer::start();
    let node = Node::start("n");
    let gw = gateway(&node, &format!("{{redis: \"{}\"}}", redis.addr()));
    let before = connections_received(redis.port);
    for n in 1..=3 {
        let r = gw.get("/c/a", &[]);
        assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
        assert_eq!(r.echoed("x-count"), Some(n.to_string()), "{}", r.body);
    }
    let r = gw.get("/c/b", &[]);
    assert_eq!(r.echoed("x-count").as_deref(), Some("1"), "{}", r.body);
    assert_eq!(
        command(redis.port, &["GET", "test-wait:/c/a"]).expect("GET"),
        "$1\r\n3\r\n"
    );
    // Four commands over one connection of the gateway's; the other two
    // since the first INFO are this test's GET and INFO.
    assert_eq!(connections_received(redis.port) - before, 3);
}

#[test]
fn a_cluster_counts_keys_on_every_master() {
    let cluster = RedisCluster::start(3);
    let node = Node::start("n");
    let seeds = cluster.addrs()[..1].join("\", \"");
    let gw = gateway(&node, &format!("{{redis_cluster: [\"{seeds}\"]}}"));
    let paths: Vec<String> = (0..12).map(|i| format!("/c/k{i}")).collect();
    for round in 1..=2 {
        for path in &paths {
            let r = gw.get(path, &[]);
            assert_eq!(r.status, 200, "{path}: {r:?}\n{}", gw.log());
            assert_eq!(
                r.echoed("x-count"),
                Some(round.to_string()),
                "{path}: {}",
                r.body
            );
        }
    }
    // The keys landed on more than one master (their slots differ), and
    // every one was counted there.
    let per_master: Vec<usize> = cluster
        .nodes
        .iter()
        .map(|m| {
            let size = command(m.port, &["DBSIZE"]).expect("DBSIZE");
            size.trim_start_matches(':')
                .trim()
                .parse()
                .expect("a count")
        })
        .collect();
    assert_eq!(
        per_master.iter().sum::<usize>(),
        paths.len(),
        "{per_master:?}"
    );
    assert!(
        per_master.iter().filter(|&&n| n > 0).count() >= 2,
        "{per_master:?}"
    );
}

#[test]
fn a_server_gone_gives_the_plugin_s_answer_and_a_server_back_is_reconnected() {
    let mut redis = RedisServer::start();
    let node = Node::start("n");
    let gw = gateway(&node, &format!("{{redis: \"{}\"}}", redis.addr()));
    let r = gw.get("/c/x", &[]);
    assert_eq!(
        r.echoed("x-count").as_deref(),
        Some("1"),
        "{r:?}\n{}",
        gw.log()
    );

    redis.stop();
    let started = Instant::now();
    let r = gw.get("/c/x", &[]);
    assert_eq!(r.status, 502, "{r:?}");
    assert!(
        r.body.contains(&redis.addr()),
        "the error names the server: {}",
        r.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(node.hits(), 1, "the failed request went on to the node");

    // Back (empty: no persistence): the next command connects again.
    redis.restart();
    let r = gw.get("/c/x", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(r.echoed("x-count").as_deref(), Some("1"), "{}", r.body);
}
