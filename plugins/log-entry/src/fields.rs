//! The config fields APISIX's loggers share (`log_format`,
//! `include_req_body`, `include_resp_body` and their `_expr`s), with the
//! schema fragment each logger's schema includes.

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
        "include_resp_body_expr": {"type": "array", "minItems": 1, "items": {"type": "array"}}"#
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
    /// Log the request body (refused: plugins cannot read it here).
    #[serde(default)]
    pub include_req_body: bool,
    /// When to log the request body (a vars expression).
    #[serde(default)]
    pub include_req_body_expr: Option<Value>,
    /// Log the response body (refused: see [`Fields::check`]).
    #[serde(default)]
    pub include_resp_body: bool,
    /// When to log the response body (a vars expression).
    #[serde(default)]
    pub include_resp_body_expr: Option<Value>,
}

impl Fields {
    /// Checks the fields once, when the instance is built, and returns the
    /// config's own `log_format`, parsed. Refused, naming the field: a
    /// `log_format` value that is not text, an `_expr` that is not a vars
    /// expression, and either body asked for. The host hands plugins no
    /// request body, and the response body only chunk by chunk to a
    /// `body_filter` with no per-request buffer to keep them in, so a
    /// config asking for a body is refused rather than logged without it.
    pub fn check(&self) -> Result<Option<LogFormat>, ConfigError> {
        for (field, expr) in [
            ("include_req_body_expr", &self.include_req_body_expr),
            ("include_resp_body_expr", &self.include_resp_body_expr),
        ] {
            if let Some(expr) = expr {
                radixgate_plugin_vars_expr::parse(expr, field)?;
            }
        }
        if self.include_req_body {
            return Err(ConfigError::field(
                "include_req_body",
                "is not supported by this gateway yet (plugins cannot read the request body); \
                 the config is refused rather than logged without the body",
            ));
        }
        if self.include_resp_body {
            return Err(ConfigError::field(
                "include_resp_body",
                "is not supported by this gateway yet (plugins get the response body only \
                 chunk by chunk, with nowhere to keep it per request); the config is \
                 refused rather than logged without the body",
            ));
        }
        self.log_format
            .as_ref()
            .map(|f| LogFormat::parse(f, "log_format"))
            .transpose()
    }
}
