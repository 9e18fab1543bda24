//! basic-auth against the SDK's mock host.

use radixgate_plugin::abi::{HostServices, PhaseResult};
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::lookup::{consumer_key, credential_key};
use super::{parse_authorization, BasicAuth};

/// `Basic ` and the base64 of `text`.
fn basic(text: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

/// A host where `jack` holds username `jack` (password `s3cret`), a
/// credential of anna's holds `anna`, and consumer `guest` exists.
fn host() -> MockHost {
    let host = MockHost::new();
    let publish = |user: &str, owner: &str, password: &str| {
        let value = format!(
            r#"{{"owner":"{owner}","conf":{{"username":"{user}","password":"{password}"}}}}"#
        );
        host.store_set(
            credential_key(user).as_str().into(),
            value.as_str().into(),
            0,
        );
    };
    publish("jack", "jack", "s3cret");
    publish("anna", "anna/credentials/c1", "a:b:c");
    host.store_set(consumer_key("guest").as_str().into(), "guest".into(), 0);
    host
}

fn instance(config: &str) -> MockInstance {
    MockInstance::new::<BasicAuth>(config, &host()).expect("valid config")
}

fn reply(result: PhaseResult) -> (u16, String) {
    match result {
        PhaseResult::Respond(r) => (r.status, String::from_utf8_lossy(&r.body).into_owned()),
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[test]
fn the_right_password_sets_the_consumer_and_names_it_to_the_node() {
    let plugin = instance("{}");
    let mut req = MockRequest::new("GET", "/a")
        .header("Authorization", &basic("jack:s3cret"))
        .header("X-Consumer-Username", "forged");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.consumer.as_deref(), Some("jack"));
    assert_eq!(req.header_value("X-Consumer-Username"), Some("jack"));
    assert!(req.header_value("Authorization").is_some());
    // A credential's username, whose password holds colons.
    let mut req = MockRequest::new("GET", "/a").header("Authorization", &basic("anna:a:b:c"));
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.consumer.as_deref(), Some("anna"));
    assert_eq!(req.header_value("X-Credential-Identifier"), Some("c1"));
}

#[test]
fn missing_malformed_and_wrong_credentials_get_apisix_401s() {
    let plugin = instance("{}");
    let cases: [(Option<String>, &str); 7] = [
        (None, "Missing authorization in request"),
        (
            Some("Bearer abc".into()),
            "Invalid authorization in request",
        ),
        (
            Some("Basic !!!not-base64".into()),
            "Invalid authorization in request",
        ),
        (Some(basic("no-colon")), "Invalid authorization in request"),
        (Some(basic("jack:wrong")), "Invalid user authorization"),
        (Some(basic("jack:s3cre")), "Invalid user authorization"),
        (Some(basic("nobody:s3cret")), "Invalid user authorization"),
    ];
    for (header, message) in cases {
        let mut req = MockRequest::new("GET", "/a");
        if let Some(h) = &header {
            req = req.header("Authorization", h);
        }
        let (status, body) = reply(plugin.rewrite(&mut req));
        assert_eq!(status, 401, "{header:?}");
        assert_eq!(body, format!(r#"{{"message":"{message}"}}"#), "{header:?}");
        assert_eq!(req.consumer, None);
    }
    // A huge header is a 401 too.
    let huge = format!("Basic {}", "A".repeat(1 << 20));
    let mut req = MockRequest::new("GET", "/a").header("Authorization", &huge);
    assert_eq!(reply(plugin.rewrite(&mut req)).0, 401);
}

#[test]
fn hide_credentials_and_the_anonymous_consumer() {
    let plugin = instance(r#"{"hide_credentials":true}"#);
    let mut req = MockRequest::new("GET", "/a").header("Authorization", &basic("jack:s3cret"));
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.header_value("Authorization"), None);

    let plugin = instance(r#"{"anonymous_consumer":"guest"}"#);
    let mut req = MockRequest::new("GET", "/a").header("Authorization", &basic("jack:nope"));
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.consumer.as_deref(), Some("guest"));

    let plugin = instance(r#"{"anonymous_consumer":"ghost"}"#);
    let (status, body) = reply(plugin.rewrite(&mut MockRequest::new("GET", "/a")));
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"message":"Invalid user authorization"}"#)
    );
}

#[test]
fn the_header_is_parsed_as_apisix_reads_it() {
    let parse = |h: &str| parse_authorization(h);
    assert_eq!(parse(&basic("a:b")), Some(("a".into(), "b".into())));
    assert_eq!(
        parse(&basic(" a b :p w ")),
        Some(("ab".into(), "pw".into()))
    );
    assert_eq!(
        parse(&format!("basic {}", &basic("a:b")[6..])),
        Some(("a".into(), "b".into()))
    );
    // Unpadded base64 is read too.
    assert_eq!(parse("Basic YTpi"), Some(("a".into(), "b".into())));
    assert_eq!(parse("Basic YTpiYw"), Some(("a".into(), "bc".into())));
    assert_eq!(parse("Basic"), None);
    assert_eq!(parse("Basicx YTpi"), None);
    assert_eq!(parse("Basic \u{e9}"), None);
}
