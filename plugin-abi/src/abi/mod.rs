#![allow(non_local_definitions)] // abi_stable's derives put trait impls in const blocks.

//! The types that cross the plugin boundary: every one `#[derive(StableAbi)]`,
//! so that abi_stable checks their layout when a plugin is loaded.
//!
//! Growth rules (for the next minor ABI version): the root module and every
//! `#[sabi_trait]` vtable only grow at the end, after the field or method
//! marked `#[sabi(last_prefix_field)]` (which stays where it is until a major
//! bump); [`PhaseResult`] is nonexhaustive with reserved storage, so variants
//! may be added; a host reading a field an older plugin lacks falls back to a
//! default instead of panicking.

mod ctx;
pub mod frozen;
mod host;
mod instance;
mod result;
mod root;
mod suspend;

/// Borrowed text as it crosses the boundary (label values, keys).
pub use abi_stable::std_types::RStr;
pub use ctx::{BodyChunk, ClientAddr, RawCtx, RequestCtx, RequestCtx_TO};
pub use host::{
    BatchId, HostHandle, HostServices, HostServices_TO, LogLevel, MetricId, MetricSeries,
    MetricSeries_TO, SeriesHandle, StoreCounter, StoreRead,
};
pub use instance::{InstanceBox, Phase, Phases, PluginInstance, PluginInstance_TO};
pub use result::{Failure, PhaseResult, PhaseResultNE, Reply};
pub use root::{NewInstanceFn, PluginMod, PluginModRef, ABI_MAJOR, ABI_MINOR, ABI_VERSION_STRING};
pub use suspend::{
    HostOp, HostOpNE, HttpAnswer, HttpCall, OpResult, OpResultNE, RedisCall, Resume, ResumeBox,
    Resume_TO, SuspendHandle, Suspension,
};
