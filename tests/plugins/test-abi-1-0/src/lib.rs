//! `test-abi-1-0`: a test plugin as built against plugin ABI 1.0, for a
//! host of a later minor. Its library exports the 1.0 root module (the
//! frozen copy in [`abi_1_0`]: no `prefer_route`, `abi_minor` 0) instead of
//! the one `export_plugin!` writes, so the host must fall back for what
//! 1.1 appended.
//!
//! In rewrite each instance appends its `name` to a request variable and
//! sends the list upstream in the request header `X-Abi-1-0`; in
//! header_filter it sets the response header `X-Abi-1-0` to the list. A 1.0 plugin does not prefer
//! the route: on a global rule and a route, both instances run.

pub mod abi_1_0;

use abi_stable::{export_root_module, prefix_type::PrefixTypeTrait, std_types::RStr};
use radixgate_plugin::abi::ABI_MAJOR;
use radixgate_plugin::{
    new_instance, serde, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin,
};

/// The config: a name to record.
#[derive(serde::Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    name: String,
}

/// One configured instance.
pub struct TestAbi10 {
    config: Config,
}

/// The header the names go to, on the request and then the response.
const HEADER: &str = "X-Abi-1-0";
/// The request variable the names are kept in between phases.
const VAR: &str = "test_abi_1_0";

impl Plugin for TestAbi10 {
    const NAME: &'static str = "test-abi-1-0";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 800;
    const PHASES: Phases = Phases::of(Phase::Rewrite).with(Phase::HeaderFilter);
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 1}},
        "required": ["name"],
        "additionalProperties": false
    }"#;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        Ok(TestAbi10 { config })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        let names = match ctx.var(VAR) {
            Some(before) => format!("{before},{}", self.config.name),
            None => self.config.name.clone(),
        };
        ctx.set_var(VAR, &names);
        ctx.set_header(HEADER, &names);
        Decision::Continue
    }

    fn header_filter(&self, ctx: &mut Ctx<'_>) -> Decision {
        let names = ctx.var(VAR).unwrap_or("-").to_owned();
        ctx.set_response_header(HEADER, &names);
        Decision::Continue
    }
}

/// The library's root module: ABI 1.0's, declaring 1.0.
#[export_root_module]
pub fn root_module() -> abi_1_0::PluginModRef {
    abi_1_0::PluginMod {
        abi_major: ABI_MAJOR,
        abi_minor: abi_1_0::ABI_MINOR,
        name: RStr::from(TestAbi10::NAME),
        version: RStr::from(TestAbi10::VERSION),
        priority: TestAbi10::PRIORITY,
        phases: TestAbi10::PHASES,
        route_schema: RStr::from(TestAbi10::SCHEMA),
        consumer_schema: None.into(),
        metadata_schema: None.into(),
        new_instance: new_instance::<TestAbi10>,
    }
    .leak_into_prefix()
}
