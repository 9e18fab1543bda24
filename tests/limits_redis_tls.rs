//! Limits in a Redis reached over TLS (APISIX's `redis_ssl`,
//! `redis_ssl_verify`, `redis_cluster_ssl`): limit-count's `redis` and
//! `redis-cluster` policies against a real `redis-server` (and a Redis
//! Cluster of three) that speaks TLS only (`--port 0 --tls-port`, rcgen
//! certificates), through two real gateway processes. Exactly `count`
//! requests pass across both; TLS towards a Redis that speaks clear text,
//! or a certificate that the Mozilla roots do not vouch for with
//! `redis_ssl_verify`, fails as the config says (500, or through with
//! `allow_degradation`), never falling back to clear text.

use radixgate_test_support::redis::{RedisCluster, RedisServer};
use radixgate_test_support::tls::Ca;
use radixgate_test_support::{Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A one-worker gateway whose route `/r` has limit-count `config` (a YAML
/// flow map) and goes to `node`.
fn gateway(node: &Node, config: &str) -> Gateway {
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n  - {{id: r, uri: /r, \
         upstream_id: u, plugins: {{limit-count: {config}}}}}\n#END\n",
        node.addr()
    );
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["limit-count"])
        .start()
}

/// limit-count on the Redis at `port`, 5 a minute, with `extra` fields.
fn config(port: u16, extra: &str) -> String {
    format!(
        "{{count: 5, time_window: 60, rejected_code: 429, key_type: constant, \
         policy: redis, redis_host: \"127.0.0.1\", redis_port: {port}{extra}}}"
    )
}

/// A TLS-only redis-server with a certificate of a test CA for 127.0.0.1.
fn tls_redis() -> RedisServer {
    let ca = Ca::new("redis test CA");
    let leaf = ca.server(&["127.0.0.1", "localhost"], "redis");
    RedisServer::start_tls(&leaf.cert, &leaf.key, &ca.pem)
}

#[test]
fn two_gateways_on_a_tls_only_redis_pass_exactly_count_requests() {
    let redis = tls_redis();
    let node = Node::start("n");
    let config = config(redis.port, ", redis_ssl: true");
    let a = gateway(&node, &config);
    let b = gateway(&node, &config);
    let statuses: Vec<u16> = (0..8)
        .map(|n| if n % 2 == 0 { &a } else { &b })
        .map(|gw| gw.get("/r", &[]).status)
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 429, 429, 429],
        "{}\n{}",
        a.log(),
        b.log()
    );
}

#[test]
fn tls_to_a_redis_that_speaks_clear_text_fails_as_configured() {
    let redis = RedisServer::start();
    let node = Node::start("n");
    let strict = gateway(&node, &config(redis.port, ", redis_ssl: true"));
    let r = strict.get("/r", &[]);
    assert_eq!(
        (r.status, r.body.as_str()),
        (500, r#"{"error_msg":"failed to limit count"}"#),
        "{}",
        strict.log()
    );
    assert!(
        strict.log().contains("failed to limit count"),
        "{}",
        strict.log()
    );
    // Nothing was counted in clear text.
    let keys = radixgate_test_support::redis::command(redis.port, &["DBSIZE"]).expect("DBSIZE");
    assert_eq!(keys, ":0\r\n");
    let lenient = gateway(
        &node,
        &config(
            redis.port,
            ", redis_ssl: true, allow_degradation: true, redis_timeout: 200",
        ),
    );
    for _ in 0..7 {
        assert_eq!(lenient.get("/r", &[]).status, 200, "{}", lenient.log());
    }
}

#[test]
fn redis_ssl_verify_refuses_a_certificate_the_roots_do_not_vouch_for() {
    let redis = tls_redis();
    let node = Node::start("n");
    let verified = gateway(
        &node,
        &config(redis.port, ", redis_ssl: true, redis_ssl_verify: true"),
    );
    let r = verified.get("/r", &[]);
    assert_eq!(r.status, 500, "{r:?}\n{}", verified.log());
    let log = verified.log();
    assert!(
        log.contains("failed to limit count") && log.contains("UnknownIssuer"),
        "{log}"
    );
    // The same server without the check counts.
    let unchecked = gateway(&node, &config(redis.port, ", redis_ssl: true"));
    assert_eq!(unchecked.get("/r", &[]).status, 200, "{}", unchecked.log());
}

/// A Redis Cluster of three masters that speak TLS only, their cluster
/// bus too: limit-count's `redis-cluster` policy with
/// `redis_cluster_ssl` passes exactly `count` requests across two
/// gateways, the cluster's slots followed over TLS.
#[test]
fn two_gateways_on_a_tls_only_redis_cluster_pass_exactly_count_requests() {
    let ca = Ca::new("redis test CA");
    let leaf = ca.peer(&["127.0.0.1", "localhost"], "redis");
    let cluster = RedisCluster::start_tls(3, &leaf.cert, &leaf.key, &ca.pem);
    let node = Node::start("n");
    let seeds = cluster.addrs().join("\", \"");
    let config = format!(
        "{{count: 5, time_window: 60, rejected_code: 429, key_type: var, key: remote_addr, \
         policy: redis-cluster, redis_cluster_name: tls-cluster, redis_cluster_ssl: true, \
         redis_cluster_nodes: [\"{seeds}\"]}}"
    );
    let a = gateway(&node, &config);
    let b = gateway(&node, &config);
    let statuses: Vec<u16> = (0..8)
        .map(|n| if n % 2 == 0 { &a } else { &b })
        .map(|gw| gw.get("/r", &[]).status)
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 429, 429, 429],
        "{}\n{}",
        a.log(),
        b.log()
    );
}
