//! The client that carries requests to nodes over HTTP/1.1 connections
//! (plain or TLS) kept in the worker's own [`Pool`] and reused under the
//! upstream's `keepalive_pool` limits (`grpc`/`grpcs` nodes: over HTTP/2,
//! `h2_client`). A request is written and its
//! response read in the request's own task: no connection task, no
//! channel between the two. `timeout {connect, send, read}` applies per
//! try as nginx's `proxy_*_timeout`s do.

use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt as _, Either, Empty};
use hyper::body::Body as _;
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

use super::body::{Giveback, PooledBody};
use super::conn::{Connection, Io};
use super::forwarded::Forwarded;
use super::h1::{self, ReqFraming};
use super::h2_client::H2Pool;
use super::pool::Pool;
use super::retry::{self, Delivery};
use super::{Node, Timeouts, UpstreamRt};
use crate::proxy::{ClientBody, ClientBodyError};

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The node could not be reached (refused, unreachable, TLS failed).
    #[error("connect failed: {0}")]
    Connect(String),
    /// The node took longer than the timeout to accept, take or answer.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection failed while the request or response head was in flight.
    #[error("upstream failed: {0}")]
    Upstream(String),
    /// The client's body broke a limit or failed while it was being sent:
    /// the client's fault, answered with the status the error names.
    #[error("client: {0}")]
    Client(ClientBodyError),
}

/// A failed try: why, whether the node may have received the request, and
/// the request back when the client still holds it, so that
/// [`retry::may_resend`] can send it to another node when it is whole.
#[derive(Debug)]
pub struct FailedTry {
    /// Why.
    pub error: ForwardError,
    /// The request, unless it went to an HTTP/2 node's connection.
    pub request: Option<Request<ReqBody>>,
    /// Whether `request` can be sent again as it was: its body untouched.
    pub whole: bool,
    /// Whether the node may have received (some of) it.
    pub delivery: Delivery,
}

/// A request body towards a node: the client's, streamed, or none (a
/// replay of a request that had no body).
pub type ReqBody = Either<ClientBody, Empty<Bytes>>;

/// A worker's client to every node of every upstream.
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    pool: Arc<Pool>,
    /// The HTTP/2 connections to `grpc`/`grpcs` nodes.
    h2: Arc<H2Pool>,
}

impl UpstreamClient {
    /// A client with an empty pool; made inside the worker's runtime, whose
    /// task sweeps the pool's idle connections.
    pub fn new() -> Self {
        UpstreamClient {
            pool: Pool::start(),
            h2: Arc::default(),
        }
    }

    /// Sends `req` (origin-form URI, `Host` set) to `node` of `up`: over a
    /// pooled connection when one is idle, else a new one made within
    /// `t.connect`; each write within `t.send`; the response head within
    /// `t.read` once the request is out. The body then streams with at most
    /// `t.read` between reads.
    ///
    /// `forwarded` is written into the head of an HTTP/1.1 request (for
    /// an HTTP/2 node the caller sets it in the headers). `headers_back`,
    /// when given, gets the request's headers once an HTTP/1.1 node
    /// answered (an HTTP/2 node's request takes them along).
    pub async fn send(
        &self,
        up: &UpstreamRt,
        node: &Node,
        mut req: Request<ReqBody>,
        forwarded: Option<&Forwarded<'_>>,
        t: Timeouts,
        headers_back: Option<&mut HeaderMap>,
    ) -> Result<Response<PooledBody>, FailedTry> {
        if up.http2 {
            return Box::pin(self.h2.send(up, node, req, t)).await;
        }
        let limits = up.keepalive;
        let bodiless = req.body().is_end_stream();
        // A pooled connection the node closed meanwhile gives the request
        // back as it was: then one new connection is made.
        let mut pooled = self.pool.take(&node.pool_key);
        for _ in 0..2 {
            let reused = pooled.is_some();
            let mut conn = match pooled.take() {
                Some(c) => c,
                // Boxed with its timer: the rare path stays out of every
                // request's future (which is moved into place as a whole).
                None => match Box::pin(timeout(t.connect, connect(up, node))).await {
                    Ok(Ok(io)) => Connection::new(io),
                    Ok(Err(e)) => return Err(unsent(ForwardError::Connect(e), req)),
                    Err(_) => return Err(unsent(ForwardError::Timeout(t.connect), req)),
                },
            };
            conn.used += 1;
            let last = conn.used >= limits.requests;
            let head = match exchange(&mut conn, &mut req, forwarded, last, t).await {
                Ok(head) => head,
                Err(Broken::Stale) if reused => continue,
                Err(Broken::Stale) => {
                    let e = "the node closed the connection without answering";
                    return Err(sent(ForwardError::Upstream(e.to_owned()), req, true));
                }
                Err(Broken::Unsent(e)) => return Err(unsent(e, req)),
                // A request without a body is still whole.
                Err(Broken::Sent(e)) => return Err(sent(e, req, bodiless)),
            };
            let back = (head.keep_alive && !last).then(|| Giveback {
                pool: self.pool.clone(),
                key: node.pool_key.clone(),
                limits,
            });
            let mut resp = Response::new(PooledBody::new(conn, head.framing, back, t.read));
            *resp.status_mut() = head.status;
            *resp.version_mut() = head.version;
            *resp.headers_mut() = head.headers;
            if let Some(back) = headers_back {
                *back = std::mem::take(req.headers_mut());
            }
            return Ok(resp);
        }
        let e = "no connection could carry the request".to_owned();
        Err(sent(ForwardError::Upstream(e), req, false))
    }
}

/// How an exchange on one connection failed.
enum Broken {
    /// The node closed the connection before any byte of an answer, and the
    /// request can go again as it was: its body was not touched and its
    /// method is idempotent (an idle keep-alive connection the node closed
    /// while the request was on its way).
    Stale,
    /// Failed before anything of the request could have been acted upon.
    Unsent(ForwardError),
    /// Failed after the request (or some of its body) went out.
    Sent(ForwardError),
}

/// Writes `req` on `conn` and reads the response head.
async fn exchange(
    conn: &mut Connection,
    req: &mut Request<ReqBody>,
    forwarded: Option<&Forwarded<'_>>,
    last: bool,
    t: Timeouts,
) -> Result<h1::Head, Broken> {
    // Framed from the body that is sent, whatever the headers say.
    let framing = if req.body().is_end_stream() {
        ReqFraming::None
    } else {
        match req.body().size_hint().exact() {
            Some(n) => ReqFraming::Length(n),
            None => ReqFraming::Chunked,
        }
    };
    // The head is encoded from the request in place: it stays whole for
    // a retry.
    let mut out = std::mem::take(&mut conn.write);
    out.clear();
    h1::encode_request(
        req.method(),
        req.uri(),
        req.headers(),
        forwarded,
        framing,
        last,
        &mut out,
    );
    let wrote = conn.write_all(&mut [IoSlice::new(&out)], t.send).await;
    conn.write = out;
    let send_failed = |e| send_error(e, "the request", t.send);
    // A head that could not be written whole was never acted upon.
    wrote.map_err(|e| Broken::Unsent(send_failed(e)))?;
    if framing != ReqFraming::None {
        // Boxed: most requests have no body, and every request's future is
        // moved into place as a whole.
        Box::pin(send_body(conn, req.body_mut(), framing, t.send))
            .await
            .map_err(Broken::Sent)?;
    }
    conn.flush(t.send)
        .await
        .map_err(|e| Broken::Sent(send_failed(e)))?;
    // Closed unanswered: the node may have read the request, so it goes
    // again only when the retry rules allow that.
    let replayable = retry::may_resend(
        req.method(),
        Delivery::MaybeReceived,
        framing == ReqFraming::None,
    );
    let deadline = Instant::now() + t.read;
    let mut got_bytes = !conn.read.is_empty();
    loop {
        if got_bytes {
            match h1::parse_proxied_response(&mut conn.read, req.method()) {
                Ok(Some(head)) => return Ok(head),
                Ok(None) => {}
                Err(e) => return Err(Broken::Sent(ForwardError::Upstream(e))),
            }
        }
        match timeout_at(deadline, conn.fill()).await {
            Err(_) => return Err(Broken::Sent(ForwardError::Timeout(t.read))),
            Ok(Ok(0)) | Ok(Err(_)) if !got_bytes && replayable => return Err(Broken::Stale),
            Ok(Ok(0)) => {
                let e = "the node closed the connection before the response head";
                return Err(Broken::Sent(ForwardError::Upstream(e.to_owned())));
            }
            Ok(Err(e)) => {
                let e = format!("reading the response head: {e}");
                return Err(Broken::Sent(ForwardError::Upstream(e)));
            }
            Ok(Ok(_)) => got_bytes = true,
        }
    }
}

/// Streams the client's body to the node, chunked or as it comes.
async fn send_body(
    conn: &mut Connection,
    body: &mut ReqBody,
    framing: ReqFraming,
    limit: Duration,
) -> Result<(), ForwardError> {
    let send_failed = |e| send_error(e, "the request body", limit);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| match e.downcast::<ClientBodyError>() {
            Ok(e) => ForwardError::Client(*e),
            Err(e) => ForwardError::Upstream(format!("client body: {e}")),
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers are not forwarded
        };
        if data.is_empty() {
            continue;
        }
        if framing == ReqFraming::Chunked {
            let size = format!("{:x}\r\n", data.len());
            let mut bufs = [
                IoSlice::new(size.as_bytes()),
                IoSlice::new(&data),
                IoSlice::new(b"\r\n"),
            ];
            conn.write_all(&mut bufs, limit)
                .await
                .map_err(send_failed)?;
        } else {
            conn.write_all(&mut [IoSlice::new(&data)], limit)
                .await
                .map_err(send_failed)?;
        }
    }
    if framing == ReqFraming::Chunked {
        conn.write_all(&mut [IoSlice::new(b"0\r\n\r\n")], limit)
            .await
            .map_err(send_failed)?;
    }
    Ok(())
}

/// Why writing `what` to the node failed: the send timeout, or the error.
fn send_error(e: std::io::Error, what: &str, limit: Duration) -> ForwardError {
    match e.kind() {
        std::io::ErrorKind::TimedOut => ForwardError::Timeout(limit),
        _ => ForwardError::Upstream(format!("sending {what}: {e}")),
    }
}

impl Default for UpstreamClient {
    fn default() -> Self {
        Self::new()
    }
}

fn unsent(error: ForwardError, req: Request<ReqBody>) -> FailedTry {
    FailedTry {
        error,
        request: Some(req),
        whole: true,
        delivery: Delivery::Unsent,
    }
}

fn sent(error: ForwardError, req: Request<ReqBody>, whole: bool) -> FailedTry {
    FailedTry {
        error,
        request: Some(req),
        whole,
        delivery: Delivery::MaybeReceived,
    }
}

/// A new connection to `node`: TCP (no Nagle), then TLS when the upstream
/// is `https` or `grpcs`.
pub(super) async fn connect(up: &UpstreamRt, node: &Node) -> Result<Io, String> {
    let tcp = TcpStream::connect(node.authority.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    match &up.tls {
        None => Ok(Io::Plain(tcp)),
        Some(tls) => {
            let name = node
                .server_name
                .clone()
                .ok_or_else(|| format!("{} is not a TLS server name", node.authority))?;
            let stream = tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake: {e}"))?;
            Ok(Io::Tls(Box::new(stream)))
        }
    }
}
