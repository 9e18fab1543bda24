//! `test-prefer-route`: a test plugin declaring APISIX's
//! `run_policy = "prefer_route"`. In rewrite each instance appends its
//! `name` to the request header `X-Prefer-Route` sent upstream, so tests see
//! which instances ran: a global rule's is skipped when the route runs the
//! plugin too.

use radixgate_plugin::{
    export_plugin, serde, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin,
};

/// The config: a name to record.
#[derive(serde::Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    name: String,
}

/// One configured instance.
pub struct TestPreferRoute {
    config: Config,
}

/// The request header the names go to.
const HEADER: &str = "X-Prefer-Route";

impl Plugin for TestPreferRoute {
    const NAME: &'static str = "test-prefer-route";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 900;
    const PHASES: Phases = Phases::of(Phase::Rewrite);
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 1}},
        "required": ["name"],
        "additionalProperties": false
    }"#;
    const PREFER_ROUTE: bool = true;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        Ok(TestPreferRoute { config })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        let names = match ctx.header(HEADER) {
            Some(before) => format!("{before},{}", self.config.name),
            None => self.config.name.clone(),
        };
        ctx.set_header(HEADER, &names);
        Decision::Continue
    }
}

export_plugin!(TestPreferRoute);
