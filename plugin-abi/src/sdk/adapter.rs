//! The plugin side of the boundary: the instance vtable over a [`Plugin`],
//! the constructor and the root module. Every entry catches panics here, so
//! none reaches abi_stable's extern functions (which would abort).

use std::any::Any;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    sabi_trait::TD_Opaque,
    std_types::{RBox, RErr, ROk, RResult, RStr, RString, RVec, Tuple2},
};

use super::wait::{self, Polled};
use super::{panics, Chunk, Ctx, Decision, Host, Plugin};
use crate::abi::{
    BodyChunk, Failure, HostHandle, InstanceBox, LogLevel, Phase, PhaseResult, PhaseResultNE,
    PluginInstance, PluginInstance_TO, PluginMod, PluginModRef, RawCtx, Reply,
};

/// A plugin behind the ABI's instance vtable. Dropping it drops the
/// plugin under a panic barrier (see its `Drop`).
struct Adapter<P: Plugin> {
    plugin: ManuallyDrop<P>,
    /// Where a panic in the plugin's `Drop` is reported.
    host: Host,
}

impl<P: Plugin> Drop for Adapter<P> {
    /// Drops the plugin; a panic in its `Drop` is caught here, inside its
    /// library (unwinding out of the vtable's drop would abort the
    /// gateway), and logged through the host with the plugin's name.
    fn drop(&mut self) {
        // SAFETY: `drop` runs once, and nothing reads `self.plugin` after
        // it: the value is taken here and dropped below.
        let plugin = unsafe { ManuallyDrop::take(&mut self.plugin) };
        let dropped = catch_unwind(AssertUnwindSafe(|| panics::guarded(move || drop(plugin))));
        if let Err(payload) = dropped {
            let text = panic_text(&*payload);
            // A payload whose own drop panics must not escape either.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            self.host.log(
                LogLevel::Error,
                &format!("panicked while being dropped: {text}"),
            );
        }
    }
}

/// The text of a panic payload (`&str` or `String`; else a placeholder),
/// with the panic's location when the SDK's hook recorded it.
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
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

/// Runs one phase of `P` on `ctx`, turning its decision (or panic) into
/// the ABI's.
fn run<P: Plugin>(
    phase: Phase,
    ctx: &mut Ctx<'_>,
    call: impl FnOnce(&mut Ctx<'_>) -> Decision,
) -> PhaseResultNE {
    match catch_unwind(AssertUnwindSafe(|| panics::guarded(|| call(ctx)))) {
        Ok(decision) => result::<P>(phase, decision, ctx),
        Err(payload) => failure::<P>(
            true,
            format!("panicked in {}: {}", phase.name(), panic_text(&*payload)),
        ),
    }
}

/// The ABI's result for `decision`; a waiting decision's future is polled
/// at once and suspends the phase only when it waits for a host operation.
fn result<P: Plugin>(phase: Phase, decision: Decision, ctx: &mut Ctx<'_>) -> PhaseResultNE {
    match decision {
        Decision::Continue => PhaseResultNE::new(PhaseResult::Continue),
        Decision::Respond(response) => {
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
        Decision::Error(message) => failure::<P>(false, message),
        Decision::Wait(waiting) if phase == Phase::BodyFilter => {
            wait::drop_quietly(waiting);
            failure::<P>(false, "body_filter cannot wait".into())
        }
        Decision::Wait(waiting) => decide::<P>(phase, wait::poll(waiting, None), ctx),
    }
}

/// The phase's result for what its waiting future came to.
fn decide<P: Plugin>(phase: Phase, polled: Polled, ctx: &mut Ctx<'_>) -> PhaseResultNE {
    match polled {
        Polled::Done(finish) => run::<P>(phase, ctx, finish),
        Polled::Asked(op, waiting) => PhaseResultNE::new(PhaseResult::Suspend(wait::suspension(
            op,
            waiting,
            phase,
            decide::<P>,
        ))),
        Polled::Stray => failure::<P>(
            false,
            format!(
                "{} waited for something other than a host operation (only the host's sleep, http and redis can be awaited)",
                phase.name()
            ),
        ),
        Polled::Panicked(text) => failure::<P>(true, format!("panicked in {}: {text}", phase.name())),
    }
}

impl<P: Plugin> PluginInstance for Adapter<P> {
    fn rewrite(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        run::<P>(Phase::Rewrite, &mut Ctx::new(ctx), |c| {
            self.plugin.rewrite(c)
        })
    }

    fn access(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        run::<P>(Phase::Access, &mut Ctx::new(ctx), |c| self.plugin.access(c))
    }

    fn before_proxy(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        run::<P>(Phase::BeforeProxy, &mut Ctx::new(ctx), |c| {
            self.plugin.before_proxy(c)
        })
    }

    fn header_filter(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        run::<P>(Phase::HeaderFilter, &mut Ctx::new(ctx), |c| {
            self.plugin.header_filter(c)
        })
    }

    fn body_filter(&self, ctx: RawCtx<'_>, chunk: &mut BodyChunk<'_>) -> PhaseResultNE {
        let mut replacement = None;
        let result = run::<P>(Phase::BodyFilter, &mut Ctx::new(ctx), |c| {
            let mut view = Chunk::new(chunk.data.as_slice(), chunk.end_of_stream);
            let decision = self.plugin.body_filter(c, &mut view);
            replacement = view.into_replacement();
            decision
        });
        if let Some(bytes) = replacement {
            chunk.replacement = abi_stable::std_types::RSome(RVec::from(bytes));
        }
        result
    }

    fn log(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        run::<P>(Phase::Log, &mut Ctx::new(ctx), |c| self.plugin.log(c))
    }

    fn reads_request_body(&self) -> bool {
        // A panic here reads as "no": the phases then see no body.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.plugin.reads_request_body()
        }))
        .unwrap_or(false)
    }

    fn observes_response_body(&self) -> bool {
        // A panic here reads as "no": the instance sees no response body.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.plugin.observes_response_body()
        }))
        .unwrap_or(false)
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
    let adapter = Adapter {
        plugin: ManuallyDrop::new(plugin),
        host,
    };
    Ok(PluginInstance_TO::from_value(adapter, TD_Opaque))
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
/// (the crate's own unless a test says otherwise) and the panic strategy
/// this crate was built with. Called once per load.
pub fn root_module<P: Plugin>(abi_major: u32, abi_minor: u32) -> PluginModRef {
    root_module_built::<P>(abi_major, abi_minor, cfg!(panic = "unwind"))
}

/// [`root_module`] recording `panic_unwind` as the plugin's panic strategy:
/// `export_plugin!` passes `cfg!(panic = "unwind")` as evaluated in the
/// plugin's own crate (tests pass `false` to build a plugin the host must
/// refuse).
#[doc(hidden)]
pub fn root_module_built<P: Plugin>(
    abi_major: u32,
    abi_minor: u32,
    panic_unwind: bool,
) -> PluginModRef {
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
        panic_unwind,
    }
    .leak_into_prefix()
}
