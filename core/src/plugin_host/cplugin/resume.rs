//! A suspended C phase as the plugin ABI's resumer: the host drives it as
//! it drives a Rust plugin's suspension (`WaitingPhase`), and resuming it
//! calls the plugin's resume function with the operation's result and the
//! state it handed over. Dropped unresumed, it frees that state with the
//! plugin's `state_drop`.

use std::sync::Arc;

use radixgate_plugin::abi::{OpResultNE, PhaseResultNE, RawCtx, Resume};
use radixgate_plugin::Phase;

use super::abi::ResumeFn;
use super::call::{failure, CallState, State};
use super::instance::{finish, guarded, Core};
use super::operations::LentResult;
use super::table::HOST;

/// A C phase waiting for a host operation.
pub struct CResume {
    /// The state the plugin handed over, until it gets it back (first
    /// field: freed before the instance, should both go at once).
    state: Option<State>,
    /// The plugin's resume function.
    resume: ResumeFn,
    /// The phase that suspended.
    phase: Phase,
    /// The instance it runs on, alive while it waits.
    core: Arc<Core>,
}

impl CResume {
    /// `core`'s `phase`, waiting to be resumed with `resume` and `state`.
    pub fn new(core: Arc<Core>, phase: Phase, resume: ResumeFn, state: State) -> CResume {
        CResume {
            state: Some(state),
            resume,
            phase,
            core,
        }
    }
}

impl Resume for CResume {
    fn resume(&mut self, ctx: RawCtx<'_>, result: OpResultNE) -> PhaseResultNE {
        let core = Arc::clone(&self.core);
        let phase = self.phase;
        guarded(&core.plugin.name, phase, || {
            let Some(state) = self.state.take() else {
                return failure(&core.plugin.name, format!("{} resumed twice", phase.name()));
            };
            let lent = LentResult::new(result);
            let view = lent.view();
            let mut call = CallState::new(ctx, phase, None);
            // SAFETY: the plugin's resume function, called as the header
            // declares it: its instance (alive: `core`), the state it handed
            // over (given back: it owns it again), the static host table,
            // the call's state and the result, both alive until it returns.
            let returned = unsafe {
                (self.resume)(
                    core.instance,
                    state.give_back(),
                    &HOST,
                    call.as_request(),
                    &view,
                )
            };
            finish(&core, call, returned)
        })
    }
}
