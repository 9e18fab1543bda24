//! request-id against the SDK's mock host.

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::RequestId;

fn instance(config: &str) -> Result<MockInstance, String> {
    MockInstance::new::<RequestId>(config, &MockHost::new())
}

fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
}

#[test]
fn generates_a_uuid_and_returns_it() {
    let plugin = instance("{}").expect("valid");
    let mut req = MockRequest::new("GET", "/");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    let id = req.header_value("X-Request-Id").expect("set").to_string();
    assert!(is_uuid(&id), "{id}");
    req.response_status = 200;
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(req.response_header_value("x-request-id"), Some(id.as_str()));

    let mut other = MockRequest::new("GET", "/");
    assert_eq!(plugin.rewrite(&mut other), PhaseResult::Continue);
    assert_ne!(other.header_value("X-Request-Id"), Some(id.as_str()));
}

#[test]
fn keeps_an_incoming_id_and_an_upstream_one() {
    let plugin = instance(r#"{"header_name":"X-Trace"}"#).expect("valid");
    let mut req = MockRequest::new("GET", "/").header("x-trace", "abc");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.header_value("X-Trace"), Some("abc"));
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(req.response_header_value("X-Trace"), Some("abc"));

    let mut req = MockRequest::new("GET", "/");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    req.response_headers
        .push(("X-Trace".into(), "from-upstream".into()));
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(req.response_header_value("X-Trace"), Some("from-upstream"));
}

#[test]
fn include_in_response_false_keeps_the_response_clean() {
    let plugin = instance(r#"{"include_in_response":false}"#).expect("valid");
    let mut req = MockRequest::new("GET", "/");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert!(req.header_value("X-Request-Id").is_some());
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(req.response_header_value("X-Request-Id"), None);
}

#[test]
fn nanoid_and_range_id() {
    let plugin = instance(r#"{"algorithm":"nanoid"}"#).expect("valid");
    let mut req = MockRequest::new("GET", "/");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    let id = req.header_value("X-Request-Id").expect("set");
    assert_eq!(id.len(), 21);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));

    let plugin =
        instance(r#"{"algorithm":"range_id","range_id":{"char_set":"abcdef","length":30}}"#)
            .expect("valid");
    let mut req = MockRequest::new("GET", "/");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    let id = req.header_value("X-Request-Id").expect("set");
    assert_eq!(id.len(), 30);
    assert!(id.bytes().all(|b| (b'a'..=b'f').contains(&b)), "{id}");
}

#[test]
fn bad_configs_name_the_field() {
    let cases = [
        (r#"{"algorithm":"snowflake"}"#, "algorithm:"),
        (r#"{"header_name":""}"#, "header_name:"),
        (r#"{"header_name":"a b"}"#, "header_name:"),
        (r#"{"include_in_response":"yes"}"#, "include_in_response:"),
        (
            r#"{"algorithm":"range_id","range_id":{"char_set":"abc"}}"#,
            "range_id.char_set:",
        ),
        (
            r#"{"algorithm":"range_id","range_id":{"length":2}}"#,
            "range_id.length:",
        ),
    ];
    for (config, field) in cases {
        let err = instance(config).err().expect(config);
        assert!(err.starts_with(field), "{config}: {err}");
    }
}
