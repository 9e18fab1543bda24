//! The config fields APISIX's loggers share (`log_format`,
//! `include_req_body`, `include_resp_body`, their `_expr`s and
//! `max_*_body_bytes`), with the schema fragment each logger's schema
//! includes.

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::{Map, Value};
use radixgate_plugin::ConfigError;

use crate::format::LogFormat;

/// The properties of [`Fields`] as JSON Schema text, to splice into a
/// logger's `properties` with `concat!` (APISIX 3.x's types and defaults).
#[macro_export]
macro_rules! fields_schema {
    () => {
        r#""log_format": {"type": "object"},
        "include_req_body": {"type": "boolean", "default": false},
        "include_req_body_expr": {"type": "array", "minItems": 1, "items": {"type": "array"}},
        "include_resp_body": {"type": "boolean", "default": false},
        "include_resp_body_expr": {"type": "array", "minItems": 1, "items": {"type": "array"}},
        "max_req_body_bytes": {"type": "integer", "minimum": 1, "default": 524288},
        "max_resp_body_bytes": {"type": "integer", "minimum": 1, "default": 524288}"#
    };
}

/// The metadata schema APISIX's loggers declare: a `log_format` for every
/// instance of the plugin that has none of its own.
pub const METADATA_SCHEMA: &str = r#"{
    "type": "object",
    "properties": {"log_format": {"type": "object"}}
}"#;

/// The shared fields of a logger's config (flattened into it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Fields {
    /// Entry key -> `$var` reference or literal text.
    #[serde(default)]
    pub log_format: Option<Map<String, Value>>,
    /// Log the request body (`request.body` of the default entry).
    #[serde(default)]
    pub include_req_body: bool,
    /// When to log the request body (a vars expression).
    #[serde(default)]
    pub include_req_body_expr: Option<Value>,
    /// Log the response body (see [`Bodies`](crate::body::Bodies)).
    #[serde(default)]
    pub include_resp_body: bool,
    /// When to log the response body (a vars expression).
    #[serde(default)]
    pub include_resp_body_expr: Option<Value>,
    /// The request body's bytes logged at most (default 524288).
    #[serde(default)]
    pub max_req_body_bytes: Option<i64>,
    /// The response body's bytes logged at most (default 524288).
    #[serde(default)]
    pub max_resp_body_bytes: Option<i64>,
}

impl Fields {
    /// Checks the fields once, when the instance is built, and returns the
    /// config's own `log_format`, parsed. Refused, naming the field: a
    /// `log_format` value that is not text, an `_expr` that is not a vars
    /// expression and a `max_*_body_bytes` below 1.
    pub fn check(&self) -> Result<Option<LogFormat>, ConfigError> {
        crate::body::Bodies::new(self)?;
        self.log_format
            .as_ref()
            .map(|f| LogFormat::parse(f, "log_format"))
            .transpose()
    }
}
