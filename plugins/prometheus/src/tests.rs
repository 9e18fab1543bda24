//! prometheus against the SDK's mock host.

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};
use radixgate_plugin::MetricId;

use super::{node_ip, Prometheus};

/// The ids the mock host hands out, in registration order.
const STATUS: MetricId = MetricId(0);
const LATENCY: MetricId = MetricId(1);
const BANDWIDTH: MetricId = MetricId(2);

fn served(route: &str, status: u16) -> MockRequest {
    let mut req = MockRequest::new("GET", "/a");
    req.route_id = route.into();
    req.response_status = status;
    req
}

fn set_vars(req: &mut MockRequest, vars: &[(&str, &str)]) {
    for (k, v) in vars {
        req.vars.insert(k.to_string(), v.to_string());
    }
}

#[test]
fn counts_status_latency_and_bandwidth_from_host_vars() {
    let host = MockHost::new();
    let plugin = MockInstance::new::<Prometheus>("{}", &host).expect("valid");
    for _ in 0..3 {
        let mut req = served("r1", 200);
        req.consumer = Some("jack".into());
        set_vars(
            &mut req,
            &[
                ("request_time", "0.050"),
                ("upstream_response_time", "0.030"),
                ("request_length", "100"),
                ("bytes_sent", "2000"),
                ("upstream_addr", "10.0.0.5:8080"),
                ("service_id", "s1"),
                ("matched_uri", "/a"),
            ],
        );
        assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
        assert_eq!(plugin.log(&mut req), PhaseResult::Continue);
    }
    let http = "traditional_http";
    let status = [
        "200", "r1", "/a", "", "s1", "jack", "10.0.0.5", http, "", "",
    ];
    assert_eq!(host.metric(STATUS, &status), 3.0);
    let typed = |kind| [kind, "r1", "s1", "jack", "10.0.0.5", http, "", ""];
    assert!((host.metric(LATENCY, &typed("request")) - 150.0).abs() < 1e-6);
    assert!((host.metric(LATENCY, &typed("upstream")) - 90.0).abs() < 1e-6);
    assert!((host.metric(LATENCY, &typed("apisix")) - 60.0).abs() < 1e-6);
    assert_eq!(host.metric(BANDWIDTH, &typed("ingress")), 300.0);
    assert_eq!(host.metric(BANDWIDTH, &typed("egress")), 6000.0);
}

#[test]
fn falls_back_to_own_timing_and_content_length() {
    let host = MockHost::new();
    let plugin = MockInstance::new::<Prometheus>("{}", &host).expect("valid");
    let mut req = served("r2", 404).header("Content-Length", "12");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    req.response_headers
        .push(("Content-Length".into(), "34".into()));
    assert_eq!(plugin.log(&mut req), PhaseResult::Continue);
    let http = "traditional_http";
    let status = ["404", "r2", "", "", "", "", "", http, "", ""];
    assert_eq!(host.metric(STATUS, &status), 1.0);
    let typed = |kind| [kind, "r2", "", "", "", http, "", ""];
    assert!(host.metric(LATENCY, &typed("request")) >= 0.0);
    assert_eq!(host.metric(LATENCY, &typed("upstream")), 0.0);
    assert_eq!(host.metric(BANDWIDTH, &typed("ingress")), 12.0);
    assert_eq!(host.metric(BANDWIDTH, &typed("egress")), 34.0);
}

#[test]
fn prefer_name_labels_by_names() {
    let host = MockHost::new();
    let plugin = MockInstance::new::<Prometheus>(r#"{"prefer_name":true}"#, &host).expect("valid");
    let mut req = served("r3", 502);
    set_vars(
        &mut req,
        &[
            ("route_name", "orders"),
            ("service_name", "shop"),
            ("service_id", "s9"),
        ],
    );
    assert_eq!(plugin.log(&mut req), PhaseResult::Continue);
    let http = "traditional_http";
    let status = ["502", "orders", "", "", "shop", "", "", http, "", ""];
    assert_eq!(host.metric(STATUS, &status), 1.0);
}

#[test]
fn ai_labels_come_from_the_request_variables() {
    let host = MockHost::new();
    let plugin = MockInstance::new::<Prometheus>("{}", &host).expect("valid");
    let mut req = served("chat", 200);
    set_vars(
        &mut req,
        &[
            ("request_type", "ai_chat"),
            ("request_llm_model", "gpt-4"),
            ("llm_model", "gpt-4o"),
            ("bytes_sent", "10"),
        ],
    );
    assert_eq!(plugin.log(&mut req), PhaseResult::Continue);
    let status = [
        "200", "chat", "", "", "", "", "", "ai_chat", "gpt-4", "gpt-4o",
    ];
    assert_eq!(host.metric(STATUS, &status), 1.0);
    let egress = ["egress", "chat", "", "", "", "ai_chat", "gpt-4", "gpt-4o"];
    assert_eq!(host.metric(BANDWIDTH, &egress), 10.0);
}

#[test]
fn bad_config_and_node_labels() {
    let err = MockInstance::new::<Prometheus>(r#"{"prefer_name":1}"#, &MockHost::new())
        .err()
        .expect("refused");
    assert!(err.starts_with("prefer_name:"), "{err}");
    assert!(MockInstance::new::<Prometheus>(r#"{"other":1}"#, &MockHost::new()).is_err());
    assert_eq!(node_ip("10.0.0.1:80"), "10.0.0.1");
    assert_eq!(node_ip("[::1]:80"), "::1");
    assert_eq!(node_ip("10.0.0.1:80, 10.0.0.2:80"), "10.0.0.1");
    assert_eq!(node_ip("::1"), "::1");
    assert_eq!(node_ip(""), "");
}

#[test]
fn numbers_read_as_str_parse_reads_them() {
    let same = |text: &str| {
        let want = text.trim().parse::<f64>().ok().map(f64::to_bits);
        assert_eq!(super::decimal(text).map(f64::to_bits), want, "{text:?}");
    };
    for odd in [
        "",
        " ",
        ".",
        ".5",
        "5.",
        " 7 ",
        "-1",
        "+1",
        "1e3",
        "0x10",
        "1..2",
        "1.2.3",
        "nan",
        "inf",
        "123456789012345",
        "1234567890123456",
        "9007199254740993",
        "0.000000000000001",
        "99999999999999.9",
        "0.1",
        "0.3",
        "4.35",
        "1٣",
    ] {
        same(odd);
    }
    // Every time the host writes up to 100 s, and byte counts.
    for ms in 0..100_000u64 {
        same(&format!("{}.{:03}", ms / 1000, ms % 1000));
        same(&(ms * 7919).to_string());
    }
    // Up to 15 digits with the point anywhere.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let digits = (x % 1_000_000_000_000_000).to_string();
        let at = (x >> 50) as usize % (digits.len() + 1);
        same(&format!("{}.{}", &digits[..at], &digits[at..]));
    }
}
