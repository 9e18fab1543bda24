//! HTTP/2 towards `scheme: grpc` (h2c) and `grpcs` (h2 over TLS, ALPN
//! `h2`) nodes: one multiplexed connection per node in each worker, shared
//! by every request to that node, made again once the node closes it (a
//! GOAWAY, an error). A request goes out with its trailers and comes back
//! with the node's; `timeout {connect, send, read}` bound the connection,
//! and the wait for the response head and between two reads of its body.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::header::{self, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme, Uri};
use http::{Request, Response, Version};
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::time::timeout;

use super::body::PooledBody;
use super::client::{connect, FailedTry, ForwardError, ReqBody};
use super::pool::PoolKey;
use super::retry::Delivery;
use super::{Node, Timeouts, UpstreamRt};

/// A worker's HTTP/2 connections, one per node.
#[derive(Debug, Default)]
pub(crate) struct H2Pool {
    conns: Mutex<HashMap<PoolKey, SendRequest<ReqBody>>>,
    /// A lock per node being connected to: requests that find no
    /// connection wait for the one being made instead of each making one.
    connecting: Mutex<HashMap<PoolKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl H2Pool {
    /// Sends `req` (origin-form URI, `Host` set for the node) to `node` over
    /// its shared connection, made within `t.connect` when there is none
    /// (or the one there was is closed); the response head within `t.read`.
    pub(crate) async fn send(
        &self,
        up: &UpstreamRt,
        node: &Node,
        mut req: Request<ReqBody>,
        t: Timeouts,
    ) -> Result<Response<PooledBody>, FailedTry> {
        // A connection that closed between the pool and the send gives the
        // request back untouched: then one new connection is made.
        for _ in 0..2 {
            let mut sender = match self.shared(&node.pool_key) {
                Some(s) => s,
                None => match timeout(t.connect, self.connect(up, node)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return Err(unsent(ForwardError::Connect(e), req)),
                    Err(_) => return Err(unsent(ForwardError::Timeout(t.connect), req)),
                },
            };
            let scheme = if up.tls.is_some() {
                Scheme::HTTPS
            } else {
                Scheme::HTTP
            };
            if let Err(e) = as_h2(&mut req, scheme, node) {
                return Err(unsent(ForwardError::Upstream(e), req));
            }
            match timeout(t.read, sender.try_send_request(req)).await {
                Err(_) => return Err(sent(ForwardError::Timeout(t.read))),
                Ok(Ok(resp)) => {
                    let (mut parts, body) = resp.into_parts();
                    // The client gets the gateway's (`h1::parse_proxied_response`).
                    parts.headers.remove(header::SERVER);
                    parts.headers.remove(header::DATE);
                    return Ok(Response::from_parts(parts, PooledBody::h2(body, t.read)));
                }
                Ok(Err(mut e)) => match e.take_message() {
                    Some(back) => {
                        self.forget(&node.pool_key);
                        req = back;
                    }
                    None => {
                        let e = format!("HTTP/2: {}", e.into_error());
                        return Err(sent(ForwardError::Upstream(e)));
                    }
                },
            }
        }
        Err(sent(ForwardError::Upstream(
            "no HTTP/2 connection could carry the request".to_owned(),
        )))
    }

    /// The node's open connection, if it has one.
    fn shared(&self, key: &PoolKey) -> Option<SendRequest<ReqBody>> {
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        match conns.get(key) {
            Some(s) if !s.is_closed() => Some(s.clone()),
            Some(_) => {
                conns.remove(key);
                None
            }
            None => None,
        }
    }

    /// The node's connection, made by this request or by another one that
    /// was making it meanwhile (one at a time per node).
    async fn connect(&self, up: &UpstreamRt, node: &Node) -> Result<SendRequest<ReqBody>, String> {
        let key = &node.pool_key;
        let lock = {
            let mut connecting = self.connecting.lock().unwrap_or_else(|p| p.into_inner());
            connecting.entry(key.clone()).or_default().clone()
        };
        let made = {
            let _turn = lock.lock().await;
            match self.shared(key) {
                Some(s) => Ok(s),
                None => handshake(up, node).await.inspect(|s| {
                    let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
                    conns.insert(key.clone(), s.clone());
                }),
            }
        };
        let mut connecting = self.connecting.lock().unwrap_or_else(|p| p.into_inner());
        // Held by the map and this request alone: nobody else waits.
        if Arc::strong_count(&lock) == 2 {
            connecting.remove(key);
        }
        made
    }

    fn forget(&self, key: &PoolKey) {
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        if conns.get(key).is_some_and(SendRequest::is_closed) {
            conns.remove(key);
        }
    }
}

/// A new HTTP/2 connection to `node` (TCP, TLS for `grpcs`), its
/// connection task spawned on the worker's runtime.
async fn handshake(up: &UpstreamRt, node: &Node) -> Result<SendRequest<ReqBody>, String> {
    let io = connect(up, node).await?;
    let (sender, conn) = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
    let node = node.authority.clone();
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(node = %node, error = %e, "HTTP/2 connection to a node ended");
        }
    });
    Ok(sender)
}

/// `req` as an HTTP/2 node gets it: the absolute URI (`:scheme`,
/// `:authority` from the `Host` set for the node, `:path`) and, for gRPC,
/// `te: trailers` (the client's went with the hop-by-hop headers).
fn as_h2(req: &mut Request<ReqBody>, scheme: Scheme, node: &Node) -> Result<(), String> {
    let authority = match req.headers_mut().remove(header::HOST) {
        Some(h) => Authority::try_from(h.as_bytes())
            .map_err(|_| format!("{:?} is not an HTTP/2 authority", h))?,
        // Made absolute on a try before.
        None => req
            .uri()
            .authority()
            .cloned()
            .unwrap_or_else(|| node.authority.clone()),
    };
    let path = req
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    *req.uri_mut() = Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query(path)
        .build()
        .map_err(|e| e.to_string())?;
    *req.version_mut() = Version::HTTP_2;
    let grpc = req
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    if grpc {
        req.headers_mut()
            .insert(header::TE, HeaderValue::from_static("trailers"));
    }
    Ok(())
}

/// A request given back for another try: origin form again, its
/// authority back in `Host`, as the next node's `pass_host` expects it.
fn unsent(error: ForwardError, mut req: Request<ReqBody>) -> FailedTry {
    if let Some(a) = req.uri().authority() {
        if let Ok(v) = HeaderValue::from_str(a.as_str()) {
            req.headers_mut().insert(header::HOST, v);
        }
        let path = req
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        *req.uri_mut() = Uri::from(path);
    }
    *req.version_mut() = Version::HTTP_11;
    FailedTry {
        error,
        request: Some(req),
        whole: true,
        delivery: Delivery::Unsent,
    }
}

fn sent(error: ForwardError) -> FailedTry {
    FailedTry {
        error,
        request: None,
        whole: false,
        delivery: Delivery::MaybeReceived,
    }
}
