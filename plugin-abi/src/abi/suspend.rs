//! A phase that waits (ABI 1.2): instead of deciding at once, a phase call
//! may return [`PhaseResult::Suspend`](super::PhaseResult::Suspend) with a
//! [`Suspension`]: the host operation it waits for and the object that
//! resumes it. The host runs the operation on its own runtime (the plugin
//! never blocks a worker, and needs no runtime of its own), then calls
//! [`Resume::resume`] with the result, which decides, or suspends again.
//!
//! Ownership: the host owns a suspension from the moment the phase call
//! returns it until it has resumed it to a decision, or drops it (a request
//! cut off by its timeout, a client gone); dropping it drops the plugin's
//! waiting state in the plugin's library. The request context passed to
//! `resume` is the request's own, as in any phase call.

use abi_stable::{
    nonexhaustive_enum::NonExhaustiveFor,
    sabi_trait,
    std_types::{RArc, RBox, ROption, RString, RVec, Tuple2},
    StableAbi,
};

use super::{PhaseResultNE, RawCtx};

/// What a suspended phase waits for. Nonexhaustive: later minor versions
/// may add operations; a host meeting one it does not know resumes the
/// phase with [`OpResult::Failed`].
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
#[sabi(kind(WithNonExhaustive(size = [usize; 8], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum HostOp {
    /// Wait this many milliseconds, then resume with [`OpResult::Done`].
    Sleep {
        /// How long.
        ms: u64,
    },
    /// An HTTP(S) request through the host's client; resumes with
    /// [`OpResult::Http`].
    Http(RBox<HttpCall>),
    /// A Redis command through the host's pooled connections; resumes with
    /// [`OpResult::Redis`].
    Redis(RBox<RedisCall>),
}

/// [`HostOp`] as it crosses the boundary.
pub type HostOpNE = NonExhaustiveFor<HostOp>;

/// An outbound HTTP request.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct HttpCall {
    /// The method (`"GET"`).
    pub method: RString,
    /// An absolute `http://` or `https://` URL.
    pub url: RString,
    /// Request header lines, in order.
    pub headers: RVec<Tuple2<RString, RString>>,
    /// The request body (empty: none).
    pub body: RVec<u8>,
    /// The whole exchange's budget, in milliseconds (0: the host's default).
    pub timeout_ms: u64,
    /// Whether an `https` server's certificate is verified.
    pub verify_tls: bool,
}

/// A Redis command, to a single server or a Redis Cluster.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct RedisCall {
    /// `host:port` of the server, or of the cluster's seed nodes.
    pub nodes: RVec<RString>,
    /// Whether `nodes` are seeds of a Redis Cluster.
    pub cluster: bool,
    /// The database (single server only).
    pub database: u32,
    /// ACL user name, if any.
    pub username: ROption<RString>,
    /// Password, if any.
    pub password: ROption<RString>,
    /// The command and its arguments (`["INCR", "key"]`).
    pub args: RVec<RVec<u8>>,
    /// The command's budget, connecting included, in milliseconds (0: the
    /// host's default).
    pub timeout_ms: u64,
}

/// An HTTP response.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct HttpAnswer {
    /// The status.
    pub status: u16,
    /// Response header lines, in order.
    pub headers: RVec<Tuple2<RString, RString>>,
    /// The body.
    pub body: RVec<u8>,
}

/// What a host operation gave. Nonexhaustive, as [`HostOp`].
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
#[sabi(kind(WithNonExhaustive(size = [usize; 8], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum OpResult {
    /// A [`HostOp::Sleep`] ended.
    Done,
    /// The answer to a [`HostOp::Http`].
    Http(RBox<HttpAnswer>),
    /// The reply to a [`HostOp::Redis`], RESP-encoded (a Redis error reply
    /// is a reply, not a failure).
    Redis(RVec<u8>),
    /// The operation failed or timed out; the text says why.
    Failed(RString),
}

/// [`OpResult`] as it crosses the boundary.
pub type OpResultNE = NonExhaustiveFor<OpResult>;

/// Resumes a suspended phase. Implemented by the plugin's side (the SDK),
/// called by the host on the request's worker; never called after it
/// decided, and never concurrently.
#[sabi_trait]
pub trait Resume: Send + Sync {
    /// Resumes the phase with the result of the operation it waited for;
    /// the phase's decision, or another suspension.
    #[sabi(last_prefix_field)]
    fn resume(&mut self, ctx: RawCtx<'_>, result: OpResultNE) -> PhaseResultNE;
}

/// A suspended phase's resumer as it crosses the boundary (owned; the
/// host drops it once the phase decided or the request is gone).
pub type ResumeBox = Resume_TO<'static, RBox<()>>;

/// A phase waiting for a host operation.
#[repr(C)]
#[derive(StableAbi)]
pub struct Suspension {
    /// What it waits for.
    pub op: HostOpNE,
    /// How the host hands it the result.
    pub resume: ResumeBox,
}

/// A suspension as a phase result carries it: shared so that the phase
/// result stays `Clone` (as its 1.0 declaration requires), though only one
/// owner ever holds it (the host takes it with `RArc::try_unwrap`).
/// Equal only to itself.
#[repr(transparent)]
#[derive(StableAbi, Clone)]
pub struct SuspendHandle(pub RArc<Suspension>);

impl SuspendHandle {
    /// Wraps a suspension.
    pub fn new(suspension: Suspension) -> SuspendHandle {
        SuspendHandle(RArc::new(suspension))
    }

    /// The suspension, when this is its only handle.
    pub fn take(self) -> Option<Suspension> {
        RArc::try_unwrap(self.0).ok()
    }
}

impl PartialEq for SuspendHandle {
    fn eq(&self, other: &SuspendHandle) -> bool {
        std::ptr::eq(&*self.0, &*other.0)
    }
}

impl std::fmt::Debug for SuspendHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suspension")
            .field("op", &self.0.op)
            .finish_non_exhaustive()
    }
}
