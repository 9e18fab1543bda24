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
