//! The response body step: on a request whose chains have a body_filter
//! plugin, each chunk runs through them as it streams and may be
//! replaced, in priority order except that the plugins that encode the
//! response (`RequestState::encoders`) run after every other; the
//! instances that only observe the body (ABI 1.3, loggers'
//! `include_resp_body`) see each chunk after the other filters and before
//! the encoders, and change nothing: a response only they see keeps its
//! `Content-Length`. When the body ends (or the client goes away) the log
//! phase is queued for the worker's log task (`log::log_later`). Other
//! responses pass as they are.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};

use http::Response;
use http_body_util::{Either, Full};

use super::exchange::Exchange;
use super::log::log_later;
use super::phases::{holds, PluginRun};
use super::respond::Body;
use super::vars::Origin;
use crate::plugin_host::{Phase, PhaseOutcome};

/// What a wrapped body's errors are.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response body step of `ex`: `resp` with its body through the
/// body_filter plugins (which may change its length, so `Content-Length`
/// goes) and the observers (which keep it), when the request runs any;
/// the plugin side then travels with the body to the log phase. In
/// place: a response is large.
pub fn response_body(ex: &mut Exchange<'_>, resp: &mut Response<Body>) {
    let Some(run) = ex.plugins.as_ref() else {
        return;
    };
    let filters = run.chains.has(Phase::BodyFilter);
    if !filters && !run.chains.observes_body() {
        return;
    }
    let Some(run) = ex.plugins.take() else {
        return;
    };
    if filters {
        resp.headers_mut().remove(http::header::CONTENT_LENGTH);
    }
    let empty = Either::Right(Either::Left(Full::default()));
    let body = std::mem::replace(resp.body_mut(), empty);
    let mut body = Filtered::new(body, run, ex.conn.local, ex.host().to_vec());
    body.observed_only = !filters;
    *resp.body_mut() = Either::Right(Either::Right(Box::new(body)));
}

/// A response body whose chunks pass through body_filter plugins.
pub struct Filtered {
    inner: Box<Body>,
    /// The request's plugin side; `None` once the log phase has been
    /// started.
    run: Option<Box<PluginRun>>,
    local: SocketAddr,
    host: Vec<u8>,
    /// The last chunk went through the filters.
    ended: bool,
    /// Only observers see the body: its length stays the inner body's.
    observed_only: bool,
}

impl std::fmt::Debug for Filtered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filtered").finish_non_exhaustive()
    }
}

impl Filtered {
    /// Wraps `inner`; `run` goes to the filters, then to log.
    pub fn new(inner: Body, run: Box<PluginRun>, local: SocketAddr, host: Vec<u8>) -> Filtered {
        Filtered {
            inner: Box::new(inner),
            run: Some(run),
            local,
            host,
            ended: false,
            observed_only: false,
        }
    }

    /// Runs `chunk` through the filters; `None` when a plugin failed (the
    /// body ends there: the status is already sent).
    fn filter(&mut self, chunk: &Bytes, last: bool) -> Option<Bytes> {
        let PluginRun { chains, state, .. } = self.run.as_deref_mut()?;
        let origin = Origin {
            host: &self.host,
            remote: state.client,
            local: self.local,
            // Filters of the late phases do not see the connection's TLS.
            tls: None,
        };
        let mut cur: Cow<'_, [u8]> = Cow::Borrowed(chunk.as_ref());
        // The plugins that encode the response (their header_filter set
        // its `Content-Encoding`) run last, on what the others produced.
        for encoding in [false, true] {
            if encoding {
                // The observers see what the client gets, but not encoded.
                for c in chains.observers() {
                    if holds(c.filter.as_ref(), state, origin) {
                        // An observer changes nothing and fails nothing
                        // (its failure is logged by the host).
                        let _ = c.instance.body_filter(state, &cur, last);
                    }
                }
                if state.encoders.is_empty() {
                    break;
                }
            }
            for c in chains.for_phase(Phase::BodyFilter) {
                if state.encoders.contains(&c.name) != encoding
                    || !holds(c.filter.as_ref(), state, origin)
                {
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
        }
        // A chunk no plugin replaced goes on without a copy.
        Some(match cur {
            Cow::Borrowed(_) => chunk.clone(),
            Cow::Owned(bytes) => Bytes::from(bytes),
        })
    }

    /// Starts the log phase, once.
    fn finish(&mut self) {
        if let Some(run) = self.run.take() {
            log_later(run, self.local, &self.host);
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
                let out = this.filter(&Bytes::new(), true);
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
        self.ended && self.run.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        if self.observed_only {
            return self.inner.size_hint();
        }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::{BodyExt, Full};
    use radixgate_plugin::{Chunk, ConfigError, Ctx, Decision, Host, Phases, Plugin};

    use super::*;
    use crate::plugin_host::RequestState;
    use crate::plugin_host::{Chain, ConfiguredPlugin, GatewayServices};
    use crate::proxy::phases::Chains;

    /// Bytes [`Observer`] saw.
    static SEEN: AtomicUsize = AtomicUsize::new(0);

    /// An observer (its phases leave body_filter out) that tries to replace
    /// every chunk.
    struct Observer;

    impl Plugin for Observer {
        const NAME: &'static str = "observer";
        const VERSION: &'static str = "0";
        const PRIORITY: i32 = 0;
        const PHASES: Phases = Phases::of(Phase::Log);
        type Config = serde_json::Value;
        fn new(_: Self::Config, _: &Host) -> Result<Self, ConfigError> {
            Ok(Observer)
        }
        fn observes_response_body(&self) -> bool {
            true
        }
        fn body_filter(&self, _: &mut Ctx<'_>, chunk: &mut Chunk<'_>) -> Decision {
            SEEN.fetch_add(chunk.data().len(), Ordering::SeqCst);
            chunk.replace(b"replaced".to_vec());
            Decision::Continue
        }
    }

    #[test]
    fn an_observer_sees_the_body_and_changes_neither_it_nor_its_length() {
        let services = GatewayServices::default();
        let c = ConfiguredPlugin::in_process::<Observer>(&serde_json::json!({}), &services);
        let chains = Chains::new(None, Chain::new([c]));
        assert!(chains.observes_body() && !chains.has(Phase::BodyFilter));
        let client = "127.0.0.1:1".parse().expect("addr");
        let state = RequestState::new(http::Method::GET, "/", client);
        let inner: Body = Either::Right(Either::Left(Full::new(Bytes::from_static(b"node body"))));
        let mut body = Filtered::new(inner, PluginRun::new(chains, state), client, b"h".to_vec());
        body.observed_only = true;
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(9));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let out = runtime
            .block_on(body.collect())
            .expect("the body")
            .to_bytes();
        assert_eq!(&out[..], b"node body");
        assert_eq!(SEEN.load(Ordering::SeqCst), 9);
    }
}
