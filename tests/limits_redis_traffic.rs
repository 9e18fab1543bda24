//! limit-req's and limit-conn's `redis` and `redis-cluster` policies
//! through two real gateway processes sharing one real `redis-server` (or
//! a real Redis Cluster of three masters): one leaky bucket, one count of
//! requests in flight, for both gateways; and a Redis that stops gives
//! `allow_degradation`'s answer.

use std::thread;

use radixgate_test_support::redis::{RedisCluster, RedisServer};
use radixgate_test_support::{eventually, Gateway, Node, Request};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A one-worker gateway with route `/r` running `plugin` with `config`
/// (a YAML flow map) in front of `node`.
fn gateway(node: &Node, plugin: &str, config: &str) -> Gateway {
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n  \
         - {{id: r, uri: /r, upstream_id: u, plugins: {{{plugin}: {config}}}}}\n#END\n",
        node.addr()
    );
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&[plugin])
        .start()
}

/// The statuses of `n` GETs of `/r`, sent one after another to the
/// gateways in turn.
fn in_turn(gateways: &[&Gateway], n: usize) -> Vec<u16> {
    (0..n)
        .map(|i| gateways[i % gateways.len()].get("/r", &[]).status)
        .collect()
}

/// limit-req's bucket: 0.1 request a second and a burst of 2, without
/// delay: three requests pass, then the bucket is full for ten seconds.
fn bucket(policy: &str) -> String {
    format!(
        "{{rate: 0.1, burst: 2, nodelay: true, rejected_code: 429, key: remote_addr, {policy}}}"
    )
}

#[test]
fn limit_req_two_gateways_fill_one_bucket_in_redis() {
    let redis = RedisServer::start();
    let node = Node::start("n");
    let config = bucket(&format!(
        "policy: redis, redis_host: \"127.0.0.1\", redis_port: {}",
        redis.port
    ));
    let (a, b) = (
        gateway(&node, "limit-req", &config),
        gateway(&node, "limit-req", &config),
    );
    assert_eq!(
        in_turn(&[&a, &b], 6),
        [200, 200, 200, 429, 429, 429],
        "{}",
        a.log()
    );
}

#[test]
fn limit_req_two_gateways_fill_one_bucket_in_a_redis_cluster() {
    let cluster = RedisCluster::start(3);
    let node = Node::start("n");
    let config = bucket(&format!(
        "policy: redis-cluster, redis_cluster_name: c, redis_cluster_nodes: [\"{}\"]",
        cluster.addrs()[1]
    ));
    let (a, b) = (
        gateway(&node, "limit-req", &config),
        gateway(&node, "limit-req", &config),
    );
    assert_eq!(
        in_turn(&[&a, &b], 6),
        [200, 200, 200, 429, 429, 429],
        "{}",
        a.log()
    );
}

#[test]
fn limit_req_redis_stopped_degrades_as_configured() {
    degrades_as_configured("limit-req", bucket, "failed to limit req");
}

/// limit-conn with one request in flight per client across gateways.
fn conn(policy: &str) -> String {
    format!(
        "{{conn: 1, burst: 0, default_conn_delay: 0.1, rejected_code: 429, key: remote_addr, \
         {policy}}}"
    )
}

/// While `a` has a request held by `node`, `b` rejects; once it ends, `b`
/// lets the next one in.
fn one_in_flight_across(node: &Node, a: &Gateway, b: &Gateway) {
    node.hold(true);
    let port = a.port;
    let held = thread::spawn(move || Request::get("/r").send(port).map_or(0, |r| r.status));
    assert!(eventually(10, || node.held() == 1), "{}", a.log());
    assert_eq!(b.get("/r", &[]).status, 429, "{}", b.log());
    node.hold(false);
    assert_eq!(held.join().expect("the held request"), 200);
    // The held request's log phase counts it out in Redis.
    assert!(
        eventually(10, || b.get("/r", &[]).status == 200),
        "{}",
        a.log()
    );
}

#[test]
fn limit_conn_two_gateways_count_requests_in_flight_in_redis() {
    let redis = RedisServer::start();
    let node = Node::start("n");
    let config = conn(&format!(
        "policy: redis, redis_host: \"127.0.0.1\", redis_port: {}",
        redis.port
    ));
    let (a, b) = (
        gateway(&node, "limit-conn", &config),
        gateway(&node, "limit-conn", &config),
    );
    one_in_flight_across(&node, &a, &b);
}

#[test]
fn limit_conn_two_gateways_count_requests_in_flight_in_a_redis_cluster() {
    let cluster = RedisCluster::start(3);
    let node = Node::start("n");
    let config = conn(&format!(
        "policy: redis-cluster, redis_cluster_name: c, redis_cluster_nodes: [\"{}\"]",
        cluster.addrs()[2]
    ));
    let (a, b) = (
        gateway(&node, "limit-conn", &config),
        gateway(&node, "limit-conn", &config),
    );
    one_in_flight_across(&node, &a, &b);
}

#[test]
fn limit_conn_redis_stopped_degrades_as_configured() {
    degrades_as_configured("limit-conn", conn, "failed to limit conn");
}

/// With its Redis stopped, `plugin` (its config made by `config` from the
/// Redis fields) answers 500 and logs `message`, or lets the request
/// through with `allow_degradation`.
fn degrades_as_configured(plugin: &str, config: fn(&str) -> String, message: &str) {
    let mut redis = RedisServer::start();
    let node = Node::start("n");
    let server = format!(
        "policy: redis, redis_host: \"127.0.0.1\", redis_port: {}",
        redis.port
    );
    let closed = gateway(&node, plugin, &config(&server));
    let open = gateway(
        &node,
        plugin,
        &config(&format!("{server}, allow_degradation: true")),
    );
    redis.stop();
    assert_eq!(closed.get("/r", &[]).status, 500);
    assert_eq!(open.get("/r", &[]).status, 200);
    assert!(closed.log().contains(message), "{}", closed.log());
}
