//! limit-req's and limit-conn's `redis` and `redis-cluster` policies
//! through two real gateway processes sharing one real `redis-server` (or
//! a real Redis Cluster of three masters): one leaky bucket, one count of
//! requests in flight, for both gateways; a Redis that stops gives
//! `allow_degradation`'s answer; and limit-req without `nodelay` delays a
//! request within the burst on the gateway's timer (answered 200, not
//! 503) while its one worker serves other requests.

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

/// The `excess` of every limit-req bucket in the Redis on `port`
/// (micro-requests; a bucket is a hash `excess`, `last`).
fn bucket_excess(port: u16) -> Vec<i64> {
    let keys = radixgate_test_support::redis::command(port, &["KEYS", "limit-req*"]).expect("KEYS");
    keys.lines()
        .filter(|l| !l.starts_with('*') && !l.starts_with('$'))
        .filter_map(|key| {
            let v = radixgate_test_support::redis::command(port, &["HGET", key, "excess"]).ok()?;
            v.lines().nth(1)?.parse().ok()
        })
        .collect()
}

/// limit-req without `nodelay` on Redis (0.25 request a second, burst 1):
/// of two clients at once, one passes at once and the other, within the
/// burst, waits its turn on the gateway's timer and is then answered 200
/// (not 503). Meanwhile the one-worker gateway serves another route: the
/// wait holds no worker.
#[test]
fn limit_req_delays_a_request_within_the_burst_without_holding_the_worker() {
    let redis = RedisServer::start();
    let node = Node::start("n");
    let config = format!(
        "{{rate: 0.25, burst: 1, key_type: constant, key: all, policy: redis, \
         redis_host: \"127.0.0.1\", redis_port: {}}}",
        redis.port
    );
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n  \
         - {{id: r, uri: /r, upstream_id: u, plugins: {{limit-req: {config}}}}}\n  \
         - {{id: other, uri: /other, upstream_id: u}}\n#END\n",
        node.addr()
    );
    let gw = Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["limit-req"])
        .start();
    let port = gw.port;
    let client = move || {
        Request::get("/r")
            .timeout(std::time::Duration::from_secs(30))
            .send(port)
            .map(|r| r.status)
    };
    let (a, b) = (thread::spawn(client), thread::spawn(client));
    // One passed; the other is counted in the bucket (a unit over the
    // rate) and waits: it has not reached the node.
    let waiting = || node.hits() == 1 && bucket_excess(redis.port).iter().any(|e| *e > 0);
    assert!(eventually(10, waiting), "{}", gw.log());
    assert!(!(a.is_finished() && b.is_finished()), "{}", gw.log());
    // The one worker serves another route while that request waits.
    let other = gw.get("/other", &[]);
    assert_eq!(other.status, 200, "{other:?}");
    assert!(
        !(a.is_finished() && b.is_finished()),
        "the delayed request ended before /other was served:\n{}",
        gw.log()
    );
    let statuses = [a, b].map(|t| t.join().expect("client").expect("an answer"));
    assert_eq!(statuses, [200, 200], "{}", gw.log());
    assert_eq!(node.hits(), 3);
}
