//! The connection state the native server shares with a request's body:
//! the client's stream and its read buffer, and how much of the body is
//! left. The body reads straight from that buffer (a data frame is a
//! slice of it, not a copy) and, when the client sent `Expect:
//! 100-continue`, writes the `100 Continue` on its first read. What the
//! pipeline leaves unread is the connection's to drop before the next
//! request ([`discard`]).

use std::future::Future as _;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite};

use super::parse::BodyKind;
use crate::upstream::h1::Chunked;

/// A client stream the native server serves: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 8192;
/// The interim answer to `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// How much of the request body is left to read.
#[derive(Debug)]
pub enum Left {
    /// This many bytes.
    Length(u64),
    /// Chunks until the last one.
    Chunked(Chunked),
    /// Nothing: the body was read to its end (or there was none).
    Done,
    /// The body broke its framing or the client went away: the
    /// connection cannot carry another request.
    Broken,
}

impl Left {
    /// The state of a body framed as `kind`.
    pub fn of(kind: BodyKind) -> Left {
        match kind {
            BodyKind::Empty => Left::Done,
            BodyKind::Length(n) => Left::Length(n),
            BodyKind::Chunked => Left::Chunked(Chunked::default()),
        }
    }
}

/// Where the `100 Continue` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continue {
    /// Not asked for, or sent already.
    No,
    /// Asked for and due at the first read; bytes of it written so far.
    Due(usize),
}

/// What the connection and its request's body share.
pub struct Shared {
    /// The client's stream; taken away by an upgrade.
    pub io: Option<Box<dyn Io>>,
    /// Bytes read from the client and not used yet: the rest of the body,
    /// then pipelined requests.
    pub buf: BytesMut,
    /// The current request's body.
    pub left: Left,
    /// The current request's `100 Continue`.
    pub cont: Continue,
}

/// The shared state, as each side holds it.
pub type Link = Arc<Mutex<Shared>>;

/// Locks `link`; a poisoned lock (no code here panics while holding it)
/// is used as it is.
pub fn lock(link: &Link) -> MutexGuard<'_, Shared> {
    link.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Reads more from the client into `buf`; 0 when it closed its side.
    pub fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(io) = self.io.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        if self.buf.capacity() == 0 {
            // No buffer while idle: what comes is read on the stack and a
            // buffer made for it.
            let mut first = [0u8; 2048];
            let mut rb = tokio::io::ReadBuf::new(&mut first);
            return match std::pin::Pin::new(io).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n > 0 {
                        self.buf = BytesMut::with_capacity(READ_CHUNK.max(n));
                        self.buf.extend_from_slice(rb.filled());
                    }
                    Poll::Ready(Ok(n))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            };
        }
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            self.buf.reserve(READ_CHUNK);
        }
        let fill = io.read_buf(&mut self.buf);
        std::pin::pin!(fill).as_mut().poll(cx)
    }

    /// Writes what is due of the `100 Continue`.
    fn poll_continue(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Continue::Due(at) = self.cont {
            let Some(io) = self.io.as_mut() else {
                return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
            };
            match std::pin::Pin::new(io).poll_write(cx, &CONTINUE[at..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) if at + n == CONTINUE.len() => self.cont = Continue::No,
                Poll::Ready(Ok(n)) => self.cont = Continue::Due(at + n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// The next piece of the body from `buf`, `Ok(None)` when `buf` holds
    /// none yet; the body's end is `left` turning `Done`.
    fn take(&mut self) -> io::Result<Option<Bytes>> {
        match &mut self.left {
            Left::Length(0) => {
                self.left = Left::Done;
                Ok(None)
            }
            Left::Length(n) => {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                let take = usize::try_from(*n)
                    .unwrap_or(usize::MAX)
                    .min(self.buf.len());
                *n -= take as u64;
                if *n == 0 {
                    self.left = Left::Done;
                }
                Ok(Some(self.buf.split_to(take).freeze()))
            }
            Left::Chunked(c) => match c.decode(&mut self.buf) {
                Ok(data) => {
                    if c.done() {
                        self.left = Left::Done;
                    }
                    Ok(data)
                }
                Err(e) => {
                    self.left = Left::Broken;
                    Err(io::Error::new(io::ErrorKind::InvalidData, e))
                }
            },
            Left::Done => Ok(None),
            Left::Broken => Err(io::Error::other("request body broken off")),
        }
    }

    /// The next piece of the body: `None` at its end.
    pub fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        if let Poll::Ready(Err(e)) = self.poll_continue(cx) {
            self.left = Left::Broken;
            return Poll::Ready(Some(Err(e)));
        }
        if self.cont != Continue::No {
            return Poll::Pending;
        }
        loop {
            match self.take() {
                Ok(Some(data)) if !data.is_empty() => return Poll::Ready(Some(Ok(data))),
                Ok(_) if matches!(self.left, Left::Done) => return Poll::Ready(None),
                Ok(_) => {}
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
            match self.poll_fill(cx) {
                Poll::Ready(Ok(0)) => {
                    self.left = Left::Broken;
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client closed the connection before the body's end",
                    );
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    self.left = Left::Broken;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A request body as the native server hands it to the pipeline (inside
/// [`ClientBody`](crate::proxy::ClientBody), which holds the limits).
#[derive(Debug)]
pub struct RequestBody {
    link: Link,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("buffered", &self.buf.len())
            .field("left", &self.left)
            .finish()
    }
}

impl RequestBody {
    /// The body of the request the connection behind `link` just read.
    pub fn new(link: Link) -> RequestBody {
        RequestBody { link }
    }

    /// The next piece of the body; `None` at its end.
    pub fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        lock(&self.link).poll_data(cx)
    }

    /// Whether the body has been read to its end.
    pub fn is_end_stream(&self) -> bool {
        matches!(lock(&self.link).left, Left::Done)
    }

    /// The bytes left when the length is known.
    pub fn exact_left(&self) -> Option<u64> {
        match lock(&self.link).left {
            Left::Length(n) => Some(n),
            Left::Done => Some(0),
            _ => None,
        }
    }

    /// Marks the body as ended by a limit: the connection then closes
    /// after the answer instead of reading the rest.
    pub fn poison(&self) {
        let mut s = lock(&self.link);
        if !matches!(s.left, Left::Done) {
            s.left = Left::Broken;
        }
    }
}

/// Reads what is left of the body behind `link` and drops it, up to
/// `limit` bytes within `time`; whether the connection can carry another
/// request. Never when the client waits for a `100 Continue` it did not
/// get (it may never send the body).
pub async fn discard(link: &Link, limit: u64, time: Duration) -> bool {
    {
        let s = lock(link);
        match s.left {
            Left::Done => return true,
            Left::Broken => return false,
            _ if s.cont != Continue::No => return false,
            _ => {}
        }
    }
    let read = async {
        let mut left = limit;
        loop {
            match std::future::poll_fn(|cx| lock(link).poll_data(cx)).await {
                None => return true,
                Some(Ok(data)) => match left.checked_sub(data.len() as u64) {
                    Some(l) => left = l,
                    None => return false,
                },
                Some(Err(_)) => return false,
            }
        }
    };
    tokio::time::timeout(time, read).await.unwrap_or(false)
}
