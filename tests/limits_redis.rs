//! Cluster-wide limits: limit-count's `redis` and `redis-cluster` policies
//! through two real gateway processes sharing one real `redis-server` (or
//! a real Redis Cluster of three masters), APISIX's config fields as
//! written. Exactly `count` requests pass across both gateways; a Redis
//! that stops gives `allow_degradation`'s answer and, back, counts again
//! without a restart; `sync_interval` passes at most the overshoot
//! documented in `plugins/limit-count/src/sync.rs`.

use std::time::Duration;

use radixgate_test_support::http::Response;
use radixgate_test_support::redis::{command, RedisCluster, RedisServer};
use radixgate_test_support::{Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A one-worker gateway whose routes `/<id>` (each `(id, limit-count
/// config as a YAML flow map)`) go to `node`.
fn gateway(node: &Node, routes: &[(&str, &str)]) -> Gateway {
    let mut apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n",
        node.addr()
    );
    for (id, config) in routes {
        apisix.push_str(&format!(
            "  - {{id: {id}, uri: /{id}, upstream_id: u, plugins: {{limit-count: {config}}}}}\n"
        ));
    }
    apisix.push_str("#END\n");
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["limit-count"])
        .start()
}

/// `GET /<route>` on `gw`, answered (any status).
fn hit(gw: &Gateway, route: &str, headers: &[(&str, &str)]) -> Response {
    gw.get(&format!("/{route}"), headers)
}

/// APISIX's example of limit-count on one Redis: 10 requests a minute,
/// rejected with 429.
fn on_server(redis: &RedisServer, extra: &str) -> String {
    format!(
        "{{count: 10, time_window: 60, rejected_code: 429, key_type: var, key: remote_addr, \
         policy: redis, redis_host: \"127.0.0.1\", redis_port: {}, redis_timeout: 1001, \
         redis_database: 1{extra}}}",
        redis.port
    )
}

/// `redis-cli`'s answer to `args` in database 1 of the server on `port`
/// (a connection of its own; [`command`] speaks to database 0), one line
/// a value.
fn in_db1(port: u16, args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "-n", "1"])
        .args(args)
        .output()
        .expect("redis-cli runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn two_gateways_on_one_redis_pass_exactly_count_requests() {
    let redis = RedisServer::start();
    let node = Node::start("n");
    let config = on_server(&redis, "");
    let a = gateway(&node, &[("r", &config)]);
    let b = gateway(&node, &[("r", &config)]);
    for n in 1..=10 {
        let gw = if n % 2 == 0 { &b } else { &a };
        let r = hit(gw, "r", &[]);
        assert_eq!(r.status, 200, "request {n}: {r:?}\n{}", gw.log());
        assert_eq!(r.header("x-ratelimit-limit"), Some("10"), "{r:?}");
        let left = (10 - n).to_string();
        assert_eq!(
            r.header("x-ratelimit-remaining"),
            Some(&*left),
            "request {n}: {r:?}"
        );
        let reset: u64 = r
            .header("x-ratelimit-reset")
            .and_then(|v| v.parse().ok())
            .expect("X-RateLimit-Reset");
        assert!((1..=60).contains(&reset), "{reset}");
    }
    for gw in [&a, &b] {
        let r = hit(gw, "r", &[]);
        assert_eq!(r.status, 429, "{r:?}");
        assert_eq!(r.header("x-ratelimit-remaining"), Some("0"), "{r:?}");
    }
    assert_eq!(node.hits(), 10);
    // One counter in database 1, shared by both.
    let keys = in_db1(redis.port, &["KEYS", "limit-count:*"]);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(in_db1(redis.port, &["GET", &keys[0]]), ["12"]);
}

#[test]
fn two_gateways_on_a_redis_cluster_pass_exactly_count_requests_per_key() {
    let cluster = RedisCluster::start(3);
    let node = Node::start("n");
    let config = format!(
        "{{count: 3, time_window: 60, rejected_code: 429, key_type: var, key: http_x_user, \
         policy: redis-cluster, redis_cluster_name: test-cluster, \
         redis_cluster_nodes: [\"{}\"]}}",
        cluster.addrs()[0]
    );
    let a = gateway(&node, &[("r", &config)]);
    let b = gateway(&node, &[("r", &config)]);
    let users: Vec<String> = (0..8).map(|i| format!("user-{i}")).collect();
    for user in &users {
        let statuses: Vec<u16> = (0..5)
            .map(|i| {
                let gw = if i % 2 == 0 { &a } else { &b };
                hit(gw, "r", &[("X-User", user)]).status
            })
            .collect();
        assert_eq!(statuses, [200, 200, 200, 429, 429], "{user}\n{}", a.log());
    }
    // The users' counters landed on more than one master.
    let holding = cluster
        .nodes
        .iter()
        .filter(|m| command(m.port, &["DBSIZE"]).is_ok_and(|n| n != ":0\r\n"))
        .count();
    assert!(holding >= 2, "{holding}");
}

#[test]
fn a_redis_stopped_degrades_as_configured_and_counts_again_when_back() {
    let mut redis = RedisServer::start();
    let node = Node::start("n");
    let closed = on_server(&redis, "");
    let open = on_server(&redis, ", allow_degradation: true");
    let gw = gateway(&node, &[("closed", &closed), ("open", &open)]);
    for route in ["closed", "open"] {
        let r = hit(&gw, route, &[]);
        assert_eq!(
            r.header("x-ratelimit-remaining"),
            Some("9"),
            "{route}: {r:?}"
        );
    }

    redis.stop();
    let r = hit(&gw, "closed", &[]);
    assert_eq!(
        (r.status, r.body.as_str()),
        (500, r#"{"error_msg":"failed to limit count"}"#),
        "{r:?}"
    );
    let r = hit(&gw, "open", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("x-ratelimit-remaining"),
        None,
        "not counted: {r:?}"
    );
    assert!(
        gw.log().contains("failed to limit count"),
        "the failure is logged:\n{}",
        gw.log()
    );

    // Back, empty (no persistence): counting starts again, to the limit.
    redis.restart();
    for n in 1..=10 {
        let r = hit(&gw, "closed", &[]);
        assert_eq!(r.status, 200, "request {n}: {r:?}\n{}", gw.log());
        let left = (10 - n).to_string();
        assert_eq!(r.header("x-ratelimit-remaining"), Some(&*left), "{r:?}");
    }
    assert_eq!(hit(&gw, "closed", &[]).status, 429);
}

#[test]
fn sync_interval_passes_at_most_the_documented_overshoot_and_pushes_every_count() {
    const COUNT: usize = 10;
    let redis = RedisServer::start();
    let node = Node::start("n");
    let config = on_server(&redis, ", sync_interval: 2");
    let a = gateway(&node, &[("r", &config)]);
    let b = gateway(&node, &[("r", &config)]);
    let passed = (0..4 * COUNT)
        .filter(|i| {
            let gw = if i % 2 == 0 { &a } else { &b };
            let r = hit(gw, "r", &[]);
            assert!(matches!(r.status, 200 | 429), "{r:?}\n{}", gw.log());
            r.status == 200
        })
        .count();
    // sync.rs: at most count + (G - 1) x (count - 1) with G = 2 gateways,
    // however the pushes fall; and no gateway refuses before the count.
    println!("sync_interval 2 s, count {COUNT}, two gateways: {passed} passed");
    let bound = COUNT + (COUNT - 1);
    assert!(passed <= bound, "{passed} passed, bound {bound}");
    assert!(passed >= COUNT, "{passed} passed");

    // Once the interval has run, each gateway's next request pushes what
    // it let through: Redis holds every request that passed, and both
    // gateways now refuse.
    std::thread::sleep(Duration::from_millis(2500));
    for gw in [&a, &b] {
        let r = hit(gw, "r", &[]);
        assert_eq!(r.status, 429, "{r:?}");
    }
    let keys = in_db1(redis.port, &["KEYS", "limit-count:*"]);
    assert_eq!(keys.len(), 1, "{keys:?}");
    let count = in_db1(redis.port, &["GET", &keys[0]]);
    let count: usize = count[0].parse().expect("a count");
    assert!(count >= passed, "Redis holds {count}, {passed} passed");
}

#[test]
fn redis_username_and_password_authenticate_as_that_acl_user() {
    // The default user may touch no limit-count key; `gate` may.
    let redis = RedisServer::start_with(&[
        "--user", "default", "on", "nopass", "~other:*", "+@all", //
        "--user", "gate", "on", ">s3cret", "~*", "+@all",
    ]);
    let node = Node::start("n");
    let config = |auth: &str| {
        format!(
            "{{count: 10, time_window: 60, policy: redis, redis_host: \"127.0.0.1\", \
             redis_port: {}{auth}}}",
            redis.port
        )
    };
    let gw = gateway(
        &node,
        &[
            (
                "user",
                &config(", redis_username: gate, redis_password: s3cret"),
            ),
            (
                "wrong",
                &config(", redis_username: gate, redis_password: nope"),
            ),
            ("none", &config("")),
        ],
    );
    let r = hit(&gw, "user", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(r.header("x-ratelimit-remaining"), Some("9"), "{r:?}");
    for route in ["wrong", "none"] {
        let r = hit(&gw, route, &[]);
        assert_eq!(r.status, 500, "{route}: {r:?}");
    }
}
