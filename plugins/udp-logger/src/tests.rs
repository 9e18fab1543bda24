//! udp-logger through the mock host: the batch config handed to the host,
//! and the configs refused.

use radixgate_plugin::mock::{MockHost, MockInstance};
use radixgate_plugin::serde_json::{self, json, Value};

use crate::UdpLogger;

fn instance(config: Value, host: &MockHost) -> Result<MockInstance, String> {
    MockInstance::new::<UdpLogger>(&config.to_string(), host)
}

#[test]
fn the_batch_config_names_a_udp_sink_with_apisix_defaults() {
    let host = MockHost::new();
    let _logger = instance(
        json!({"host": "127.0.0.1", "port": 3000, "batch_max_size": 1}),
        &host,
    )
    .unwrap();
    let batch: Value = serde_json::from_str(&host.batches()[0].config).unwrap();
    assert_eq!(
        batch,
        json!({"sink": "udp", "host": "127.0.0.1", "port": 3000, "timeout": 3,
               "name": "udp logger", "batch_max_size": 1, "inactive_timeout": 5,
               "buffer_duration": 60, "max_retry_count": 0, "retry_delay": 1,
               "single_as_object": true})
    );
}

/// What the plugin refuses itself (the schema's bounds are the host's,
/// tested end to end).
#[test]
fn bad_configs_are_refused_naming_the_field() {
    for (config, field) in [
        (json!({"port": 1}), "host"),
        (json!({"host": "h", "port": 0}), "port"),
        (json!({"host": "h", "port": "514"}), "port"),
        (json!({"host": "h", "port": 65536}), "port"),
    ] {
        let err = instance(config.clone(), &MockHost::new())
            .err()
            .unwrap_or_default();
        assert!(err.contains(field), "{config}: {err}");
    }
}
