//! key-auth against the SDK's mock host.

use radixgate_plugin::abi::{HostServices, PhaseResult};
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::lookup::{consumer_key, credential_key, decode_query_value, query_without};
use super::KeyAuth;

/// A host that knows consumer `jack` with key `auth-one`, and `guest`.
fn host() -> MockHost {
    let host = MockHost::new();
    host.store_set(credential_key("auth-one").as_str().into(), "jack".into(), 0);
    host.store_set(credential_key("a b").as_str().into(), "spacey".into(), 0);
    host.store_set(consumer_key("guest").as_str().into(), "guest".into(), 0);
    host
}

fn instance(config: &str) -> MockInstance {
    MockInstance::new::<KeyAuth>(config, &host()).expect("valid config")
}

fn reply(result: PhaseResult) -> (u16, String) {
    match result {
        PhaseResult::Respond(r) => (r.status, String::from_utf8_lossy(&r.body).into_owned()),
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[test]
fn a_known_key_in_the_header_sets_the_consumer() {
    let plugin = instance("{}");
    let mut req = MockRequest::new("GET", "/a").header("apikey", "auth-one");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.consumer.as_deref(), Some("jack"));
    // Not hidden by default.
    assert_eq!(req.header_value("apikey"), Some("auth-one"));
}

#[test]
fn missing_and_invalid_keys_get_apisix_401s() {
    let plugin = instance("{}");
    let (status, body) = reply(plugin.rewrite(&mut MockRequest::new("GET", "/a")));
    assert_eq!(status, 401);
    assert_eq!(body, r#"{"message":"Missing API key in request"}"#);
    let mut req = MockRequest::new("GET", "/a").header("apikey", "nope");
    let (status, body) = reply(plugin.rewrite(&mut req));
    assert_eq!(status, 401);
    assert_eq!(body, r#"{"message":"Invalid API key in request"}"#);
    assert_eq!(req.consumer, None);
}

#[test]
fn key_from_the_query_and_custom_names() {
    let plugin = instance(r#"{"header":"X-Key","query":"k"}"#);
    let mut req = MockRequest::new("GET", "/a?x=1&k=auth-one");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.consumer.as_deref(), Some("jack"));
    let mut req = MockRequest::new("GET", "/a").header("x-key", "auth-one");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    // The default names are not looked at.
    let mut req = MockRequest::new("GET", "/a?apikey=auth-one").header("apikey", "auth-one");
    assert_eq!(reply(plugin.rewrite(&mut req)).0, 401);
    // Query values are percent-decoded.
    let mut req = MockRequest::new("GET", "/a?k=a%20b");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.consumer.as_deref(), Some("spacey"));
}

#[test]
fn hide_credentials_removes_the_header_or_the_argument() {
    let plugin = instance(r#"{"hide_credentials":true}"#);
    let mut req = MockRequest::new("GET", "/a").header("apikey", "auth-one");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.header_value("apikey"), None);

    let mut req = MockRequest::new("GET", "/a?x=1&apikey=auth-one&y=2");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!((req.path.as_str(), req.query.as_str()), ("/a", "x=1&y=2"));

    let mut req = MockRequest::new("GET", "/a?apikey=auth-one");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!((req.path.as_str(), req.query.as_str()), ("/a", ""));
    assert_eq!(req.consumer.as_deref(), Some("jack"));
}

#[test]
fn anonymous_consumer_instead_of_a_401() {
    let plugin = instance(r#"{"anonymous_consumer":"guest"}"#);
    let mut req = MockRequest::new("GET", "/a");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.consumer.as_deref(), Some("guest"));
}

#[test]
fn bad_configs_name_the_field() {
    let cases = [
        (r#"{"header":""}"#, "header:"),
        (r#"{"header":7}"#, "header:"),
        (r#"{"query":""}"#, "query:"),
        (r#"{"hide_credentials":"yes"}"#, "hide_credentials:"),
        (r#"{"anonymous_consumer":""}"#, "anonymous_consumer:"),
    ];
    for (config, field) in cases {
        let err = MockInstance::new::<KeyAuth>(config, &host())
            .err()
            .expect(config);
        assert!(err.starts_with(field), "{config}: {err}");
    }
}

#[test]
fn query_helpers() {
    assert_eq!(decode_query_value("a%2Fb+c%zz"), "a/b c%zz");
    assert_eq!(decode_query_value("%4"), "%4");
    assert_eq!(query_without("a=1&apikey=2&apikey&b", "apikey"), "a=1&b");
}
