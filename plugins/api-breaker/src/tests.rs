//! api-breaker against the SDK's mock host (whose store is shared by
//! every instance on it, as the gateway's is by every worker).

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::state::break_ms;
use super::ApiBreaker;

const DOC: &str = r#"{"break_response_code":502,"break_response_body":"open",
    "break_response_headers":[{"key":"X-Breaker","value":"$uri"}],
    "unhealthy":{"http_statuses":[500,503],"failures":3},"healthy":{"http_statuses":[200],"successes":1}}"#;

fn instance(config: &str, host: &MockHost) -> Result<MockInstance, String> {
    MockInstance::new::<ApiBreaker>(config, host)
}

/// A request to /hello that went to a node which answered `status`.
fn answered(status: u16) -> MockRequest {
    let mut req = MockRequest::new("GET", "/hello").header("Host", "example.com:9080");
    req.vars
        .insert("upstream_addr".into(), "127.0.0.1:1980".into());
    req.response_status = status;
    req
}

/// Whether access lets a request to /hello through.
fn passes(plugin: &MockInstance) -> bool {
    let mut req = MockRequest::new("GET", "/hello").header("Host", "example.com");
    match plugin.access(&mut req) {
        PhaseResult::Continue => true,
        PhaseResult::Respond(r) => {
            assert_eq!((r.status, r.body.as_slice()), (502, &b"open"[..]));
            let h = r.headers.iter().find(|h| h.0.as_str() == "X-Breaker");
            assert_eq!(h.map(|h| h.1.as_str()), Some("/hello"));
            false
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn break_times_double_up_to_the_max() {
    let cases = [
        // (failures counted, failures, max s, break ms)
        (1, 3, 300, 2_000),
        (3, 3, 300, 2_000),
        (6, 3, 300, 4_000),
        (9, 3, 300, 8_000),
        (24, 3, 300, 256_000),
        (27, 3, 300, 300_000),
        (6, 3, 3, 3_000),
        (u64::MAX, 1, 300, 300_000),
    ];
    for (counted, failures, max, want) in cases {
        assert_eq!(
            break_ms(counted, failures, max),
            want,
            "{counted} {failures} {max}"
        );
    }
}

#[test]
fn opens_after_the_failures_and_closes_after_the_successes() {
    let host = MockHost::new();
    // Two instances on one store: two workers' view of one route.
    let (a, b) = (
        instance(DOC, &host).expect("valid"),
        instance(DOC, &host).expect("valid"),
    );
    for status in [500, 503] {
        a.log(&mut answered(status));
        assert!(passes(&a) && passes(&b), "open after one {status}");
    }
    // A status neither healthy nor unhealthy changes nothing.
    b.log(&mut answered(404));
    b.log(&mut answered(500));
    assert!(!passes(&a) && !passes(&b), "closed after 3 failures");
    // A request no node answered is not counted.
    let mut own = MockRequest::new("GET", "/hello").header("Host", "example.com");
    own.response_status = 200;
    a.log(&mut own);
    assert!(!passes(&b));
    // One success (successes: 1) closes it for every instance.
    a.log(&mut answered(200));
    assert!(passes(&a) && passes(&b));
}

#[test]
fn bad_configs_name_the_field() {
    let host = MockHost::new();
    let cases = [
        (r#"{"break_response_code":600}"#, "break_response_code:"),
        (
            r#"{"break_response_code":502,"max_breaker_sec":2}"#,
            "max_breaker_sec:",
        ),
        (
            r#"{"break_response_code":502,"unhealthy":{"http_statuses":[500,404]}}"#,
            "unhealthy.http_statuses[1]:",
        ),
        (
            r#"{"break_response_code":502,"healthy":{"successes":0}}"#,
            "healthy.successes:",
        ),
        (
            r#"{"break_response_code":502,"break_response_headers":[{"key":"X A","value":"1"}]}"#,
            "break_response_headers[0].key:",
        ),
        (
            r#"{"break_response_code":502,"unhealthy":{"failures":"x"}}"#,
            "unhealthy.failures:",
        ),
    ];
    for (config, want) in cases {
        let err = instance(config, &host)
            .err()
            .unwrap_or_else(|| panic!("{config} accepted"));
        assert!(err.starts_with(want), "{config}: {err}");
    }
}
