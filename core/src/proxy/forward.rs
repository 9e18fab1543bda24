//! The steps towards a node: choose the node, make the request the node
//! gets, send one try over the worker's pooled client, decide whether a
//! failed try goes to another node (the rules are `upstream::retry`'s),
//! and make the node's response head the client's. Failures become 502,
//! timeouts 504.

use http::uri::{PathAndQuery, Uri};
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode, Version};
use http_body_util::Either;

use super::client_body::ClientBody;
use super::exchange::Exchange;
use super::headers::{set_host, strip_hop_by_hop};
use super::respond::{self, Answer};
use super::upgrade;
use super::{arrival, phases};
use crate::snapshot::split::UPSTREAM_VAR;
use crate::snapshot::RouteRt;
use crate::upstream::retry::{self, Tries};
use crate::upstream::{FailedTry, ForwardError, Forwarded, Node, ReqBody, TryOutcome, UpstreamRt};

/// The upstream this request goes to: the one a plugin (traffic-split)
/// named in request variable `upstream_id` among the route's split
/// upstreams, else the route's own; 502, logged, when the name is none of
/// them (a stored upstream deleted, say).
pub fn upstream<'r>(ex: &Exchange<'_>, route: &'r RouteRt) -> Result<&'r UpstreamRt, Answer> {
    let named = ex
        .plugins
        .as_deref()
        .and_then(|run| run.state.vars.get(UPSTREAM_VAR));
    let Some(name) = named else {
        return Ok(&route.upstream);
    };
    match route.split.as_ref().and_then(|s| s.get(name)) {
        Some(up) => Ok(up),
        None => {
            tracing::error!(route = %route.id, upstream_id = %name,
                "failed to find the upstream a plugin chose: no such upstream");
            let msg = "502 Bad Gateway";
            Err(Box::new(respond::error(StatusCode::BAD_GATEWAY, msg)))
        }
    }
}

/// The first node for `req` on `route`'s upstream, with the request's
/// `chash` key (read before the gateway adds its own headers); 502 when
/// the upstream has no node to send to.
pub fn choose_node<B>(
    ex: &Exchange<'_>,
    route: &RouteRt,
    upstream: &UpstreamRt,
    req: &Request<B>,
) -> Result<(Tries, Option<Vec<u8>>), Answer> {
    let key = upstream.hash_key(&ex.vars(req));
    let Some(first) = upstream.pick_index(key.as_deref()) else {
        tracing::error!(route = %route.id, upstream = %upstream.name, "no node to send to");
        let msg = "502 Bad Gateway: no available node";
        return Err(Box::new(respond::error(StatusCode::BAD_GATEWAY, msg)));
    };
    let tries = Tries::new(first, upstream.retries, upstream.retry_timeout);
    Ok((tries, key))
}

/// The request as nodes get it: HTTP/1.1, origin-form target (the
/// client's hop-by-hop headers went on arrival; a WebSocket upgrade the
/// route lets through gets its own back, and its client side is kept in
/// `ex`). `X-Real-IP` and `X-Forwarded-*` are set here for an HTTP/2
/// node; an HTTP/1.1 node's are written with its head, after
/// before_proxy, as nginx's `proxy_set_header` does.
pub fn node_request(
    ex: &mut Exchange<'_>,
    route: &RouteRt,
    upstream: &UpstreamRt,
    mut req: Request<ClientBody>,
) -> Request<ReqBody> {
    *req.version_mut() = Version::HTTP_11;
    // An HTTP/2 client names the host in `:authority` alone: the node's
    // `Host` (pass_host `pass`) is that one.
    if !req.headers().contains_key(header::HOST) && !ex.host_header().is_empty() {
        if let Ok(v) = HeaderValue::from_bytes(ex.host_header()) {
            req.headers_mut().insert(header::HOST, v);
        }
    }
    let ws = route.websocket.then(|| ex.websocket.clone()).flatten();
    if let Some(v) = ws {
        ex.upgrade = Some((v, upgrade::client_side(&mut req)));
    }
    if let Some((v, _)) = &ex.upgrade {
        upgrade::restore(req.headers_mut(), v);
    }
    // An HTTP/1.1 node's head gets them as it is written (`send`).
    if upstream.http2 {
        phases::copy_lent_headers(ex, req.headers());
        forwarded(ex).set(req.headers_mut());
    }
    let path = req
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    // The node gets the origin form; the connection already names it.
    *req.uri_mut() = Uri::from(path);
    let (parts, body) = req.into_parts();
    Request::from_parts(parts, Either::Left(body))
}

/// What the node is told of the client: as plugins left it (real-ip),
/// else the connection's.
fn forwarded<'e>(ex: &'e Exchange<'_>) -> Forwarded<'e> {
    let client = ex
        .plugins
        .as_ref()
        .map_or(ex.conn.remote, |run| run.state.client);
    let proto = if ex.conn.tls.is_some() {
        "https"
    } else {
        "http"
    };
    Forwarded {
        client: client.ip(),
        port: ex.conn.local.port(),
        host: ex.host(),
        proto,
    }
}

/// The node of the current try, recorded in `ex`, with `Host` set for it
/// by the upstream's `pass_host`; 502 when the index names no node.
pub fn try_node<'r>(
    ex: &mut Exchange<'_>,
    upstream: &'r UpstreamRt,
    tries: &Tries,
    req: &mut Request<ReqBody>,
) -> Result<&'r Node, Answer> {
    let Some(node) = upstream.nodes.get(tries.current()) else {
        let msg = "502 Bad Gateway";
        return Err(Box::new(respond::error(StatusCode::BAD_GATEWAY, msg)));
    };
    ex.node = Some(node.authority.clone());
    let before = set_host(req.headers_mut(), &upstream.pass_host, node);
    phases::host_replaced(ex, before);
    if let Some(line) = &mut ex.access {
        let scheme = match (upstream.tls.is_some(), upstream.http2) {
            (false, false) => "http",
            (true, false) => "https",
            (false, true) => "grpc",
            (true, true) => "grpcs",
        };
        line.sent_to_node(scheme, req.uri(), req.headers());
    }
    Ok(node)
}

/// Sends one try to `node` and reads its response head, counted in the
/// balancer's statistics and passive health checks; the response as the
/// client gets it, or the failed try.
pub async fn send(
    ex: &mut Exchange<'_>,
    route: &RouteRt,
    upstream: &UpstreamRt,
    tries: &Tries,
    node: &Node,
    req: Request<ReqBody>,
) -> Result<Answer, FailedTry> {
    let mut timeouts = route
        .timeout
        .as_deref()
        .copied()
        .or(upstream.timeout)
        .unwrap_or(ex.worker.default_timeouts);
    if let Some(deadline) = ex.grpc.and_then(|c| c.timeout) {
        // The client's deadline for the call bounds each wait on the node.
        timeouts.connect = timeouts.connect.min(deadline);
        timeouts.send = timeouts.send.min(deadline);
        timeouts.read = timeouts.read.min(deadline);
    }
    // Counts as in flight for the balancer until the response ends; the
    // head's outcome feeds its statistics and passive health checks.
    let tracked = upstream.track(tries.current());
    let began = std::time::Instant::now();
    // An HTTP/2 node's are in the headers already (`node_request`).
    let told = (!upstream.http2).then(|| forwarded(ex));
    // The plugin side's, back once the node answered.
    let mut lent = phases::lends_headers(ex).then(HeaderMap::new);
    let sent = ex
        .worker
        .client
        .send(upstream, node, req, told.as_ref(), timeouts, lent.as_mut())
        .await;
    ex.upstream_time = Some(began.elapsed());
    ex.upstream_status = sent.as_ref().ok().map(Response::status);
    let outcome = match &sent {
        Ok(r) => Some(TryOutcome::Status(r.status().as_u16())),
        Err(f) if matches!(f.error, ForwardError::Client(_)) => None,
        Err(f) => Some(TryOutcome::from(&f.error)),
    };
    // The client's fault is not the node's: no outcome is recorded for it.
    let in_flight = outcome.and_then(|o| tracked.done(o));
    let mut resp = sent?;
    if let Some(headers) = lent {
        phases::request_back(ex, headers);
    }
    // In flight for `least_conn` until the body ends.
    resp.body_mut().hold(in_flight);
    Ok(response_head(ex, route, resp))
}

/// The node's response head as the client gets it: hop-by-hop headers
/// dropped, HTTP/1.1; after a `101` to a WebSocket upgrade the two
/// connections are spliced and the upgrade headers kept.
fn response_head(
    ex: &mut Exchange<'_>,
    route: &RouteRt,
    mut resp: Response<crate::upstream::PooledBody>,
) -> Answer {
    let switched = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
    let node_side = switched.then(|| resp.body_mut().take_upgraded()).flatten();
    let tunnel = match (node_side, ex.upgrade.take()) {
        (Some(node_side), Some((v, client))) => {
            let t = route.timeouts().unwrap_or(ex.worker.default_timeouts);
            upgrade::splice(client, node_side, route.id.clone(), t);
            Some(v)
        }
        _ => None,
    };
    strip_hop_by_hop(resp.headers_mut());
    if let Some(v) = tunnel {
        upgrade::restore(resp.headers_mut(), &v);
    }
    // This hop is HTTP/1.1 whatever the node spoke.
    *resp.version_mut() = Version::HTTP_11;
    // Boxed: the response moves through every step back to the server.
    Box::new(resp.map(Either::Left))
}

/// After a failed try: the request back, with the next node recorded in
/// `tries`, when the retry rules let it go to another node (`key`: its
/// `chash` key); else the answer for the failure (504 for a timeout, 502
/// otherwise), and the request's headers back to the plugin side.
pub fn retry(
    ex: &mut Exchange<'_>,
    route: &RouteRt,
    upstream: &UpstreamRt,
    key: Option<&[u8]>,
    tries: &mut Tries,
    failure: FailedTry,
) -> Result<Request<ReqBody>, Answer> {
    let FailedTry {
        error,
        mut request,
        whole,
        delivery,
    } = failure;
    let answer = if let ForwardError::Client(e) = &error {
        tracing::info!(route = %route.id, client = %ex.conn.remote, error = %e,
            "request body refused");
        let status = e.status();
        let msg = status.canonical_reason().unwrap_or("request body refused");
        arrival::closing(status, &format!("{} {msg}", status.as_u16()))
    } else {
        let node = ex.node.as_ref().map_or("-", |n| n.as_str());
        tracing::error!(route = %route.id, upstream = %upstream.name,
            node = %node, error = %error, "forwarding failed");
        let resend = request
            .as_ref()
            .is_some_and(|r| retry::may_resend(r.method(), delivery, whole));
        let next = (resend && tries.another_allowed())
            .then(|| upstream.pick_other(key, tries.tried()))
            .flatten();
        // A next node only when the request can go again.
        if let Some(next) = next {
            if let Some(req) = request.take() {
                tries.next(next);
                return Ok(req);
            }
        }
        failed(&error)
    };
    if let Some(req) = request {
        phases::request_back(ex, req.into_parts().0.headers);
    }
    Err(Box::new(answer))
}

/// The gateway's answer when the tries end in `error`.
fn failed(error: &ForwardError) -> Response<respond::Body> {
    match error {
        ForwardError::Timeout(_) => {
            respond::error(StatusCode::GATEWAY_TIMEOUT, "504 Gateway Timeout")
        }
        _ => respond::error(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
    }
}
