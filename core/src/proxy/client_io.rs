//! A client connection as the gateway's servers hold it (the proxy's, the
//! Admin API's, the metrics listener's): a write that makes no progress
//! for the send timeout fails (nginx's `send_timeout`: between two
//! writes, not for the whole response), the time the last byte moved
//! either way is kept for the keep-alive timeout, and the connection
//! counts against its listener's cap until it is dropped. It stays the
//! same stream after a WebSocket upgrade, so a tunnel's writes to the
//! client are bounded too.

use std::future::Future as _;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// The most connections a listener keeps open; each accepted connection
/// holds a [`Slot`] until it closes.
#[derive(Debug, Clone)]
pub struct ConnCap {
    open: Arc<AtomicUsize>,
    max: usize,
    /// Second (since `start`) of the last "cap reached" warning.
    warned: Arc<AtomicU64>,
    start: Instant,
}

/// One open connection counted by a [`ConnCap`]; the count drops with it.
#[derive(Debug)]
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ConnCap {
    /// A cap of `max` connections open at once.
    pub fn new(max: usize) -> ConnCap {
        ConnCap {
            open: Arc::default(),
            max: max.max(1),
            warned: Arc::new(AtomicU64::new(u64::MAX)),
            start: Instant::now(),
        }
    }

    /// A slot for a connection just accepted, or `None` when `max` are
    /// open: the caller closes it at once. Warns at most once every 10 s,
    /// naming `listener`.
    pub fn admit(&self, listener: &str) -> Option<Slot> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < self.max).then_some(n + 1)
            });
        if taken.is_ok() {
            return Some(Slot(self.open.clone()));
        }
        let now = self.start.elapsed().as_secs();
        let last = self.warned.load(Ordering::Relaxed);
        if last == u64::MAX || now >= last + 10 {
            self.warned.store(now, Ordering::Relaxed);
            tracing::warn!(
                listener,
                max = self.max,
                "connection limit reached: new connections are closed at once"
            );
        }
        None
    }

    /// Connections open now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

/// When a connection last moved a byte, read by its keep-alive watch.
#[derive(Debug)]
pub struct Activity {
    start: Instant,
    /// Milliseconds since `start` of the last byte read or written.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// How long the connection has moved no byte.
    pub fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// A byte stream under a send timeout, its activity recorded.
#[derive(Debug)]
pub struct TimedIo<S> {
    stream: S,
    send_timeout: Duration,
    /// Runs while a write waits for the socket; made on the first wait.
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
    /// Made on the first [`TimedIo::activity`]: a stream nothing watches
    /// records none.
    activity: Option<Arc<Activity>>,
    _slot: Option<Slot>,
}

/// A client's TCP connection under the send timeout.
pub type ClientIo = TimedIo<TcpStream>;

impl<S> TimedIo<S> {
    /// Wraps `stream`; `slot` (its place under the listener's cap) is
    /// freed when this is dropped.
    pub fn new(stream: S, send_timeout: Duration, slot: Option<Slot>) -> TimedIo<S> {
        TimedIo {
            stream,
            send_timeout,
            timer: None,
            armed: false,
            activity: None,
            _slot: slot,
        }
    }

    /// The connection's activity, for a keep-alive watch: recorded from
    /// this call on.
    pub fn activity(&mut self) -> Arc<Activity> {
        self.activity
            .get_or_insert_with(|| Arc::new(Activity::new()))
            .clone()
    }

    fn touch(&self) {
        if let Some(a) = &self.activity {
            a.touch();
        }
    }

    /// After a write found the socket full: pending until the send timeout
    /// passes without progress, then the error.
    fn wait_writable<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let deadline = Instant::now() + self.send_timeout;
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
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "client took no data for {:?} (send_timeout)",
                    self.send_timeout
                ),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn wrote(&mut self, r: &io::Result<usize>) {
        self.armed = false;
        if matches!(r, Ok(n) if *n > 0) {
            self.touch();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.wrote(&r);
                Poll::Ready(r)
            }
            Poll::Pending => this.wait_writable(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                this.wrote(&r);
                Poll::Ready(r)
            }
            Poll::Pending => this.wait_writable(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_admits_up_to_max_and_frees_on_drop() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let cap = ConnCap::new(2);
            let a = cap.admit("t").expect("first");
            let _b = cap.admit("t").expect("second");
            assert!(cap.admit("t").is_none());
            drop(a);
            assert_eq!(cap.open(), 1);
            assert!(cap.admit("t").is_some());
        });
    }
}
