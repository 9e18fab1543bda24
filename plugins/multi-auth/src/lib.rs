//! `multi-auth`: lets consumers of different auth plugins share one route
//! (APISIX's plugin, priority 2600). `auth_plugins` lists at least two
//! auth plugins, each an object naming one plugin with its route config:
//!
//! ```json
//! "multi-auth": {"auth_plugins": [
//!     {"basic-auth": {}},
//!     {"key-auth": {"header": "apikey", "hide_credentials": true}}
//! ]}
//! ```
//!
//! A plugin cannot call another, so the gateway does the work (see
//! docs/plugins.md, "multi-auth"): it checks each listed config against
//! that plugin's schema when the object loads, builds an instance of each,
//! and in rewrite runs them in order until one names a consumer, dropping
//! the 401s of those before it. Only when none does is this plugin's own
//! rewrite called: it answers APISIX's 401 `{"message":"Authorization
//! Failed"}`. A gateway that runs this rewrite without the listed plugins
//! therefore refuses every request: it fails closed.

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::Value;
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin, Response,
};

/// The config on a route, service or global rule.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// The auth plugins, in the order they are tried: `{"<name>": {conf}}`.
    pub auth_plugins: Vec<Value>,
}

/// One config: nothing to keep, the gateway holds the listed plugins.
pub struct MultiAuth;

impl Plugin for MultiAuth {
    const NAME: &'static str = "multi-auth";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 2600;
    const PHASES: Phases = Phases::of(Phase::Rewrite);
    // APISIX's schema, plus the shape of an entry that APISIX checks in
    // code: an object naming exactly one plugin.
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "title": "work with route or service object",
        "properties": {
            "auth_plugins": {
                "type": "array",
                "minItems": 2,
                "items": {"type": "object", "minProperties": 1, "maxProperties": 1}
            }
        },
        "required": ["auth_plugins"]
    }"#;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        // The schema says as much; kept for a host that checks nothing.
        if config.auth_plugins.len() < 2 {
            return Err(ConfigError::field(
                "auth_plugins",
                "expect array to have at least 2 items",
            ));
        }
        for (i, entry) in config.auth_plugins.iter().enumerate() {
            if entry.as_object().is_none_or(|o| o.len() != 1) {
                return Err(ConfigError::field(
                    &format!("auth_plugins[{i}]"),
                    "expected an object naming one plugin: {\"<name>\": {...}}",
                ));
            }
        }
        Ok(MultiAuth)
    }

    /// Called by the gateway only when no listed plugin named a consumer.
    fn rewrite(&self, _ctx: &mut Ctx<'_>) -> Decision {
        Decision::Respond(
            Response::new(401)
                .header("Content-Type", "application/json")
                .body(r#"{"message":"Authorization Failed"}"#),
        )
    }
}

export_plugin!(MultiAuth);

#[cfg(test)]
mod tests {
    use super::MultiAuth;
    use radixgate_plugin::abi::PhaseResult;
    use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

    #[test]
    fn its_own_rewrite_refuses_with_apisix_message() {
        let conf = r#"{"auth_plugins":[{"basic-auth":{}},{"key-auth":{}}]}"#;
        let plugin = MockInstance::new::<MultiAuth>(conf, &MockHost::new()).expect("valid");
        match plugin.rewrite(&mut MockRequest::new("GET", "/a")) {
            PhaseResult::Respond(reply) => {
                assert_eq!(reply.status, 401);
                assert_eq!(
                    reply.body.as_slice(),
                    br#"{"message":"Authorization Failed"}"#
                );
            }
            other => panic!("expected a 401, got {other:?}"),
        }
    }

    #[test]
    fn fewer_than_two_plugins_or_a_bad_entry_are_refused() {
        for conf in [
            r#"{"auth_plugins":[{"key-auth":{}}]}"#,
            r#"{"auth_plugins":[{"key-auth":{}},"basic-auth"]}"#,
            r#"{"auth_plugins":[{"key-auth":{},"basic-auth":{}},{"jwt-auth":{}}]}"#,
            r#"{}"#,
        ] {
            let err = MockInstance::new::<MultiAuth>(conf, &MockHost::new())
                .err()
                .unwrap_or_else(|| panic!("{conf} accepted"));
            assert!(err.contains("auth_plugins"), "{conf}: {err}");
        }
    }
}
