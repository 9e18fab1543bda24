//! A C plugin's instance behind the plugin ABI's instance vtable: the host
//! calls it exactly as it calls a Rust plugin's, and each phase becomes a
//! call of the plugin's C function on an `rg_request`. A phase that
//! suspends becomes the ABI's suspension, which the host drives as it
//! drives a Rust plugin's (see [`super::resume`]).

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RBox, RSome, RString, RVec},
};
use radixgate_plugin::abi::{
    BodyChunk, Failure, HostHandle, HostOpNE, InstanceBox, PhaseResult, PhaseResultNE,
    PluginInstance, PluginInstance_TO, RawCtx, Resume_TO, SuspendHandle, Suspension,
};
use radixgate_plugin::Phase;

use super::abi::code;
use super::call::{Body, CallState, Decided};
use super::declare::CPlugin;
use super::host_services::CServices;
use super::resume::CResume;
use super::table::HOST;

/// The longest refusal message read from a plugin's constructor.
const ERROR_CAP: usize = 1024;

/// One C instance, shared by the instance vtable and every suspension of
/// its phases: the plugin's `instance_drop` runs when the last goes.
pub struct Core {
    /// The plugin.
    pub plugin: Arc<CPlugin>,
    /// The plugin's instance pointer.
    pub instance: *mut c_void,
    /// The services its `rg_services` points to: held, never read, so
    /// that they live until after `instance_drop`.
    _services: Box<CServices>,
}

// SAFETY: the header's contract: one instance serves every worker thread,
// its functions may run on many threads at once, and instance_drop may
// run on any thread.
unsafe impl Send for Core {}
// SAFETY: as above; the host only reads the pointer.
unsafe impl Sync for Core {}

impl Drop for Core {
    fn drop(&mut self) {
        if let Some(drop) = self.plugin.instance_drop {
            // SAFETY: the instance the plugin's instance_new made; the last
            // reference to it is going, so no phase runs on it and none
            // will, and no suspension of it waits.
            unsafe { drop(self.instance) };
        }
        // The services are freed after this (fields drop after `drop`),
        // once the plugin is done with them.
    }
}

/// A C instance as the instance vtable sees it.
struct CInstance {
    core: Arc<Core>,
}

/// Builds an instance of `plugin` from a checked config: the plugin's
/// instance_new, its refusal as the plugin's own message.
pub fn construct(
    plugin: &Arc<CPlugin>,
    config: &str,
    host: HostHandle,
) -> Result<InstanceBox, String> {
    let services = Box::new(CServices {
        host,
        plugin: plugin.name.clone(),
    });
    let mut instance: *mut c_void = std::ptr::null_mut();
    let mut error = [0u8; ERROR_CAP];
    let mut error_len = 0usize;
    // SAFETY: the plugin's constructor, called as the header declares it:
    // the static host table, services alive until the instance is dropped,
    // the config's bytes for the call, out-params on this stack frame with
    // their sizes.
    let result = unsafe {
        (plugin.instance_new)(
            &HOST,
            services.as_services(),
            config.as_ptr(),
            config.len(),
            &mut instance,
            error.as_mut_ptr(),
            error.len(),
            &mut error_len,
        )
    };
    if result != code::OK {
        let message = String::from_utf8_lossy(&error[..error_len.min(ERROR_CAP)]);
        let message = message.trim();
        return Err(if message.is_empty() {
            format!(
                "refused the config ({}, no message)",
                code::name(result).to_string_lossy()
            )
        } else {
            message.to_owned()
        });
    }
    let core = Arc::new(Core {
        plugin: Arc::clone(plugin),
        instance,
        _services: services,
    });
    Ok(PluginInstance_TO::from_value(CInstance { core }, TD_Opaque))
}

/// Runs `f` (a call into the plugin and the host's bookkeeping around it)
/// behind a panic barrier: a panic of the host's own code becomes the
/// plugin's failure, never an unwind through the vtable.
pub fn guarded(plugin: &str, phase: Phase, f: impl FnOnce() -> PhaseResultNE) -> PhaseResultNE {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        PhaseResultNE::new(PhaseResult::Error(RBox::new(Failure {
            plugin: RString::from(plugin),
            panicked: true,
            message: format!(
                "the gateway's C plugin adapter panicked in {}",
                phase.name()
            )
            .into(),
        })))
    })
}

/// The plugin ABI's result of a call that returned `returned`: a
/// suspension hands the state it asked for to a [`CResume`].
pub fn finish(core: &Arc<Core>, call: CallState<'_, '_>, returned: u32) -> PhaseResultNE {
    let phase = call.phase;
    match call.decide(&core.plugin.name, returned) {
        Decided::Result(result) => result,
        Decided::Suspend(pending) => {
            let resume = CResume::new(Arc::clone(core), phase, pending.resume, pending.state);
            PhaseResultNE::new(PhaseResult::Suspend(SuspendHandle::new(Suspension {
                op: HostOpNE::new(pending.op),
                resume: Resume_TO::from_value(resume, TD_Opaque),
            })))
        }
    }
}

impl CInstance {
    /// Calls the plugin's function of `phase` on `ctx` (and `body`, in
    /// body_filter); its result and the chunk it replaced, if any.
    fn run(
        &self,
        phase: Phase,
        ctx: RawCtx<'_>,
        body: Option<Body<'_>>,
    ) -> (PhaseResultNE, Option<Vec<u8>>) {
        let Some(function) = self.core.plugin.phase(phase) else {
            return (PhaseResultNE::new(PhaseResult::Continue), None);
        };
        let mut call = CallState::new(ctx, phase, body);
        // SAFETY: the plugin's phase function, called as the header
        // declares it: its instance, the static host table, and the call's
        // state, alive until it returns.
        let returned = unsafe { function(self.core.instance, &HOST, call.as_request()) };
        let replacement = call.body.as_mut().and_then(|b| b.replacement.take());
        (finish(&self.core, call, returned), replacement)
    }

    /// A phase without a body, behind the barrier.
    fn phase(&self, phase: Phase, ctx: RawCtx<'_>) -> PhaseResultNE {
        guarded(&self.core.plugin.name, phase, || {
            self.run(phase, ctx, None).0
        })
    }
}

impl PluginInstance for CInstance {
    fn rewrite(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        self.phase(Phase::Rewrite, ctx)
    }

    fn access(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        self.phase(Phase::Access, ctx)
    }

    fn before_proxy(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        self.phase(Phase::BeforeProxy, ctx)
    }

    fn header_filter(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        self.phase(Phase::HeaderFilter, ctx)
    }

    fn body_filter(&self, ctx: RawCtx<'_>, chunk: &mut BodyChunk<'_>) -> PhaseResultNE {
        guarded(&self.core.plugin.name, Phase::BodyFilter, || {
            let data = chunk.data;
            let body = Body {
                data: data.as_slice(),
                last: chunk.end_of_stream,
                replacement: None,
            };
            let (result, replacement) = self.run(Phase::BodyFilter, ctx, Some(body));
            if let Some(replacement) = replacement {
                chunk.replacement = RSome(RVec::from(replacement));
            }
            result
        })
    }

    fn log(&self, ctx: RawCtx<'_>) -> PhaseResultNE {
        self.phase(Phase::Log, ctx)
    }
}
