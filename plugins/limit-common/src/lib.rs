//! What limit-count, limit-req and limit-conn share: how a request's limit
//! key is read (`key_type` var, var_combination or constant), the
//! rejection (`rejected_code`, `rejected_msg`), the counter policy
//! (`local`, or APISIX's redis fields read into a Redis target by
//! [`redis::Policy`]), and [`Counted`], what a policy's counter answers:
//! now (`local`) or after waiting on the host (Redis).
//!
//! A library, not a plugin: each limit plugin links it in (`make run`
//! installs only the crates that build a `cdylib`).

use std::future::Future;
use std::pin::Pin;

pub mod redis;

use radixgate_plugin::serde::{Deserialize, Serialize};
use radixgate_plugin::vars::{Template, VarName};
use radixgate_plugin::{ConfigError, Ctx, IpText, Response};

/// How `key` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(crate = "radixgate_plugin::serde", rename_all = "snake_case")]
pub enum KeyType {
    /// `key` names one variable (`remote_addr`, `http_x_user`).
    Var,
    /// `key` is a template of variables (`$remote_addr $http_x_user`).
    VarCombination,
    /// `key` is the key itself.
    Constant,
}

/// How a request's limit key is found, parsed once per config.
pub enum KeySource {
    /// One variable.
    Var(VarName),
    /// A template of variables.
    Combination(Template),
    /// The key itself.
    Constant(String),
}

impl KeySource {
    /// The source `key` of type `key_type` describes.
    pub fn new(key_type: KeyType, key: &str) -> KeySource {
        match key_type {
            KeyType::Var => KeySource::Var(VarName::parse(key)),
            KeyType::VarCombination => KeySource::Combination(Template::parse(key)),
            KeyType::Constant => KeySource::Constant(key.to_owned()),
        }
    }

    /// Appends this request's key to `buf`: the variable's value, the
    /// template when at least one of its variables has a value, the
    /// constant; otherwise (as APISIX) the client's address.
    pub fn write(&self, ctx: &Ctx<'_>, buf: &mut String) {
        let found = match self {
            KeySource::Var(VarName::RemoteAddr) => false,
            KeySource::Var(var) => var.resolve(ctx).map(|v| buf.push_str(&v)).is_some(),
            KeySource::Combination(t) => match t.render(ctx, &[]) {
                (_, 0) => false,
                (text, _) => {
                    buf.push_str(&text);
                    true
                }
            },
            KeySource::Constant(c) => {
                buf.push_str(c);
                true
            }
        };
        if !found {
            buf.push_str(IpText::new(ctx.client_addr().ip()).as_str());
        }
    }
}

/// The answer to a rejected request: `rejected_code`, and
/// `{"error_msg": rejected_msg}` when a message is configured.
pub struct Rejection {
    code: u16,
    body: Option<Vec<u8>>,
}

impl Rejection {
    /// The rejection of a config; `msg` is `rejected_msg`.
    pub fn new(code: u16, msg: Option<&str>) -> Result<Rejection, ConfigError> {
        if !(200..=599).contains(&code) {
            return Err(ConfigError::field(
                "rejected_code",
                "must be between 200 and 599",
            ));
        }
        if msg == Some("") {
            return Err(ConfigError::field("rejected_msg", "must not be empty"));
        }
        let body = msg.map(|msg| {
            radixgate_plugin::serde_json::json!({ "error_msg": msg })
                .to_string()
                .into_bytes()
        });
        Ok(Rejection { code, body })
    }

    /// The response, with `headers` first.
    pub fn response(&self, headers: impl IntoIterator<Item = (String, String)>) -> Response {
        let mut response = Response::new(self.code);
        for (name, value) in headers {
            response = response.header(name, value);
        }
        if let Some(body) = &self.body {
            response = response
                .header("Content-Type", "application/json")
                .body(body.clone());
        }
        response
    }
}

/// A counter's answer now, or one that comes after waiting on the host (a
/// counter kept outside the process, as a Redis policy's).
pub enum Counted<T> {
    /// Known at once.
    Now(T),
    /// Known once this future, which awaits host operations only, is done.
    Later(Pin<Box<dyn Future<Output = T> + Send>>),
}

/// The counter policy of a plugin that counts locally only: `local` is
/// served; `redis` and `redis-cluster` are refused with the field named,
/// so that a route is never served without the limit its config asks for.
pub fn check_policy(policy: &str) -> Result<(), ConfigError> {
    match policy {
        "local" => Ok(()),
        other => Err(ConfigError::field(
            "policy",
            format!(
                "\"{other}\" is not served by this gateway yet (only \"local\"); \
                 the config is refused rather than served without its limit"
            ),
        )),
    }
}

/// The `policy` property and APISIX's redis fields, as JSON Schema text to
/// splice into a plugin's schema (`concat!`): the fields are checked as
/// APISIX checks them (`redis_host` required with `policy: redis`,
/// `redis_cluster_nodes` and `redis_cluster_name` with `redis-cluster`), so
/// that an APISIX config is read as written.
#[macro_export]
macro_rules! policy_schema {
    () => {
        r#""policy": {"type": "string", "enum": ["local", "redis", "redis-cluster"], "default": "local"},
        "redis_host": {"type": "string", "minLength": 2},
        "redis_port": {"type": "integer", "minimum": 1, "default": 6379},
        "redis_username": {"type": "string", "minLength": 1},
        "redis_password": {"type": "string", "minLength": 0},
        "redis_database": {"type": "integer", "minimum": 0, "default": 0},
        "redis_timeout": {"type": "integer", "minimum": 1, "default": 1000},
        "redis_ssl": {"type": "boolean", "default": false},
        "redis_ssl_verify": {"type": "boolean", "default": false},
        "redis_keepalive_timeout": {"type": "integer", "minimum": 1000, "default": 10000},
        "redis_keepalive_pool": {"type": "integer", "minimum": 1, "default": 100},
        "redis_cluster_nodes": {"type": "array", "minItems": 1,
            "items": {"type": "string", "minLength": 2, "maxLength": 100}},
        "redis_cluster_name": {"type": "string"},
        "redis_cluster_ssl": {"type": "boolean", "default": false},
        "redis_cluster_ssl_verify": {"type": "boolean", "default": false},
        "sync_interval": {"type": "number", "default": -1}"#
    };
}

/// The conditions of [`policy_schema`]'s fields, spliced after the
/// `properties` of a plugin's schema. A config is checked as written
/// (APISIX fills in defaults first): a config without `policy` is `local`.
#[macro_export]
macro_rules! policy_conditions {
    () => {
        r#""if": {"required": ["policy"], "properties": {"policy": {"enum": ["redis"]}}},
    "then": {"required": ["redis_host"]},
    "else": {
        "if": {"required": ["policy"], "properties": {"policy": {"enum": ["redis-cluster"]}}},
        "then": {"required": ["redis_cluster_nodes", "redis_cluster_name"]}
    }"#
    };
}
