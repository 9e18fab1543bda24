//! consumer-restriction against the SDK's mock host.

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::ConsumerRestriction;

fn instance(config: &str) -> MockInstance {
    MockInstance::new::<ConsumerRestriction>(config, &MockHost::new()).expect("valid config")
}

/// The status and body `req` gets (200 for `Continue`).
fn outcome(plugin: &MockInstance, mut req: MockRequest) -> (u16, String) {
    match plugin.access(&mut req) {
        PhaseResult::Continue => (200, String::new()),
        PhaseResult::Respond(r) => (r.status, String::from_utf8_lossy(&r.body).into_owned()),
        other => panic!("unexpected {other:?}"),
    }
}

fn as_consumer(method: &str, user: &str) -> MockRequest {
    let mut req = MockRequest::new(method, "/a");
    req.consumer = Some(user.into());
    req
}

#[test]
fn whitelist_blacklist_and_the_missing_consumer() {
    let white = instance(r#"{"whitelist":["jack"]}"#);
    assert_eq!(outcome(&white, as_consumer("GET", "jack")).0, 200);
    assert_eq!(
        outcome(&white, as_consumer("GET", "anna")),
        (
            403,
            r#"{"message":"The consumer_name is forbidden."}"#.into()
        )
    );
    assert_eq!(
        outcome(&white, MockRequest::new("GET", "/a")),
        (
            401,
            r#"{"message":"The request is rejected, please check the consumer_name for this request"}"#
                .into()
        )
    );
    let black =
        instance(r#"{"blacklist":["jack"],"rejected_code":429,"rejected_msg":"go \"away\""}"#);
    assert_eq!(outcome(&black, as_consumer("GET", "anna")).0, 200);
    assert_eq!(
        outcome(&black, as_consumer("GET", "jack")),
        (429, r#"{"message":"go \"away\""}"#.into())
    );
}

#[test]
fn allowed_by_methods_unless_whitelisted() {
    let plugin = instance(
        r#"{"allowed_by_methods":[{"user":"jack","methods":["GET"]}],"whitelist":["boss","jack"]}"#,
    );
    // jack is whitelisted: his methods are not looked at.
    assert_eq!(outcome(&plugin, as_consumer("POST", "jack")).0, 200);
    let plugin = instance(r#"{"allowed_by_methods":[{"user":"jack","methods":["GET","HEAD"]}]}"#);
    assert_eq!(outcome(&plugin, as_consumer("GET", "jack")).0, 200);
    assert_eq!(outcome(&plugin, as_consumer("POST", "jack")).0, 403);
    // A consumer not listed may use any method.
    assert_eq!(outcome(&plugin, as_consumer("DELETE", "anna")).0, 200);
}

#[test]
fn route_service_and_group_ids() {
    let plugin = instance(r#"{"type":"route_id","whitelist":["r1"]}"#);
    let mut req = MockRequest::new("GET", "/a");
    req.route_id = "r1".into();
    assert_eq!(outcome(&plugin, req).0, 200);
    let mut req = MockRequest::new("GET", "/a");
    req.route_id = "r2".into();
    assert_eq!(outcome(&plugin, req).0, 403);

    for (kind, var) in [
        ("service_id", "service_id"),
        ("consumer_group_id", "consumer_group_id"),
    ] {
        let plugin = instance(&format!(r#"{{"type":"{kind}","blacklist":["bad"]}}"#));
        let mut req = MockRequest::new("GET", "/a");
        req.vars.insert(var.into(), "bad".into());
        assert_eq!(
            outcome(&plugin, req),
            (403, format!(r#"{{"message":"The {kind} is forbidden."}}"#))
        );
        let mut req = MockRequest::new("GET", "/a");
        req.vars.insert(var.into(), "good".into());
        assert_eq!(outcome(&plugin, req).0, 200);
        assert_eq!(outcome(&plugin, MockRequest::new("GET", "/a")).0, 401);
    }
}
