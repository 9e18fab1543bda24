//! The plugin instance and its phase result as ABI 1.0 and 1.1 declared
//! them (1.2 added `PhaseResult::Suspend`).

#![allow(missing_docs)] // The frozen copies of documented types.

use abi_stable::{nonexhaustive_enum::NonExhaustiveFor, sabi_trait, std_types::RBox, StableAbi};

use super::ctx_1_2::RawCtx;
use crate::abi::{BodyChunk, Failure, Reply};

/// A phase call's decision, as 1.0 and 1.1 declared it.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
#[sabi(kind(WithNonExhaustive(size = [usize; 4], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum PhaseResult {
    Continue,
    Respond(RBox<Reply>),
    Error(RBox<Failure>),
}

/// [`PhaseResult`] as it crosses the boundary.
pub type PhaseResultNE = NonExhaustiveFor<PhaseResult>;

/// The plugin instance's vtable, as 1.0 and 1.1 declared it.
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

/// An owned 1.0/1.1 plugin instance as it crosses the boundary.
pub type InstanceBox = PluginInstance_TO<'static, RBox<()>>;
