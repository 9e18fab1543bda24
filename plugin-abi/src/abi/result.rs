//! What a phase call returns to the host.

use super::SuspendHandle;
use abi_stable::{
    nonexhaustive_enum::NonExhaustiveFor,
    std_types::{RBox, RString, RVec, Tuple2},
    StableAbi,
};

/// A response a plugin gives instead of proxying (rewrite, access).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, in order (a name may repeat).
    pub headers: RVec<Tuple2<RString, RString>>,
    /// Response body.
    pub body: RVec<u8>,
}

/// A plugin's failure: an error it returned, or a panic the SDK caught.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct Failure {
    /// The plugin's name.
    pub plugin: RString,
    /// True when the plugin panicked (the SDK caught it on its side).
    pub panicked: bool,
    /// What went wrong.
    pub message: RString,
}

/// The decision of one phase call. Nonexhaustive: later minor ABI versions
/// may add variants (storage for them is reserved); a host meeting a variant
/// it does not know treats it as an error of that plugin.
///
/// Variants of ABI 1.0: `Continue`, `Respond`, `Error`; of 1.2: `Suspend`.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
#[sabi(kind(WithNonExhaustive(size = [usize; 4], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum PhaseResult {
    /// Go on with the next plugin and phase.
    Continue,
    /// Answer the request with this response (only honoured in rewrite and
    /// access; the host treats it as an error elsewhere).
    Respond(RBox<Reply>),
    /// The plugin failed; the host answers 500 and logs the plugin's name.
    Error(RBox<Failure>),
    /// ABI 1.2: the phase waits for a host operation and is resumed with
    /// its result (rewrite, access, before_proxy, header_filter and log;
    /// the host treats it as an error in body_filter).
    Suspend(SuspendHandle),
}

/// [`PhaseResult`] as it crosses the boundary.
pub type PhaseResultNE = NonExhaustiveFor<PhaseResult>;
