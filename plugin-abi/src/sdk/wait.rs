//! Phases that wait on the host: [`Decision::wait`] and
//! [`Decision::wait_then`] take a future that awaits host operations
//! ([`Host::sleep`](super::Host::sleep), [`Host::http`](super::Host::http),
//! [`Host::redis`](super::Host::redis)) and no other future.
//!
//! The future runs in the plugin's library but on the host's schedule: the
//! SDK polls it when the phase is called; when it waits for a host
//! operation the phase returns a suspension naming the operation, the host
//! runs it on its own runtime and resumes the phase with the result, and
//! the SDK polls the future again. A plugin needs no runtime of its own,
//! and one that never waits pays nothing for this.
//!
//! Host operations are awaited one at a time (no `join!` of two).

use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use abi_stable::sabi_trait::TD_Opaque;

use super::{panics, Ctx, Decision};
use crate::abi::{
    HostOp, HostOpNE, OpResult, OpResultNE, Phase, PhaseResultNE, RawCtx, Resume, Resume_TO,
    SuspendHandle, Suspension,
};

/// What a waiting phase finishes with once its future is done: the
/// decision, made with the request in hand.
pub(crate) type Finish = Box<dyn FnOnce(&mut Ctx<'_>) -> Decision + Send>;

/// A phase's waiting future (inside [`Decision::Wait`]).
pub struct Waiting(Pin<Box<dyn Future<Output = Finish> + Send>>);

impl Waiting {
    /// Waits on `future`, then decides with `then` and the request.
    pub(crate) fn new<F, T, K>(future: F, then: K) -> Waiting
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
        K: FnOnce(&mut Ctx<'_>, T) -> Decision + Send + 'static,
    {
        Waiting(Box::pin(async move {
            let out = future.await;
            Box::new(move |ctx: &mut Ctx<'_>| then(ctx, out)) as Finish
        }))
    }
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Waiting")
    }
}

thread_local! {
    /// The host operation the future asked for in the poll under way.
    static ASKED: RefCell<Option<HostOp>> = const { RefCell::new(None) };
    /// The result the host handed in for the operation being awaited.
    static GIVEN: RefCell<Option<OpResult>> = const { RefCell::new(None) };
}

/// A host operation, awaited inside a waiting phase's future; its output
/// is the operation's result as `read` makes it.
#[must_use = "a host operation does nothing unless awaited"]
pub struct HostCall<T> {
    op: Option<HostOp>,
    read: fn(OpResult) -> T,
    out: PhantomData<fn() -> T>,
}

impl<T> HostCall<T> {
    /// An operation whose result `read` turns into the output.
    pub(crate) fn new(op: HostOp, read: fn(OpResult) -> T) -> HostCall<T> {
        HostCall {
            op: Some(op),
            read,
            out: PhantomData,
        }
    }
}

impl<T> Unpin for HostCall<T> {}

impl<T> Future for HostCall<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        if let Some(op) = self.op.take() {
            let asked = ASKED.with(|a| {
                let mut a = a.borrow_mut();
                if a.is_some() {
                    return false;
                }
                *a = Some(op);
                true
            });
            if !asked {
                let why = "a waiting phase awaits one host operation at a time";
                return Poll::Ready((self.read)(OpResult::Failed(why.into())));
            }
            return Poll::Pending;
        }
        match GIVEN.with(|g| g.borrow_mut().take()) {
            Some(result) => Poll::Ready((self.read)(result)),
            None => Poll::Pending,
        }
    }
}

/// What a poll of a waiting future came to.
pub(crate) enum Polled {
    /// The future is done: decide with the request.
    Done(Finish),
    /// It waits for this operation.
    Asked(HostOp, Waiting),
    /// It waits for something that is not a host operation.
    Stray,
    /// It panicked; the text says where.
    Panicked(String),
}

/// Polls `waiting` once, with `given` as the result of the operation it
/// waits for (none on its first poll).
pub(crate) fn poll(mut waiting: Waiting, given: Option<OpResult>) -> Polled {
    ASKED.with(|a| a.borrow_mut().take());
    GIVEN.with(|g| *g.borrow_mut() = given);
    let mut cx = Context::from_waker(Waker::noop());
    let polled = catch_unwind(AssertUnwindSafe(|| {
        panics::guarded(|| waiting.0.as_mut().poll(&mut cx))
    }));
    GIVEN.with(|g| g.borrow_mut().take());
    let asked = ASKED.with(|a| a.borrow_mut().take());
    match polled {
        Ok(Poll::Ready(finish)) => Polled::Done(finish),
        Ok(Poll::Pending) => match asked {
            Some(op) => Polled::Asked(op, waiting),
            None => Polled::Stray,
        },
        Err(payload) => {
            // The future is dropped here, under the same guard.
            drop_quietly(waiting);
            Polled::Panicked(super::adapter::panic_text(&*payload))
        }
    }
}

/// Drops `value`, catching a panic in its `Drop`.
pub(crate) fn drop_quietly<T>(value: T) {
    let _ = catch_unwind(AssertUnwindSafe(|| panics::guarded(|| drop(value))));
}

/// How a resumed phase's poll becomes its result: in `phase`, with the
/// request.
pub(crate) type Decide = fn(Phase, Polled, &mut Ctx<'_>) -> PhaseResultNE;

/// The suspension of `phase`, whose future waits for `op`; `decide` turns
/// what the future comes to on a resume into the phase's result.
pub(crate) fn suspension(
    op: HostOp,
    waiting: Waiting,
    phase: Phase,
    decide: Decide,
) -> SuspendHandle {
    let resumer = Resumer {
        waiting: Mutex::new(Some(waiting)),
        phase,
        decide,
    };
    SuspendHandle::new(Suspension {
        op: HostOpNE::new(op),
        resume: Resume_TO::from_value(resumer, TD_Opaque),
    })
}

/// The plugin's side of a suspension: the waiting future, resumed by the
/// host with the operation's result.
struct Resumer {
    /// The future (a mutex only so that the resumer is `Sync`, as the ABI
    /// asks; the host never resumes concurrently).
    waiting: Mutex<Option<Waiting>>,
    phase: Phase,
    decide: Decide,
}

impl Resume for Resumer {
    fn resume(&mut self, ctx: RawCtx<'_>, result: OpResultNE) -> PhaseResultNE {
        let result = result.into_enum().unwrap_or_else(|_| {
            OpResult::Failed("an operation result this SDK does not know".into())
        });
        let waiting = self
            .waiting
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let polled = match waiting {
            Some(waiting) => poll(waiting, Some(result)),
            None => Polled::Panicked("resumed after it decided".into()),
        };
        (self.decide)(self.phase, polled, &mut Ctx::new(ctx))
    }
}

impl Drop for Resumer {
    fn drop(&mut self) {
        let waiting = self
            .waiting
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        drop_quietly(waiting);
    }
}
