//! The plugin instance, its phase result and the suspension as ABI 1.2
//! declared them, on 1.2's request context (1.3 appended
//! `PluginInstance::reads_request_body` and `RequestCtx::request_body`).

#![allow(missing_docs)] // The frozen copies of documented types.

use abi_stable::{
    nonexhaustive_enum::NonExhaustiveFor,
    sabi_trait,
    std_types::{RArc, RBox},
    StableAbi,
};

use super::ctx_1_2::RawCtx;
use crate::abi::{BodyChunk, Failure, HostOpNE, OpResultNE, Reply};

/// A phase call's decision, as 1.2 declared it.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
#[sabi(kind(WithNonExhaustive(size = [usize; 4], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum PhaseResult {
    Continue,
    Respond(RBox<Reply>),
    Error(RBox<Failure>),
    Suspend(SuspendHandle),
}

/// [`PhaseResult`] as it crosses the boundary.
pub type PhaseResultNE = NonExhaustiveFor<PhaseResult>;

/// Resumes a suspended phase, as 1.2 declared it.
#[sabi_trait]
pub trait Resume: Send + Sync {
    #[sabi(last_prefix_field)]
    fn resume(&mut self, ctx: RawCtx<'_>, result: OpResultNE) -> PhaseResultNE;
}

/// A 1.2 resumer as it crosses the boundary.
pub type ResumeBox = Resume_TO<'static, RBox<()>>;

/// A phase waiting for a host operation, as 1.2 declared it.
#[repr(C)]
#[derive(StableAbi)]
pub struct Suspension {
    pub op: HostOpNE,
    pub resume: ResumeBox,
}

/// A 1.2 suspension as a phase result carries it.
#[repr(transparent)]
#[derive(StableAbi, Clone)]
pub struct SuspendHandle(pub RArc<Suspension>);

impl PartialEq for SuspendHandle {
    fn eq(&self, other: &SuspendHandle) -> bool {
        std::ptr::eq(&*self.0, &*other.0)
    }
}

impl std::fmt::Debug for SuspendHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suspension").finish_non_exhaustive()
    }
}

/// The plugin instance's vtable, as 1.2 declared it.
#[sabi_trait]
pub trait PluginInstance: Send + Sync {
    fn rewrite(&self, ctx: RawCtx<'_>) -> PhaseResultNE;
    fn access(&self, ctx: RawCtx<'_>) -> PhaseResultNE;
    fn before_proxy(&self, ctx: RawCtx<'_>) -> PhaseResultNE;
    fn header_filter(&self, ctx: RawCtx<'_>) -> PhaseResultNE;
    fn body_filter(&self, ctx: RawCtx<'_>, chunk: &mut BodyChunk<'_>) -> PhaseResultNE;
    #[sabi(last_prefix_field)]
    fn log(&self, ctx: RawCtx<'_>) -> PhaseResultNE;
}

/// An owned 1.2 plugin instance as it crosses the boundary.
pub type InstanceBox = PluginInstance_TO<'static, RBox<()>>;
