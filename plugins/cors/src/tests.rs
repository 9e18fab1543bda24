//! cors against the SDK's mock host.

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::Cors;

fn instance(config: &str) -> Result<MockInstance, String> {
    MockInstance::new::<Cors>(config, &MockHost::new())
}

/// Runs rewrite and header_filter on a GET from `origin`.
fn response(plugin: &MockInstance, origin: Option<&str>) -> MockRequest {
    let mut req = MockRequest::new("GET", "/");
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    req.response_status = 200;
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    req
}

#[test]
fn defaults_allow_any_origin_with_star() {
    let plugin = instance("{}").expect("valid");
    let req = response(&plugin, Some("http://a.com"));
    assert_eq!(
        req.response_header_value("Access-Control-Allow-Origin"),
        Some("*")
    );
    assert_eq!(
        req.response_header_value("Access-Control-Allow-Methods"),
        Some("*")
    );
    assert_eq!(
        req.response_header_value("Access-Control-Allow-Headers"),
        Some("*")
    );
    assert_eq!(
        req.response_header_value("Access-Control-Max-Age"),
        Some("5")
    );
    assert_eq!(
        req.response_header_value("Access-Control-Expose-Headers"),
        None
    );
    assert_eq!(
        req.response_header_value("Access-Control-Allow-Credentials"),
        None
    );
    assert_eq!(req.response_header_value("Vary"), None);
}

#[test]
fn preflight_is_answered_in_rewrite() {
    let plugin = instance(
        r#"{"allow_origins":"**","allow_methods":"**","allow_headers":"**","max_age":60,"expose_headers":"X-A"}"#,
    )
    .expect("valid");
    let mut req = MockRequest::new("OPTIONS", "/")
        .header("Origin", "http://x.com")
        .header("Access-Control-Request-Headers", "X-Token");
    match plugin.rewrite(&mut req) {
        PhaseResult::Respond(reply) => {
            assert_eq!(reply.status, 200);
            let get = |n: &str| {
                reply
                    .headers
                    .iter()
                    .find(|h| h.0.eq_ignore_ascii_case(n))
                    .map(|h| h.1.to_string())
            };
            assert_eq!(
                get("Access-Control-Allow-Origin").as_deref(),
                Some("http://x.com")
            );
            assert_eq!(
                get("Access-Control-Allow-Methods").as_deref(),
                Some("GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE")
            );
            assert_eq!(
                get("Access-Control-Allow-Headers").as_deref(),
                Some("X-Token")
            );
            assert_eq!(get("Access-Control-Max-Age").as_deref(), Some("60"));
            assert_eq!(get("Access-Control-Expose-Headers").as_deref(), Some("X-A"));
            assert_eq!(get("Vary").as_deref(), Some("Origin"));
        }
        other => panic!("expected a 200 reply, got {other:?}"),
    }
}

#[test]
fn origin_lists_and_credentials() {
    let plugin = instance(
        r#"{"allow_origins":"http://a.com,http://b.com","allow_methods":"GET","allow_headers":"X-T","allow_credential":true}"#,
    )
    .expect("valid");
    let req = response(&plugin, Some("http://b.com"));
    assert_eq!(
        req.response_header_value("Access-Control-Allow-Origin"),
        Some("http://b.com")
    );
    assert_eq!(
        req.response_header_value("Access-Control-Allow-Credentials"),
        Some("true")
    );
    assert_eq!(req.response_header_value("Vary"), Some("Origin"));
    let req = response(&plugin, Some("http://c.com"));
    assert_eq!(
        req.response_header_value("Access-Control-Allow-Origin"),
        None
    );
    // Vary is still set: the answer depends on Origin.
    assert_eq!(req.response_header_value("Vary"), Some("Origin"));
    let req = response(&plugin, None);
    assert_eq!(
        req.response_header_value("Access-Control-Allow-Origin"),
        None
    );
}

#[test]
fn one_origin_and_an_existing_vary() {
    let plugin = instance(r#"{"allow_origins":"http://a.com"}"#).expect("valid");
    let mut req = MockRequest::new("GET", "/").header("Origin", "http://a.com");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    req.response_headers
        .push(("Vary".into(), "Accept-Encoding, origin".into()));
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(
        req.response_header_value("Access-Control-Allow-Origin"),
        Some("http://a.com")
    );
    let varies = req
        .response_headers
        .iter()
        .filter(|h| h.0 == "Vary")
        .count();
    assert_eq!(varies, 1);
    let req = response(&plugin, Some("http://evil.com"));
    assert_eq!(
        req.response_header_value("Access-Control-Allow-Origin"),
        None
    );
}

#[test]
fn origins_by_regex() {
    let plugin = instance(r#"{"allow_origins_by_regex":[".*\\.test\\.com$","^http://x\\.org$"]}"#)
        .expect("valid");
    for (origin, allowed) in [
        ("http://a.test.com", true),
        ("https://b.c.test.com", true),
        ("http://x.org", true),
        ("http://test.com.evil", false),
        ("http://y.org", false),
    ] {
        let req = response(&plugin, Some(origin));
        let got = req.response_header_value("Access-Control-Allow-Origin");
        assert_eq!(got, allowed.then_some(origin), "{origin}");
    }
}

#[test]
fn bad_configs_name_the_field() {
    let cases = [
        (r#"{"allow_credential":true}"#, "allow_credential:"),
        (
            r#"{"allow_credential":true,"allow_origins":"http://a","allow_methods":"GET","allow_headers":"X","expose_headers":"*"}"#,
            "allow_credential:",
        ),
        (
            r#"{"allow_origins_by_regex":["("]}"#,
            "allow_origins_by_regex[0]:",
        ),
        (
            r#"{"allow_origins_by_regex":[]}"#,
            "allow_origins_by_regex:",
        ),
        (r#"{"max_age":"5"}"#, "max_age:"),
        (
            r#"{"allow_origins_by_metadata":["a"]}"#,
            "allow_origins_by_metadata:",
        ),
    ];
    for (config, field) in cases {
        let err = instance(config).err().expect(config);
        assert!(err.starts_with(field), "{config}: {err}");
    }
}

#[test]
fn timing_allow_origin_has_its_own_policy() {
    let plugin = instance(
        r#"{"allow_origins":"http://a.com","timing_allow_origins":"http://a.com,http://t.com"}"#,
    )
    .expect("valid");
    let req = response(&plugin, Some("http://t.com"));
    assert_eq!(
        req.response_header_value("Access-Control-Allow-Origin"),
        None
    );
    assert_eq!(
        req.response_header_value("Timing-Allow-Origin"),
        Some("http://t.com")
    );
    let req = response(&plugin, Some("http://a.com"));
    assert_eq!(
        req.response_header_value("Timing-Allow-Origin"),
        Some("http://a.com")
    );
    let req = response(&plugin, Some("http://x.com"));
    assert_eq!(req.response_header_value("Timing-Allow-Origin"), None);

    let by_regex = instance(r#"{"timing_allow_origins_by_regex":["\\.t\\.com$"]}"#).expect("valid");
    let req = response(&by_regex, Some("http://x.t.com"));
    assert_eq!(
        req.response_header_value("Timing-Allow-Origin"),
        Some("http://x.t.com")
    );
    assert!(instance(r#"{"timing_allow_origins_by_regex":["["]}"#)
        .err()
        .is_some_and(|e| e.starts_with("timing_allow_origins_by_regex[0]:")));
}
