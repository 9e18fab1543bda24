//! fault-injection against the SDK's mock host (its sleeps end at once and
//! are recorded).

use radixgate_plugin::abi::{HostOp, PhaseResult};
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::FaultInjection;

fn instance(config: &str, host: &MockHost) -> Result<MockInstance, String> {
    MockInstance::new::<FaultInjection>(config, host)
}

/// The sleeps the host was asked for, in ms.
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
fn abort_answers_with_variables() {
    let host = MockHost::new();
    let plugin = instance(
        r#"{"abort":{"http_status":403,"body":"client addr: $remote_addr\n","headers":{"X-Fault":"$arg_name"}}}"#,
        &host,
    )
    .expect("valid");
    match plugin.rewrite(&mut MockRequest::new("GET", "/hello?name=jack")) {
        PhaseResult::Respond(r) => {
            assert_eq!(r.status, 403);
            assert_eq!(String::from_utf8_lossy(&r.body), "client addr: 127.0.0.1\n");
            let fault = r.headers.iter().find(|h| h.0.as_str() == "X-Fault");
            assert_eq!(fault.map(|h| h.1.as_str()), Some("jack"));
        }
        other => panic!("expected a 403, got {other:?}"),
    }
    assert!(sleeps(&host).is_empty());
}

#[test]
fn vars_choose_the_requests() {
    let host = MockHost::new();
    let config = r#"{"abort":{"http_status":403,"body":"Fault Injection!\n","vars":[[["arg_name","==","jack"]]]},
        "delay":{"duration":2,"vars":[[["http_age","==","18"]]]}}"#;
    let plugin = instance(config, &host).expect("valid");
    assert_eq!(
        plugin.rewrite(&mut MockRequest::new("GET", "/hello?name=allen")),
        PhaseResult::Continue
    );
    assert!(sleeps(&host).is_empty());
    let aborted = plugin.rewrite(&mut MockRequest::new("GET", "/hello?name=jack"));
    assert!(
        matches!(aborted, PhaseResult::Respond(ref r) if r.status == 403),
        "{aborted:?}"
    );
    assert!(sleeps(&host).is_empty());
    // Delayed, then aborted: both conditions hold.
    let req = MockRequest::new("GET", "/hello?name=jack").header("Age", "18");
    let both = plugin.rewrite(&mut { req });
    assert!(
        matches!(both, PhaseResult::Respond(ref r) if r.status == 403),
        "{both:?}"
    );
    assert_eq!(sleeps(&host), [2000]);
}

#[test]
fn delay_waits_on_the_host_then_goes_on() {
    let host = MockHost::new();
    let plugin = instance(r#"{"delay":{"duration":0.25}}"#, &host).expect("valid");
    assert_eq!(
        plugin.rewrite(&mut MockRequest::new("GET", "/")),
        PhaseResult::Continue
    );
    assert_eq!(sleeps(&host), [250]);
}

#[test]
fn percentage_zero_never_and_absent_always() {
    let host = MockHost::new();
    let never = instance(r#"{"abort":{"http_status":500,"percentage":0}}"#, &host).expect("valid");
    let always = instance(r#"{"abort":{"http_status":500}}"#, &host).expect("valid");
    for _ in 0..50 {
        assert_eq!(
            never.rewrite(&mut MockRequest::new("GET", "/")),
            PhaseResult::Continue
        );
        assert!(matches!(
            always.rewrite(&mut MockRequest::new("GET", "/")),
            PhaseResult::Respond(_)
        ));
    }
}

#[test]
fn bad_configs_name_the_field() {
    let host = MockHost::new();
    let cases = [
        (
            r#"{"abort":{"http_status":403,"vars":[[["arg_a","~~","("]]]}}"#,
            "abort.vars[0][0]:",
        ),
        (
            r#"{"delay":{"duration":1,"vars":[[["arg_a","=~","x"]]]}}"#,
            "delay.vars[0][0]:",
        ),
        (r#"{"abort":{"http_status":1000}}"#, "abort.http_status:"),
        (
            r#"{"abort":{"http_status":200,"headers":{"X A":"1"}}}"#,
            "abort.headers.X A:",
        ),
        (r#"{"delay":{"duration":1e300}}"#, "delay.duration:"),
        (r#"{}"#, "abort: one of abort and delay"),
    ];
    for (config, want) in cases {
        let err = instance(config, &host)
            .err()
            .unwrap_or_else(|| panic!("{config} accepted"));
        assert!(err.starts_with(want), "{config}: {err}");
    }
}
