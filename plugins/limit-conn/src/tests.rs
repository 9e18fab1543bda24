//! limit-conn against the SDK's mock host: requests counted in by access
//! and out by log, delays over `conn` waited on the host's timer (resty's
//! arithmetic, the unit following latencies or not), rejections, keys and
//! configs refused.

use radixgate_plugin::abi::{HostOp, PhaseResult};
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::LimitConn;

fn instance(config: &str, host: &MockHost) -> MockInstance {
    MockInstance::new::<LimitConn>(config, host).expect("valid config")
}

fn from(ip: &str) -> MockRequest {
    let mut req = MockRequest::new("GET", "/a");
    req.client = format!("{ip}:5000").parse().expect("address");
    req
}

/// The sleeps asked of the host so far, in ms.
fn sleeps(host: &MockHost) -> Vec<u64> {
    host.ops()
        .into_iter()
        .filter_map(|op| match op {
            HostOp::Sleep { ms } => Some(ms),
            _ => None,
        })
        .collect()
}

fn status(r: &PhaseResult) -> Option<u16> {
    match r {
        PhaseResult::Respond(reply) => Some(reply.status),
        _ => None,
    }
}

#[test]
fn counts_in_at_access_and_out_at_log_delaying_the_burst() {
    let host = MockHost::new();
    let plugin = instance(
        r#"{"conn":2,"burst":1,"default_conn_delay":0.1,"key":"remote_addr","only_use_default_delay":true}"#,
        &host,
    );
    let mut first = from("10.0.0.1");
    let mut second = from("10.0.0.1");
    let mut third = from("10.0.0.1");
    assert_eq!(plugin.access(&mut first), PhaseResult::Continue);
    assert_eq!(plugin.access(&mut second), PhaseResult::Continue);
    assert!(sleeps(&host).is_empty());
    // The third is over `conn`: it waits one unit, floor((3 - 1) / 2) = 1.
    assert_eq!(plugin.access(&mut third), PhaseResult::Continue);
    assert_eq!(sleeps(&host), [100]);
    // The fourth is over `conn + burst`.
    let mut fourth = from("10.0.0.1");
    assert_eq!(status(&plugin.access(&mut fourth)), Some(503));
    // Its log counts nothing out (it was never counted in).
    assert_eq!(plugin.log(&mut fourth), PhaseResult::Continue);
    assert_eq!(status(&plugin.access(&mut from("10.0.0.1"))), Some(503));
    // Another client counts apart.
    assert_eq!(plugin.access(&mut from("10.0.0.2")), PhaseResult::Continue);
    // One leaves: one more may come in, delayed as the third was.
    assert_eq!(plugin.log(&mut first), PhaseResult::Continue);
    assert_eq!(plugin.access(&mut from("10.0.0.1")), PhaseResult::Continue);
    assert_eq!(sleeps(&host), [100, 100]);
    // Two leave: the next is within `conn` again.
    assert_eq!(plugin.log(&mut second), PhaseResult::Continue);
    assert_eq!(plugin.log(&mut third), PhaseResult::Continue);
    assert_eq!(plugin.access(&mut from("10.0.0.1")), PhaseResult::Continue);
    assert_eq!(sleeps(&host), [100, 100]);
}

#[test]
fn the_delay_unit_follows_latencies_unless_only_the_default_is_used() {
    // conn 1: the second request in waits one unit.
    let run = |only_default: bool| {
        let host = MockHost::new();
        let plugin = instance(
            &format!(
                r#"{{"conn":1,"burst":5,"default_conn_delay":0.4,"key":"remote_addr","only_use_default_delay":{only_default}}}"#
            ),
            &host,
        );
        let mut a = from("10.0.0.1");
        assert_eq!(plugin.access(&mut a), PhaseResult::Continue);
        // `a` leaves at once (a latency of about 0 s): the unit halves.
        assert_eq!(plugin.log(&mut a), PhaseResult::Continue);
        let mut b = from("10.0.0.1");
        let mut c = from("10.0.0.1");
        assert_eq!(plugin.access(&mut b), PhaseResult::Continue);
        assert_eq!(plugin.access(&mut c), PhaseResult::Continue);
        sleeps(&host)
    };
    let adapted = run(false);
    assert!(
        matches!(adapted.as_slice(), [ms] if (190..=210).contains(ms)),
        "{adapted:?}"
    );
    assert_eq!(run(true), [400]);
}

#[test]
fn rejected_msg_and_a_combined_key() {
    let host = MockHost::new();
    let plugin = instance(
        r#"{"conn":1,"burst":0,"default_conn_delay":1,"key_type":"var_combination",
            "key":"$remote_addr $http_x_user","rejected_code":429,"rejected_msg":"busy"}"#,
        &host,
    );
    let user = |u: &str| from("10.0.0.1").header("X-User", u);
    assert_eq!(plugin.access(&mut user("a")), PhaseResult::Continue);
    match plugin.access(&mut user("a")) {
        PhaseResult::Respond(r) => {
            assert_eq!(r.status, 429);
            assert_eq!(r.body.as_slice(), br#"{"error_msg":"busy"}"#);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(plugin.access(&mut user("b")), PhaseResult::Continue);
}

#[test]
fn bad_configs_name_the_field() {
    let host = MockHost::new();
    let base = r#""default_conn_delay":1,"key":"remote_addr""#;
    let cases = [
        (format!(r#"{{"conn":0,"burst":0,{base}}}"#), "conn:"),
        (format!(r#"{{"conn":1,"burst":-1,{base}}}"#), "burst:"),
        (
            r#"{"conn":1,"burst":0,"default_conn_delay":0,"key":"k"}"#.to_owned(),
            "default_conn_delay:",
        ),
        (
            format!(r#"{{"conn":1,"burst":0,{base},"key_type":"constant"}}"#),
            "key_type:",
        ),
        (
            format!(
                r#"{{"conn":1,"burst":0,{base},"policy":"redis","redis_host":"h","key_ttl":0}}"#
            ),
            "key_ttl: must be greater than 0",
        ),
    ];
    for (config, field) in cases {
        let err = MockInstance::new::<LimitConn>(&config, &host)
            .err()
            .expect(&config);
        assert!(err.contains(field), "{config}: {err}");
    }
}
