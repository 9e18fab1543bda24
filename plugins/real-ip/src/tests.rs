//! real-ip against the SDK's mock host: the address it hands the host.

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::RealIp;

fn instance(config: &str) -> Result<MockInstance, String> {
    MockInstance::new::<RealIp>(config, &MockHost::new())
}

/// The client address real-ip leaves for `req` (none: unchanged).
fn found(config: &str, mut req: MockRequest) -> Option<String> {
    let plugin = instance(config).expect("valid config");
    let before = req.client;
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    (req.client != before).then(|| match req.client.port() == before.port() {
        true => req.client.ip().to_string(),
        false => req.client.to_string(),
    })
}

fn xff(value: &str) -> MockRequest {
    MockRequest::new("GET", "/").header("X-Forwarded-For", value)
}

#[test]
fn sources() {
    let cases = [
        (
            r#"{"source":"http_x_real_ip"}"#,
            MockRequest::new("GET", "/").header("X-Real-IP", "1.2.3.4"),
            Some("1.2.3.4"),
        ),
        (
            r#"{"source":"arg_ip"}"#,
            MockRequest::new("GET", "/?ip=[::1]:8080"),
            Some("[::1]:8080"),
        ),
        (
            r#"{"source":"http_x_forwarded_for"}"#,
            xff("1.1.1.1, 2.2.2.2"),
            Some("2.2.2.2"),
        ),
        (
            r#"{"source":"http_x_forwarded_for"}"#,
            xff("5.5.5.5:99"),
            Some("5.5.5.5:99"),
        ),
        // Not an address, port 0, missing: unchanged.
        (
            r#"{"source":"http_x_real_ip"}"#,
            MockRequest::new("GET", "/").header("X-Real-IP", "nope"),
            None,
        ),
        (
            r#"{"source":"http_x_forwarded_for"}"#,
            xff("1.1.1.1:0"),
            None,
        ),
        (
            r#"{"source":"http_x_real_ip"}"#,
            MockRequest::new("GET", "/"),
            None,
        ),
    ];
    for (config, req, want) in cases {
        assert_eq!(found(config, req).as_deref(), want, "{config}");
    }
}

#[test]
fn trusted_addresses_and_recursive() {
    let trusted =
        r#"{"source":"http_x_forwarded_for","trusted_addresses":["127.0.0.0/24","2.2.2.2"]}"#;
    assert_eq!(
        found(trusted, xff("1.1.1.1, 2.2.2.2")).as_deref(),
        Some("2.2.2.2")
    );
    let recursive = r#"{"source":"http_x_forwarded_for","trusted_addresses":["127.0.0.0/24","2.2.2.2"],"recursive":true}"#;
    assert_eq!(
        found(recursive, xff("1.1.1.1, 3.3.3.3, 2.2.2.2")).as_deref(),
        Some("3.3.3.3")
    );
    assert_eq!(
        found(recursive, xff("2.2.2.2, 127.0.0.9")).as_deref(),
        Some("2.2.2.2")
    );
    // A client that is not trusted is not believed.
    let elsewhere = r#"{"source":"http_x_forwarded_for","trusted_addresses":["10.0.0.0/8"]}"#;
    assert_eq!(found(elsewhere, xff("1.1.1.1")), None);
}

#[test]
fn bad_configs_name_the_field() {
    let cases = [
        (
            r#"{"source":"http_x_forwarded_for","trusted_addresses":["10.0.0.0/8","nope"]}"#,
            "trusted_addresses[1]: invalid ip address: nope",
        ),
        (
            r#"{"source":"http_x_forwarded_for","trusted_addresses":[]}"#,
            "trusted_addresses:",
        ),
        (r#"{"source":""}"#, "source:"),
        (r#"{}"#, "source"),
    ];
    for (config, want) in cases {
        let err = instance(config)
            .err()
            .unwrap_or_else(|| panic!("{config} accepted"));
        assert!(err.contains(want), "{config}: {err}");
    }
}
