//! One request from accept to log, step by step. Each step is a function
//! of the request's [`Exchange`] (the context) that says what it decided;
//! a step that answers the request ends the way towards the node, and the
//! answer still goes through the response steps and the log.
//!
//! | step | module | decides |
//! |---|---|---|
//! | accept | `server`, `exchange` | the connection's limits; the request's context: client, host, access line |
//! | (gRPC) | `grpc` | the call's deadline; the gateway's own answers as gRPC statuses |
//! | arrival | `arrival` | 400 (ambiguous `Host`), 413 (declared body too large), hop-by-hop and untrusted `X-Forwarded-*` headers gone |
//! | route | `route` | 414/400, the matched route, the global rules |
//! | (request body) | `phases`, `client_body` | read whole first when a plugin of the request reads it: 413/408/400 |
//! | rewrite, access | `phases` | a plugin's answer, the consumer |
//! | (no route) | `route` | `/healthz` or 404 |
//! | choose node | `forward` | the upstream (a plugin's choice, else the route's), the node (502 when none), the node's request |
//! | before_proxy | `phases` | plugins' last edits for this node |
//! | send | `forward` | the response head, or a failed try |
//! | (retry) | `forward`, `upstream::retry` | another node, or 502/504 |
//! | response head | `phases` (header_filter) | status and headers |
//! | response body | `body_filter` | the body as plugins filter it |
//! | framing | `framing` | `Content-Length` from the body sent; `Connection: close` on a connection's last request |
//! | log | `log` | the access line, plugins' log phase |
//!
//! On the bare path (no global rules, a route without plugins) the plugin
//! steps find no plugin side in the exchange and return at once.

use std::convert::Infallible;
use std::sync::Arc;

use http::{header, HeaderValue, Method, Request, Response, Version};

use super::client_body::ClientBody;
use super::exchange::{ClientConn, Exchange, WorkerContext};
use super::respond::{self, Answer, Body};
use super::{arrival, body_filter, forward, framing, grpc, log, phases, route};
use crate::snapshot::RouteRt;

/// Handles one request accepted on `conn`; `last` when it is the last the
/// connection may carry. Never fails: every error becomes a JSON response.
/// For hyper's servers, which own the response once it is returned: the
/// gateway's `Server` is set here when none is (hyper writes `Date`), and
/// the log phase reads a copy of the headers.
pub async fn handle(
    worker: Arc<WorkerContext>,
    conn: ClientConn,
    req: Request<ClientBody>,
    last: bool,
) -> Result<Response<Body>, Infallible> {
    let (mut resp, log) = answer(worker, conn, req, last).await;
    let server = HeaderValue::from_static(respond::SERVER_NAME);
    resp.headers_mut().entry(header::SERVER).or_insert(server);
    if let Some(log) = log {
        log.run(resp.headers().clone());
    }
    Ok(*resp)
}

/// [`handle`] for a server that writes the response head itself: the
/// response, and the log phase, which it runs with the response headers
/// once the head is written.
pub async fn answer(
    worker: Arc<WorkerContext>,
    conn: ClientConn,
    req: Request<ClientBody>,
    last: bool,
) -> (Answer, Option<log::Deferred>) {
    let mut ex = Exchange::new(&worker, conn, &req);
    // Connection headers do not exist in HTTP/2: its last stream is
    // followed by a GOAWAY instead (`server`).
    let last = last && req.version() < Version::HTTP_2;
    let head = req.method() == Method::HEAD;
    let mut resp = towards_node(&mut ex, req).await;
    if ex.grpc.is_some() {
        resp = Box::new(grpc::answer(*resp));
    }
    phases::header_filter(&mut ex, &mut resp).await;
    body_filter::response_body(&mut ex, &mut resp);
    framing::response(head, &mut resp);
    if last {
        let close = HeaderValue::from_static("close");
        resp.headers_mut().insert(header::CONNECTION, close);
    }
    let log = log::log(ex, &resp);
    (resp, log)
}

/// arrival -> route -> rewrite -> access, then the node's response (or
/// the answer of the step that ended the way).
async fn towards_node(ex: &mut Exchange<'_>, mut req: Request<ClientBody>) -> Answer {
    if let Err(resp) = arrival::admit(ex, &mut req) {
        return resp;
    }
    let global = match route::find(ex, &mut req) {
        Ok(global) => global,
        Err(resp) => return resp,
    };
    // mTLS judged by path (`skip_mtls_uri_regex`), on the normalised path.
    if let Some(tls) = &ex.conn.tls {
        if !tls.admits(req.uri().path()) {
            tracing::info!(client = %ex.conn.remote, verify = %tls.client_verify,
                "request refused: no valid client certificate");
            let msg = "client certificate verification is not passed";
            return Box::new(respond::error(http::StatusCode::BAD_REQUEST, msg));
        }
    }
    phases::start(ex, global, &mut req);
    if ex.plugins.is_some() {
        // Timed from here when no access line timed it (`request_time`).
        ex.arrived.get_or_insert_with(std::time::Instant::now);
    }
    if let Some(resp) = phases::read_body(ex, &mut req).await {
        return resp;
    }
    if let Some(resp) = phases::rewrite(ex).await {
        return resp;
    }
    if let Some(resp) = phases::access(ex).await {
        return resp;
    }
    let Some(route) = ex.route.clone() else {
        let (method, path) = phases::request_line(ex, &req);
        return Box::new(route::no_route(method, path));
    };
    if let Err(resp) = phases::apply_edits(ex, &mut req) {
        return resp;
    }
    // Boxed: hyper moves each request's future into place; the forwarding
    // state is most of it and moves once, after the route is known.
    super::boxed::boxed(|| to_upstream(ex, &route, req)).await
}

/// choose node -> before_proxy -> send, again on another node while the
/// retry rules allow it. Whatever ends the way gives the request's headers
/// back to the plugin side, for the response phases and the log.
async fn to_upstream(ex: &mut Exchange<'_>, route: &RouteRt, req: Request<ClientBody>) -> Answer {
    let upstream = match forward::upstream(ex, route) {
        Ok(up) => up,
        Err(resp) => return phases::answered(ex, req, resp),
    };
    let (mut tries, key) = match forward::choose_node(ex, route, upstream, &req) {
        Ok(chosen) => chosen,
        Err(resp) => return phases::answered(ex, req, resp),
    };
    let mut req = forward::node_request(ex, route, upstream, req);
    loop {
        let node = match forward::try_node(ex, upstream, &tries, &mut req) {
            Ok(node) => node,
            Err(resp) => return phases::answered(ex, req, resp),
        };
        if let Err(resp) = phases::before_proxy(ex, &mut req).await {
            return phases::answered(ex, req, resp);
        }
        match forward::send(ex, route, upstream, &tries, node, req).await {
            Ok(resp) => return resp,
            Err(failure) => {
                match forward::retry(ex, route, upstream, key.as_deref(), &mut tries, failure) {
                    Ok(again) => req = again,
                    Err(resp) => return resp,
                }
            }
        }
    }
}
