//! The plugin instance: one object per plugin config, called per request
//! through an abi_stable vtable, one method per phase.

use abi_stable::{sabi_trait, std_types::RBox, StableAbi};

use super::{BodyChunk, PhaseResultNE, RawCtx};

/// The request phases, in the order they run.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Before the plugin chain's access checks: rewrite the request.
    Rewrite = 0,
    /// Authentication, authorization, rate limits.
    Access = 1,
    /// After the upstream node is chosen, again on each retry.
    BeforeProxy = 2,
    /// The upstream's response status and headers arrived.
    HeaderFilter = 3,
    /// Each chunk of the response body.
    BodyFilter = 4,
    /// After the response is sent.
    Log = 5,
}

impl Phase {
    /// Every phase in run order.
    pub const ALL: [Phase; 6] = [
        Phase::Rewrite,
        Phase::Access,
        Phase::BeforeProxy,
        Phase::HeaderFilter,
        Phase::BodyFilter,
        Phase::Log,
    ];

    /// The phase's name as in APISIX (`"access"`, `"body_filter"`).
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Rewrite => "rewrite",
            Phase::Access => "access",
            Phase::BeforeProxy => "before_proxy",
            Phase::HeaderFilter => "header_filter",
            Phase::BodyFilter => "body_filter",
            Phase::Log => "log",
        }
    }
}

/// A set of phases (bit `1 << phase`); bits of unknown phases are ignored.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Phases(pub u32);

impl Phases {
    /// No phase.
    pub const NONE: Phases = Phases(0);
    /// Every phase of this ABI version.
    pub const ALL: Phases = Phases(0b11_1111);

    /// The set holding only `phase`.
    pub const fn of(phase: Phase) -> Phases {
        Phases(1 << phase as u32)
    }

    /// This set with `phase` added.
    pub const fn with(self, phase: Phase) -> Phases {
        Phases(self.0 | Phases::of(phase).0)
    }

    /// Whether `phase` is in the set.
    pub const fn contains(self, phase: Phase) -> bool {
        self.0 & Phases::of(phase).0 != 0
    }
}

/// A plugin instance built from one config. Shared by every worker thread;
/// each method is one phase of one request and must not block.
///
/// Implemented by the SDK's adapter, which catches panics; hosts call it.
#[sabi_trait]
pub trait PluginInstance: Send + Sync {
    /// The rewrite phase.
    fn rewrite(&self, ctx: RawCtx<'_>) -> PhaseResultNE;
    /// The access phase.
    fn access(&self, ctx: RawCtx<'_>) -> PhaseResultNE;
    /// The before_proxy phase.
    fn before_proxy(&self, ctx: RawCtx<'_>) -> PhaseResultNE;
    /// The header_filter phase.
    fn header_filter(&self, ctx: RawCtx<'_>) -> PhaseResultNE;
    /// The body_filter phase, once per chunk.
    fn body_filter(&self, ctx: RawCtx<'_>, chunk: &mut BodyChunk<'_>) -> PhaseResultNE;
    /// The log phase.
    #[sabi(last_prefix_field)]
    fn log(&self, ctx: RawCtx<'_>) -> PhaseResultNE;
    /// ABI 1.3: whether this instance reads the request body
    /// ([`RequestCtx::request_body`](crate::abi::RequestCtx::request_body)):
    /// the host then reads the body whole before the request's first phase.
    /// Asked once, when the instance is built. False in older plugins
    /// (this default).
    fn reads_request_body(&self) -> bool {
        false
    }
    /// ABI 1.3: whether this instance observes the response body: the host
    /// then calls its `body_filter` with each chunk even when the plugin's
    /// phases leave body_filter out, and for such an instance (an observer)
    /// ignores any replacement, so the response keeps its
    /// `Content-Length`. Asked once, when the instance is built. False in
    /// older plugins (this default).
    fn observes_response_body(&self) -> bool {
        false
    }
}

/// An owned plugin instance as it crosses the boundary.
pub type InstanceBox = PluginInstance_TO<'static, RBox<()>>;
