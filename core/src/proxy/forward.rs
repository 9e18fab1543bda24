//! Forwarding a matched request: pick a node, point the request at it,
//! send it over the pooled client, and try another node (up to the
//! upstream's `retries`, within `retry_timeout`) when that is safe: nothing
//! of the request was sent, or its method is idempotent and it had no
//! body. Failures become 502, timeouts 504.

use std::time::Instant;

use http::uri::{Authority, PathAndQuery, Uri};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::Either;
use hyper::body::Incoming;

use super::headers::{set_forwarded, set_host, strip_hop_by_hop};
use super::respond::{self, Body};
use super::service::{ClientConn, WorkerContext};
use super::upgrade;
use super::vars::RequestVars;
use crate::snapshot::RouteRt;
use crate::upstream::{ForwardError, ReqBody, TryOutcome, UpstreamRt};

/// Plugins (issue 5): before_proxy, called with the request's method,
/// origin-form URI and headers after a node is chosen, on each try; its
/// edits go to that node; false fails the request (500).
pub type BeforeProxy<'a> = dyn FnMut(&mut http::request::Parts) -> bool + Send + 'a;

/// Sends `req` (already matched to `route`) to a node; returns the response
/// and the node that answered or failed last.
pub async fn forward(
    shared: &WorkerContext,
    route: &RouteRt,
    req: Request<Incoming>,
    conn: ClientConn,
    host: &[u8],
) -> (Response<Body>, Option<Authority>) {
    forward_with(shared, route, req, conn, host, None).await
}

/// [`forward`], with plugins' before_proxy run before each try (issue 5).
pub async fn forward_with(
    shared: &WorkerContext,
    route: &RouteRt,
    mut req: Request<Incoming>,
    conn: ClientConn,
    host: &[u8],
    mut before_proxy: Option<&mut BeforeProxy<'_>>,
) -> (Response<Body>, Option<Authority>) {
    let upstream: &UpstreamRt = &route.upstream;
    // The chash key, read before the gateway adds its own headers.
    let key = upstream.hash_key(&RequestVars::new(
        req.method(),
        req.uri(),
        req.headers(),
        host,
        conn.remote,
        conn.local,
    ));
    let Some(first) = upstream.pick_index(key.as_deref()) else {
        tracing::error!(route = %route.id, upstream = %upstream.name, "no node to send to");
        let msg = "502 Bad Gateway: no available node";
        return (respond::error(StatusCode::BAD_GATEWAY, msg), None);
    };
    *req.version_mut() = Version::HTTP_11;
    let ws = route
        .websocket
        .then(|| upgrade::websocket_requested(req.headers()))
        .flatten();
    let client_upgrade = ws.is_some().then(|| hyper::upgrade::on(&mut req));
    strip_hop_by_hop(req.headers_mut());
    if let Some(v) = &ws {
        upgrade::restore(req.headers_mut(), v);
    }
    set_forwarded(req.headers_mut(), conn.remote, conn.local, host);
    let path = req
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    // The node gets the origin form; the connection already names it.
    *req.uri_mut() = Uri::from(path);
    let timeouts = route.timeouts().unwrap_or(shared.default_timeouts);
    let deadline = upstream.retry_timeout.map(|d| Instant::now() + d);

    let (parts, body) = req.into_parts();
    let mut req: Request<ReqBody> = Request::from_parts(parts, Either::Left(body));
    let mut tried = vec![first];
    let mut index = first;
    loop {
        let Some(node) = upstream.nodes.get(index) else {
            return (
                respond::error(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
                None,
            );
        };
        set_host(req.headers_mut(), &upstream.pass_host, node);
        // Plugins (issue 5): before_proxy once the node is chosen, each try.
        if let Some(hook) = before_proxy.as_mut() {
            let (mut parts, body) = req.into_parts();
            let ok = hook(&mut parts);
            req = Request::from_parts(parts, body);
            if !ok {
                let msg = "500 Internal Server Error";
                let resp = respond::error(StatusCode::INTERNAL_SERVER_ERROR, msg);
                return (resp, Some(node.authority.clone()));
            }
        }
        // Counts as in flight for the balancer until the response ends; the
        // head's outcome feeds its statistics and passive health checks.
        let tracked = upstream.track(index);
        let sent = shared.client.send(upstream, node, req, timeouts).await;
        let in_flight = tracked.done(match &sent {
            Ok(r) => TryOutcome::Status(r.status().as_u16()),
            Err(f) => TryOutcome::from(&f.error),
        });
        let failure = match sent {
            Ok(mut resp) => {
                // In flight for `least_conn` until the body ends.
                resp.body_mut().hold(in_flight);
                let switched = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
                let node_side = switched.then(|| resp.body_mut().take_upgraded()).flatten();
                let tunnel = match (node_side, &ws, client_upgrade) {
                    (Some(node_side), Some(v), Some(client)) => {
                        upgrade::splice(client, node_side, route.id.clone());
                        Some(v)
                    }
                    _ => None,
                };
                let (mut parts, body) = resp.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                if let Some(v) = tunnel {
                    upgrade::restore(&mut parts.headers, v);
                }
                // This hop is HTTP/1.1 whatever the node spoke.
                parts.version = Version::HTTP_11;
                let resp = Response::from_parts(parts, Either::Left(body));
                return (resp, Some(node.authority.clone()));
            }
            Err(f) => f,
        };
        let err = failure.error;
        tracing::error!(route = %route.id, upstream = %upstream.name,
            node = %node.authority, error = %err, "forwarding failed");
        // Another node gets the request when nothing of it was sent, or
        // when it can be sent again as it was.
        let again =
            tried.len() <= upstream.retries as usize && deadline.is_none_or(|d| Instant::now() < d);
        let next = again
            .then(|| upstream.pick_other(key.as_deref(), &tried))
            .flatten()
            .and_then(|i| {
                // Nothing of it reached the node, or it may go twice.
                let sent = failure.sent;
                let request = failure.request.filter(|r| !sent || idempotent(r.method()));
                request.map(|r| (i, r))
            });
        let Some((next, again)) = next else {
            let (status, msg) = match err {
                ForwardError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "504 Gateway Timeout"),
                _ => (StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
            };
            return (respond::error(status, msg), Some(node.authority.clone()));
        };
        tried.push(next);
        index = next;
        req = again;
    }
}

/// Methods a node may receive twice without harm (RFC 9110 9.2.2).
fn idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}
