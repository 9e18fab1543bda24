//! The response body as body_filter plugins see it (issue 5): each chunk
//! runs through the chain's body_filter plugins as it streams, and may be
//! replaced; when the body ends (or the client goes away) the log phase
//! is queued for the worker's log task (`phases::log_later`). Only
//! responses of chains that have a body_filter plugin are wrapped.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};

use super::phases::{holds, log_later, Chains, FilterContext};
use super::respond::Body;
use crate::plugin_host::{Phase, PhaseOutcome, RequestState};

/// What a wrapped body's errors are.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body whose chunks pass through body_filter plugins.
pub struct Filtered {
    inner: Box<Body>,
    chains: Chains,
    /// `None` once the log phase has been started.
    state: Option<RequestState>,
    local: SocketAddr,
    host: Vec<u8>,
    /// The last chunk went through the filters.
    ended: bool,
}

impl std::fmt::Debug for Filtered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filtered").finish_non_exhaustive()
    }
}

impl Filtered {
    /// Wraps `inner`; `state` and `chains` go to the filters, then to log.
    pub fn new(
        inner: Body,
        chains: Chains,
        state: RequestState,
        local: SocketAddr,
        host: Vec<u8>,
    ) -> Filtered {
        Filtered {
            inner: Box::new(inner),
            chains,
            state: Some(state),
            local,
            host,
            ended: false,
        }
    }

    /// Runs `chunk` through the filters; `None` when a plugin failed (the
    /// body ends there: the status is already sent).
    fn filter(&mut self, chunk: &[u8], last: bool) -> Option<Bytes> {
        let state = self.state.as_mut()?;
        let at = FilterContext {
            local: self.local,
            host: &self.host,
        };
        let mut cur: Cow<'_, [u8]> = Cow::Borrowed(chunk);
        for c in self.chains.for_phase(Phase::BodyFilter) {
            if !holds(c.filter.as_ref(), state, &at) {
                continue;
            }
            let (outcome, replacement) = c.instance.body_filter(state, &cur, last);
            if let Some(r) = replacement {
                cur = Cow::Owned(r);
            }
            if let PhaseOutcome::Fail(_) = outcome {
                return None;
            }
        }
        Some(Bytes::from(cur.into_owned()))
    }

    /// Starts the log phase, once.
    fn finish(&mut self) {
        if let Some(state) = self.state.take() {
            let chains = std::mem::take(&mut self.chains);
            log_later(chains, state, self.local, &self.host);
        }
    }
}

impl hyper::body::Body for Filtered {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.ended {
            this.finish();
            return Poll::Ready(None);
        }
        match Pin::new(&mut *this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    let last = this.inner.is_end_stream();
                    this.ended = last;
                    match this.filter(&data, last) {
                        Some(out) => Poll::Ready(Some(Ok(Frame::data(out)))),
                        None => {
                            this.ended = true;
                            Poll::Ready(Some(Err("a body_filter plugin failed".into())))
                        }
                    }
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            Poll::Ready(None) => {
                this.ended = true;
                // The filters see the end even when the last chunk did not say so.
                let out = this.filter(&[], true);
                this.finish();
                match out {
                    Some(out) if !out.is_empty() => Poll::Ready(Some(Ok(Frame::data(out)))),
                    _ => Poll::Ready(None),
                }
            }
            Poll::Ready(Some(Err(e))) => {
                this.ended = true;
                this.finish();
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.state.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // Filters may change the length.
        SizeHint::default()
    }
}

impl Drop for Filtered {
    fn drop(&mut self) {
        // The client went away before the end: log still runs.
        self.finish();
    }
}
