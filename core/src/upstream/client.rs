//! The client that carries requests to nodes: HTTP/1.1 connections made
//! with hyper's connection API (plain or TLS), kept in the worker's own
//! [`Pool`] and reused under the upstream's `keepalive_pool` limits, with
//! `timeout {connect, send, read}` applied per try. The response body
//! gives its connection back to the pool once it has been read to the end.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONNECTION};
use http::{Request, Response};
use http_body_util::{Either, Empty};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::rt::{Read, Write};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant, Sleep};

use super::pool::{Pool, PoolKey, PoolLimits, Pooled};
use super::{Node, Timeouts, UpstreamRt};

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The node could not be reached (refused, unreachable, TLS failed).
    #[error("connect failed: {0}")]
    Connect(String),
    /// The node took longer than the timeout to accept or to answer.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection failed while the request or response head was in flight.
    #[error("upstream failed: {0}")]
    Upstream(String),
}

/// A failed try: why, and the request when none of it was sent (so it
/// may go to another node as it is).
#[derive(Debug)]
pub struct Failure {
    /// Why.
    pub error: ForwardError,
    /// The request, untouched, when nothing of it reached the node.
    pub unsent: Option<Request<ReqBody>>,
}

/// A request body towards a node: the client's, streamed, or none (a
/// replay of a request that had no body).
pub type ReqBody = Either<Incoming, Empty<Bytes>>;

/// A worker's client to every node of every upstream.
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    pool: Arc<Pool>,
}

impl UpstreamClient {
    /// A client with an empty pool; made inside the worker's runtime, whose
    /// task sweeps the pool's idle connections.
    pub fn new() -> Self {
        UpstreamClient {
            pool: Pool::start(),
        }
    }

    /// Sends `req` (origin-form URI, `Host` set) to `node` of `up`: a
    /// pooled connection when one is idle, else a new one within
    /// `t.connect`; then waits at most `t.send + t.read` for the response
    /// head. The body then streams with at most `t.read` between chunks.
    pub async fn send(
        &self,
        up: &UpstreamRt,
        node: &Node,
        mut req: Request<ReqBody>,
        t: Timeouts,
    ) -> Result<Response<PooledBody>, Failure> {
        let limits = up.keepalive;
        // A pooled connection the node closed meanwhile gives the request
        // back unsent: then one new connection is made.
        for pooled in [self.pool.take(&node.pool_key), None] {
            let reused = pooled.is_some();
            let mut conn = match pooled {
                Some(c) => c,
                // Boxed: the rare path stays out of every request's future.
                None => match timeout(t.connect, Box::pin(connect(up, node))).await {
                    Ok(Ok(tx)) => Pooled { tx, used: 0 },
                    Ok(Err(e)) => return Err(unsent(ForwardError::Connect(e), req)),
                    Err(_) => return Err(unsent(ForwardError::Timeout(t.connect), req)),
                },
            };
            conn.used += 1;
            if conn.used >= limits.requests {
                // The last request this connection carries: tell the node too.
                req.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            let head = t.send + t.read;
            let deadline = Instant::now() + head;
            // A pooled connection may still be finishing its last response
            // (no timer is made when it is ready, the common case).
            if !conn.tx.is_ready() {
                match timeout_at(deadline, conn.tx.ready()).await {
                    Err(_) => return Err(unsent(ForwardError::Timeout(head), req)),
                    Ok(Err(_)) if reused => continue,
                    Ok(Err(e)) => return Err(unsent(ForwardError::Upstream(chain(&e)), req)),
                    Ok(Ok(())) => {}
                }
            }
            match timeout_at(deadline, conn.tx.try_send_request(req)).await {
                Err(_) => return Err(sent_failure(ForwardError::Timeout(head))),
                Ok(Ok(resp)) => return Ok(self.wrap(resp, conn, node, limits, t.read)),
                Ok(Err(mut e)) => match e.take_message() {
                    Some(back) if reused => req = back,
                    Some(back) => {
                        return Err(unsent(ForwardError::Upstream(chain(e.error())), back))
                    }
                    None => return Err(sent_failure(ForwardError::Upstream(chain(e.error())))),
                },
            }
        }
        Err(sent_failure(ForwardError::Upstream(
            "no connection could carry the request".to_owned(),
        )))
    }

    fn wrap(
        &self,
        resp: Response<Incoming>,
        conn: Pooled,
        node: &Node,
        limits: PoolLimits,
        read: Duration,
    ) -> Response<PooledBody> {
        let upgraded = resp.status() == http::StatusCode::SWITCHING_PROTOCOLS;
        let mut back = (!upgraded).then(|| Giveback {
            pool: self.pool.clone(),
            key: node.pool_key.clone(),
            limits,
            conn,
        });
        let (parts, body) = resp.into_parts();
        if body.is_end_stream() {
            if let Some(g) = back.take() {
                g.give();
            }
        }
        Response::from_parts(
            parts,
            PooledBody {
                inner: body,
                back,
                read,
                timer: None,
                armed: false,
            },
        )
    }
}

impl Default for UpstreamClient {
    fn default() -> Self {
        Self::new()
    }
}

fn unsent(error: ForwardError, req: Request<ReqBody>) -> Failure {
    Failure {
        error,
        unsent: Some(req),
    }
}

fn sent_failure(error: ForwardError) -> Failure {
    Failure {
        error,
        unsent: None,
    }
}

/// A new connection to `node`: TCP (no Nagle), TLS when the upstream is
/// `https`, then hyper's HTTP/1.1 handshake; the connection is driven by
/// its own task until it closes.
async fn connect(up: &UpstreamRt, node: &Node) -> Result<SendRequest<ReqBody>, String> {
    let tcp = TcpStream::connect(node.authority.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    match &up.tls {
        None => handshake(TokioIo::new(tcp)).await,
        Some(tls) => {
            let name = node
                .server_name
                .clone()
                .ok_or_else(|| format!("{} is not a TLS server name", node.authority))?;
            let stream = tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake: {e}"))?;
            handshake(TokioIo::new(stream)).await
        }
    }
}

async fn handshake<T>(io: T) -> Result<SendRequest<ReqBody>, String>
where
    T: Read + Write + Unpin + Send + 'static,
{
    let (tx, conn) = http1::Builder::new()
        .handshake(io)
        .await
        .map_err(|e| chain(&e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %chain(&e), "upstream connection ended with an error");
        }
    });
    Ok(tx)
}

/// What hands a connection back to the pool once its response is read.
struct Giveback {
    pool: Arc<Pool>,
    key: PoolKey,
    limits: PoolLimits,
    conn: Pooled,
}

impl Giveback {
    fn give(self) {
        self.pool.put(&self.key, &self.limits, self.conn);
    }
}

/// Why a response body stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The connection failed mid-body.
    #[error("upstream body: {0}")]
    Upstream(#[from] hyper::Error),
    /// No data came for the read timeout.
    #[error("upstream body: nothing read for {0:?}")]
    Timeout(Duration),
}

/// A node's response body, streamed; its connection goes back to the pool
/// when the body ends, and is closed when it is dropped before.
pub struct PooledBody {
    inner: Incoming,
    back: Option<Giveback>,
    read: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl std::fmt::Debug for PooledBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledBody")
            .field("pooled", &self.back.is_some())
            .finish_non_exhaustive()
    }
}

impl PooledBody {
    fn give_back(&mut self) {
        if let Some(g) = self.back.take() {
            g.give();
        }
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
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.armed = false;
                if this.inner.is_end_stream() {
                    this.give_back();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => {
                this.give_back();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                this.back = None;
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Pending => {
                let deadline = Instant::now() + this.read;
                let timer = match &mut this.timer {
                    Some(t) => {
                        if !this.armed {
                            t.as_mut().reset(deadline);
                        }
                        t
                    }
                    None => this
                        .timer
                        .insert(Box::pin(tokio::time::sleep_until(deadline))),
                };
                this.armed = true;
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.back = None;
                        Poll::Ready(Some(Err(BodyError::Timeout(this.read))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // A body nobody polled to the end is still complete when the node
        // sent none (HEAD, 204, 304, length 0).
        if self.inner.is_end_stream() {
            self.give_back();
        }
    }
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
