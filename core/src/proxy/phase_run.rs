//! Running one phase of a request's chains: each plugin whose filter
//! holds, in order, until one answers or fails; a plugin that waits for a
//! host operation pauses the phase, which the worker resumes once the
//! plugin decided, going on with the next plugin. A phase that never
//! waits runs without an await or an allocation. In rewrite, a multi-auth
//! runs the auth plugins it lists in its place, until one names a consumer.

use std::sync::Arc;
use std::time::Duration;

use super::exchange::Exchange;
use super::framing;
use super::phases::{failed, holds, merge_consumer, reply_response, Chains, PluginRun};
use super::respond::Answer;
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
    /// When `plugin` is a multi-auth, the place of its listed auth plugin
    /// that waits.
    alt: Option<usize>,
    waiting: WaitingPhase,
}

/// How far one pass over a chain got.
enum Ran {
    Done,
    Answer(Answer),
    Wait(usize, Option<usize>, Arc<ConfiguredPlugin>, WaitingPhase),
}

/// How a multi-auth's listed auth plugins came out.
enum Tried {
    /// One named a consumer: the phase goes on.
    Named,
    /// None did (the multi-auth's 401), or one failed (500).
    Answer(Answer),
    /// The listed plugin at this place waits.
    Wait(usize, WaitingPhase),
}

/// What one listed auth plugin's rewrite came to.
enum Judged {
    Named,
    Refused,
    Failed,
    Wait(WaitingPhase),
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
        if phase == Phase::Rewrite && !c.alternatives.is_empty() {
            match try_listed(c, 0, state, origin) {
                Tried::Named => continue,
                Tried::Answer(resp) => return Ran::Answer(resp),
                Tried::Wait(alt, waiting) => {
                    return Ran::Wait(at, Some(alt), Arc::clone(c), waiting)
                }
            }
        }
        match call(c, phase, state) {
            PhaseOutcome::Continue => {}
            PhaseOutcome::Respond(reply) => return Ran::Answer(Box::new(reply_response(c, reply))),
            // Already logged with the plugin's name and phase.
            PhaseOutcome::Fail(_) => return Ran::Answer(Box::new(failed())),
            PhaseOutcome::Wait(waiting) => return Ran::Wait(at, None, Arc::clone(c), waiting),
        }
    }
    Ran::Done
}

/// Runs `phase` of plugin `c`, keeping the framing headers the host's.
fn call(c: &ConfiguredPlugin, phase: Phase, state: &mut RequestState) -> PhaseOutcome {
    let outcome = c.instance.call(phase, state);
    framing::after_plugin(phase, &c.name, state);
    outcome
}

/// Runs the rewrite of multi-auth `c`'s listed auth plugins from the
/// `from`th on until one names a consumer, dropping the answers of those
/// that refuse (as APISIX's multi-auth does); when none does, `c`'s own
/// rewrite answers (its 401).
fn try_listed(
    c: &ConfiguredPlugin,
    from: usize,
    state: &mut RequestState,
    origin: Origin<'_>,
) -> Tried {
    for (alt, a) in c.alternatives.iter().enumerate().skip(from) {
        if !holds(a.filter.as_ref(), state, origin) {
            continue;
        }
        let outcome = call(a, Phase::Rewrite, state);
        match judge(a, outcome, state) {
            Judged::Named => return Tried::Named,
            Judged::Refused => {}
            Judged::Failed => return Tried::Answer(Box::new(failed())),
            Judged::Wait(waiting) => return Tried::Wait(alt, waiting),
        }
    }
    match call(c, Phase::Rewrite, state) {
        PhaseOutcome::Respond(reply) => Tried::Answer(Box::new(reply_response(c, reply))),
        // multi-auth answers when no listed plugin named a consumer; any
        // other outcome must not let the request through.
        _ => Tried::Answer(Box::new(failed())),
    }
}

/// Whether listed auth plugin `a` named a consumer: it went on with one
/// set. Going on without one counts as a refusal (fail closed).
fn judge(a: &ConfiguredPlugin, outcome: PhaseOutcome, state: &RequestState) -> Judged {
    match outcome {
        PhaseOutcome::Continue if state.consumer.is_some() => Judged::Named,
        PhaseOutcome::Continue => {
            tracing::debug!(plugin = %a.name, "multi-auth: named no consumer");
            Judged::Refused
        }
        PhaseOutcome::Respond(reply) => {
            tracing::debug!(plugin = %a.name, status = reply.status, "multi-auth: authentication failed");
            Judged::Refused
        }
        // Already logged with the plugin's name and phase.
        PhaseOutcome::Fail(_) => Judged::Failed,
        PhaseOutcome::Wait(waiting) => Judged::Wait(waiting),
    }
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
            Ran::Wait(at, alt, plugin, waiting) => {
                return Step::Wait(Paused {
                    phase,
                    own,
                    plugin,
                    at,
                    alt,
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
/// to go on, else the response (boxed: it moves as a pointer through the
/// steps it ends). Waiting is the rare way: its state is boxed, so a step
/// that did not wait costs nothing here.
pub async fn settle(ex: &mut Exchange<'_>, step: Step) -> Option<Answer> {
    match step {
        Step::Next => None,
        Step::Answer(resp) => Some(resp),
        Step::Wait(paused) => Box::pin(resume(ex, paused)).await,
    }
}

/// Finishes the waiting plugin of `paused`, then the rest of its phase,
/// again as long as plugins wait.
async fn resume(ex: &mut Exchange<'_>, mut paused: Paused) -> Option<Answer> {
    let budget = waiting_budget(ex);
    loop {
        let Paused {
            phase,
            own,
            plugin,
            at,
            alt,
            waiting,
        } = paused;
        let listed = alt.and_then(|i| plugin.alternatives.get(i));
        let waiter = Arc::clone(listed.unwrap_or(&plugin));
        // The plugin side stays in the exchange while the plugin waits: a
        // request dropped meanwhile (its client gone) still runs its log
        // phase (the exchange's drop).
        let outcome = waiting
            .finish(&mut ex.plugins.as_mut()?.state, budget)
            .await;
        let mut run = ex.plugins.take()?;
        framing::after_plugin(phase, &waiter.name, &mut run.state);
        let step = match alt {
            None => match outcome {
                PhaseOutcome::Continue => drive(&mut run, ex, phase, own, at + 1),
                PhaseOutcome::Respond(reply) => {
                    Step::Answer(Box::new(reply_response(&plugin, reply)))
                }
                PhaseOutcome::Fail(_) | PhaseOutcome::Wait(_) => Step::Answer(Box::new(failed())),
            },
            // A multi-auth's listed plugin decided: named, or the next one.
            Some(i) => {
                let tried = match judge(&waiter, outcome, &run.state) {
                    Judged::Named => Tried::Named,
                    Judged::Refused => try_listed(&plugin, i + 1, &mut run.state, ex.origin()),
                    Judged::Failed | Judged::Wait(_) => Tried::Answer(Box::new(failed())),
                };
                match tried {
                    Tried::Named => drive(&mut run, ex, phase, own, at + 1),
                    Tried::Answer(resp) => Step::Answer(resp),
                    Tried::Wait(alt, waiting) => Step::Wait(Paused {
                        phase,
                        own,
                        plugin,
                        at,
                        alt: Some(alt),
                        waiting,
                    }),
                }
            }
        };
        ex.plugins = Some(run);
        match step {
            Step::Next => return None,
            Step::Answer(resp) => return Some(resp),
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
