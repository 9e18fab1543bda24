//! limit-conn's config: APISIX 3.x's fields, defaults and limits, as JSON
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
        "conn": {"type": "integer", "exclusiveMinimum": 0},
        "burst": {"type": "integer", "minimum": 0},
        "default_conn_delay": {"type": "number", "exclusiveMinimum": 0},
        "only_use_default_delay": {"type": "boolean", "default": false},
        "key": {"type": "string"},
        "key_type": {"type": "string", "enum": ["var", "var_combination"], "default": "var"},
        "key_ttl": {"type": "integer", "default": 3600},
        "redis_prefix": {"type": "string", "minLength": 0, "default": "limit_conn", "pattern": "^[0-9a-zA-Z|_]+$"},
        "rejected_code": {"type": "integer", "minimum": 200, "maximum": 599, "default": 503},
        "rejected_msg": {"type": "string", "minLength": 1},
        "allow_degradation": {"type": "boolean", "default": false},
        "#,
    policy_schema!(),
    r#"
    },
    "required": ["conn", "burst", "default_conn_delay", "key"],
    "#,
    policy_conditions!(),
    "\n}"
);

/// The config on a route, service, consumer or global rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// Requests in flight at once per key.
    pub conn: i64,
    /// Requests over `conn` delayed rather than rejected.
    pub burst: i64,
    /// Seconds a request over `conn` waits (per `conn` it is over).
    pub default_conn_delay: f64,
    /// Keep `default_conn_delay` as the unit of delay, instead of the
    /// running mean of the requests' latency.
    #[serde(default)]
    pub only_use_default_delay: bool,
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
    /// Let requests through when the counters cannot be reached (else 500).
    #[serde(default)]
    pub allow_degradation: bool,
    /// Where the counters live: `local` (the host's shared store), `redis`
    /// or `redis-cluster`.
    #[serde(default = "default_policy")]
    pub policy: String,
    /// The redis fields of the redis policies.
    #[serde(flatten)]
    pub redis: RedisFields,
    /// Seconds a count in Redis lives after its last request came in (a
    /// gateway that stops with requests in flight leaves them counted
    /// until then; default 3600).
    #[serde(default = "default_key_ttl")]
    pub key_ttl: i64,
    /// Start of the counter keys in Redis (default `limit_conn`).
    #[serde(default = "default_redis_prefix")]
    pub redis_prefix: String,
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
fn default_key_ttl() -> i64 {
    3600
}
fn default_redis_prefix() -> String {
    "limit_conn".into()
}

impl Config {
    /// What the schema cannot say (or the host may not have checked).
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.conn <= 0 {
            return Err(ConfigError::field("conn", "must be greater than 0"));
        }
        if self.burst < 0 {
            return Err(ConfigError::field("burst", "must be 0 or more"));
        }
        if !(self.default_conn_delay.is_finite() && self.default_conn_delay > 0.0) {
            return Err(ConfigError::field(
                "default_conn_delay",
                "must be greater than 0",
            ));
        }
        if self.key_type == KeyType::Constant {
            return Err(ConfigError::field(
                "key_type",
                "must be \"var\" or \"var_combination\"",
            ));
        }
        if self.key_ttl <= 0 {
            return Err(ConfigError::field("key_ttl", "must be greater than 0"));
        }
        self.policy().map(drop)
    }

    /// Where the counters live.
    pub fn policy(&self) -> Result<Policy, ConfigError> {
        Policy::new(&self.policy, &self.redis)
    }
}
