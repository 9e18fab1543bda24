//! The plugin side of the boundary: the instance vtable over a [`Plugin`],
//! the constructor and the root module. Every entry catches panics here, so
//! none reaches abi_stable's extern functions (which would abort).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    sabi_trait::TD_Opaque,
    std_types::{RBox, RErr, ROk, RResult, RStr, RString, RVec, Tuple2},
};

use super::{panics, Chunk, Ctx, Decision, Host, Plugin};
use crate::abi::{
    BodyChunk, Failure, HostHandle, InstanceBox, Phase, PhaseResult, PhaseResultNE, PluginInstance,
    PluginInstance_TO, PluginMod, PluginModRef, RawCtx, Reply,
};

/// A plugin behind the ABI's instance vtable.
struct Adapter<P> {
    plugin: P,
}

/// The text of a panic payload (`&str` or `String`; else a placeholder),
/// with the panic's location when the SDK's hook recorded it.
fn panic_text(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(non-text panic payload)"
    };
    match panics::take_location() {
        Some(location) => format!("{text} (at {location})"),
        None => text.to_string(),
    }
}

/// A failure of plugin `P`.
fn failure<P: Plugin>(panicked: bool, message: String) -> PhaseResultNE {
    PhaseResultNE::new(PhaseResult::Error(RBox::new(Failure {
        plugin: RString::from(P::NAME),
        panicked,
        message: RString::from(message),
    })))
}

/// Runs one phase of `P`, turning its decision (or panic) into the ABI's.
fn run<P: Plugin>(phase: Phase, call: impl FnOnce() -> Decision) -> PhaseResultNE {
    match catch_unwind(AssertUnwindSafe(|| panics::guarded(call))) {
        Ok(Decision::Continue) => PhaseResultNE::new(PhaseResult::Continue),
        Ok(Decision::Respond(response)) => {
            let headers: RVec<Tuple2<RString, RString>> = response
                .headers
                .into_iter()
                .map(|(name, value)| Tuple2(RString::from(name), RString::from(value)))
                .collect();
            PhaseResultNE::new(PhaseResult::Respond(RBox::new(Reply {
                status: response.status,
                headers,
                body: RVec::from(response.body),
            })))
        }
        Ok(Decision::Error(message)) => failure::<P>(false, message),
        Err(payload) => failure::<P>(
            true,
            format!("panicked in {}: {}", phase.name(), panic_text(&*payload)),
        ),
    }
}

impl<P: Plugin> PluginInstance for Adapter<P> {
    fn rewrite(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        run::<P>(Phase::Rewrite, || self.plugin.rewrite(&mut Ctx::new(ctx)))
    }

    fn access(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        run::<P>(Phase::Access, || self.plugin.access(&mut Ctx::new(ctx)))
    }

    fn before_proxy(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        run::<P>(Phase::BeforeProxy, || {
            self.plugin.before_proxy(&mut Ctx::new(ctx))
        })
    }

    fn header_filter(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        run::<P>(Phase::HeaderFilter, || {
            self.plugin.header_filter(&mut Ctx::new(ctx))
        })
    }

    fn body_filter(&self, ctx: RawCtx<'_>, chunk: &mut BodyChunk<'_>) -> PhaseResultNE {
        let mut replacement = None;
        let result = run::<P>(Phase::BodyFilter, || {
            let mut view = Chunk::new(chunk.data.as_slice(), chunk.end_of_stream);
            let decision = self.plugin.body_filter(&mut Ctx::new(ctx), &mut view);
            replacement = view.into_replacement();
            decision
        });
        if let Some(bytes) = replacement {
            chunk.replacement = abi_stable::std_types::RSome(RVec::from(bytes));
        }
        result
    }

    fn log(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        run::<P>(Phase::Log, || self.plugin.log(&mut Ctx::new(ctx)))
    }
}

/// Parses `config_json` into `P::Config` (errors name the field's path)
/// and builds the instance.
fn build<P: Plugin>(config_json: &str, host: HostHandle) -> Result<InstanceBox, String> {
    let mut de = serde_json::Deserializer::from_str(config_json);
    let config: P::Config = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        format!("{}: {}", path, e.into_inner())
    })?;
    let host = Host::new(host, P::NAME);
    let plugin = P::new(config, &host).map_err(|e| e.0)?;
    Ok(PluginInstance_TO::from_value(Adapter { plugin }, TD_Opaque))
}

/// The constructor exported for `P`: config JSON in, instance or error out;
/// never unwinds.
pub extern "C" fn new_instance<P: Plugin>(
    config_json: RStr<'_>,
    host: HostHandle,
) -> RResult<InstanceBox, RString> {
    let build = || panics::guarded(|| build::<P>(config_json.as_str(), host));
    match catch_unwind(AssertUnwindSafe(build)) {
        Ok(Ok(instance)) => ROk(instance),
        Ok(Err(message)) => RErr(RString::from(message)),
        Err(payload) => RErr(RString::from(format!(
            "plugin {} panicked while building an instance: {}",
            P::NAME,
            panic_text(&*payload)
        ))),
    }
}

/// The root module for `P`, declaring ABI version `abi_major.abi_minor`
/// (the crate's own unless a test says otherwise). Called once per load.
pub fn root_module<P: Plugin>(abi_major: u32, abi_minor: u32) -> PluginModRef {
    PluginMod {
        abi_major,
        abi_minor,
        name: RStr::from(P::NAME),
        version: RStr::from(P::VERSION),
        priority: P::PRIORITY,
        phases: P::PHASES,
        route_schema: RStr::from(P::SCHEMA),
        consumer_schema: P::CONSUMER_SCHEMA.map(RStr::from).into(),
        metadata_schema: P::METADATA_SCHEMA.map(RStr::from).into(),
        new_instance: new_instance::<P>,
        prefer_route: P::PREFER_ROUTE,
    }
    .leak_into_prefix()
}
