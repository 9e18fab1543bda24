//! A plugin's phase that waits for host operations: the host runs each
//! operation the phase asks for on the worker's runtime and resumes the
//! phase with the result, until it decides, within a time budget.

use std::sync::Arc;
use std::time::Duration;

use abi_stable::sabi_trait::TD_Opaque;
use radixgate_plugin::abi::{OpResult, OpResultNE, RequestCtx_TO, Suspension};
use radixgate_plugin::Phase;
use tokio::time::Instant;

use super::entry::PluginEntry;
use super::instance::{outcome, PhaseOutcome, PluginFailure};
use super::ops;
use super::request::RequestState;

/// A phase of a plugin suspended on a host operation. Dropping it drops
/// the plugin's waiting state (in the plugin's library, its panics caught
/// there).
pub struct WaitingPhase {
    entry: Arc<PluginEntry>,
    phase: Phase,
    suspension: Suspension,
}

impl std::fmt::Debug for WaitingPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitingPhase")
            .field("plugin", &self.entry.name)
            .field("phase", &self.phase.name())
            .field("op", &self.suspension.op)
            .finish()
    }
}

impl WaitingPhase {
    /// `entry`'s `phase`, suspended as `suspension` says.
    pub(super) fn new(entry: &Arc<PluginEntry>, phase: Phase, suspension: Suspension) -> Self {
        WaitingPhase {
            entry: Arc::clone(entry),
            phase,
            suspension,
        }
    }

    /// The plugin's name.
    pub fn plugin(&self) -> &str {
        &self.entry.name
    }

    /// Runs the operations the phase waits for, resuming it with each
    /// result on `state` (the request the phase was called with), until it
    /// decides. A phase still waiting after `budget` is dropped and fails.
    pub async fn finish(self, state: &mut RequestState, budget: Duration) -> PhaseOutcome {
        let deadline = Instant::now() + budget;
        let mut waiting = self;
        loop {
            let WaitingPhase {
                entry,
                phase,
                suspension: Suspension { op, mut resume },
            } = waiting;
            let result = match op.into_enum() {
                Ok(op) => match tokio::time::timeout_at(deadline, ops::run(op)).await {
                    Ok(result) => result,
                    Err(_) => {
                        drop(resume);
                        return timed_out(&entry, phase, budget);
                    }
                },
                Err(_) => OpResult::Failed("an operation this gateway does not know".into()),
            };
            let ctx = RequestCtx_TO::from_ptr(&mut *state, TD_Opaque);
            let next = resume.resume(ctx, OpResultNE::new(result));
            drop(resume);
            match outcome(&entry, phase, next) {
                PhaseOutcome::Wait(next) => waiting = next,
                decided => return decided,
            }
        }
    }
}

/// The failure of a phase that did not decide within `budget`.
fn timed_out(entry: &PluginEntry, phase: Phase, budget: Duration) -> PhaseOutcome {
    let failure = PluginFailure {
        plugin: entry.name.clone(),
        phase,
        panicked: false,
        message: format!("did not decide {} within {budget:?}", phase.name()),
    };
    tracing::error!(plugin = %failure.plugin, phase = phase.name(), "plugin {} failed in {}: {}",
        failure.plugin, phase.name(), failure.message);
    PhaseOutcome::Fail(failure)
}
