//! One connection to a node, plain or TLS, with its read buffer: what the
//! pool keeps between requests and what a response body reads from.

use std::future::Future as _;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;

/// Bytes read from a node at a time (and the read buffer's first size).
const READ_CHUNK: usize = 8 * 1024;

/// The byte stream to a node.
#[derive(Debug)]
pub enum Io {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP (`scheme: https`).
    Tls(Box<TlsStream<TcpStream>>),
}

impl Io {
    fn tcp(&self) -> &TcpStream {
        match self {
            Io::Plain(s) => s,
            Io::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A connection to a node: the stream, bytes read but not yet used, a
/// buffer for request heads, and how many requests it carried.
#[derive(Debug)]
pub struct Connection {
    /// The stream.
    pub io: Io,
    /// Read from the node, not yet consumed.
    pub read: BytesMut,
    /// Where request heads are written before they go out (kept for reuse).
    pub write: BytesMut,
    /// Requests it carried so far.
    pub used: u32,
}

impl Connection {
    /// A fresh connection over `io`.
    pub fn new(io: Io) -> Connection {
        Connection {
            io,
            read: BytesMut::with_capacity(READ_CHUNK),
            write: BytesMut::with_capacity(512),
            used: 0,
        }
    }

    /// Whether an idle connection can no longer carry a request: the node
    /// closed it, reset it, or sent bytes nobody asked for. Costs no system
    /// call unless the reactor saw the socket become readable.
    pub fn stale(&self) -> bool {
        let tcp = self.io.tcp();
        let mut cx = Context::from_waker(Waker::noop());
        match tcp.poll_read_ready(&mut cx) {
            Poll::Pending => false,
            Poll::Ready(Err(_)) => true,
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                !matches!(tcp.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
        }
    }

    /// Reads more from the node into `read`; 0 when the node closed.
    pub fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.read.capacity() - self.read.len() < READ_CHUNK / 4 {
            self.read.reserve(READ_CHUNK);
        }
        let fill = self.io.read_buf(&mut self.read);
        std::pin::pin!(fill).as_mut().poll(cx)
    }

    /// [`poll_fill`](Connection::poll_fill) as a future.
    pub async fn fill(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// Writes every slice within `limit` per write (nginx's send timeout:
    /// between two successive writes, not for the whole body).
    pub async fn write_all(&mut self, bufs: &mut [IoSlice<'_>], limit: Duration) -> io::Result<()> {
        let mut bufs = bufs;
        while !bufs.is_empty() {
            // A write the socket takes at once (the common case) needs no timer.
            let now = std::future::poll_fn(|cx| {
                Poll::Ready(Pin::new(&mut self.io).poll_write_vectored(cx, bufs))
            });
            let n = match now.await {
                Poll::Ready(r) => r?,
                Poll::Pending => match timeout(limit, self.io.write_vectored(bufs)).await {
                    Ok(r) => r?,
                    Err(_) => return Err(send_timed_out()),
                },
            };
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut bufs, n);
        }
        Ok(())
    }

    /// Flushes what TLS still holds, within `limit`.
    pub async fn flush(&mut self, limit: Duration) -> io::Result<()> {
        match &mut self.io {
            Io::Plain(_) => Ok(()),
            Io::Tls(s) => match timeout(limit, s.flush()).await {
                Ok(r) => r,
                Err(_) => Err(send_timed_out()),
            },
        }
    }
}

/// What a write that hit the send timeout returns.
fn send_timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "send timed out")
}
