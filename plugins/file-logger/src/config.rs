//! file-logger's config: APISIX 3.x's schema and its serde type.

use radixgate_log_entry::{fields_schema, Fields};
use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::Value;

/// The route config's JSON Schema.
pub const SCHEMA: &str = concat!(
    r#"{
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "match": {"type": "array", "maxItems": 20, "items": {"type": "array"}},
        "_meta": {"type": "object"},
        "#,
    fields_schema!(),
    r#"
    },
    "required": ["path"]
}"#
);

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// The file the lines are appended to (created when missing).
    pub path: String,
    /// Log only requests this vars expression holds for.
    #[serde(default)]
    pub r#match: Option<Value>,
    /// `log_format` and the body fields.
    #[serde(flatten)]
    pub fields: Fields,
}
