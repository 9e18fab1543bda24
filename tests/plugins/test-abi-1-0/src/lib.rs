//! `test-abi-1-0`: a test plugin laid out as one built against plugin ABI
//! 1.0, for a host of a later minor. It exports ABI 1.0's root module (no
//! `prefer_route`, `abi_minor` 0), an instance with 1.0's vtable and
//! phase result (no `Suspend`), and a constructor taking 1.0's host
//! services (no batch processors): the frozen types `radixgate-plugin`
//! keeps in `abi::frozen`. The host must check it against those, and fall
//! back for what later minors appended.
//!
//! In rewrite each instance appends its `name` to a request variable and
//! sends the list upstream in the request header `X-Abi-1-0`; in
//! header_filter it sets the response header `X-Abi-1-0` to the list. A
//! 1.0 plugin does not prefer the route: on a global rule and a route,
//! both instances run.

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, ROk, RResult, RStr, RString};
use radixgate_plugin::abi::frozen::ctx_1_2::RawCtx;
use radixgate_plugin::abi::frozen::host_1_1::HostHandle;
use radixgate_plugin::abi::frozen::phases_1_1::{
    InstanceBox, PhaseResult, PhaseResultNE, PluginInstance, PluginInstance_TO,
};
use radixgate_plugin::abi::frozen::root_1_0;
use radixgate_plugin::abi::{BodyChunk, ABI_MAJOR};
use radixgate_plugin::{serde, Phase, Phases};

/// The plugin's name.
const NAME: &str = "test-abi-1-0";
/// The header the names go to, on the request and then the response.
const HEADER: &str = "X-Abi-1-0";
/// The request variable the names are kept in between phases.
const VAR: &str = "test_abi_1_0";

/// The config: a name to record.
#[derive(serde::Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    name: String,
}

/// One configured instance, behind 1.0's vtable.
pub struct TestAbi10 {
    config: Config,
}

fn go_on() -> PhaseResultNE {
    PhaseResultNE::new(PhaseResult::Continue)
}

impl PluginInstance for TestAbi10 {
    fn rewrite(&self, mut ctx: RawCtx<'_>) -> PhaseResultNE {
        // 1.0's request context, called as such (the SDK's `Ctx` wraps
        // today's).
        let names = match ctx.var(VAR.into()).into_option() {
            Some(before) => format!("{before},{}", self.config.name),
            None => self.config.name.clone(),
        };
        ctx.set_var(VAR.into(), names.as_str().into());
        ctx.set_header(HEADER.into(), names.as_str().into());
        go_on()
    }

    fn access(&self, _: RawCtx<'_>) -> PhaseResultNE {
        go_on()
    }

    fn before_proxy(&self, _: RawCtx<'_>) -> PhaseResultNE {
        go_on()
    }

    fn header_filter(&self, mut ctx: RawCtx<'_>) -> PhaseResultNE {
        let names = ctx
            .var(VAR.into())
            .map_or_else(|| "-".to_owned(), |v| v.to_string());
        ctx.set_response_header(HEADER.into(), names.as_str().into());
        go_on()
    }

    fn body_filter(&self, _: RawCtx<'_>, _: &mut BodyChunk<'_>) -> PhaseResultNE {
        go_on()
    }

    fn log(&self, _: RawCtx<'_>) -> PhaseResultNE {
        go_on()
    }
}

/// The constructor: the config's JSON in, an instance with 1.0's vtable
/// out. Nothing here panics (a bad config is an error).
extern "C" fn new_instance(
    config_json: RStr<'_>,
    _host: HostHandle,
) -> RResult<InstanceBox, RString> {
    match serde_json::from_str::<Config>(config_json.as_str()) {
        Ok(config) => ROk(PluginInstance_TO::from_value(
            TestAbi10 { config },
            TD_Opaque,
        )),
        Err(e) => RErr(RString::from(e.to_string())),
    }
}

/// The library's root module: ABI 1.0's, declaring 1.0.
#[export_root_module]
pub fn root_module() -> root_1_0::PluginModRef {
    root_1_0::PluginMod {
        abi_major: ABI_MAJOR,
        abi_minor: 0,
        name: RStr::from(NAME),
        version: RStr::from(env!("CARGO_PKG_VERSION")),
        priority: 800,
        phases: Phases::of(Phase::Rewrite).with(Phase::HeaderFilter),
        route_schema: RStr::from(
            r#"{"type":"object","properties":{"name":{"type":"string","minLength":1}},"required":["name"],"additionalProperties":false}"#,
        ),
        consumer_schema: None.into(),
        metadata_schema: None.into(),
        new_instance,
    }
    .leak_into_prefix()
}
