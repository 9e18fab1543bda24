//! api-breaker's config: APISIX 3.x's schema as text and the serde types,
//! with APISIX's defaults.

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::Value;

/// The route config's JSON Schema (APISIX 3.x's fields).
pub const SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "break_response_code": {"type": "integer", "minimum": 200, "maximum": 599},
        "break_response_body": {"type": "string"},
        "break_response_headers": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "key": {"type": "string", "minLength": 1},
                    "value": {"type": "string", "minLength": 1}
                },
                "required": ["key", "value"]
            }
        },
        "max_breaker_sec": {"type": "integer", "minimum": 3, "default": 300},
        "unhealthy": {
            "type": "object",
            "properties": {
                "http_statuses": {"type": "array", "minItems": 1, "uniqueItems": true,
                    "items": {"type": "integer", "minimum": 500, "maximum": 599},
                    "default": [500]},
                "failures": {"type": "integer", "minimum": 1, "default": 3}
            },
            "default": {"http_statuses": [500], "failures": 3}
        },
        "healthy": {
            "type": "object",
            "properties": {
                "http_statuses": {"type": "array", "minItems": 1, "uniqueItems": true,
                    "items": {"type": "integer", "minimum": 200, "maximum": 499},
                    "default": [200]},
                "successes": {"type": "integer", "minimum": 1, "default": 3}
            },
            "default": {"http_statuses": [200], "successes": 3}
        },
        "_meta": {"type": "object"}
    },
    "required": ["break_response_code"],
    "additionalProperties": false
}"#;

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    /// The status answered while the breaker is open.
    pub break_response_code: u16,
    /// The body answered while open (none: an empty body).
    #[serde(default)]
    pub break_response_body: Option<String>,
    /// Headers answered while open, with a body only (values with `$var`).
    #[serde(default)]
    pub break_response_headers: Vec<HeaderLine>,
    /// The longest break, in seconds.
    #[serde(default = "default_max_breaker_sec")]
    pub max_breaker_sec: u64,
    /// What opens the breaker.
    #[serde(default)]
    pub unhealthy: Unhealthy,
    /// What closes it again.
    #[serde(default)]
    pub healthy: Healthy,
    /// APISIX's per-plugin options, applied by the host.
    #[serde(default, rename = "_meta")]
    pub meta: Option<Value>,
}

/// One `break_response_headers` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct HeaderLine {
    /// The header's name.
    pub key: String,
    /// Its value, with `$var` references.
    pub value: String,
}

/// `unhealthy`: the node's statuses that count as failures, and how many
/// open the breaker.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Unhealthy {
    /// Failure statuses (500 to 599).
    #[serde(default = "default_unhealthy_statuses")]
    pub http_statuses: Vec<u16>,
    /// Failures that open the breaker.
    #[serde(default = "default_count")]
    pub failures: u64,
}

/// `healthy`: the node's statuses that count as successes, and how many
/// close the breaker.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Healthy {
    /// Success statuses (200 to 499).
    #[serde(default = "default_healthy_statuses")]
    pub http_statuses: Vec<u16>,
    /// Successes that close the breaker.
    #[serde(default = "default_count")]
    pub successes: u64,
}

impl Default for Unhealthy {
    fn default() -> Unhealthy {
        Unhealthy {
            http_statuses: default_unhealthy_statuses(),
            failures: default_count(),
        }
    }
}

impl Default for Healthy {
    fn default() -> Healthy {
        Healthy {
            http_statuses: default_healthy_statuses(),
            successes: default_count(),
        }
    }
}

fn default_max_breaker_sec() -> u64 {
    300
}

fn default_count() -> u64 {
    3
}

fn default_unhealthy_statuses() -> Vec<u16> {
    vec![500]
}

fn default_healthy_statuses() -> Vec<u16> {
    vec![200]
}
