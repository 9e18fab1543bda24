//! tcp-logger through the mock host: the batch config handed to the host,
//! the entries pushed, and the configs refused.

use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};
use radixgate_plugin::serde_json::{self, json, Value};

use crate::TcpLogger;

fn instance(config: Value, host: &MockHost) -> Result<MockInstance, String> {
    MockInstance::new::<TcpLogger>(&config.to_string(), host)
}

#[test]
fn the_batch_config_names_a_tcp_sink_with_apisix_defaults() {
    let host = MockHost::new();
    let _logger = instance(
        json!({"host": "127.0.0.1", "port": 5044, "tls": true, "tls_options": "logs.local"}),
        &host,
    )
    .unwrap();
    let batch: Value = serde_json::from_str(&host.batches()[0].config).unwrap();
    assert_eq!(
        batch,
        json!({"sink": "tcp", "host": "127.0.0.1", "port": 5044, "tls": true,
               "tls_server_name": "logs.local", "timeout": 1.0, "name": "tcp logger",
               "batch_max_size": 1000, "inactive_timeout": 5, "buffer_duration": 60,
               "max_retry_count": 0, "retry_delay": 1, "single_as_object": false})
    );
}

#[test]
fn each_request_pushes_its_log_format_entry() {
    let host = MockHost::new();
    let logger = instance(
        json!({"host": "h", "port": 1, "batch_max_size": 1, "log_format": {"u": "$uri"}}),
        &host,
    )
    .unwrap();
    let mut req = MockRequest::new("GET", "/hello");
    logger.log(&mut req);
    let b = &host.batches()[0];
    let entry: Value = serde_json::from_str(&b.entries[0]).unwrap();
    assert_eq!(entry, json!({"u": "/hello"}));
    let conf: Value = serde_json::from_str(&b.config).unwrap();
    assert_eq!(conf["single_as_object"], true);
}

/// What the plugin refuses itself (the schema's bounds are the host's,
/// tested end to end).
#[test]
fn bad_configs_are_refused_naming_the_field() {
    for (config, field) in [
        (json!({"port": 1}), "host"),
        (json!({"host": "h"}), "port"),
        (json!({"host": "h", "port": 0}), "port"),
        (json!({"host": "h", "port": 70000}), "port"),
        (
            json!({"host": "h", "port": 1, "max_resp_body_bytes": 0}),
            "max_resp_body_bytes",
        ),
    ] {
        let err = instance(config.clone(), &MockHost::new())
            .err()
            .unwrap_or_default();
        assert!(err.contains(field), "{config}: {err}");
    }
}
