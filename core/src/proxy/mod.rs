//! The proxy: a hyper HTTP/1.1 server on tokio. Each request loads the
//! snapshot once, matches a route and is forwarded to a node (see
//! [`service`]); `GET /healthz` answers 200 when no route claims it.

mod forward;
mod headers;
mod path;
mod respond;
mod service;
mod upgrade;
mod vars;
pub mod workers;

pub use path::normalize;
pub use respond::Body;
pub use service::{handle, Conn, Shared};
pub use vars::RequestVars;

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// Limits on what a client may send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A client that has not sent complete request headers by then is cut off.
    pub header_timeout: Duration,
    /// Largest request head in bytes; larger gets 431.
    pub max_header_size: usize,
}

/// Accepts connections on `listener` until the task is dropped. Each
/// connection runs on its own task under `limits`.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, limits: Limits) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_size.max(8192))
        .keep_alive(true);
    loop {
        let (stream, remote) = match listener.accept().await {
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
        let conn = Conn { remote, local };
        let shared = shared.clone();
        let builder = builder.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(shared.clone(), conn, req));
            if let Err(e) = builder
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await
            {
                tracing::debug!(client = %remote, error = %e, "connection ended with an error");
            }
        });
    }
}
