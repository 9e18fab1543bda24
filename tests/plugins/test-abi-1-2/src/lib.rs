//! `test-abi-1-2`: a test plugin laid out as one built against plugin ABI
//! 1.2, for a host of a later minor. It exports ABI 1.2's root module
//! (`abi_minor` 2, `panic_unwind`), an instance with 1.2's vtable (no
//! `reads_request_body`) on 1.2's request context (no `request_body`), and
//! a constructor taking 1.2's host services (`host_1_3`): the frozen types
//! `radixgate-plugin` keeps in `abi::frozen`. The host must check it
//! against those, and fall back for what later minors appended (it reads
//! no request body).
//!
//! In rewrite each instance appends its `name` to a request variable and
//! sends the list upstream in the request header `X-Abi-1-2`; in
//! header_filter it sets the response header `X-Abi-1-2` to the list.

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, ROk, RResult, RStr, RString};
use radixgate_plugin::abi::frozen::ctx_1_2::RawCtx;
use radixgate_plugin::abi::frozen::host_1_3::HostHandle;
use radixgate_plugin::abi::frozen::phases_1_2::{
    InstanceBox, PhaseResult, PhaseResultNE, PluginInstance, PluginInstance_TO,
};
use radixgate_plugin::abi::frozen::root_1_2;
use radixgate_plugin::abi::{BodyChunk, ABI_MAJOR};
use radixgate_plugin::{serde, Phase, Phases};

/// The plugin's name.
const NAME: &str = "test-abi-1-2";
/// The header the names go to, on the request and then the response.
const HEADER: &str = "X-Abi-1-2";
/// The request variable the names are kept in between phases.
const VAR: &str = "test_abi_1_2";

/// The config: a name to record.
#[derive(serde::Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    name: String,
}

/// One configured instance, behind 1.2's vtable.
pub struct TestAbi12 {
    config: Config,
}

fn go_on() -> PhaseResultNE {
    PhaseResultNE::new(PhaseResult::Continue)
}

impl PluginInstance for TestAbi12 {
    fn rewrite(&self, mut ctx: RawCtx<'_>) -> PhaseResultNE {
        // 1.2's request context, called as such (the SDK's `Ctx` wraps
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

/// The constructor: the config's JSON in, an instance with 1.2's vtable
/// out. Nothing here panics (a bad config is an error).
extern "C" fn new_instance(
    config_json: RStr<'_>,
    _host: HostHandle,
) -> RResult<InstanceBox, RString> {
    match serde_json::from_str::<Config>(config_json.as_str()) {
        Ok(config) => ROk(PluginInstance_TO::from_value(
            TestAbi12 { config },
            TD_Opaque,
        )),
        Err(e) => RErr(RString::from(e.to_string())),
    }
}

/// The library's root module: ABI 1.2's, declaring 1.2.
#[export_root_module]
pub fn root_module() -> root_1_2::PluginModRef {
    root_1_2::PluginMod {
        abi_major: ABI_MAJOR,
        abi_minor: 2,
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
        prefer_route: false,
        panic_unwind: cfg!(panic = "unwind"),
    }
    .leak_into_prefix()
}
