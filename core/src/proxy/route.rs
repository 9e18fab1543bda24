//! The route step: the request target checked (414 past `max_uri_size`)
//! and normalised (400 when it climbs above the root), one snapshot load,
//! one router lookup by path, host, method, client address and vars; and
//! what a request gets when no route matched.

use std::borrow::Cow;
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};

use super::exchange::Exchange;
use super::path::{normalize, with_path};
use super::respond::{self, Answer, Body};
use crate::plugin_host::Chain;
use crate::snapshot::Matched;

/// Matches `req` (its path normalised in place) and records the route in
/// `ex`; the global rules' chain, `None` when there are none. A target
/// that is too long or invalid is answered here.
pub fn find<B>(ex: &mut Exchange<'_>, req: &mut Request<B>) -> Result<Option<Arc<Chain>>, Answer> {
    let target_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target_len > ex.worker.max_uri_size {
        let msg = "414 Request-URI Too Large";
        return Err(Box::new(respond::error(StatusCode::URI_TOO_LONG, msg)));
    }
    // Match (and forward) the path the node will act on.
    match normalize(req.uri().path()) {
        Ok(Cow::Borrowed(_)) => {}
        Ok(Cow::Owned(p)) => match with_path(req.uri(), &p) {
            Some(u) => *req.uri_mut() = u,
            None => return Err(Box::new(bad_request())),
        },
        Err(_) => return Err(Box::new(bad_request())),
    }
    // One atomic load; the snapshot is let go as soon as the route is in hand.
    let snap = ex.worker.live.load();
    let raw = ex.host_header();
    let mut lookup = radix_router::Request::new(req.uri().path())
        .method(req.method().as_str())
        .remote_addr(ex.conn.remote.ip());
    if !raw.is_empty() {
        lookup = lookup.host(ex.host()).http_host(raw);
    }
    let found = snap.find_matched(&lookup, &ex.vars(req), ex.host());
    let global = snap.global.clone();
    drop(snap);
    (ex.route, ex.matched) = match found {
        Some((route, matched)) => (Some(route), matched),
        None => (None, Matched::default()),
    };
    Ok(global)
}

/// What a request no route matched gets: the liveness answer for
/// `GET`/`HEAD /healthz`, else APISIX's 404.
pub fn no_route(method: &Method, path: &str) -> Response<Body> {
    if path == "/healthz" && matches!(*method, Method::GET | Method::HEAD) {
        respond::healthy()
    } else {
        respond::not_found()
    }
}

fn bad_request() -> Response<Body> {
    respond::error(StatusCode::BAD_REQUEST, "400 Bad Request")
}
