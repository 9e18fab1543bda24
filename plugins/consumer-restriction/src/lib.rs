//! `consumer-restriction`: lets a request through or not by who or what
//! it is (APISIX's plugin, priority 2400, access phase). `type` says what
//! is checked: `consumer_name` (default; the consumer an auth plugin
//! named), `consumer_group_id` (that consumer's group), `service_id` (the
//! matched route's service) or `route_id`. A request without that value
//! gets 401 `The request is rejected, please check the <type> for this
//! request`; one whose value is in `blacklist`, or not in `whitelist`, or
//! (when not whitelisted) a consumer whose `allowed_by_methods` entry
//! lacks the request's method, gets `rejected_code` (default 403) with
//! `rejected_msg` (default `The <type> is forbidden.`).
//!
//! The host gives the consumer and route id directly, and the service and
//! consumer group as request variables `service_id` and
//! `consumer_group_id` (set by the gateway, not by plugins).
//!
//! ```json
//! "consumer-restriction": {"whitelist": ["jack"], "rejected_code": 403}
//! ```

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin, Response,
};

/// What is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", rename_all = "snake_case")]
pub enum Type {
    /// The consumer's username.
    ConsumerName,
    /// The consumer's group.
    ConsumerGroupId,
    /// The route's service.
    ServiceId,
    /// The route.
    RouteId,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::ConsumerName => "consumer_name",
            Type::ConsumerGroupId => "consumer_group_id",
            Type::ServiceId => "service_id",
            Type::RouteId => "route_id",
        }
    }

    /// The request's value of this type, if it has one.
    fn value<'c>(self, ctx: &'c Ctx<'_>) -> Option<&'c str> {
        let value = match self {
            Type::ConsumerName => ctx.consumer(),
            Type::ConsumerGroupId => ctx.var("consumer_group_id"),
            Type::ServiceId => ctx.var("service_id"),
            Type::RouteId => Some(ctx.route_id()),
        };
        value.filter(|v| !v.is_empty())
    }
}

/// One consumer's allowed methods.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct AllowedMethods {
    /// The consumer's username.
    #[serde(default)]
    pub user: Option<String>,
    /// Its methods.
    #[serde(default)]
    pub methods: Vec<String>,
}

/// The config.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// What is checked (default `consumer_name`).
    #[serde(default = "default_type", rename = "type")]
    pub kind: Type,
    /// Values refused.
    #[serde(default)]
    pub blacklist: Vec<String>,
    /// The only values let through.
    #[serde(default)]
    pub whitelist: Vec<String>,
    /// Per consumer, the methods it may use.
    #[serde(default)]
    pub allowed_by_methods: Vec<AllowedMethods>,
    /// Status of a refusal (default 403).
    #[serde(default = "default_code")]
    pub rejected_code: u16,
    /// Message of a refusal.
    #[serde(default)]
    pub rejected_msg: Option<String>,
}

fn default_type() -> Type {
    Type::ConsumerName
}

fn default_code() -> u16 {
    403
}

/// One config's check, its answers prepared once.
pub struct ConsumerRestriction {
    config: Config,
    /// The 401 body when the request has no value of the type.
    missing: String,
    /// The refusal's body.
    rejected: String,
}

/// `{"message":"<text>"}`, the text escaped.
fn message(text: &str) -> String {
    format!(
        "{{\"message\":{}}}",
        radixgate_plugin::serde_json::Value::String(text.to_owned())
    )
}

impl ConsumerRestriction {
    fn reply(status: u16, body: &str) -> Decision {
        Decision::Respond(
            Response::new(status)
                .header("Content-Type", "application/json")
                .body(body.to_owned()),
        )
    }

    /// Whether `user` may use `method` (a consumer not listed may use any).
    fn method_allowed(&self, user: &str, method: &str) -> bool {
        match self
            .config
            .allowed_by_methods
            .iter()
            .find(|a| a.user.as_deref() == Some(user))
        {
            Some(allowed) => allowed.methods.iter().any(|m| m == method),
            None => true,
        }
    }
}

impl Plugin for ConsumerRestriction {
    const NAME: &'static str = "consumer-restriction";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 2400;
    const PHASES: Phases = Phases::of(Phase::Access);
    // APISIX's schema: one of blacklist, whitelist and allowed_by_methods
    // at least.
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "properties": {
            "type": {
                "type": "string",
                "enum": ["consumer_name", "consumer_group_id", "service_id", "route_id"],
                "default": "consumer_name"
            },
            "blacklist": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "whitelist": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "allowed_by_methods": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "user": {"type": "string"},
                        "methods": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "enum": ["GET", "POST", "PUT",
                                "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
                                "PURGE"]}
                        }
                    }
                }
            },
            "rejected_code": {"type": "integer", "minimum": 200, "default": 403},
            "rejected_msg": {"type": "string"}
        },
        "anyOf": [
            {"required": ["blacklist"]},
            {"required": ["whitelist"]},
            {"required": ["allowed_by_methods"]}
        ]
    }"#;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        if !(200..=599).contains(&config.rejected_code) {
            return Err(ConfigError::field("rejected_code", "must be 200 to 599"));
        }
        let kind = config.kind.name();
        Ok(ConsumerRestriction {
            missing: message(&format!(
                "The request is rejected, please check the {kind} for this request"
            )),
            rejected: message(
                config
                    .rejected_msg
                    .as_deref()
                    .unwrap_or(&format!("The {kind} is forbidden.")),
            ),
            config,
        })
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        let Some(value) = self.config.kind.value(ctx) else {
            return Self::reply(401, &self.missing);
        };
        let listed = |list: &[String]| list.iter().any(|v| v == value);
        if listed(&self.config.blacklist) {
            return Self::reply(self.config.rejected_code, &self.rejected);
        }
        let whitelisted = listed(&self.config.whitelist);
        let mut block = !self.config.whitelist.is_empty() && !whitelisted;
        if !self.config.allowed_by_methods.is_empty()
            && !whitelisted
            && !self.method_allowed(value, ctx.method())
        {
            block = true;
        }
        if block {
            return Self::reply(self.config.rejected_code, &self.rejected);
        }
        Decision::Continue
    }
}

export_plugin!(ConsumerRestriction);

#[cfg(test)]
mod tests;
