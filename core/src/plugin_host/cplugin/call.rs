//! One call of a C plugin's phase or resume function: the state behind the
//! `rg_request` it is given (the request, the body chunk, the reply, the
//! failure message, the operation it suspends on) and the decision it
//! returns, as the plugin ABI's phase result.

use std::ffi::c_void;

use abi_stable::std_types::{RBox, RString, RVec, Tuple2};
use radixgate_plugin::abi::{Failure, HostOp, PhaseResult, PhaseResultNE, RawCtx, Reply};
use radixgate_plugin::Phase;

use super::abi::{code, decision, ResumeFn, RgRequest, StateDropFn};

/// The body chunk a body_filter call sees.
pub struct Body<'a> {
    /// The chunk as the previous plugin left it.
    pub data: &'a [u8],
    /// The last chunk.
    pub last: bool,
    /// What the plugin replaced it with, in this call.
    pub replacement: Option<Vec<u8>>,
}

/// A suspended phase's state, owned by the host from a `suspend_*` call
/// until it hands it back to the plugin's resume function or frees it with
/// the plugin's `state_drop` (when dropped unresumed).
pub struct State {
    ptr: *mut c_void,
    drop: Option<StateDropFn>,
}

// SAFETY: the header's contract: a suspended phase's state may be resumed
// or dropped on another thread than the one that suspended it (never
// concurrently: the host has one owner of it at a time).
unsafe impl Send for State {}
// SAFETY: the host never touches the pointer through a shared reference;
// only the owner resumes or drops it.
unsafe impl Sync for State {}

impl State {
    /// The plugin's `state` and its `state_drop`.
    pub fn new(ptr: *mut c_void, drop: Option<StateDropFn>) -> State {
        State { ptr, drop }
    }

    /// The pointer, handed back to the plugin: it owns it again.
    pub fn give_back(self) -> *mut c_void {
        let ptr = self.ptr;
        std::mem::forget(self);
        ptr
    }
}

impl Drop for State {
    fn drop(&mut self) {
        if let Some(drop) = self.drop {
            // SAFETY: the plugin handed this state over with this function
            // to free it; it is dropped once (the host owned it and gives it
            // back nowhere else: `give_back` forgets it).
            unsafe { drop(self.ptr) };
        }
    }
}

/// The operation a call suspended on, and how to resume it.
pub struct Pending {
    /// What to run.
    pub op: HostOp,
    /// The plugin's resume function.
    pub resume: ResumeFn,
    /// The state it gets back.
    pub state: State,
}

/// The host's side of one phase or resume call: what `rg_request` points to.
pub struct CallState<'a, 'b> {
    /// The request.
    pub ctx: RawCtx<'a>,
    /// The phase being run (or resumed).
    pub phase: Phase,
    /// The body chunk, in body_filter.
    pub body: Option<Body<'b>>,
    /// The reply's status, once `respond` was called.
    pub reply_status: Option<u16>,
    /// The reply's header lines.
    pub reply_headers: Vec<(String, String)>,
    /// The reply's body.
    pub reply_body: Vec<u8>,
    /// The message given to `fail`.
    pub failure: Option<String>,
    /// The operation asked for by `suspend_*`.
    pub suspended: Option<Pending>,
}

/// What a call came to.
pub enum Decided {
    /// A decision (or a failure).
    Result(PhaseResultNE),
    /// `RG_SUSPEND` with its operation.
    Suspend(Pending),
}

impl<'a, 'b> CallState<'a, 'b> {
    /// A call of `phase` on `ctx`.
    pub fn new(ctx: RawCtx<'a>, phase: Phase, body: Option<Body<'b>>) -> CallState<'a, 'b> {
        CallState {
            ctx,
            phase,
            body,
            reply_status: None,
            reply_headers: Vec::new(),
            reply_body: Vec::new(),
            failure: None,
            suspended: None,
        }
    }

    /// The `rg_request` the plugin is given: this state, valid until the
    /// call returns.
    pub fn as_request(&mut self) -> *mut RgRequest {
        (self as *mut CallState<'a, 'b>).cast()
    }

    /// Whether the plugin may answer the request in this phase.
    pub fn may_respond(&self) -> bool {
        matches!(self.phase, Phase::Rewrite | Phase::Access)
    }

    /// The plugin ABI's result for `returned`, the number the plugin's
    /// function returned; a decision that does not fit what the call did
    /// (`RG_RESPOND` without a reply, a suspension left unused) fails.
    pub fn decide(self, plugin: &str, returned: u32) -> Decided {
        let fail = |message: String| Decided::Result(failure(plugin, message));
        let phase = self.phase.name();
        match returned {
            decision::CONTINUE if self.suspended.is_some() => fail(format!(
                "returned RG_CONTINUE from {phase} after asking for a host operation"
            )),
            decision::CONTINUE if self.reply_status.is_some() => fail(format!(
                "returned RG_CONTINUE from {phase} after making a reply with respond"
            )),
            decision::CONTINUE => Decided::Result(PhaseResultNE::new(PhaseResult::Continue)),
            decision::RESPOND => match self.reply_status {
                Some(status) if self.suspended.is_none() => {
                    Decided::Result(PhaseResultNE::new(PhaseResult::Respond(RBox::new(Reply {
                        status,
                        headers: self
                            .reply_headers
                            .into_iter()
                            .map(|(n, v)| Tuple2(RString::from(n), RString::from(v)))
                            .collect(),
                        body: RVec::from(self.reply_body),
                    }))))
                }
                Some(_) => fail(format!(
                    "returned RG_RESPOND from {phase} after asking for a host operation"
                )),
                None => fail(format!(
                    "returned RG_RESPOND from {phase} without a reply (respond was not called, \
                     or refused in this phase)"
                )),
            },
            decision::FAIL => fail(
                self.failure
                    .unwrap_or_else(|| format!("failed in {phase} (RG_FAIL, no message)")),
            ),
            decision::SUSPEND => match self.suspended {
                Some(pending) => Decided::Suspend(pending),
                None => fail(format!(
                    "returned RG_SUSPEND from {phase} without asking for a host operation \
                     (suspend_* was not called, or refused)"
                )),
            },
            other => fail(format!(
                "returned decision {other} from {phase}, which this gateway does not know"
            )),
        }
    }
}

/// A failure of `plugin` (not a panic) as the plugin ABI's phase result.
pub fn failure(plugin: &str, message: String) -> PhaseResultNE {
    PhaseResultNE::new(PhaseResult::Error(RBox::new(Failure {
        plugin: RString::from(plugin),
        panicked: false,
        message: RString::from(message),
    })))
}

/// The call behind `req`, read-only.
///
/// # Safety
/// `req` is NULL or the `rg_request` of a call in progress on this thread
/// (the header's contract), with no `&mut` to it alive.
pub unsafe fn call_ref<'r>(req: *const RgRequest) -> Result<&'r CallState<'r, 'r>, u32> {
    let call = req.cast::<CallState<'r, 'r>>();
    if call.is_null() || !call.is_aligned() {
        return Err(code::NULL_PARAMETER);
    }
    // SAFETY: the caller's contract: a live call state, not borrowed
    // mutably meanwhile (the host holds only the raw pointer during the
    // plugin's call). Lifetimes are the caller's to bound: no reference
    // outlives the host function that made it.
    Ok(unsafe { &*call })
}

/// The call behind `req`, to change.
///
/// # Safety
/// As [`call_ref`], with no other reference to it alive.
pub unsafe fn call_mut<'r>(req: *mut RgRequest) -> Result<&'r mut CallState<'r, 'r>, u32> {
    let call = req.cast::<CallState<'r, 'r>>();
    if call.is_null() || !call.is_aligned() {
        return Err(code::NULL_PARAMETER);
    }
    // SAFETY: as in `call_ref`; the host functions take one reference at a
    // time, for their own duration.
    Ok(unsafe { &mut *call })
}
