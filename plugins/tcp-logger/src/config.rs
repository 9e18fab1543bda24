//! tcp-logger's config: APISIX 3.x's schema (its own fields, the loggers'
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
        "port": {"type": "integer", "minimum": 0, "maximum": 65535},
        "tls": {"type": "boolean", "default": false},
        "tls_options": {"type": "string"},
        "timeout": {"type": "integer", "minimum": 1, "default": 1000},
        "name": {"type": "string", "default": "tcp logger"},
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
    /// The sink's host name or address.
    pub host: String,
    /// The sink's port.
    pub port: u64,
    /// TLS towards the sink (its certificate is not verified).
    #[serde(default)]
    pub tls: bool,
    /// The TLS server name (SNI); default `host`.
    #[serde(default)]
    pub tls_options: Option<String>,
    /// Milliseconds for one batch's connection and send.
    #[serde(default = "thousand")]
    pub timeout: u64,
    /// The batch processor's fields.
    #[serde(flatten)]
    pub batch: BatchFields,
    /// `log_format` and the body fields.
    #[serde(flatten)]
    pub fields: Fields,
}

fn thousand() -> u64 {
    1000
}

impl Config {
    /// The host's batch processor config for this logger.
    pub fn batch_config(&self) -> Result<Value, ConfigError> {
        if !(1..=65535).contains(&self.port) {
            return Err(ConfigError::field("port", "must be 1 to 65535"));
        }
        let mut batch = self.batch.config("tcp logger");
        batch.insert("sink".into(), json!("tcp"));
        batch.insert("host".into(), json!(self.host));
        batch.insert("port".into(), json!(self.port));
        batch.insert("tls".into(), json!(self.tls));
        if let Some(name) = &self.tls_options {
            batch.insert("tls_server_name".into(), json!(name));
        }
        batch.insert("timeout".into(), json!(self.timeout as f64 / 1000.0));
        batch.insert(
            "single_as_object".into(),
            json!(self.batch.batch_max_size == 1),
        );
        Ok(Value::Object(batch))
    }
}
