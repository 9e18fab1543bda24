//! limit-count's config and plugin_metadata: APISIX's fields, defaults and
//! limits, as JSON Schema text and as serde types.

use radixgate_plugin::serde::{Deserialize, Serialize};
use radixgate_plugin::serde_json::Value;
use radixgate_plugin::ConfigError;

use crate::shared::redis::{Policy, RedisFields};
pub use crate::shared::KeyType;
use crate::shared::Rejection;

/// The route config's JSON Schema (APISIX's; the redis policies' fields
/// are checked as APISIX checks them).
pub const SCHEMA: &str = concat!(
    r#"{
    "type": "object",
    "properties": {
        "count": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
        "time_window": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
        "group": {"type": "string"},
        "key": {"type": "string", "default": "remote_addr"},
        "key_type": {"type": "string", "enum": ["var", "var_combination", "constant"], "default": "var"},
        "rejected_code": {"type": "integer", "minimum": 200, "maximum": 599, "default": 503},
        "rejected_msg": {"type": "string", "minLength": 1},
        "allow_degradation": {"type": "boolean", "default": false},
        "show_limit_quota_header": {"type": "boolean", "default": true},
        "#,
    policy_schema!(),
    r#"
    },
    "required": ["count", "time_window"],
    "#,
    policy_conditions!(),
    "\n}"
);

/// plugin_metadata's JSON Schema: the quota header names.
pub const METADATA_SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "limit_header": {"type": "string", "default": "X-RateLimit-Limit"},
        "remaining_header": {"type": "string", "default": "X-RateLimit-Remaining"},
        "reset_header": {"type": "string", "default": "X-RateLimit-Reset"}
    }
}"#;

/// A number given as is, or as a `$var` template resolved per request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(crate = "radixgate_plugin::serde", untagged)]
pub enum Amount {
    /// A fixed number.
    Fixed(i64),
    /// A template such as `$http_x_limit`, read as a number per request.
    Var(String),
}

impl Amount {
    fn check(&self, field: &str) -> Result<(), ConfigError> {
        match self {
            Amount::Fixed(n) if *n <= 0 => Err(ConfigError::field(field, "must be greater than 0")),
            Amount::Var(v) if v.is_empty() => Err(ConfigError::field(field, "must not be empty")),
            _ => Ok(()),
        }
    }
}

/// The config on a route, service or global rule.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// Requests allowed per window.
    pub count: Amount,
    /// Window length in seconds.
    pub time_window: Amount,
    /// Routes with the same group share counters.
    #[serde(default)]
    pub group: Option<String>,
    /// What identifies a client (default `remote_addr`).
    #[serde(default = "default_key")]
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
    /// Where counters live: `local` (the host's shared store), `redis` or
    /// `redis-cluster`.
    #[serde(default = "default_policy")]
    pub policy: String,
    /// The redis fields of the redis policies.
    #[serde(flatten)]
    pub redis: RedisFields,
    /// Seconds between pushes of the counts to Redis (`-1`: a round trip
    /// per request; APISIX 3.x's delayed sync).
    #[serde(default = "default_sync_interval")]
    pub sync_interval: f64,
    /// Let the request through when `count` or `time_window` does not
    /// resolve to a number, or the counters cannot be reached (else 500).
    #[serde(default)]
    pub allow_degradation: bool,
    /// Send X-RateLimit-Limit/Remaining/Reset (default true).
    #[serde(default = "default_true")]
    pub show_limit_quota_header: bool,
    /// APISIX's multi-rule form; not supported yet.
    #[serde(default)]
    pub rules: Option<Value>,
}

/// plugin_metadata.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", default)]
pub struct Metadata {
    /// Header carrying the limit.
    pub limit_header: String,
    /// Header carrying the remaining requests.
    pub remaining_header: String,
    /// Header carrying the seconds until the window resets.
    pub reset_header: String,
}

impl Default for Metadata {
    fn default() -> Metadata {
        Metadata {
            limit_header: "X-RateLimit-Limit".into(),
            remaining_header: "X-RateLimit-Remaining".into(),
            reset_header: "X-RateLimit-Reset".into(),
        }
    }
}

fn default_key() -> String {
    "remote_addr".into()
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
fn default_sync_interval() -> f64 {
    -1.0
}
fn default_true() -> bool {
    true
}

impl Config {
    /// The answer to a rejected request.
    pub fn rejection(&self) -> Result<Rejection, ConfigError> {
        Rejection::new(self.rejected_code, self.rejected_msg.as_deref())
    }

    /// What the schema cannot say (or the host may not have checked).
    pub fn check(&self) -> Result<(), ConfigError> {
        self.count.check("count")?;
        self.time_window.check("time_window")?;
        self.rejection()?;
        self.policy()?;
        self.sync_interval()?;
        if self.rules.is_some() {
            return Err(ConfigError::field("rules", "not supported yet"));
        }
        Ok(())
    }

    /// Where the counters live.
    pub fn policy(&self) -> Result<Policy, ConfigError> {
        Policy::new(&self.policy, &self.redis)
    }

    /// The delayed sync's interval in ms, when `sync_interval` asks for it
    /// (at least 0.1 s as in APISIX; the local policy has nothing to sync
    /// and ignores it).
    pub fn sync_interval(&self) -> Result<Option<u64>, ConfigError> {
        let s = self.sync_interval;
        if s == -1.0 || self.policy == "local" {
            return Ok(None);
        }
        if !(s.is_finite() && s >= 0.1) {
            return Err(ConfigError::field(
                "sync_interval",
                "must be -1 (off) or at least 0.1 seconds",
            ));
        }
        Ok(Some((s * 1000.0) as u64))
    }
}
