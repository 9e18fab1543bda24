//! http-logger through the mock host: the batch config handed to the host,
//! the entries pushed, and the configs refused.

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};
use radixgate_plugin::serde_json::{self, json, Value};

use crate::HttpLogger;

fn instance(config: Value, host: &MockHost) -> Result<MockInstance, String> {
    MockInstance::new::<HttpLogger>(&config.to_string(), host)
}

fn request() -> MockRequest {
    let mut req = MockRequest::new("GET", "/hello?a=1&b=x%20y")
        .header("Host", "example.com:9080")
        .header("X-Twice", "1")
        .header("X-Twice", "2");
    req.route_id = "r1".into();
    req.vars
        .insert("upstream_addr".into(), "127.0.0.1:1980".into());
    req.consumer = Some("jack".into());
    req.response_status = 201;
    req.response_headers
        .push(("Content-Type".into(), "text/plain".into()));
    req
}

fn pushed(host: &MockHost) -> Vec<Value> {
    host.batches()[0]
        .entries
        .iter()
        .map(|e| serde_json::from_str(e).expect("an entry is JSON"))
        .collect()
}

#[test]
fn the_batch_config_carries_apisix_fields_and_the_auth_header() {
    let host = MockHost::new();
    let _logger = instance(
        json!({"uri": "http://127.0.0.1:9/logs", "auth_header": "Bearer x",
               "batch_max_size": 7, "max_retry_count": 2, "retry_delay": 0, "timeout": 4}),
        &host,
    )
    .unwrap();
    let batch: Value = serde_json::from_str(&host.batches()[0].config).unwrap();
    assert_eq!(
        batch,
        json!({"uri": "http://127.0.0.1:9/logs", "name": "http logger", "batch_max_size": 7,
               "inactive_timeout": 5, "buffer_duration": 60, "max_retry_count": 2,
               "retry_delay": 0, "timeout": 4, "ssl_verify": false,
               "single_as_object": false, "headers": {"Authorization": "Bearer x"}})
    );
}

#[test]
fn new_line_and_a_batch_of_one_reach_the_batch_config() {
    let host = MockHost::new();
    let config = json!({"uri": "http://127.0.0.1:9/l", "concat_method": "new_line",
                        "batch_max_size": 1});
    let _logger = instance(config, &host).unwrap();
    let batch: Value = serde_json::from_str(&host.batches()[0].config).unwrap();
    assert_eq!(batch["concat"], "new_line");
    assert_eq!(batch["single_as_object"], true);
}

#[test]
fn the_default_entry_has_log_util_fields() {
    let host = MockHost::new();
    let logger = instance(json!({"uri": "http://127.0.0.1:9/logs"}), &host).unwrap();
    let mut req = request();
    assert_eq!(logger.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(logger.log(&mut req), PhaseResult::Continue);
    let entry = &pushed(&host)[0];
    assert_eq!(
        entry["request"]["url"],
        "http://example.com:9080/hello?a=1&b=x%20y"
    );
    assert_eq!(entry["request"]["uri"], "/hello?a=1&b=x%20y");
    assert_eq!(entry["request"]["method"], "GET");
    assert_eq!(
        entry["request"]["querystring"],
        json!({"a": "1", "b": "x y"})
    );
    assert_eq!(entry["request"]["headers"]["x-twice"], json!(["1", "2"]));
    assert_eq!(entry["response"]["status"], 201);
    assert_eq!(entry["response"]["headers"]["content-type"], "text/plain");
    assert_eq!(entry["upstream"], "127.0.0.1:1980");
    assert_eq!(entry["route_id"], "r1");
    assert_eq!(entry["service_id"], "");
    assert_eq!(entry["consumer"], json!({"username": "jack"}));
    assert_eq!(entry["client_ip"], "127.0.0.1");
    assert!(entry["start_time"].as_u64().is_some(), "{entry}");
    assert!(entry["latency"].as_f64().is_some(), "{entry}");
    assert!(entry["request"]["size"].as_u64().unwrap() > 0, "{entry}");
    // No node time: no upstream_latency, and the gateway's share is all.
    assert!(entry.get("upstream_latency").is_none(), "{entry}");
    assert_eq!(entry["apisix_latency"], entry["latency"]);
}

#[test]
fn latencies_come_from_the_host_s_request_and_upstream_times() {
    let host = MockHost::new();
    let logger = instance(json!({"uri": "http://127.0.0.1:9/logs"}), &host).unwrap();
    let mut req = request();
    req.vars.insert("request_time".into(), "0.400".into());
    req.vars
        .insert("upstream_response_time".into(), "0.250".into());
    logger.log(&mut req);
    let entry = &pushed(&host)[0];
    assert_eq!(entry["latency"], 400.0, "{entry}");
    assert_eq!(entry["upstream_latency"], 250.0, "{entry}");
    assert_eq!(entry["apisix_latency"], 150.0, "{entry}");
}

#[test]
fn log_format_resolves_vars_and_leaves_unknown_ones_out() {
    let host = MockHost::new();
    let logger = instance(
        json!({"uri": "http://127.0.0.1:9/logs",
               "log_format": {"host": "$host", "client": "$remote_addr", "s": "$status",
                              "nothing": "$no_such_var", "lit": "text"}}),
        &host,
    )
    .unwrap();
    logger.log(&mut request());
    assert_eq!(
        pushed(&host)[0],
        json!({"host": "example.com", "client": "127.0.0.1", "s": "201", "lit": "text",
               "route_id": "r1"})
    );
}

#[test]
fn the_metadata_log_format_applies_to_instances_without_their_own() {
    let host = MockHost::new();
    let logger = instance(json!({"uri": "http://127.0.0.1:9/logs"}), &host).unwrap();
    host.set_metadata("http-logger", r#"{"log_format": {"m": "$request_method"}}"#);
    logger.log(&mut request());
    host.set_metadata("http-logger", r#"{"log_format": {"u": "$uri"}}"#);
    logger.log(&mut request());
    let entries = pushed(&host);
    assert_eq!(entries[0], json!({"m": "GET", "route_id": "r1"}));
    assert_eq!(entries[1], json!({"u": "/hello", "route_id": "r1"}));
}

#[test]
fn configs_it_cannot_serve_are_refused_naming_the_field() {
    let cases = [
        (
            json!({"uri": "http://127.0.0.1:9/l", "max_req_body_bytes": 0}),
            "max_req_body_bytes: 0: expected",
        ),
        (
            json!({"uri": "http://127.0.0.1:9/l", "log_format": {"a": ["x"]}}),
            "log_format.a: must be a string",
        ),
    ];
    for (config, want) in cases {
        let host = MockHost::new();
        let err = instance(config.clone(), &host).err().unwrap_or_default();
        assert!(err.contains(want), "{config}: {err}");
    }
}

#[test]
fn without_a_route_the_service_id_is_the_host() {
    let host = MockHost::new();
    let logger = instance(json!({"uri": "http://127.0.0.1:9/logs"}), &host).unwrap();
    let mut req = MockRequest::new("GET", "/none").header("Host", "Example.COM:9080");
    req.response_status = 404;
    logger.log(&mut req);
    let entry = &pushed(&host)[0];
    assert_eq!(entry["service_id"], "example.com", "{entry}");
    assert!(entry.get("route_id").is_none(), "{entry}");
    assert!(entry.get("upstream").is_none(), "{entry}");
}

#[test]
fn the_request_body_is_logged_cut_at_max_req_body_bytes() {
    let host = MockHost::new();
    let logger = instance(
        json!({"uri": "http://127.0.0.1:9/l", "include_req_body": true,
               "max_req_body_bytes": 4}),
        &host,
    )
    .unwrap();
    assert!(logger.reads_request_body());
    let mut req = request().body(b"abcdefgh");
    logger.rewrite(&mut req);
    logger.log(&mut req);
    let entry = &pushed(&host)[0];
    assert_eq!(entry["request"]["body"], json!("abcd"), "{entry}");

    // Without the field: no body asked for, none logged.
    let host = MockHost::new();
    let plain = instance(json!({"uri": "http://127.0.0.1:9/l"}), &host).unwrap();
    assert!(!plain.reads_request_body());
    let mut req = request().body(b"abcdefgh");
    plain.log(&mut req);
    let entry = &pushed(&host)[0];
    assert!(entry["request"].get("body").is_none(), "{entry}");
}
