//! The floor of an HTTP/1.1 proxy on this machine: the least a proxy can
//! do per request, on two I/O models. Each connection's requests (heads
//! only, as wrk sends them) are parsed with httparse and forwarded as they
//! are to one upstream connection of the client connection's own; each
//! answer is read by its Content-Length and written back. No routing, no
//! header rewriting, no timeouts: what is left is the runtime and the
//! system calls.
//!
//! ```text
//! proxy-floor tokio|monoio-uring|monoio-epoll LISTEN UPSTREAM
//! ```
//!
//! `tokio`: tokio's current-thread runtime (epoll), as a radixgate worker.
//! `monoio-uring`: monoio on io_uring. `monoio-epoll`: monoio on epoll, to
//! tell the runtime from the I/O model. One thread in every mode.
use std::net::SocketAddr;

/// The initial size of each connection's request and answer buffers.
const BUF: usize = 8192;

/// What ends a connection: an I/O error or a message the floor cannot read.
type Failure = String;

/// The length of the complete request head at the start of `b`, if any.
fn request_len(b: &[u8]) -> Result<Option<usize>, Failure> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(b) {
        Ok(httparse::Status::Complete(n)) => Ok(Some(n)),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(format!("request: {e}")),
    }
}

/// The length of the complete answer (head and Content-Length body) at the
/// start of `b`, if any.
fn response_len(b: &[u8]) -> Result<Option<usize>, Failure> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(b) {
        Ok(httparse::Status::Complete(head)) => {
            let body = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| {
                    std::str::from_utf8(h.value)
                        .ok()?
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
                .ok_or("answer without a Content-Length")?;
            Ok((b.len() >= head + body).then_some(head + body))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(format!("answer: {e}")),
    }
}

/// What the forwarder needs of a TCP stream, on each runtime.
trait Stream: Sized {
    /// Connects to `addr`.
    async fn open(addr: SocketAddr) -> std::io::Result<Self>;
    /// Turns Nagle's algorithm off.
    fn no_delay(&self) -> std::io::Result<()>;
    /// Reads into `buf`'s spare room; Ok(0) at the end of the stream.
    async fn read_into(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize>;
    /// Writes `buf[..n]` whole (and leaves `buf` as it was).
    async fn write_head_of(&mut self, buf: &mut Vec<u8>, n: usize) -> std::io::Result<()>;
}

/// Reads more into `buf` (grown when full); Ok(0) at the end of the stream.
async fn read_more<S: Stream>(s: &mut S, buf: &mut Vec<u8>) -> Result<usize, Failure> {
    if buf.capacity() == buf.len() {
        buf.reserve(BUF);
    }
    s.read_into(buf).await.map_err(|e| e.to_string())
}

/// Writes `buf[..n]` whole, then drops it from the buffer.
async fn write_front<S: Stream>(s: &mut S, buf: &mut Vec<u8>, n: usize) -> Result<(), Failure> {
    s.write_head_of(buf, n).await.map_err(|e| e.to_string())?;
    buf.drain(..n);
    Ok(())
}

/// Serves an accepted client until it closes; a failure is printed.
async fn connection<S: Stream>(client: S, upstream: SocketAddr) {
    if let Err(e) = serve(client, upstream).await {
        eprintln!("connection: {e}");
    }
}

/// Forwards `client`'s requests to `upstream` on a connection of its own
/// (made at the first request) until the client closes.
async fn serve<S: Stream>(mut client: S, upstream: SocketAddr) -> Result<(), Failure> {
    client.no_delay().map_err(|e| e.to_string())?;
    let mut node: Option<S> = None;
    let mut req = Vec::with_capacity(BUF);
    let mut resp = Vec::with_capacity(BUF);
    loop {
        let n = loop {
            if let Some(n) = request_len(&req)? {
                break n;
            }
            if read_more(&mut client, &mut req).await? == 0 {
                return Ok(());
            }
        };
        let node = match &mut node {
            Some(s) => s,
            None => {
                let s = S::open(upstream).await.map_err(|e| e.to_string())?;
                s.no_delay().map_err(|e| e.to_string())?;
                node.insert(s)
            }
        };
        write_front(node, &mut req, n).await?;
        let m = loop {
            if let Some(m) = response_len(&resp)? {
                break m;
            }
            if read_more(node, &mut resp).await? == 0 {
                return Err("the upstream closed".into());
            }
        };
        write_front(&mut client, &mut resp, m).await?;
    }
}

mod on_tokio {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    impl Stream for TcpStream {
        async fn open(addr: SocketAddr) -> std::io::Result<Self> {
            TcpStream::connect(addr).await
        }

        fn no_delay(&self) -> std::io::Result<()> {
            self.set_nodelay(true)
        }

        async fn read_into(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
            self.read_buf(buf).await
        }

        async fn write_head_of(&mut self, buf: &mut Vec<u8>, n: usize) -> std::io::Result<()> {
            self.write_all(&buf[..n]).await
        }
    }

    /// Serves `listen` on a current-thread runtime until the process ends.
    pub fn run(listen: SocketAddr, upstream: SocketAddr) -> Result<(), Failure> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let listener = TcpListener::bind(listen).await.map_err(|e| e.to_string())?;
            loop {
                if let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(connection(client, upstream));
                }
            }
        })
    }
}

mod on_monoio {
    use super::*;
    use monoio::buf::IoBuf;
    use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
    use monoio::net::{TcpListener, TcpStream};

    /// monoio lends the buffer to the kernel and gives it back.
    impl Stream for TcpStream {
        async fn open(addr: SocketAddr) -> std::io::Result<Self> {
            TcpStream::connect(addr).await
        }

        fn no_delay(&self) -> std::io::Result<()> {
            self.set_nodelay(true)
        }

        async fn read_into(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
            let (r, b) = self.read(std::mem::take(buf)).await;
            *buf = b;
            r
        }

        async fn write_head_of(&mut self, buf: &mut Vec<u8>, n: usize) -> std::io::Result<()> {
            let (r, slice) = self.write_all(std::mem::take(buf).slice(0..n)).await;
            *buf = slice.into_inner();
            r.map(|_| ())
        }
    }

    /// Accepts on `listen` until the process ends (inside a monoio runtime).
    pub async fn run(listen: SocketAddr, upstream: SocketAddr) -> Result<(), Failure> {
        let listener = TcpListener::bind(listen).map_err(|e| e.to_string())?;
        loop {
            if let Ok((client, _)) = listener.accept().await {
                monoio::spawn(connection(client, upstream));
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addrs = (
        args.get(2).map(|a| a.parse()),
        args.get(3).map(|a| a.parse()),
    );
    let (Some(mode), (Some(Ok(listen)), Some(Ok(upstream)))) = (args.get(1), addrs) else {
        eprintln!("usage: proxy-floor tokio|monoio-uring|monoio-epoll LISTEN_ADDR UPSTREAM_ADDR");
        std::process::exit(2);
    };
    let served = match mode.as_str() {
        "tokio" => on_tokio::run(listen, upstream),
        "monoio-uring" => monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .with_entries(1024)
            .build()
            .map_err(|e| format!("io_uring runtime: {e}"))
            .and_then(|mut rt| rt.block_on(on_monoio::run(listen, upstream))),
        "monoio-epoll" => monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .build()
            .map_err(|e| format!("epoll runtime: {e}"))
            .and_then(|mut rt| rt.block_on(on_monoio::run(listen, upstream))),
        other => Err(format!("unknown mode {other}")),
    };
    if let Err(e) = served {
        eprintln!("proxy-floor: {e}");
        std::process::exit(1);
    }
}
