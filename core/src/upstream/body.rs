//! A node's response body, read from its connection in the request's own
//! task as the client takes it: the connection goes back to the pool the
//! moment the body ends, and is closed when the body is dropped before.
//! An HTTP/2 node's body is hyper's stream, read under the same timeout.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use super::conn::{Connection, Io};
use super::h1::{Chunked, Framing};
use super::pool::{Pool, PoolKey, PoolLimits};
use super::stats::InFlight;

/// Why a response body stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The connection failed or broke the framing mid-body.
    #[error("upstream body: {0}")]
    Upstream(String),
    /// No data came for the read timeout.
    #[error("upstream body: nothing read for {0:?}")]
    Timeout(Duration),
}

/// Where the connection goes once the body ends.
pub(crate) struct Giveback {
    pub pool: Arc<Pool>,
    pub key: PoolKey,
    pub limits: PoolLimits,
}

/// What is left of the body.
#[derive(Debug)]
enum Left {
    /// This many bytes.
    Length(u64),
    /// Chunks.
    Chunked(Chunked),
    /// Whatever comes until the node closes.
    UntilClose,
    /// Nothing: the body ended (or the connection switched protocols).
    Done,
}

/// A node's response body, streamed.
pub struct PooledBody {
    conn: Option<Connection>,
    left: Left,
    /// Set when the connection may carry another request after this body.
    back: Option<Giveback>,
    read: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
    /// The balancer's count of the request, ended with the body.
    in_flight: Option<InFlight>,
    /// An HTTP/2 node's body (frames and trailers as they come), read
    /// instead of `conn`.
    stream: Option<Incoming>,
}

impl std::fmt::Debug for PooledBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledBody")
            .field("left", &self.left)
            .field("pooled", &self.back.is_some())
            .finish_non_exhaustive()
    }
}

/// A connection whose node switched protocols, and the bytes it already
/// sent in the new one.
#[derive(Debug)]
pub struct Upgraded {
    /// The stream.
    pub io: Io,
    /// Read past the 101 head.
    pub read: bytes::BytesMut,
}

impl PooledBody {
    /// The body framed by `framing` on `conn`; `back` when the connection
    /// may be reused afterwards. A body with nothing to read returns the
    /// connection at once.
    pub(crate) fn new(
        conn: Connection,
        framing: Framing,
        back: Option<Giveback>,
        read: Duration,
    ) -> PooledBody {
        let left = match framing {
            Framing::Empty | Framing::Upgrade => Left::Done,
            Framing::Length(n) => Left::Length(n),
            Framing::Chunked => Left::Chunked(Chunked::default()),
            Framing::UntilClose => Left::UntilClose,
        };
        let upgrade = framing == Framing::Upgrade;
        let mut body = PooledBody {
            conn: Some(conn),
            left,
            back: back.filter(|_| !upgrade),
            read,
            timer: None,
            armed: false,
            in_flight: None,
            stream: None,
        };
        if matches!(body.left, Left::Done) && !upgrade {
            body.finish();
        }
        body
    }

    /// An HTTP/2 node's response body, with at most `read` between two
    /// frames; its trailers are passed on.
    pub(crate) fn h2(body: Incoming, read: Duration) -> PooledBody {
        let done = body.is_end_stream();
        PooledBody {
            conn: None,
            left: if done { Left::Done } else { Left::UntilClose },
            back: None,
            read,
            timer: None,
            armed: false,
            in_flight: None,
            stream: (!done).then_some(body),
        }
    }

    /// Reads the HTTP/2 body: its next frame, its end, or the read timeout.
    fn poll_stream(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(stream).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                self.armed = false;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => self.fail(BodyError::Upstream(e.to_string())),
            Poll::Ready(None) => {
                self.stream = None;
                self.finish();
                Poll::Ready(None)
            }
            Poll::Pending => match self.poll_timer(cx) {
                Poll::Ready(()) => self.fail(BodyError::Timeout(self.read)),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    /// Keeps the request counted in flight until the body ends.
    pub fn hold(&mut self, in_flight: Option<InFlight>) {
        if !matches!(self.left, Left::Done) {
            self.in_flight = in_flight;
        }
    }

    /// The connection of a `101 Switching Protocols` response.
    pub fn take_upgraded(&mut self) -> Option<Upgraded> {
        if self.back.is_some() || !matches!(self.left, Left::Done) {
            return None;
        }
        self.conn.take().map(|c| Upgraded {
            io: c.io,
            read: c.read,
        })
    }

    /// The body ended: the connection goes back when it may be reused and
    /// the node sent nothing past the body.
    fn finish(&mut self) {
        self.left = Left::Done;
        self.in_flight = None;
        if let (Some(conn), Some(g)) = (self.conn.take(), self.back.take()) {
            if conn.read.is_empty() {
                g.pool.put(&g.key, &g.limits, conn);
            }
        }
    }

    fn fail(&mut self, e: BodyError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.stream = None;
        self.left = Left::Done;
        self.in_flight = None;
        self.conn = None;
        self.back = None;
        Poll::Ready(Some(Err(e)))
    }

    /// Data already read, if any; finishes the body when it is complete.
    fn buffered(&mut self) -> Result<Option<Bytes>, String> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(None);
        };
        let data = match &mut self.left {
            Left::Length(left) => {
                if conn.read.is_empty() {
                    return Ok(None);
                }
                let n = usize::try_from(*left)
                    .unwrap_or(usize::MAX)
                    .min(conn.read.len());
                *left -= n as u64;
                let data = conn.read.split_to(n).freeze();
                if *left == 0 {
                    self.finish();
                }
                data
            }
            Left::Chunked(d) => {
                let data = d.decode(&mut conn.read)?;
                if d.done() {
                    self.finish();
                }
                match data {
                    Some(data) => data,
                    None => return Ok(None),
                }
            }
            Left::UntilClose if !conn.read.is_empty() => conn.read.split().freeze(),
            Left::UntilClose | Left::Done => return Ok(None),
        };
        Ok(Some(data))
    }

    /// Waits for the read timeout while the node sends nothing.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = Instant::now() + self.read;
        let timer = match &mut self.timer {
            Some(t) => {
                if !self.armed {
                    t.as_mut().reset(deadline);
                }
                t
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        self.armed = true;
        timer.as_mut().poll(cx)
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if this.stream.is_some() {
            return this.poll_stream(cx);
        }
        loop {
            match this.buffered() {
                Ok(Some(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                Ok(None) => {}
                Err(e) => return this.fail(BodyError::Upstream(e)),
            }
            if matches!(this.left, Left::Done) {
                return Poll::Ready(None);
            }
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            match conn.poll_fill(cx) {
                Poll::Ready(Ok(0)) => {
                    if matches!(this.left, Left::UntilClose) {
                        this.conn = None;
                        this.finish();
                        return Poll::Ready(None);
                    }
                    let e = "the node closed the connection before the body ended";
                    return this.fail(BodyError::Upstream(e.to_owned()));
                }
                Poll::Ready(Ok(_)) => this.armed = false,
                Poll::Ready(Err(e)) => return this.fail(BodyError::Upstream(e.to_string())),
                Poll::Pending => {
                    return match this.poll_timer(cx) {
                        Poll::Ready(()) => this.fail(BodyError::Timeout(this.read)),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.left, Left::Done)
    }

    fn size_hint(&self) -> SizeHint {
        if let Some(s) = &self.stream {
            return s.size_hint();
        }
        match self.left {
            Left::Length(n) => SizeHint::with_exact(n),
            Left::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}
