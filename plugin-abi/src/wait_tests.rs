//! Waiting phases through the ABI with the mock host: a phase's future
//! suspends on host operations and is resumed with their results.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use abi_stable::std_types::{RBox, RVec, Tuple2};

use crate::abi::{HostOp, HttpAnswer, OpResult, PhaseResult};
use crate::mock::{MockHost, MockInstance, MockRequest};
use crate::{
    ConfigError, Ctx, Decision, Host, HttpRequest, Phase, Phases, Plugin, RedisReply, RedisTarget,
};

/// Drops of waiting futures that were never finished.
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Counts its drop.
struct DropCount;

impl Drop for DropCount {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// A plugin whose phases wait, chosen by the request path.
struct Waiter {
    host: Host,
}

impl Plugin for Waiter {
    const NAME: &'static str = "waiter";
    const VERSION: &'static str = "1";
    const PRIORITY: i32 = 0;
    const PHASES: Phases = Phases::ALL;
    type Config = serde_json::Value;

    fn new(_: Self::Config, host: &Host) -> Result<Self, ConfigError> {
        Ok(Waiter { host: host.clone() })
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        let host = self.host.clone();
        match ctx.path() {
            "/sleep" => Decision::wait(async move {
                match host.sleep(Duration::from_millis(50)).await {
                    Ok(()) => Decision::Continue,
                    Err(e) => Decision::Error(e),
                }
            }),
            "/http" => {
                let url = format!("http://auth.test/check?user={}", ctx.query());
                Decision::wait_then(
                    async move { host.http(HttpRequest::get(&url)).await },
                    |ctx, answer| match answer {
                        Ok(r) if r.status == 200 => {
                            let user = String::from_utf8_lossy(&r.body).into_owned();
                            ctx.set_header("x-user", &user);
                            Decision::Continue
                        }
                        Ok(r) => Decision::respond(r.status, "denied"),
                        Err(e) => Decision::respond(503, e),
                    },
                )
            }
            "/redis" => Decision::wait(async move {
                let target = RedisTarget::server("127.0.0.1:6379");
                let first = host.redis(&target, &[b"INCR", b"k"]).await;
                let second = host.redis(&target, &[b"INCR", b"k"]).await;
                match (first, second) {
                    (Ok(a), Ok(b)) if a.as_int() == Some(1) && b.as_int() == Some(2) => {
                        Decision::Continue
                    }
                    other => Decision::Error(format!("{other:?}")),
                }
            }),
            "/stray" => Decision::wait(async {
                std::future::pending::<()>().await;
                Decision::Continue
            }),
            "/panic" => Decision::wait(async move {
                let _ = host.sleep(Duration::from_millis(1)).await;
                panic!("panic after the sleep");
            }),
            "/dropped" => Decision::wait(async move {
                let _guard = DropCount;
                let _ = host.sleep(Duration::from_secs(60)).await;
                Decision::Continue
            }),
            _ => Decision::wait(async { Decision::respond(204, "") }),
        }
    }

    fn body_filter(&self, _: &mut Ctx<'_>, _: &mut crate::Chunk<'_>) -> Decision {
        Decision::wait(async { Decision::Continue })
    }
}

fn waiter(host: &MockHost) -> MockInstance {
    match MockInstance::new::<Waiter>("{}", host) {
        Ok(w) => w,
        Err(e) => panic!("waiter builds: {e}"),
    }
}

#[test]
fn a_sleep_suspends_the_phase_and_the_host_resumes_it() {
    let host = MockHost::new();
    let w = waiter(&host);
    assert_eq!(
        w.access(&mut MockRequest::new("GET", "/sleep")),
        PhaseResult::Continue
    );
    assert_eq!(host.ops(), vec![HostOp::Sleep { ms: 50 }]);
}

#[test]
fn a_future_that_never_waits_decides_without_suspending() {
    let host = MockHost::new();
    let w = waiter(&host);
    let PhaseResult::Respond(reply) = w.access(&mut MockRequest::new("GET", "/now")) else {
        panic!("expected a reply");
    };
    assert_eq!(reply.status, 204);
    assert!(host.ops().is_empty());
}

#[test]
fn wait_then_decides_with_the_request_in_hand() {
    let host = MockHost::new();
    host.on_http(|call| {
        assert_eq!(
            (call.method.as_str(), call.url.as_str()),
            ("GET", "http://auth.test/check?user=ann")
        );
        let status = if call.url.ends_with("ann") { 200 } else { 403 };
        OpResult::Http(RBox::new(HttpAnswer {
            status,
            headers: RVec::from(vec![Tuple2("a".into(), "b".into())]),
            body: RVec::from(b"ann".to_vec()),
        }))
    });
    let w = waiter(&host);
    let mut req = MockRequest::new("GET", "/http?ann");
    assert_eq!(w.access(&mut req), PhaseResult::Continue);
    assert_eq!(req.header_value("x-user"), Some("ann"));
}

#[test]
fn a_failed_operation_resumes_the_phase_with_the_error() {
    let host = MockHost::new();
    let w = waiter(&host);
    let PhaseResult::Respond(reply) = w.access(&mut MockRequest::new("GET", "/http?x")) else {
        panic!("expected the plugin's own answer");
    };
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body.as_slice(), b"the mock host has no HTTP answer");
}

#[test]
fn operations_in_turn_each_suspend_once() {
    let host = MockHost::new();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    host.on_redis(move |call| {
        assert_eq!(call.args.len(), 2);
        let n = seen.fetch_add(1, Ordering::SeqCst) as i64 + 1;
        let mut resp = Vec::new();
        RedisReply::Int(n).encode(&mut resp);
        OpResult::Redis(RVec::from(resp))
    });
    let w = waiter(&host);
    assert_eq!(
        w.access(&mut MockRequest::new("GET", "/redis")),
        PhaseResult::Continue
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn awaiting_anything_but_a_host_operation_fails_the_phase() {
    let host = MockHost::new();
    let w = waiter(&host);
    let PhaseResult::Error(f) = w.access(&mut MockRequest::new("GET", "/stray")) else {
        panic!("expected a failure");
    };
    assert!(
        f.message.contains("other than a host operation"),
        "{}",
        f.message
    );
    assert!(!f.panicked);
}

#[test]
fn a_panic_after_a_resume_is_the_plugins_failure() {
    let host = MockHost::new();
    let w = waiter(&host);
    let PhaseResult::Error(f) = w.access(&mut MockRequest::new("GET", "/panic")) else {
        panic!("expected a failure");
    };
    assert!(f.panicked);
    assert!(f.message.contains("panic after the sleep"), "{}", f.message);
}

#[test]
fn body_filter_cannot_wait() {
    let host = MockHost::new();
    let w = waiter(&host);
    let (result, _) = w.body_filter(&mut MockRequest::new("GET", "/"), b"x", true);
    let PhaseResult::Error(f) = result else {
        panic!("expected a failure");
    };
    assert!(
        f.message.contains("body_filter cannot wait"),
        "{}",
        f.message
    );
}

#[test]
fn dropping_a_suspension_drops_the_waiting_future() {
    let host = MockHost::new();
    let instance = crate::new_instance::<Waiter>("{}".into(), host.handle())
        .into_result()
        .unwrap_or_else(|e| panic!("builds: {e}"));
    let mut req = MockRequest::new("GET", "/dropped");
    let ctx = abi_stable::sabi_trait::TD_Opaque;
    let raw = crate::abi::RequestCtx_TO::from_ptr(&mut req, ctx);
    let before = DROPPED.load(Ordering::SeqCst);
    let result = instance.access(raw).into_enum();
    assert!(matches!(result, Ok(PhaseResult::Suspend(_))), "{result:?}");
    assert_eq!(DROPPED.load(Ordering::SeqCst), before);
    drop(result);
    assert_eq!(DROPPED.load(Ordering::SeqCst), before + 1);
    assert_eq!(Phase::Access.name(), "access");
}
