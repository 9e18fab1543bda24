//! The accept step: the listener's loop under the connection cap, and
//! each connection served by hyper (HTTP/1.1, HTTP/2, or either told apart
//! by the h2 preface) under the client limits, every request handed to the
//! pipeline.
//!
//! Which limit is held where: the connection cap in the accept loop
//! ([`ConnCap`]); the send timeout in the connection's stream
//! ([`ClientIo`]); the keep-alive timeout by a watch on that stream's
//! activity; the request count per connection here, the last response
//! saying `Connection: close`; body size and body timeout in
//! [`ClientBody`](super::ClientBody). hyper's own settings are used for the
//! header timeout (`header_read_timeout`, which also bounds the wait for
//! the next request's head) and the head's size (`max_buf_size`). Over
//! HTTP/2 the header timeout bounds the wait for the first request, the
//! request count sends a GOAWAY, and `gateway.http2` sets the stream
//! limits (`h2_server`).
//!
//! On the TLS listener the same connection is served over the TLS stream
//! once the handshake is done, in the protocol ALPN chose; the header
//! timeout bounds the handshake too, so a client that sends nothing, or
//! plain HTTP, is cut off.
//!
//! With `gateway.http1_server: native` (the default), a connection that
//! speaks HTTP/1.1 only (a plain listener without h2c, or TLS where ALPN
//! did not choose `h2`) is served by the gateway's own server (`h1`),
//! which holds the same limits itself; `hyper` keeps hyper's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Notify};

use super::client_body::{BodyLimits, ClientBody};
use super::client_io::{Activity, ClientIo, ConnCap};
use super::exchange::{ClientConn, WorkerContext};
pub use super::h2_server::Protocol;
use super::{h1, pipeline};
use crate::config::{Http1Server, Http2Section};
use crate::tls::TlsListener;

/// Limits on what a client may send and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A client that has not sent complete request headers by then is cut off.
    pub header_timeout: Duration,
    /// Largest request head in bytes; larger gets 431.
    pub max_header_size: usize,
    /// Largest request body in bytes (0: no limit); larger gets 413.
    pub max_body_size: u64,
    /// Longest wait between two reads of a request body; longer gets 408.
    pub body_timeout: Duration,
    /// Longest wait between two writes to the client; longer closes.
    pub send_timeout: Duration,
    /// How long an idle keep-alive connection stays open; `None`: no
    /// keep-alive (each connection carries one request).
    pub keepalive_timeout: Option<Duration>,
    /// Requests one connection may carry.
    pub keepalive_requests: u64,
    /// Connections a worker keeps open at once (per listener).
    pub max_connections: usize,
    /// HTTP/2: h2c on the plain listener, stream limits and windows.
    pub http2: Http2Section,
    /// The server HTTP/1.1-only connections are served by.
    pub http1_server: Http1Server,
}

impl Limits {
    /// hyper's HTTP/1.1 server under these limits (header timeout, head
    /// size, keep-alive).
    pub fn http1(&self) -> http1::Builder {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .max_buf_size(self.max_header_size.max(8192))
            .keep_alive(self.keepalive_timeout.is_some());
        builder
    }
}

/// Accepts connections on `listener` until `stop` turns true, then closes
/// the listener and lets each connection finish its request in flight
/// (idle keep-alive connections close at once). Each connection runs on its
/// own task under `limits` and holds a clone of `alive` until it ends, so
/// the caller can tell when all are done. Past `limits.max_connections`
/// open at once, a new connection is closed as soon as it is accepted.
/// With `tls`, each connection is a TLS one: its handshake runs first, on
/// the connection's task, within the header timeout.
pub async fn serve(
    listener: TcpListener,
    worker: Arc<WorkerContext>,
    limits: Limits,
    tls: Option<Arc<TlsListener>>,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let protocol = if limits.http2.enable {
        Protocol::Auto
    } else {
        Protocol::Http1
    };
    let cap = ConnCap::new(limits.max_connections);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped(&mut stop) => return,
        };
        let (stream, remote) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        crate::stats::accepted();
        let Some(slot) = cap.admit("proxy") else {
            continue; // dropped: closed at once
        };
        let local = match stream.local_addr() {
            Ok(a) => a,
            Err(_) => continue,
        };
        let _ = stream.set_nodelay(true);
        let mut io = ClientIo::new(stream, limits.send_timeout, Some(slot));
        let conn = ClientConn {
            remote,
            local,
            tls: None,
        };
        let (worker, stop, alive) = (worker.clone(), stop.clone(), alive.clone());
        let Some(tls) = tls.clone() else {
            if protocol == Protocol::Http1 && limits.http1_server == Http1Server::Native {
                // The native server's future is the task: nothing around it.
                tokio::spawn(h1::serve(io, conn, worker, stop, alive));
                continue;
            }
            let activity = io.activity();
            let served = connection(io, activity, protocol, conn, worker, limits, stop, alive);
            tokio::spawn(served);
            continue;
        };
        let activity = io.activity();
        tokio::spawn(async move {
            let shake = crate::tls::handshake(io, &tls, &worker.live);
            let (io, info) = match tokio::time::timeout(limits.header_timeout, shake).await {
                Ok(Ok(done)) => done,
                Ok(Err(e)) => {
                    tracing::debug!(client = %remote, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(client = %remote, "TLS handshake past header_read_timeout");
                    return;
                }
            };
            let protocol = Protocol::from_alpn(io.get_ref().1.alpn_protocol());
            let conn = ClientConn {
                tls: Some(Arc::new(info)),
                ..conn
            };
            connection(io, activity, protocol, conn, worker, limits, stop, alive).await;
        });
    }
}

/// Serves one accepted connection over `io` (which holds the send timeout
/// and the connection's slot under the cap; `activity` is its record of
/// bytes moved) in `protocol`: each request handed to the pipeline; the
/// `keepalive_requests`-th told to close (HTTP/1.1) or followed by a
/// GOAWAY (HTTP/2); the connection closes gracefully once idle past the
/// keep-alive timeout or once `stop` turns true. Holds `alive` until it
/// ends. On a TLS listener `io` is the decrypted stream and `protocol`
/// what ALPN chose ([`Protocol::from_alpn`]).
#[allow(clippy::too_many_arguments)]
async fn connection<I>(
    io: I,
    activity: Arc<Activity>,
    protocol: Protocol,
    conn: ClientConn,
    worker: Arc<WorkerContext>,
    limits: Limits,
    stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if protocol == Protocol::Http1 && limits.http1_server == Http1Server::Native {
        h1::serve(io, conn, worker, stop, alive).await;
        return;
    }
    // Boxed: hyper's connection state is large, and the native server's
    // connections (this same task) should not carry room for it.
    let hyper = hyper_connection(io, activity, protocol, conn, worker, limits, stop, alive);
    Box::pin(hyper).await;
}

/// [`connection`] served by hyper.
#[allow(clippy::too_many_arguments)]
async fn hyper_connection<I>(
    io: I,
    activity: Arc<Activity>,
    protocol: Protocol,
    conn: ClientConn,
    worker: Arc<WorkerContext>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let remote = conn.remote;
    let served = Arc::new(AtomicU64::new(0));
    let goaway = Arc::new(Notify::new());
    let count = served.clone();
    let reached = goaway.clone();
    let _active = crate::stats::handled();
    let svc = service_fn(move |req| {
        let n = count.fetch_add(1, Ordering::Relaxed) + 1;
        let last = n >= limits.keepalive_requests;
        if last {
            reached.notify_one();
        }
        let writing = crate::stats::request();
        // A body left unread when the request is answered is read and
        // dropped in the background, so that the connection serves the
        // next request.
        let (parts, body) = hyper::Request::into_parts(req);
        let body_limits = BodyLimits {
            max: worker.limits.max_body_size,
            timeout: worker.limits.body_timeout,
        };
        let body = ClientBody::new(body, &parts.headers, body_limits);
        let req = hyper::Request::from_parts(parts, body);
        let answer = pipeline::handle(worker.clone(), conn.clone(), req, last);
        async move {
            let _writing = writing;
            answer.await
        }
    });
    let io = TokioIo::new(io);
    let watch = Watch {
        stop: &mut stop,
        activity: &activity,
        limits,
        served: &served,
        goaway: &goaway,
        // hyper's HTTP/1.1 server holds the header timeout itself.
        first_head: protocol != Protocol::Http1,
    };
    let result = match protocol {
        Protocol::Http1 => {
            let served = limits.http1().serve_connection(io, svc).with_upgrades();
            drive(served, |c| c.graceful_shutdown(), watch)
                .await
                .map_err(|e| e.to_string())
        }
        Protocol::Http2 => {
            let served = limits.http2().serve_connection(io, svc);
            drive(served, |c| c.graceful_shutdown(), watch)
                .await
                .map_err(|e| e.to_string())
        }
        Protocol::Auto => {
            let builder = limits.auto();
            let served = builder.serve_connection_with_upgrades(io, svc);
            drive(served, |c| c.graceful_shutdown(), watch)
                .await
                .map_err(|e| e.to_string())
        }
    };
    if let Err(e) = result {
        tracing::debug!(client = %remote, error = %e, "connection ended with an error");
    }
    drop(alive);
}

/// What ends a connection besides its client: the stop signal, the
/// keep-alive timeout, the last request it may carry, and (unless hyper
/// holds it) the header timeout for the first request.
struct Watch<'a> {
    stop: &'a mut watch::Receiver<bool>,
    activity: &'a Activity,
    limits: Limits,
    served: &'a AtomicU64,
    goaway: &'a Notify,
    first_head: bool,
}

/// Runs `served` (a connection of hyper's) to its end; `shutdown` starts
/// its graceful close (HTTP/1.1: after the response in flight; HTTP/2: a
/// GOAWAY, the open streams finishing). A connection that has not sent a
/// complete request head within the header timeout is dropped.
async fn drive<F, E>(served: F, shutdown: impl Fn(Pin<&mut F>), w: Watch<'_>) -> Result<(), E>
where
    F: Future<Output = Result<(), E>>,
{
    tokio::pin!(served);
    let first_head = tokio::time::sleep(w.limits.header_timeout);
    tokio::pin!(first_head);
    let mut closing = false;
    let mut waiting_head = w.first_head;
    loop {
        tokio::select! {
            r = served.as_mut() => return r,
            _ = stopped(w.stop), if !closing => {
                closing = true;
                shutdown(served.as_mut());
            }
            _ = idle(w.activity, w.limits.keepalive_timeout), if !closing => {
                closing = true;
                shutdown(served.as_mut());
            }
            _ = w.goaway.notified(), if !closing => {
                closing = true;
                shutdown(served.as_mut());
            }
            _ = first_head.as_mut(), if waiting_head => {
                if w.served.load(Ordering::Relaxed) == 0 {
                    return Ok(());
                }
                waiting_head = false;
            }
        }
    }
}

/// Resolves once the connection has moved no byte for `keepalive` (never
/// when keep-alive is off: hyper closes after the one request). The
/// connection then closes at once when idle, or after the response in
/// flight.
pub async fn idle(activity: &Activity, keepalive: Option<Duration>) {
    let Some(keepalive) = keepalive else {
        return std::future::pending().await;
    };
    loop {
        let quiet = activity.idle_for();
        if quiet >= keepalive {
            return;
        }
        tokio::time::sleep(keepalive - quiet).await;
    }
}

/// Resolves once `stop` is true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, before any other await.
    let _ = stop.wait_for(|s| *s).await;
}
