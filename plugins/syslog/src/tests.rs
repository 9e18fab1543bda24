//! syslog through the mock host: the batch config handed to the host, the
//! RFC 5424 framing, and the configs refused.

use radixgate_plugin::mock::{MockHost, MockInstance};
use radixgate_plugin::serde_json::{self, json, Value};

use crate::{rfc5424, Syslog};

fn instance(config: Value, host: &MockHost) -> Result<MockInstance, String> {
    MockInstance::new::<Syslog>(&config.to_string(), host)
}

#[test]
fn the_batch_config_sends_raw_frames_over_tcp_or_udp() {
    let host = MockHost::new();
    let _tcp = instance(json!({"host": "127.0.0.1", "port": 514}), &host).unwrap();
    let _udp = instance(
        json!({"host": "127.0.0.1", "port": 514, "sock_type": "udp", "timeout": 500}),
        &host,
    )
    .unwrap();
    let configs: Vec<Value> = host
        .batches()
        .iter()
        .map(|b| serde_json::from_str(&b.config).unwrap())
        .collect();
    assert_eq!(
        configs[0],
        json!({"sink": "tcp", "host": "127.0.0.1", "port": 514, "tls": false, "timeout": 3.0,
               "concat": "raw", "name": "sys logger", "batch_max_size": 1000,
               "inactive_timeout": 5, "buffer_duration": 60, "max_retry_count": 0,
               "retry_delay": 1})
    );
    assert_eq!(configs[1]["sink"], "udp");
    assert_eq!(configs[1]["timeout"], 0.5);
}

#[test]
fn frames_are_apisix_rfc5424_messages() {
    // 2026-12-02T12:33:33.120Z
    let ms = 1_796_214_813_120;
    assert_eq!(
        rfc5424::frame(ms, "example.com", 42, "{\"a\":1}"),
        "<46>1 2026-12-02T12:33:33.120Z example.com apisix 42 - - {\"a\":1}\n"
    );
    // HOSTNAME is printable ASCII without spaces, else the nil value.
    for bad in ["", "a b", "é"] {
        assert!(
            rfc5424::frame(ms, bad, 1, "m").contains("Z - apisix 1 "),
            "{bad:?}"
        );
    }
}

/// What the plugin refuses itself (the schema's bounds are the host's,
/// tested end to end).
#[test]
fn bad_configs_are_refused_naming_the_field() {
    for (config, field) in [
        (json!({"port": 514}), "host"),
        (json!({"host": "h", "port": 0}), "port"),
        (
            json!({"host": "h", "port": 514, "sock_type": "sctp"}),
            "sock_type",
        ),
        (
            json!({"host": "h", "port": 514, "sock_type": "udp", "tls": true}),
            "tls",
        ),
    ] {
        let err = instance(config.clone(), &MockHost::new())
            .err()
            .unwrap_or_default();
        assert!(err.contains(field), "{config}: {err}");
    }
}
