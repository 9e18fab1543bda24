//! limit-req's config: APISIX 3.x's fields, defaults and limits, as JSON
//! Schema text and as a serde type.

use radixgate_plugin::serde::{Deserialize, Serialize};
use radixgate_plugin::ConfigError;

use crate::shared::redis::{Policy, RedisFields};
use crate::shared::KeyType;

/// The route config's JSON Schema (APISIX's, redis fields included).
pub const SCHEMA: &str = concat!(
    r#"{
    "type": "object",
    "properties": {
        "rate": {"type": "number", "exclusiveMinimum": 0},
        "burst": {"type": "number", "minimum": 0},
        "key": {"type": "string"},
        "key_type": {"type": "string", "enum": ["var", "var_combination", "constant"], "default": "var"},
        "rejected_code": {"type": "integer", "minimum": 200, "maximum": 599, "default": 503},
        "rejected_msg": {"type": "string", "minLength": 1},
        "nodelay": {"type": "boolean", "default": false},
        "allow_degradation": {"type": "boolean", "default": false},
        "#,
    policy_schema!(),
    r#"
    },
    "required": ["rate", "burst", "key"],
    "#,
    policy_conditions!(),
    "\n}"
);

/// The config on a route, service, consumer or global rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// Requests per second.
    pub rate: f64,
    /// Requests over the rate delayed (or let through with `nodelay`)
    /// rather than rejected.
    pub burst: f64,
    /// What identifies a client.
    pub key: String,
    /// How `key` is read (default `var`).
    #[serde(default = "default_key_type")]
    pub key_type: KeyType,
    /// Status of a rejected request (default 503).
    #[serde(default = "default_rejected_code")]
    pub rejected_code: u16,
    /// Body `{"error_msg": ...}` of a rejected request.
    #[serde(default)]
    pub rejected_msg: Option<String>,
    /// Let requests within the burst through at once instead of delaying
    /// them.
    #[serde(default)]
    pub nodelay: bool,
    /// Let requests through when the counters cannot be reached (else 500).
    #[serde(default)]
    pub allow_degradation: bool,
    /// Where the buckets live: `local` (the host's shared store), `redis`
    /// or `redis-cluster`.
    #[serde(default = "default_policy")]
    pub policy: String,
    /// The redis fields of the redis policies.
    #[serde(flatten)]
    pub redis: RedisFields,
}

fn default_key_type() -> KeyType {
    KeyType::Var
}
fn default_rejected_code() -> u16 {
    503
}
fn default_policy() -> String {
    "local".into()
}

impl Config {
    /// What the schema cannot say (or the host may not have checked).
    pub fn check(&self) -> Result<(), ConfigError> {
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(ConfigError::field("rate", "must be greater than 0"));
        }
        if !(self.burst.is_finite() && self.burst >= 0.0) {
            return Err(ConfigError::field("burst", "must be 0 or more"));
        }
        self.policy().map(drop)
    }

    /// Where the buckets live.
    pub fn policy(&self) -> Result<Policy, ConfigError> {
        Policy::new(&self.policy, &self.redis)
    }
}
