//! `template`: a minimal plugin to copy when writing your own.
//!
//! It shows the parts every plugin has: a config parsed with serde (and the
//! JSON Schema the gateway checks it against first), the declaration
//! (name, priority, phases), a constructor that refuses a bad config naming
//! the field, phases that read and edit the request, an early reply, and
//! unit tests against the SDK's mock host.
//!
//! What it does: adds header `header` with `value` to each request sent
//! upstream and to each response, and answers 403 to paths that start with
//! `deny_prefix`.
//!
//! ```json
//! "plugins": { "template": { "value": "hello", "deny_prefix": "/private" } }
//! ```

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin, Response,
};

/// The plugin's config, as on a route.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    /// Header to add (default `X-Template`).
    #[serde(default = "default_header")]
    pub header: String,
    /// The header's value.
    pub value: String,
    /// Requests whose path starts with this get 403.
    #[serde(default)]
    pub deny_prefix: Option<String>,
}

fn default_header() -> String {
    "X-Template".into()
}

/// One instance per config: what the phases need, prepared once.
pub struct Template {
    config: Config,
}

impl Plugin for Template {
    const NAME: &'static str = "template";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    // Between proxy-rewrite (1008) and limit-count (1002) in APISIX's order.
    const PRIORITY: i32 = 1005;
    const PHASES: Phases = Phases::of(Phase::Rewrite)
        .with(Phase::Access)
        .with(Phase::HeaderFilter);
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "properties": {
            "header": {"type": "string", "minLength": 1, "default": "X-Template"},
            "value": {"type": "string"},
            "deny_prefix": {"type": "string", "pattern": "^/"}
        },
        "required": ["value"],
        "additionalProperties": false
    }"#;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        // Checks beyond the schema go here, naming the field.
        if config.value.contains(['\r', '\n']) {
            return Err(ConfigError::field("value", "must not contain CR or LF"));
        }
        Ok(Template { config })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        ctx.set_header(&self.config.header, &self.config.value);
        Decision::Continue
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        match &self.config.deny_prefix {
            Some(prefix) if ctx.path().starts_with(prefix.as_str()) => Decision::Respond(
                Response::new(403)
                    .header("Content-Type", "text/plain")
                    .body("denied by template\n"),
            ),
            _ => Decision::Continue,
        }
    }

    fn header_filter(&self, ctx: &mut Ctx<'_>) -> Decision {
        ctx.set_response_header(&self.config.header, &self.config.value);
        Decision::Continue
    }
}

export_plugin!(Template);

/// The Rust examples of `plugins/README.md`, compiled and run as this
/// crate's doctests, so that the how-to cannot drift from the SDK.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;

#[cfg(test)]
mod tests {
    use super::Template;
    use radixgate_plugin::abi::PhaseResult;
    use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

    fn instance(config: &str) -> Result<MockInstance, String> {
        MockInstance::new::<Template>(config, &MockHost::new())
    }

    #[test]
    fn adds_the_header_both_ways() {
        let plugin = instance(r#"{"value":"hi"}"#).expect("valid config");
        let mut req = MockRequest::new("GET", "/a");
        assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
        assert_eq!(req.header_value("x-template"), Some("hi"));
        req.response_status = 200;
        assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
        assert_eq!(req.response_header_value("X-Template"), Some("hi"));
    }

    #[test]
    fn denies_the_prefix() {
        let plugin = instance(r#"{"value":"v","deny_prefix":"/private"}"#).expect("valid");
        let mut req = MockRequest::new("GET", "/private/x");
        match plugin.access(&mut req) {
            PhaseResult::Respond(reply) => assert_eq!(reply.status, 403),
            other => panic!("expected a 403 reply, got {other:?}"),
        }
        let mut open = MockRequest::new("GET", "/public");
        assert_eq!(plugin.access(&mut open), PhaseResult::Continue);
    }

    #[test]
    fn a_bad_config_names_the_field() {
        let err = instance(r#"{"value":7}"#).err().expect("refused");
        assert!(err.starts_with("value:"), "{err}");
        let err = instance(r#"{"value":"a\nb"}"#).err().expect("refused");
        assert!(err.starts_with("value:"), "{err}");
        let err = instance(r#"{}"#).err().expect("refused");
        assert!(err.contains("value"), "{err}");
    }
}
