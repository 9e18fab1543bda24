//! The proxy: a hyper HTTP/1.1 server on tokio. Each request loads the
//! snapshot once, matches a route and is forwarded to a node (see
//! [`service`]); `GET /healthz` answers 200 when no route claims it.

mod headers;
mod respond;
mod service;
mod vars;

pub use respond::Body;
pub use service::{handle, Conn, Shared};
pub use vars::RequestVars;

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// Accepts connections on `listener` until the task is dropped. Each
/// connection runs on its own task; a slow client is cut off after
/// `header_timeout` without complete request headers.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, header_timeout: Duration) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
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
            if let Err(e) = builder.serve_connection(TokioIo::new(stream), svc).await {
                tracing::debug!(client = %remote, error = %e, "connection ended with an error");
            }
        });
    }
}
