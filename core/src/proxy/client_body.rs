//! The client's request body as it travels through the pipeline, under
//! the client limits: more than `client_max_body_size` bytes, or a wait
//! longer than `client_body_timeout` between two reads, ends it with an
//! error the pipeline answers with 413 or 408 (and the connection then
//! closes). When the request is answered without its body being read to
//! the end (no route, a plugin's or the gateway's own answer, a failed
//! try), what is left is read and dropped on a task of its own, up to a
//! limit, so that the client's kept-alive connection carries its next
//! request. hyper on its own reads only what has already arrived and
//! otherwise closes the connection after the answer, which did not say
//! so: the client's next request on it fails. A body of the native
//! HTTP/1.1 server (`h1`) is read from its connection's buffer, and its
//! leftover is dropped by the connection itself before its next request.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use super::h1::RequestBody;

/// Most bytes of an unread body read and dropped; a larger one closes
/// the connection instead.
pub(crate) const DISCARD_LIMIT: u64 = 1024 * 1024;
/// Longest time spent reading an unread body before closing instead.
pub(crate) const DISCARD_TIME: Duration = Duration::from_secs(5);

/// Why a request body ended before its end.
#[derive(Debug, thiserror::Error)]
pub enum ClientBodyError {
    /// More than `client_max_body_size` bytes.
    #[error("request body larger than {0} bytes (client_max_body_size)")]
    TooLarge(u64),
    /// Nothing came for `client_body_timeout`.
    #[error("nothing read of the request body for {0:?} (client_body_timeout)")]
    Timeout(Duration),
    /// The client's connection failed or broke the framing.
    #[error("reading the request body: {0}")]
    Read(hyper::Error),
    /// The client's connection failed or broke the framing (native server).
    #[error("reading the request body: {0}")]
    Connection(std::io::Error),
}

impl ClientBodyError {
    /// The status the client is answered with, as nginx answers.
    pub fn status(&self) -> StatusCode {
        match self {
            ClientBodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ClientBodyError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ClientBodyError::Read(_) | ClientBodyError::Connection(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// What a request body may be: at most `max` bytes (0: no limit), at most
/// `timeout` between two reads.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Most bytes; 0 for no limit.
    pub max: u64,
    /// Longest wait between two reads.
    pub timeout: Duration,
}

/// Most bytes of a body read whole for plugins when
/// `client_max_body_size` sets no limit: a larger one gets 413.
pub const READ_WHOLE_MAX: u64 = 8 << 20;

/// A request body under [`BodyLimits`], read and dropped in the background
/// when it is dropped before its end.
#[derive(Debug)]
pub struct ClientBody {
    inner: Option<Source>,
    /// The body read whole ([`ClientBody::read_whole`]), sent as one frame.
    whole: Option<Bytes>,
    /// Whether the leftover may be read: not when the client waits for
    /// `100 Continue` (reading would invite the body it did not send), nor
    /// after a limit ended the body.
    discard: bool,
    limits: BodyLimits,
    /// Bytes read so far.
    read: u64,
    /// Runs while a read waits for the client; made on the first wait.
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

/// Where a body's bytes come from.
#[derive(Debug)]
enum Source {
    /// hyper's server (HTTP/2, or HTTP/1.1 on the hyper path).
    Hyper(Incoming),
    /// The native HTTP/1.1 server's connection.
    Native(RequestBody),
}

impl Source {
    fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ClientBodyError>>> {
        match self {
            Source::Hyper(b) => match Pin::new(b).poll_frame(cx) {
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(ClientBodyError::Read(e)))),
                Poll::Ready(Some(Ok(f))) => Poll::Ready(Some(Ok(f))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
            Source::Native(b) => match b.poll_data(cx) {
                Poll::Ready(Some(Ok(d))) => Poll::Ready(Some(Ok(Frame::data(d)))),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(ClientBodyError::Connection(e)))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Source::Hyper(b) => b.is_end_stream(),
            Source::Native(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Source::Hyper(b) => b.size_hint(),
            Source::Native(b) => b
                .exact_left()
                .map_or_else(SizeHint::new, SizeHint::with_exact),
        }
    }
}

impl ClientBody {
    /// Wraps the body of a request whose head is `headers`.
    pub fn new(body: Incoming, headers: &HeaderMap, limits: BodyLimits) -> ClientBody {
        ClientBody::of(Source::Hyper(body), headers, limits)
    }

    /// Wraps a body the native HTTP/1.1 server reads; its leftover is
    /// the connection's to drop.
    pub fn native(body: RequestBody, headers: &HeaderMap, limits: BodyLimits) -> ClientBody {
        ClientBody::of(Source::Native(body), headers, limits)
    }

    /// The body of a request without one.
    pub fn empty(limits: BodyLimits) -> ClientBody {
        ClientBody {
            inner: None,
            whole: None,
            discard: false,
            limits,
            read: 0,
            timer: None,
            armed: false,
        }
    }

    fn of(body: Source, headers: &HeaderMap, limits: BodyLimits) -> ClientBody {
        let expects = headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        ClientBody {
            inner: Some(body),
            whole: None,
            discard: !expects,
            limits,
            read: 0,
            timer: None,
            armed: false,
        }
    }

    /// Whether the body's declared length (`Content-Length`) is over the
    /// limit already: then it gets 413 before a byte of it is read.
    pub fn declared_too_large(&self) -> bool {
        let declared = self.inner.as_ref().map_or(0, |b| b.size_hint().lower());
        self.limits.max > 0 && declared > self.limits.max
    }

    /// Reads the body to its end under the limits (and at most
    /// [`READ_WHOLE_MAX`] bytes when they set none) and keeps it: the
    /// bytes, which the body then yields as one frame (trailers are
    /// dropped). An error ends the body as a read does.
    pub async fn read_whole(&mut self) -> Result<Bytes, ClientBodyError> {
        if self.limits.max == 0 {
            self.limits.max = READ_WHOLE_MAX;
        }
        let mut whole = bytes::BytesMut::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut *self).poll_frame(cx)).await
        {
            if let Ok(data) = frame?.into_data() {
                whole.extend_from_slice(&data);
            }
        }
        self.inner = None;
        let whole = whole.freeze();
        self.whole = Some(whole.clone());
        Ok(whole)
    }

    /// Ends the body with `e`: the rest is never read, so the connection
    /// closes after the answer.
    fn fail(&mut self, e: ClientBodyError) -> Poll<Option<Result<Frame<Bytes>, ClientBodyError>>> {
        self.discard = false;
        if let Some(Source::Native(b)) = self.inner.take() {
            b.poison();
        }
        Poll::Ready(Some(Err(e)))
    }

    /// Pending until the body timeout passes with nothing read.
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = Instant::now() + self.limits.timeout;
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

impl Body for ClientBody {
    type Data = Bytes;
    type Error = ClientBodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ClientBodyError>>> {
        let this = &mut *self;
        if let Some(whole) = this.whole.take() {
            return Poll::Ready(Some(Ok(Frame::data(whole))));
        }
        let Some(body) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match body.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.armed = false;
                let n = frame.data_ref().map_or(0, |d| d.len() as u64);
                this.read = this.read.saturating_add(n);
                if this.limits.max > 0 && this.read > this.limits.max {
                    return this.fail(ClientBodyError::TooLarge(this.limits.max));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => this.fail(e),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.wait(cx) {
                Poll::Ready(()) => this.fail(ClientBodyError::Timeout(this.limits.timeout)),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.whole.is_none() && self.inner.as_ref().is_none_or(Source::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        if let Some(whole) = &self.whole {
            return SizeHint::with_exact(whole.len() as u64);
        }
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Source::size_hint)
    }
}

impl Drop for ClientBody {
    fn drop(&mut self) {
        let Some(Source::Hyper(body)) = self.inner.take() else {
            return;
        };
        if body.is_end_stream() || !self.discard || body.size_hint().lower() > DISCARD_LIMIT {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(discard(body));
        }
    }
}

/// Reads `body` to its end and drops it; gives up (and the connection
/// closes) past [`DISCARD_LIMIT`] bytes or [`DISCARD_TIME`].
async fn discard(mut body: Incoming) {
    let read = async {
        let mut left = DISCARD_LIMIT;
        while let Some(Ok(frame)) =
            std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let n = frame.data_ref().map_or(0, |d| d.len() as u64);
            match left.checked_sub(n) {
                Some(l) => left = l,
                None => return,
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_TIME, read).await;
}
