//! The pooled keep-alive client that carries requests to nodes. One client
//! serves every upstream: its pool is keyed by node, so each node has its
//! own idle connections.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Either, Empty};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The node could not be reached (refused, unreachable, connect timeout).
    #[error("connect failed: {0}")]
    Connect(String),
    /// The node took longer than the timeout to answer.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection failed while the request or response head was in flight.
    #[error("upstream failed: {0}")]
    Upstream(String),
}

/// A request body towards a node: the client's, streamed, or none (a retry
/// of a request that had no body).
pub type ReqBody = Either<Incoming, Empty<Bytes>>;

/// A keep-alive client shared by all upstreams of a worker.
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    client: Client<HttpConnector, ReqBody>,
}

impl UpstreamClient {
    /// A client that gives up connecting after `connect_timeout`.
    pub fn new(connect_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(connect_timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(320)
            .build(connector);
        UpstreamClient { client }
    }

    /// Sends `req` (whose URI names the node) and waits at most `timeout`
    /// for the response head; the body then streams on its own.
    pub async fn send(
        &self,
        req: Request<ReqBody>,
        timeout: Duration,
    ) -> Result<Response<Incoming>, ForwardError> {
        match tokio::time::timeout(timeout, self.client.request(req)).await {
            Err(_) => Err(ForwardError::Timeout(timeout)),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) if e.is_connect() => Err(ForwardError::Connect(error_chain(&e))),
            Ok(Err(e)) => Err(ForwardError::Upstream(error_chain(&e))),
        }
    }
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
