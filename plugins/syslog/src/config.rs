//! syslog's config: APISIX 3.x's schema (its own fields, the loggers'
//! shared ones and the batch processor's) and the host's batch config
//! built from it.

use radixgate_log_entry::{batch_schema, fields_schema, BatchFields, Fields};
use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::{json, Value};
use radixgate_plugin::ConfigError;

/// The route config's JSON Schema.
pub const SCHEMA: &str = concat!(
    r#"{
    "type": "object",
    "properties": {
        "host": {"type": "string"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "flush_limit": {"type": "integer", "minimum": 1, "default": 4096},
        "drop_limit": {"type": "integer", "default": 1048576},
        "timeout": {"type": "integer", "minimum": 1, "default": 3000},
        "sock_type": {"type": "string", "default": "tcp", "enum": ["tcp", "udp"]},
        "pool_size": {"type": "integer", "minimum": 5, "default": 5},
        "tls": {"type": "boolean", "default": false},
        "name": {"type": "string", "default": "sys logger"},
        "_meta": {"type": "object"},
        "#,
    batch_schema!(),
    ",\n        ",
    fields_schema!(),
    r#"
    },
    "required": ["host", "port"]
}"#
);

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// The syslog server's host name or address.
    pub host: String,
    /// Its port.
    pub port: u64,
    /// Milliseconds for one batch's connection and send.
    #[serde(default = "three_thousand")]
    pub timeout: u64,
    /// `tcp` or `udp`.
    #[serde(default = "tcp")]
    pub sock_type: String,
    /// TLS over `tcp` (the certificate is not verified, as in APISIX).
    #[serde(default)]
    pub tls: bool,
    /// Accepted, not used (APISIX's socket library's buffer bounds).
    #[serde(default)]
    pub flush_limit: Option<u64>,
    /// Accepted, not used.
    #[serde(default)]
    pub drop_limit: Option<i64>,
    /// Accepted, not used (each batch has a connection of its own).
    #[serde(default)]
    pub pool_size: Option<u64>,
    /// The batch processor's fields.
    #[serde(flatten)]
    pub batch: BatchFields,
    /// `log_format` and the body fields.
    #[serde(flatten)]
    pub fields: Fields,
}

fn three_thousand() -> u64 {
    3000
}
fn tcp() -> String {
    "tcp".to_owned()
}

impl Config {
    /// The host's batch processor config for this logger: messages put
    /// together as they are (`concat: raw`).
    pub fn batch_config(&self) -> Result<Value, ConfigError> {
        if !(1..=65535).contains(&self.port) {
            return Err(ConfigError::field("port", "must be 1 to 65535"));
        }
        let sink = match self.sock_type.as_str() {
            "tcp" => "tcp",
            "udp" if self.tls => {
                return Err(ConfigError::field("tls", "needs sock_type tcp"));
            }
            "udp" => "udp",
            other => {
                return Err(ConfigError::field(
                    "sock_type",
                    format!("{other:?} is not one of tcp, udp"),
                ))
            }
        };
        let mut batch = self.batch.config("sys logger");
        batch.insert("sink".into(), json!(sink));
        batch.insert("host".into(), json!(self.host));
        batch.insert("port".into(), json!(self.port));
        if sink == "tcp" {
            batch.insert("tls".into(), json!(self.tls));
        }
        batch.insert("timeout".into(), json!(self.timeout as f64 / 1000.0));
        batch.insert("concat".into(), json!("raw"));
        Ok(Value::Object(batch))
    }
}
