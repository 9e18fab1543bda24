//! Running one phase of a request's chains: each plugin whose filter
//! holds, in order, until one answers or fails; a plugin that waits for a
//! host operation pauses the phase, which the worker resumes once the
//! plugin decided, going on with the next plugin. A phase that never
//! waits runs without an await or an allocation.

use std::sync::Arc;
use std::time::Duration;

use http::Response;

use super::exchange::Exchange;
use super::framing::Guard;
use super::phases::{failed, holds, merge_consumer, reply_response, Chains, PluginRun};
use super::respond::{Answer, Body};
use super::vars::Origin;
use crate::plugin_host::{
    Chain, ConfiguredPlugin, Phase, PhaseOutcome, RequestState, WaitingPhase,
};

/// What running a phase came to.
pub enum Step {
    /// Every plugin went on.
    Next,
    /// A plugin answered or failed: this is the response.
    Answer(Answer),
    /// A plugin waits for a host operation.
    Wait(Paused),
}

/// A phase paused on a waiting plugin, and where it goes on.
pub struct Paused {
    phase: Phase,
    /// The consumer's own chain (its rewrite after auth), else the request's.
    own: Option<Arc<Chain>>,
    /// The plugin waiting.
    plugin: Arc<ConfiguredPlugin>,
    /// Its place among the phase's plugins: the next one goes on.
    at: usize,
    waiting: WaitingPhase,
}

/// How far one pass over a chain got.
enum Ran {
    Done,
    Answer(Answer),
    Wait(usize, Arc<ConfiguredPlugin>, WaitingPhase),
}

/// Runs `phase` of `chains` from its `from`th plugin on.
fn run_from(
    chains: &Chains,
    phase: Phase,
    from: usize,
    state: &mut RequestState,
    origin: Origin<'_>,
) -> Ran {
    for (at, c) in chains.for_phase(phase).enumerate().skip(from) {
        if !holds(c.filter.as_ref(), state, origin) {
            continue;
        }
        let guard = Guard::before(phase, state);
        let outcome = c.instance.call(phase, state);
        if let Some(g) = guard {
            g.after(&c.name, state);
        }
        match outcome {
            PhaseOutcome::Continue => {}
            PhaseOutcome::Respond(reply) => return Ran::Answer(Box::new(reply_response(c, reply))),
            // Already logged with the plugin's name and phase.
            PhaseOutcome::Fail(_) => return Ran::Answer(Box::new(failed())),
            PhaseOutcome::Wait(waiting) => return Ran::Wait(at, Arc::clone(c), waiting),
        }
    }
    Ran::Done
}

/// Runs `phase` from its `from`th plugin (of the consumer's `own` chain,
/// or of the request's chains) to the end of the phase: after rewrite, a
/// consumer named by auth brings its plugins, whose rewrite runs too;
/// after access, they join the request's chains from the next phase on.
pub fn drive(
    run: &mut PluginRun,
    ex: &Exchange<'_>,
    phase: Phase,
    mut own: Option<Arc<Chain>>,
    mut from: usize,
) -> Step {
    loop {
        let ran = match &own {
            Some(chain) => {
                let chains = Chains::new(None, Some(Arc::clone(chain)));
                run_from(&chains, phase, from, &mut run.state, ex.origin())
            }
            None => run_from(&run.chains, phase, from, &mut run.state, ex.origin()),
        };
        match ran {
            Ran::Answer(resp) => return Step::Answer(resp),
            Ran::Wait(at, plugin, waiting) => {
                return Step::Wait(Paused {
                    phase,
                    own,
                    plugin,
                    at,
                    waiting,
                })
            }
            Ran::Done => {}
        }
        match (phase, own.is_some()) {
            (Phase::Rewrite, false) => match merge_consumer(ex, run) {
                Some(chain) => {
                    own = Some(chain);
                    from = 0;
                }
                None => return Step::Next,
            },
            (Phase::Access, false) => {
                merge_consumer(ex, run);
                return Step::Next;
            }
            _ => return Step::Next,
        }
    }
}

/// Runs `phase` from its start on the request's plugin side; `Next` when
/// it has none.
pub fn start(ex: &mut Exchange<'_>, phase: Phase) -> Step {
    let Some(mut run) = ex.plugins.take() else {
        return Step::Next;
    };
    let step = drive(&mut run, ex, phase, None, 0);
    ex.plugins = Some(run);
    step
}

/// What `step` comes to once every plugin waiting in it decided: `None`
/// to go on, else the response. Waiting is the rare way: its state is
/// boxed, so a step that did not wait costs nothing here.
pub async fn settle(ex: &mut Exchange<'_>, step: Step) -> Option<Response<Body>> {
    match step {
        Step::Next => None,
        Step::Answer(resp) => Some(*resp),
        Step::Wait(paused) => Box::pin(resume(ex, paused)).await,
    }
}

/// Finishes the waiting plugin of `paused`, then the rest of its phase,
/// again as long as plugins wait.
async fn resume(ex: &mut Exchange<'_>, mut paused: Paused) -> Option<Response<Body>> {
    let budget = waiting_budget(ex);
    loop {
        let Paused {
            phase,
            own,
            plugin,
            at,
            waiting,
        } = paused;
        // The plugin side stays in the exchange while the plugin waits: a
        // request dropped meanwhile (its client gone) still runs its log
        // phase (the exchange's drop).
        let guard = Guard::before(phase, &ex.plugins.as_ref()?.state);
        let outcome = waiting
            .finish(&mut ex.plugins.as_mut()?.state, budget)
            .await;
        let mut run = ex.plugins.take()?;
        if let Some(g) = guard {
            g.after(&plugin.name, &mut run.state);
        }
        let step = match outcome {
            PhaseOutcome::Continue => drive(&mut run, ex, phase, own, at + 1),
            PhaseOutcome::Respond(reply) => Step::Answer(Box::new(reply_response(&plugin, reply))),
            PhaseOutcome::Fail(_) | PhaseOutcome::Wait(_) => Step::Answer(Box::new(failed())),
        };
        ex.plugins = Some(run);
        match step {
            Step::Next => return None,
            Step::Answer(resp) => return Some(*resp),
            Step::Wait(next) => paused = next,
        }
    }
}

/// How long one plugin may wait before it is cut off: the route's read
/// timeout (the worker's default without a route or one of its own).
fn waiting_budget(ex: &Exchange<'_>) -> Duration {
    ex.route
        .as_ref()
        .and_then(|r| r.timeouts())
        .unwrap_or(ex.worker.default_timeouts)
        .read
}
