//! limit-count against the SDK's mock host.

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::LimitCount;

fn instance(config: &str, host: &MockHost) -> MockInstance {
    MockInstance::new::<LimitCount>(config, host).expect("valid config")
}

fn req_from(ip: &str) -> MockRequest {
    let mut req = MockRequest::new("GET", "/a");
    req.route_id = "r1".into();
    req.client = format!("{ip}:5000").parse().expect("address");
    req
}

fn status(result: &PhaseResult) -> Option<u16> {
    match result {
        PhaseResult::Respond(reply) => Some(reply.status),
        _ => None,
    }
}

#[test]
fn counts_per_client_and_rejects_past_the_limit() {
    let host = MockHost::new();
    let plugin = instance(r#"{"count":2,"time_window":60}"#, &host);
    for expected_remaining in ["1", "0"] {
        let mut req = req_from("10.0.0.1");
        assert_eq!(plugin.access(&mut req), PhaseResult::Continue);
        assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
        assert_eq!(req.response_header_value("X-RateLimit-Limit"), Some("2"));
        assert_eq!(
            req.response_header_value("X-RateLimit-Remaining"),
            Some(expected_remaining)
        );
        let reset: u64 = req
            .response_header_value("X-RateLimit-Reset")
            .and_then(|v| v.parse().ok())
            .expect("reset");
        assert!((1..=60).contains(&reset), "{reset}");
    }
    let third = plugin.access(&mut req_from("10.0.0.1"));
    assert_eq!(status(&third), Some(503));
    if let PhaseResult::Respond(reply) = &third {
        let remaining = reply
            .headers
            .iter()
            .find(|h| h.0 == "X-RateLimit-Remaining");
        assert_eq!(remaining.map(|h| h.1.as_str()), Some("0"));
        assert!(reply.body.is_empty());
    }
    // Another client has its own counter.
    assert_eq!(
        plugin.access(&mut req_from("10.0.0.2")),
        PhaseResult::Continue
    );
}

#[test]
fn rejected_code_and_msg() {
    let host = MockHost::new();
    let plugin = instance(
        r#"{"count":1,"time_window":60,"rejected_code":429,"rejected_msg":"slow down"}"#,
        &host,
    );
    assert_eq!(
        plugin.access(&mut req_from("10.0.0.1")),
        PhaseResult::Continue
    );
    match plugin.access(&mut req_from("10.0.0.1")) {
        PhaseResult::Respond(reply) => {
            assert_eq!(reply.status, 429);
            assert_eq!(reply.body.as_slice(), br#"{"error_msg":"slow down"}"#);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn key_from_a_header_var_and_a_combination() {
    let host = MockHost::new();
    let plugin = instance(r#"{"count":1,"time_window":60,"key":"http_x_user"}"#, &host);
    let mut a = req_from("10.0.0.1").header("X-User", "alice");
    assert_eq!(plugin.access(&mut a), PhaseResult::Continue);
    // Same user from another address: same counter.
    let mut a2 = req_from("10.0.0.9").header("X-User", "alice");
    assert_eq!(status(&plugin.access(&mut a2)), Some(503));
    // No header: falls back to the client address.
    assert_eq!(
        plugin.access(&mut req_from("10.0.0.1")),
        PhaseResult::Continue
    );

    let combo = instance(
        r#"{"count":1,"time_window":60,"key_type":"var_combination","key":"$http_x_a-$arg_b"}"#,
        &host,
    );
    let mut r = MockRequest::new("GET", "/a?b=2").header("X-A", "1");
    assert_eq!(combo.access(&mut r), PhaseResult::Continue);
    let mut r = MockRequest::new("GET", "/a?b=2").header("X-A", "1");
    assert_eq!(status(&combo.access(&mut r)), Some(503));
    let mut r = MockRequest::new("GET", "/a?b=3").header("X-A", "1");
    assert_eq!(combo.access(&mut r), PhaseResult::Continue);
}

#[test]
fn constant_key_group_and_hidden_headers() {
    let host = MockHost::new();
    let config = r#"{"count":1,"time_window":60,"key_type":"constant","key":"all","group":"g","show_limit_quota_header":false}"#;
    let one = instance(config, &host);
    let two = instance(config, &host);
    let mut req = req_from("10.0.0.1");
    assert_eq!(one.access(&mut req), PhaseResult::Continue);
    assert_eq!(one.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(req.response_header_value("X-RateLimit-Limit"), None);
    // The group shares the counter across instances and clients.
    match two.access(&mut req_from("10.0.0.7")) {
        PhaseResult::Respond(r) => {
            assert_eq!(r.status, 503);
            assert!(r.headers.is_empty(), "{:?}", r.headers);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn a_group_refuses_a_config_that_differs_until_its_instances_are_gone() {
    let host = MockHost::new();
    let first = instance(r#"{"count":1,"time_window":60,"group":"mixed"}"#, &host);
    let same = instance(r#"{"count":1,"time_window":60,"group":"mixed"}"#, &host);
    // Another count in the same group: refused, as APISIX refuses it.
    let err =
        MockInstance::new::<LimitCount>(r#"{"count":2,"time_window":60,"group":"mixed"}"#, &host)
            .err()
            .expect("a mismatched group config is refused");
    assert!(err.contains("group: group conf mismatched"), "{err}");
    // Another group is free to count otherwise.
    instance(r#"{"count":2,"time_window":60,"group":"other"}"#, &host);
    // Once no instance counts in the group, a new config takes it.
    drop((first, same));
    instance(r#"{"count":2,"time_window":60,"group":"mixed"}"#, &host);
}

#[test]
fn metadata_renames_the_headers() {
    let host = MockHost::new();
    host.set_metadata("limit-count", r#"{"limit_header":"X-Limit"}"#);
    let plugin = instance(r#"{"count":5,"time_window":10}"#, &host);
    let mut req = req_from("10.0.0.1");
    assert_eq!(plugin.access(&mut req), PhaseResult::Continue);
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(req.response_header_value("X-Limit"), Some("5"));
    assert_eq!(
        req.response_header_value("X-RateLimit-Remaining"),
        Some("4")
    );
}

#[test]
fn bad_configs_name_the_field() {
    let host = MockHost::new();
    let cases = [
        (r#"{"time_window":60}"#, "count"),
        (r#"{"count":0,"time_window":60}"#, "count:"),
        (r#"{"count":1,"time_window":true}"#, "time_window"),
        (r#"{"count":1,"time_window":""}"#, "time_window:"),
        (
            r#"{"count":1,"time_window":1,"key_type":"nope"}"#,
            "key_type:",
        ),
        (
            r#"{"count":1,"time_window":1,"rejected_code":100}"#,
            "rejected_code:",
        ),
        (
            r#"{"count":1,"time_window":1,"policy":"redis","redis_host":"a/b"}"#,
            "redis_host: \"a/b\" is not a host name",
        ),
        (
            r#"{"count":1,"time_window":1,"policy":"redis","redis_host":"h","sync_interval":0}"#,
            "sync_interval: must be -1 (off) or at least 0.1",
        ),
        (
            r#"{"count":1,"time_window":1,"rejected_msg":""}"#,
            "rejected_msg:",
        ),
    ];
    for (config, field) in cases {
        let err = MockInstance::new::<LimitCount>(config, &host)
            .err()
            .expect(config);
        assert!(err.contains(field), "{config}: {err}");
    }
}

#[test]
fn templates_resolve_vars_and_escapes() {
    use crate::vars::Template;
    use radixgate_plugin::{Ctx, Decision};
    // Rendered inside a phase, through the ABI, by a tiny plugin.
    struct Probe;
    impl radixgate_plugin::Plugin for Probe {
        const NAME: &'static str = "probe";
        const VERSION: &'static str = "0";
        const PRIORITY: i32 = 0;
        const PHASES: radixgate_plugin::Phases = radixgate_plugin::Phases::ALL;
        type Config = radixgate_plugin::serde_json::Value;
        fn new(
            _: Self::Config,
            _: &radixgate_plugin::Host,
        ) -> Result<Self, radixgate_plugin::ConfigError> {
            Ok(Probe)
        }
        fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
            let t = Template::parse(r"${host}|$uri|$request_uri|$arg_a|\$x|$http_x_y|$nope|$");
            let (text, resolved) = t.render(ctx, &[]);
            ctx.set_var("out", &format!("{text} {resolved}"));
            Decision::Continue
        }
    }
    let probe = MockInstance::new::<Probe>("{}", &MockHost::new()).expect("valid");
    let mut req = MockRequest::new("GET", "/p?a=1")
        .header("Host", "Example.COM:8080")
        .header("X-Y", "z");
    assert_eq!(probe.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(
        req.vars.get("out").map(String::as_str),
        Some("example.com|/p|/p?a=1|1|$x|z||$ 5")
    );
}

#[test]
fn one_config_counts_across_routes_two_configs_apart() {
    let host = MockHost::new();
    let shared = instance(r#"{"count":1,"time_window":60}"#, &host);
    let mut on_r1 = req_from("10.0.0.1");
    assert_eq!(shared.access(&mut on_r1), PhaseResult::Continue);
    // The same config (a service's or a global rule's) on another route.
    let mut on_r2 = req_from("10.0.0.1");
    on_r2.route_id = "r2".into();
    assert_eq!(status(&shared.access(&mut on_r2)), Some(503));
    // An identical config on another object has counters of its own.
    let other = instance(r#"{"count":1,"time_window":60}"#, &host);
    assert_eq!(
        other.access(&mut req_from("10.0.0.1")),
        PhaseResult::Continue
    );
}

#[test]
fn count_and_time_window_from_variables() {
    let host = MockHost::new();
    let plugin = instance(
        r#"{"count":"$http_x_limit","time_window":"${arg_w}"}"#,
        &host,
    );
    let req = || MockRequest::new("GET", "/a?w=30").header("X-Limit", "1");
    let mut first = req();
    assert_eq!(plugin.access(&mut first), PhaseResult::Continue);
    assert_eq!(plugin.header_filter(&mut first), PhaseResult::Continue);
    assert_eq!(first.response_header_value("X-RateLimit-Limit"), Some("1"));
    assert_eq!(status(&plugin.access(&mut req())), Some(503));
    // Not a number: 500, or through with allow_degradation.
    let mut bad = MockRequest::new("GET", "/a?w=x").header("X-Limit", "1");
    assert_eq!(status(&plugin.access(&mut bad)), Some(500));
    let lenient = instance(
        r#"{"count":"$http_x_limit","time_window":60,"allow_degradation":true}"#,
        &host,
    );
    assert_eq!(
        lenient.access(&mut MockRequest::new("GET", "/")),
        PhaseResult::Continue
    );
}
