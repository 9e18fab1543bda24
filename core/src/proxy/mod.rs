//! The proxy: a hyper HTTP/1.1 server on tokio. Each request loads the
//! snapshot once, matches a route and is forwarded to a node (see
//! [`service`]); `GET /healthz` answers 200 when no route claims it.

mod body_filter;
mod forward;
mod headers;
mod path;
mod phases;
mod respond;
mod service;
mod upgrade;
mod vars;
pub mod workers;

pub use path::normalize;
pub use respond::Body;
pub use service::{handle, ClientConn, WorkerContext};
pub use vars::RequestVars;

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// Limits on what a client may send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A client that has not sent complete request headers by then is cut off.
    pub header_timeout: Duration,
    /// Largest request head in bytes; larger gets 431.
    pub max_header_size: usize,
}

/// Accepts connections on `listener` until `stop` turns true, then closes
/// the listener and lets each connection finish its request in flight
/// (idle keep-alive connections close at once). Each connection runs on its
/// own task under `limits` and holds a clone of `alive` until it ends, so
/// the caller can tell when all are done.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<WorkerContext>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_size.max(8192))
        .keep_alive(true);
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
        let local = match stream.local_addr() {
            Ok(a) => a,
            Err(_) => continue,
        };
        let _ = stream.set_nodelay(true);
        let conn = ClientConn { remote, local };
        let shared = shared.clone();
        let builder = builder.clone();
        let (mut stop, alive) = (stop.clone(), alive.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(shared.clone(), conn, req));
            let conn = builder
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = stopped(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(client = %remote, error = %e, "connection ended with an error");
            }
            drop(alive);
        });
    }
}

/// Resolves once `stop` is true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, before any other await.
    let _ = stop.wait_for(|s| *s).await;
}
