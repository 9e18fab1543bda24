//! fault-injection's config: APISIX 3.x's schema as text and the serde
//! types.

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::{Map, Value};

/// The route config's JSON Schema (APISIX 3.x's fields): `abort`, `delay`
/// or both.
pub const SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "abort": {
            "type": "object",
            "properties": {
                "http_status": {"type": "integer", "minimum": 200},
                "body": {"type": "string", "minLength": 0},
                "headers": {"type": "object", "minProperties": 1,
                    "patternProperties": {"^[^:]+$": {"type": ["string", "number"]}}},
                "percentage": {"type": "integer", "minimum": 0, "maximum": 100},
                "vars": {"type": "array", "maxItems": 20, "items": {"type": "array"}}
            },
            "required": ["http_status"],
            "additionalProperties": false
        },
        "delay": {
            "type": "object",
            "properties": {
                "duration": {"type": "number", "minimum": 0},
                "percentage": {"type": "integer", "minimum": 0, "maximum": 100},
                "vars": {"type": "array", "maxItems": 20, "items": {"type": "array"}}
            },
            "required": ["duration"],
            "additionalProperties": false
        },
        "_meta": {"type": "object"}
    },
    "minProperties": 1,
    "additionalProperties": false
}"#;

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    /// Answer the request at once.
    #[serde(default)]
    pub abort: Option<AbortConfig>,
    /// Hold the request, then go on.
    #[serde(default)]
    pub delay: Option<DelayConfig>,
    /// APISIX's per-plugin options, applied by the host.
    #[serde(default, rename = "_meta")]
    pub meta: Option<Value>,
}

/// `abort`: the answer, and which requests get it.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct AbortConfig {
    /// The status answered.
    pub http_status: u16,
    /// The body, with `$var` references.
    #[serde(default)]
    pub body: Option<String>,
    /// Response headers, values with `$var` references.
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    /// Share of requests aborted, in percent (all when absent).
    #[serde(default)]
    pub percentage: Option<u8>,
    /// Expressions of which one must hold (any request when absent).
    #[serde(default)]
    pub vars: Option<Value>,
}

/// `delay`: how long, and which requests wait.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct DelayConfig {
    /// Seconds, fractions allowed.
    pub duration: f64,
    /// Share of requests delayed, in percent (all when absent).
    #[serde(default)]
    pub percentage: Option<u8>,
    /// Expressions of which one must hold (any request when absent).
    #[serde(default)]
    pub vars: Option<Value>,
}
