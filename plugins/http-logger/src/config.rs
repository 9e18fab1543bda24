//! http-logger's config: APISIX 3.x's schema (its own fields, the loggers'
//! shared ones and the batch processor's) and the host's batch config
//! built from it.

use radixgate_log_entry::{fields_schema, Fields};
use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::{json, Value};

/// The route config's JSON Schema.
pub const SCHEMA: &str = concat!(
    r#"{
    "type": "object",
    "properties": {
        "uri": {"type": "string", "pattern": "^[^/]+://([\\da-zA-Z.-]+|\\[[\\da-fA-F:]+\\])(:\\d+)?"},
        "auth_header": {"type": "string"},
        "timeout": {"type": "integer", "minimum": 1, "default": 3},
        "concat_method": {"type": "string", "default": "json", "enum": ["json", "new_line"]},
        "ssl_verify": {"type": "boolean", "default": false},
        "name": {"type": "string", "default": "http logger"},
        "batch_max_size": {"type": "integer", "minimum": 1, "default": 1000},
        "inactive_timeout": {"type": "integer", "minimum": 1, "default": 5},
        "buffer_duration": {"type": "integer", "minimum": 1, "default": 60},
        "max_retry_count": {"type": "integer", "minimum": 0, "default": 0},
        "retry_delay": {"type": "integer", "minimum": 0, "default": 1},
        "max_pending_entries": {"type": "integer", "minimum": 1},
        "_meta": {"type": "object"},
        "#,
    fields_schema!(),
    r#"
    },
    "required": ["uri"]
}"#
);

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// The sink's URL.
    pub uri: String,
    /// Sent as the `Authorization` header with each batch.
    #[serde(default)]
    pub auth_header: Option<String>,
    /// Seconds for one send.
    #[serde(default = "three")]
    pub timeout: u64,
    /// `json` (a batch is a JSON array) or `new_line` (the entries, one a
    /// line).
    #[serde(default = "json_method")]
    pub concat_method: String,
    /// Verify an `https` sink's certificate.
    #[serde(default)]
    pub ssl_verify: bool,
    /// The batch processor's name in log lines.
    #[serde(default = "default_name")]
    pub name: String,
    /// Entries per batch.
    #[serde(default = "thousand")]
    pub batch_max_size: u64,
    /// Seconds without an entry after which a batch is sent.
    #[serde(default = "five")]
    pub inactive_timeout: u64,
    /// Seconds after its first entry by which a batch is sent.
    #[serde(default = "sixty")]
    pub buffer_duration: u64,
    /// Sends of a failed batch after the first.
    #[serde(default)]
    pub max_retry_count: u64,
    /// Seconds before each retry.
    #[serde(default = "one")]
    pub retry_delay: u64,
    /// Entries held at most (the host's default when absent).
    #[serde(default)]
    pub max_pending_entries: Option<u64>,
    /// `log_format` and the body fields.
    #[serde(flatten)]
    pub fields: Fields,
}

fn three() -> u64 {
    3
}
fn json_method() -> String {
    "json".to_owned()
}
fn default_name() -> String {
    "http logger".to_owned()
}
fn thousand() -> u64 {
    1000
}
fn five() -> u64 {
    5
}
fn sixty() -> u64 {
    60
}
fn one() -> u64 {
    1
}

impl Config {
    /// The host's batch processor config for this logger.
    pub fn batch_config(&self) -> Value {
        let mut batch = json!({
            "uri": self.uri,
            "name": self.name,
            "batch_max_size": self.batch_max_size,
            "inactive_timeout": self.inactive_timeout,
            "buffer_duration": self.buffer_duration,
            "max_retry_count": self.max_retry_count,
            "retry_delay": self.retry_delay,
            "timeout": self.timeout,
            "ssl_verify": self.ssl_verify,
            // APISIX sends the bare entry when a batch holds one at most.
            "single_as_object": self.batch_max_size == 1,
        });
        if self.concat_method == "new_line" {
            batch["concat"] = json!("new_line");
        }
        if let Some(auth) = &self.auth_header {
            batch["headers"] = json!({ "Authorization": auth });
        }
        if let Some(max) = self.max_pending_entries {
            batch["max_pending_entries"] = json!(max);
        }
        batch
    }
}
