//! The accept step: the listener's loop under the connection cap, and
//! each connection served by hyper's HTTP/1.1 server under the client
//! limits, every request handed to the pipeline.
//!
//! Which limit is held where: the connection cap in the accept loop
//! ([`ConnCap`]); the send timeout in the connection's stream
//! ([`ClientIo`]); the keep-alive timeout by a watch on that stream's
//! activity; the request count per connection here, the last response
//! saying `Connection: close`; body size and body timeout in
//! [`ClientBody`](super::ClientBody). hyper's own settings are used for the
//! header timeout (`header_read_timeout`, which also bounds the wait for
//! the next request's head) and the head's size (`max_buf_size`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::client_io::{Activity, ClientIo, ConnCap};
use super::exchange::{ClientConn, WorkerContext};
use super::pipeline;

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
pub async fn serve(
    listener: TcpListener,
    worker: Arc<WorkerContext>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let builder = limits.http1();
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
        let io = ClientIo::new(stream, limits.send_timeout, Some(slot));
        tokio::spawn(connection(
            io,
            ClientConn { remote, local },
            worker.clone(),
            builder.clone(),
            limits,
            stop.clone(),
            alive.clone(),
        ));
    }
}

/// Serves one accepted connection: hyper's HTTP/1.1 over `io` (which holds
/// the send timeout and the connection's slot under the cap), each request
/// handed to the pipeline, the `keepalive_requests`-th told to close; the
/// connection closes gracefully once idle past the keep-alive timeout or
/// once `stop` turns true. Holds `alive` until it ends.
async fn connection(
    io: ClientIo,
    conn: ClientConn,
    worker: Arc<WorkerContext>,
    builder: http1::Builder,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let activity = io.activity();
    let _active = crate::stats::handled();
    let served = AtomicU64::new(0);
    let svc = service_fn(move |req| {
        let n = served.fetch_add(1, Ordering::Relaxed) + 1;
        let last = n >= limits.keepalive_requests;
        let writing = crate::stats::request();
        let answer = pipeline::handle(worker.clone(), conn, req, last);
        async move {
            let _writing = writing;
            answer.await
        }
    });
    let served = builder
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades();
    tokio::pin!(served);
    let mut closing = false;
    let result = loop {
        tokio::select! {
            r = served.as_mut() => break r,
            _ = stopped(&mut stop), if !closing => {
                closing = true;
                served.as_mut().graceful_shutdown();
            }
            _ = idle(&activity, limits.keepalive_timeout), if !closing => {
                closing = true;
                served.as_mut().graceful_shutdown();
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(client = %conn.remote, error = %e, "connection ended with an error");
    }
    drop(alive);
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
