//! limit-req: the bucket's arithmetic against resty's on a made-up clock,
//! its bound under threads racing on one bucket, and the plugin against
//! the SDK's mock host (verdicts, delays waited on the host's timer,
//! keys, rejections, configs refused).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use radixgate_plugin::abi::{HostOp, PhaseResult};
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::bucket::{Bucket, Counters, Verdict, UNIT};
use super::LimitReq;

/// Counters in a map behind one lock: each call atomic, as the host's.
#[derive(Default)]
struct Store(Mutex<HashMap<String, i64>>);

impl Counters for Store {
    fn incr(&self, key: &str, delta: i64) -> i64 {
        let mut map = self.0.lock().expect("store lock");
        let v = map.entry(key.to_owned()).or_insert(0);
        *v += delta;
        *v
    }
    fn get(&self, key: &str) -> Option<i64> {
        self.0.lock().expect("store lock").get(key).copied()
    }
}

const SEC: i64 = 1_000_000;

fn at(b: &Bucket, store: &Store, now_us: i64) -> Verdict {
    b.incoming(store, "level", "clock", now_us)
}

fn admit(requests: f64) -> Verdict {
    Verdict::Admit {
        excess: (requests * UNIT as f64) as i64,
    }
}

#[test]
fn the_bucket_follows_resty() {
    // rate 1/s, burst 1: resty's excess = max(excess - rate x elapsed + 1, 0).
    let b = Bucket::new(1.0, 1.0);
    let s = Store::default();
    let t0 = 5 * SEC;
    assert_eq!(at(&b, &s, t0), admit(0.0));
    assert_eq!(at(&b, &s, t0), admit(1.0));
    assert_eq!(b.delay(UNIT), Duration::from_secs(1));
    assert_eq!(at(&b, &s, t0), Verdict::Reject);
    // Half a second drains half a request: still over the burst.
    assert_eq!(at(&b, &s, t0 + SEC / 2), Verdict::Reject);
    // A second after the start, one request has drained.
    assert_eq!(at(&b, &s, t0 + SEC), admit(1.0));
    assert_eq!(at(&b, &s, t0 + SEC), Verdict::Reject);
    // Idle for long: empty again, never below empty.
    assert_eq!(at(&b, &s, t0 + 100 * SEC), admit(0.0));
    assert_eq!(at(&b, &s, t0 + 100 * SEC + SEC / 4), admit(0.75));
    // A fractional rate drains at its own pace.
    let slow = Bucket::new(0.5, 0.0);
    let s = Store::default();
    assert_eq!(at(&slow, &s, t0), admit(0.0));
    assert_eq!(at(&slow, &s, t0 + SEC), Verdict::Reject);
    assert_eq!(at(&slow, &s, t0 + 2 * SEC), admit(0.0));
    assert_eq!(slow.delay(UNIT), Duration::from_secs(2));
}

#[test]
fn threads_racing_on_one_bucket_never_pass_more_than_rate_and_burst_allow() {
    // rate 1000/s, burst 20: in T seconds at most 21 + 1000 T requests pass,
    // whatever the interleaving; the real clock moves under the threads.
    let b = Bucket::new(1000.0, 20.0);
    let s = Arc::new(Store::default());
    let passed = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (s, passed) = (s.clone(), passed.clone());
            std::thread::spawn(move || {
                for _ in 0..3000 {
                    let now = i64::try_from(start.elapsed().as_micros()).expect("µs") + SEC;
                    if let Verdict::Admit { .. } = b.incoming(&*s, "level", "clock", now) {
                        passed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a thread");
    }
    let secs = start.elapsed().as_secs_f64();
    let passed = passed.load(Ordering::Relaxed) as f64;
    let bound = 21.0 + 1000.0 * secs;
    assert!(
        passed <= bound,
        "{passed} passed in {secs:.3} s; at most {bound:.0}"
    );
    // Racing drains are only ever late: most of the rate still gets through.
    assert!(
        passed >= 21.0 + 500.0 * secs.min(0.1),
        "{passed} in {secs:.3} s"
    );
    // Nothing is left poured in by a rejected request.
    let level = s.get("level").expect("a level");
    assert!(level <= 21 * UNIT, "level {level}");
}

fn instance(config: &str, host: &MockHost) -> MockInstance {
    MockInstance::new::<LimitReq>(config, host).expect("valid config")
}

fn from(ip: &str) -> MockRequest {
    let mut req = MockRequest::new("GET", "/a");
    req.client = format!("{ip}:5000").parse().expect("address");
    req
}

fn sleeps(host: &MockHost) -> Vec<u64> {
    host.ops()
        .into_iter()
        .filter_map(|op| match op {
            HostOp::Sleep { ms } => Some(ms),
            _ => None,
        })
        .collect()
}

#[test]
fn within_the_burst_a_request_waits_on_the_host_with_nodelay_it_does_not() {
    let host = MockHost::new();
    let plugin = instance(r#"{"rate":1,"burst":1,"key":"remote_addr"}"#, &host);
    assert_eq!(plugin.access(&mut from("10.0.0.1")), PhaseResult::Continue);
    assert!(sleeps(&host).is_empty());
    // The second is one request over the rate: it waits about 1 s.
    assert_eq!(plugin.access(&mut from("10.0.0.1")), PhaseResult::Continue);
    let waited = sleeps(&host);
    assert!(
        matches!(waited.as_slice(), [ms] if (900..=1000).contains(ms)),
        "{waited:?}"
    );
    match plugin.access(&mut from("10.0.0.1")) {
        PhaseResult::Respond(r) => assert_eq!((r.status, r.body.len()), (503, 0)),
        other => panic!("expected a rejection, got {other:?}"),
    }
    // Another client has a bucket of its own.
    assert_eq!(plugin.access(&mut from("10.0.0.2")), PhaseResult::Continue);

    let host = MockHost::new();
    let quick = instance(
        r#"{"rate":1,"burst":1,"key":"remote_addr","nodelay":true}"#,
        &host,
    );
    for _ in 0..2 {
        assert_eq!(quick.access(&mut from("10.0.0.1")), PhaseResult::Continue);
    }
    assert!(sleeps(&host).is_empty(), "{:?}", host.ops());
}

#[test]
fn rejected_code_msg_and_keys() {
    let host = MockHost::new();
    let plugin = instance(
        r#"{"rate":1,"burst":0,"key_type":"var_combination","key":"$http_x_a $arg_b",
            "rejected_code":429,"rejected_msg":"slow down"}"#,
        &host,
    );
    let req = |a: &str, b: &str| MockRequest::new("GET", &format!("/?b={b}")).header("X-A", a);
    assert_eq!(plugin.access(&mut req("1", "2")), PhaseResult::Continue);
    match plugin.access(&mut req("1", "2")) {
        PhaseResult::Respond(r) => {
            assert_eq!(r.status, 429);
            assert_eq!(r.body.as_slice(), br#"{"error_msg":"slow down"}"#);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(plugin.access(&mut req("1", "3")), PhaseResult::Continue);
    // Two configs count apart.
    let other = instance(r#"{"rate":1,"burst":0,"key":"remote_addr"}"#, &host);
    assert_eq!(other.access(&mut from("10.0.0.1")), PhaseResult::Continue);
}

#[test]
fn bad_configs_name_the_field() {
    let host = MockHost::new();
    let cases = [
        (r#"{"rate":0,"burst":0,"key":"remote_addr"}"#, "rate:"),
        (r#"{"rate":1,"burst":-1,"key":"remote_addr"}"#, "burst:"),
        (r#"{"rate":1,"burst":0}"#, "key"),
        (
            r#"{"rate":1,"burst":0,"key":"k","rejected_code":99}"#,
            "rejected_code:",
        ),
        (
            r#"{"rate":1,"burst":0,"key":"k","policy":"redis-cluster","redis_cluster_name":"c",
            "redis_cluster_nodes":["no port"]}"#,
            "redis_cluster_nodes: \"no port\" is not host:port",
        ),
    ];
    for (config, field) in cases {
        let err = MockInstance::new::<LimitReq>(config, &host)
            .err()
            .expect(config);
        assert!(err.contains(field), "{config}: {err}");
    }
}
