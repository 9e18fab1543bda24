//! The request path: load the snapshot, match, pick a node, forward with
//! streaming bodies, answer errors as JSON, log one access line.

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::uri::{Authority, PathAndQuery};
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::forward::forward;
use super::headers::host_only;
use super::path::{normalize, with_path};
use super::respond::{self, Body};
use super::vars::RequestVars;
use crate::snapshot::{Live, RouteRt};
use crate::upstream::{Timeouts, UpstreamClient};

/// What every connection of a worker shares.
#[derive(Debug)]
pub struct WorkerContext {
    /// The current snapshot.
    pub live: Live,
    /// The worker's pooled client to nodes.
    pub client: UpstreamClient,
    /// Timeouts towards nodes when neither route nor upstream sets them.
    pub default_timeouts: Timeouts,
    /// Longest request target (path and query); longer gets 414.
    pub max_uri_size: usize,
}

/// The two ends of the client's connection.
#[derive(Debug, Clone, Copy)]
pub struct ClientConn {
    /// The client.
    pub remote: SocketAddr,
    /// The address it connected to.
    pub local: SocketAddr,
}

/// Handles one request. Never fails: every error becomes a JSON response.
pub async fn handle(
    shared: Arc<WorkerContext>,
    conn: ClientConn,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    // The access line costs nothing when its level is off.
    if !tracing::enabled!(target: "radixgate::access", tracing::Level::INFO) {
        let (resp, _, _) = route_and_forward(&shared, conn, req).await;
        return Ok(resp);
    }
    let start = Instant::now();
    let method = req.method().clone();
    // Cheap: a URI shares the request's bytes.
    let uri = req.uri().clone();
    let (resp, route, node) = route_and_forward(&shared, conn, req).await;
    tracing::info!(
        target: "radixgate::access",
        client = %conn.remote.ip(),
        method = %method,
        uri = %uri.path_and_query().map_or("/", PathAndQuery::as_str),
        status = resp.status().as_u16(),
        route = route.as_ref().map_or("-", |r| r.id.as_str()),
        upstream = node.as_ref().map_or("-", Authority::as_str),
        ms = format_args!("{:.3}", start.elapsed().as_secs_f64() * 1000.0),
    );
    Ok(resp)
}

/// The response, the route that matched and the node that was tried.
type Handled = (Response<Body>, Option<Arc<RouteRt>>, Option<Authority>);

async fn route_and_forward(
    shared: &WorkerContext,
    conn: ClientConn,
    mut req: Request<Incoming>,
) -> Handled {
    // The Host header, else the authority of an absolute-form request.
    let raw_host: Option<HeaderValue> = match req.headers().get(header::HOST) {
        Some(h) => Some(h.clone()),
        None => req
            .uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok()),
    };
    let raw: &[u8] = raw_host.as_ref().map_or(b"", HeaderValue::as_bytes);
    let target_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target_len > shared.max_uri_size {
        let resp = respond::error(StatusCode::URI_TOO_LONG, "414 Request-URI Too Large");
        return (resp, None, None);
    }
    let host = host_only(raw);
    // Match (and forward) the path the node will act on.
    match normalize(req.uri().path()) {
        Ok(Cow::Borrowed(_)) => {}
        Ok(Cow::Owned(p)) => match with_path(req.uri(), &p) {
            Some(u) => *req.uri_mut() = u,
            None => return (bad_request(), None, None),
        },
        Err(_) => return (bad_request(), None, None),
    }
    let (found, global) = {
        // One atomic load; the snapshot is let go as soon as the route is in hand.
        let snap = shared.live.load();
        let vars = RequestVars::new(
            req.method(),
            req.uri(),
            req.headers(),
            host,
            conn.remote,
            conn.local,
        );
        let mut r = radix_router::Request::new(req.uri().path())
            .method(req.method().as_str())
            .remote_addr(conn.remote.ip());
        if !raw.is_empty() {
            r = r.host(host).http_host(raw);
        }
        // Plugins (issue 5): the global rules' chain; `None` costs nothing.
        (snap.find(&r, &vars), snap.global.clone())
    };
    // Plugins (issue 5): only a request with global rules or a route with
    // plugins takes this way (super::phases); others pay nothing.
    if global.is_some() || found.as_ref().is_some_and(|r| r.plugins.is_some()) {
        let run = super::phases::run(shared, conn, req, found.as_ref(), global, host);
        let (resp, node) = Box::pin(run).await;
        return (resp, found, node);
    }
    let Some(route) = found else {
        let resp = if req.uri().path() == "/healthz"
            && matches!(*req.method(), Method::GET | Method::HEAD)
        {
            respond::healthy()
        } else {
            respond::not_found()
        };
        return (resp, None, None);
    };
    // Boxed: hyper moves each request's future into place; the forwarding
    // state is most of it and now moves once, after the route is known.
    let (resp, node) = Box::pin(forward(shared, &route, req, conn, host)).await;
    (resp, Some(route), node)
}

fn bad_request() -> Response<Body> {
    respond::error(StatusCode::BAD_REQUEST, "400 Bad Request")
}
