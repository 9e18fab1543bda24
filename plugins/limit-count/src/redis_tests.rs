//! limit-count's Redis policies against the SDK's mock host, whose Redis
//! answers the count script from a map shared by the "gateways" of a test
//! (the script's behaviour, not a Redis: the end-to-end tests run a real
//! one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use radixgate_plugin::abi::{OpResult, PhaseResult};
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};
use radixgate_plugin::RedisReply;

use super::LimitCount;

/// Counts by key, as the script keeps them (without expiry).
type Store = Arc<Mutex<HashMap<String, i64>>>;

/// The count script's reply to `args`, counted in `store`.
fn script(store: &Store, args: &[&[u8]]) -> RedisReply {
    assert_eq!(args[0], b"EVAL");
    let key = String::from_utf8_lossy(args[3]).into_owned();
    let delta: i64 = String::from_utf8_lossy(args[4]).parse().expect("delta");
    let ttl: i64 = String::from_utf8_lossy(args[5]).parse().expect("ttl");
    let mut store = store.lock().expect("store");
    let n = store.entry(key).or_insert(0);
    *n += delta;
    RedisReply::Array(vec![RedisReply::Int(*n), RedisReply::Int(ttl)])
}

/// A mock host whose Redis runs the count script against `store`.
fn host_on(store: &Store) -> MockHost {
    let host = MockHost::new();
    let store = store.clone();
    host.on_redis_reply(move |args| script(&store, args));
    host
}

fn req() -> MockRequest {
    let mut req = MockRequest::new("GET", "/a");
    req.route_id = "r1".into();
    req
}

fn passes(plugin: &MockInstance) -> bool {
    match plugin.access(&mut req()) {
        PhaseResult::Continue => true,
        PhaseResult::Respond(r) if r.status == 503 => false,
        other => panic!("{other:?}"),
    }
}

const REDIS: &str = r#"{"count":3,"time_window":60,"policy":"redis","redis_host":"127.0.0.1"}"#;

#[test]
fn two_gateways_on_one_redis_share_the_count() {
    let store = Store::default();
    let (a, b) = (host_on(&store), host_on(&store));
    let (a, b) = (
        MockInstance::new::<LimitCount>(REDIS, &a).expect("config"),
        MockInstance::new::<LimitCount>(REDIS, &b).expect("config"),
    );
    let passed: Vec<bool> = (0..6)
        .map(|i| passes(if i % 2 == 0 { &a } else { &b }))
        .collect();
    assert_eq!(passed, [true, true, true, false, false, false]);
    // One key: the config's digest and the route, the same on both.
    let store = store.lock().expect("store");
    assert_eq!(store.len(), 1, "{store:?}");
    let (key, count) = store.iter().next().expect("a key");
    assert!(key.starts_with("limit-count:conf:"), "{key}");
    assert!(key.ends_with(":route:r1:127.0.0.1"), "{key}");
    assert_eq!(*count, 6);
}

#[test]
fn identical_configs_on_two_routes_count_apart_and_a_group_together() {
    let store = Store::default();
    let host = host_on(&store);
    let on = |route: &str, config: &str| {
        let plugin = MockInstance::new::<LimitCount>(config, &host).expect("config");
        let mut req = req();
        req.route_id = route.into();
        plugin.access(&mut req)
    };
    for route in ["r1", "r2"] {
        for _ in 0..3 {
            assert_eq!(on(route, REDIS), PhaseResult::Continue, "{route}");
        }
    }
    let grouped = REDIS.replace('}', r#","group":"g"}"#);
    for route in ["r1", "r2", "r3"] {
        assert_eq!(on(route, &grouped), PhaseResult::Continue, "{route}");
    }
    assert!(matches!(on("r4", &grouped), PhaseResult::Respond(r) if r.status == 503));
}

#[test]
fn a_redis_down_answers_500_or_lets_through_with_allow_degradation() {
    for (degrade, want) in [(false, Some(500)), (true, None)] {
        let host = MockHost::new();
        host.on_redis(|_| OpResult::Failed("connection refused".into()));
        let config = REDIS.replace('}', &format!(r#","allow_degradation":{degrade}}}"#));
        let plugin = MockInstance::new::<LimitCount>(&config, &host).expect("config");
        match (plugin.access(&mut req()), want) {
            (PhaseResult::Respond(r), Some(status)) => {
                assert_eq!(r.status, status);
                assert_eq!(
                    r.body.as_slice(),
                    br#"{"error_msg":"failed to limit count"}"#
                );
            }
            (PhaseResult::Continue, None) => {}
            (other, _) => panic!("allow_degradation {degrade}: {other:?}"),
        }
        assert!(
            host.logs()
                .iter()
                .any(|l| l.2.contains("failed to limit count: connection refused")),
            "{:?}",
            host.logs()
        );
    }
}

#[test]
fn sync_interval_counts_locally_and_overshoots_within_the_bound() {
    const COUNT: i64 = 10;
    let store = Store::default();
    let (ha, hb) = (host_on(&store), host_on(&store));
    let config = format!(
        r#"{{"count":{COUNT},"time_window":3600,"policy":"redis","redis_host":"127.0.0.1",
        "sync_interval":3600}}"#
    );
    let a = MockInstance::new::<LimitCount>(&config, &ha).expect("config");
    let b = MockInstance::new::<LimitCount>(&config, &hb).expect("config");
    let passed = (0..40)
        .filter(|i| passes(if i % 2 == 0 { &a } else { &b }))
        .count() as i64;
    // Each gateway pushed once (its first request): no round trip after.
    assert_eq!(ha.ops().len() + hb.ops().len(), 2);
    // The bound of sync.rs with two gateways: count + (count - 1).
    let bound = COUNT + (COUNT - 1);
    assert!(passed <= bound, "{passed} passed, bound {bound}");
    // Neither gateway alone passes the count.
    assert!(passed >= COUNT, "{passed}");
}

#[test]
fn sync_interval_keeps_what_a_failed_push_held_for_the_next_push() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    let store = Store::default();
    let down = Arc::new(AtomicBool::new(false));
    let host = MockHost::new();
    let (flag, counts) = (down.clone(), store.clone());
    host.on_redis(move |call| {
        if flag.load(Ordering::Relaxed) {
            return OpResult::Failed("connection refused".into());
        }
        let args: Vec<&[u8]> = call.args.iter().map(|a| a.as_slice()).collect();
        OpResult::Redis(script(&counts, &args).to_resp().into())
    });
    let config = r#"{"count":10,"time_window":3600,"policy":"redis","redis_host":"127.0.0.1",
        "sync_interval":0.1}"#;
    let plugin = MockInstance::new::<LimitCount>(config, &host).expect("config");
    // The first pushes, the next two are counted here (or push, when the
    // interval has run: either way each is in Redis or held).
    for _ in 0..3 {
        assert!(passes(&plugin));
    }
    // Redis down once the interval has run: the push fails (500).
    down.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(150));
    assert!(matches!(plugin.access(&mut req()), PhaseResult::Respond(r) if r.status == 500));
    // Back: the next push carries what the failed one held, and itself.
    down.store(false, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(150));
    assert!(passes(&plugin));
    let total: i64 = store.lock().expect("store").values().sum();
    assert_eq!(total, 4, "every request that passed is in Redis");
}
