//! Plugin instances built from configs, and calling their phases.
//!
//! A call costs one vtable call through the ABI plus the plugin's own work:
//! no JSON, no allocation (a reply or a failure allocates its own data).

use std::sync::Arc;

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RNone, RSlice},
};
use radixgate_plugin::abi::{
    BodyChunk, HostHandle, InstanceBox, PhaseResult, PhaseResultNE, RequestCtx_TO,
};
use radixgate_plugin::Phase;
use serde_json::Value;

use super::entry::PluginEntry;
use super::request::RequestState;
use super::waiting::WaitingPhase;

/// A config the plugin refused (schema or constructor), in APISIX's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to check the configuration of plugin {plugin} err: {reason}")]
pub struct InstanceError {
    /// The plugin's name.
    pub plugin: String,
    /// The field and what is wrong with it.
    pub reason: String,
}

/// A response a plugin answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginReply {
    /// HTTP status.
    pub status: u16,
    /// Header lines in order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// A plugin's failure in one phase; the request gets [`PluginFailure::STATUS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFailure {
    /// The plugin's name.
    pub plugin: String,
    /// The phase that failed.
    pub phase: Phase,
    /// True when the plugin panicked (caught on its side).
    pub panicked: bool,
    /// What went wrong.
    pub message: String,
}

impl PluginFailure {
    /// The status a failed request is answered with.
    pub const STATUS: u16 = 500;
}

/// What the host does after one phase call.
#[derive(Debug)]
pub enum PhaseOutcome {
    /// Go on.
    Continue,
    /// Answer the request with this response (rewrite and access only).
    Respond(PluginReply),
    /// Answer 500; the failure has been logged with the plugin's name.
    Fail(PluginFailure),
    /// The phase waits for a host operation: run it with
    /// [`WaitingPhase::finish`], which resumes the phase to its decision.
    Wait(WaitingPhase),
}

impl PartialEq for PhaseOutcome {
    /// Outcomes are equal when they decide the same; a waiting phase
    /// equals none.
    fn eq(&self, other: &PhaseOutcome) -> bool {
        match (self, other) {
            (PhaseOutcome::Continue, PhaseOutcome::Continue) => true,
            (PhaseOutcome::Respond(a), PhaseOutcome::Respond(b)) => a == b,
            (PhaseOutcome::Fail(a), PhaseOutcome::Fail(b)) => a == b,
            _ => false,
        }
    }
}

/// One plugin configured on one object: built when the config is loaded,
/// shared by every request and worker.
pub struct PluginInstance {
    entry: Arc<PluginEntry>,
    object: InstanceBox,
    /// Observes the response body without filtering it (ABI 1.3).
    observer: bool,
}

impl std::fmt::Debug for PluginInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginInstance")
            .field("plugin", &self.entry.name)
            .finish_non_exhaustive()
    }
}

impl PluginInstance {
    /// Checks `config` against the plugin's schema and builds an instance
    /// (the plugin parses the config once, here).
    pub fn build(
        entry: &Arc<PluginEntry>,
        config: &Value,
        host: HostHandle,
    ) -> Result<PluginInstance, InstanceError> {
        let refuse = |reason: String| InstanceError {
            plugin: entry.name.clone(),
            reason,
        };
        entry.check_config(config).map_err(refuse)?;
        let object = entry.construct(&config.to_string(), host).map_err(refuse)?;
        let observer = !entry.phases.contains(Phase::BodyFilter) && object.observes_response_body();
        Ok(PluginInstance {
            entry: Arc::clone(entry),
            object,
            observer,
        })
    }

    /// The plugin this is an instance of.
    pub fn entry(&self) -> &Arc<PluginEntry> {
        &self.entry
    }

    /// Whether the instance reads the request body (ABI 1.3; false for
    /// older plugins, whose vtable lacks the method).
    pub fn reads_request_body(&self) -> bool {
        self.object.reads_request_body()
    }

    /// Whether the instance observes the response body (ABI 1.3): its
    /// body_filter sees each chunk though its plugin does not filter, and
    /// what it would put in a chunk's place is ignored. False for a
    /// plugin that filters (its phases have body_filter) and for plugins
    /// older than 1.3. Asked of the plugin once, at build.
    pub fn observes_response_body(&self) -> bool {
        self.observer
    }

    /// Runs `phase` (not body_filter: see [`PluginInstance::body_filter`])
    /// on `state`. A phase the plugin does not implement is not called.
    pub fn call(&self, phase: Phase, state: &mut RequestState) -> PhaseOutcome {
        if !self.entry.phases.contains(phase) {
            return PhaseOutcome::Continue;
        }
        let ctx = RequestCtx_TO::from_ptr(state, TD_Opaque);
        let result = match phase {
            Phase::Rewrite => self.object.rewrite(ctx),
            Phase::Access => self.object.access(ctx),
            Phase::BeforeProxy => self.object.before_proxy(ctx),
            Phase::HeaderFilter => self.object.header_filter(ctx),
            Phase::Log => self.object.log(ctx),
            Phase::BodyFilter => return PhaseOutcome::Continue,
        };
        self.outcome(phase, result)
    }

    /// Runs body_filter on one chunk. Returns the decision and the
    /// replacement chunk, if the plugin changed it.
    pub fn body_filter(
        &self,
        state: &mut RequestState,
        chunk: &[u8],
        last: bool,
    ) -> (PhaseOutcome, Option<Vec<u8>>) {
        if !self.entry.phases.contains(Phase::BodyFilter) && !self.observer {
            return (PhaseOutcome::Continue, None);
        }
        let mut body = BodyChunk {
            data: RSlice::from(chunk),
            end_of_stream: last,
            replacement: RNone,
        };
        let ctx = RequestCtx_TO::from_ptr(state, TD_Opaque);
        let result = self.object.body_filter(ctx, &mut body);
        let replacement = body
            .replacement
            .into_option()
            .filter(|_| !self.observer)
            .map(|v| v.into_vec());
        (self.outcome(Phase::BodyFilter, result), replacement)
    }

    /// Maps the ABI's result to the host's decision, logging failures.
    fn outcome(&self, phase: Phase, result: PhaseResultNE) -> PhaseOutcome {
        outcome(&self.entry, phase, result)
    }
}

/// Maps the ABI's result of `entry`'s `phase` to the host's decision,
/// logging failures.
pub(super) fn outcome(
    entry: &Arc<PluginEntry>,
    phase: Phase,
    result: PhaseResultNE,
) -> PhaseOutcome {
    let failure = match result.into_enum() {
        Ok(PhaseResult::Continue) => return PhaseOutcome::Continue,
        Ok(PhaseResult::Respond(reply)) if matches!(phase, Phase::Rewrite | Phase::Access) => {
            let reply = abi_stable::std_types::RBox::into_inner(reply);
            return PhaseOutcome::Respond(PluginReply {
                status: reply.status,
                headers: reply
                    .headers
                    .into_iter()
                    .map(|pair| (pair.0.into_string(), pair.1.into_string()))
                    .collect(),
                body: reply.body.into_vec(),
            });
        }
        Ok(PhaseResult::Suspend(handle)) if phase != Phase::BodyFilter => match handle.take() {
            Some(suspension) => {
                return PhaseOutcome::Wait(WaitingPhase::new(entry, phase, suspension))
            }
            None => PluginFailure {
                plugin: entry.name.clone(),
                phase,
                panicked: false,
                message: "suspended with a suspension it keeps a share of".into(),
            },
        },
        Ok(PhaseResult::Suspend(_)) => PluginFailure {
            plugin: entry.name.clone(),
            phase,
            panicked: false,
            message: "waited in body_filter, which cannot".into(),
        },
        Ok(PhaseResult::Respond(_)) => PluginFailure {
            plugin: entry.name.clone(),
            phase,
            panicked: false,
            message: format!("answered the request in {}, which cannot", phase.name()),
        },
        Ok(PhaseResult::Error(f)) => PluginFailure {
            plugin: entry.name.clone(),
            phase,
            panicked: f.panicked,
            message: f.message.to_string(),
        },
        Ok(_) | Err(_) => PluginFailure {
            plugin: entry.name.clone(),
            phase,
            panicked: false,
            message: "returned a phase result this gateway does not know".into(),
        },
    };
    tracing::error!(
        plugin = %failure.plugin,
        phase = phase.name(),
        panicked = failure.panicked,
        "plugin {} failed in {}: {}",
        failure.plugin,
        phase.name(),
        failure.message
    );
    PhaseOutcome::Fail(failure)
}

/// Instances are shared by every worker thread.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<PluginInstance>();
    shared::<super::services::GatewayServices>();
};
