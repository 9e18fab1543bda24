//! Answers the gateway gives itself: JSON errors (APISIX's
//! `{"error_msg": ...}` shape) and the liveness check.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{Either, Full};

use crate::upstream::PooledBody;

/// The body of every response: streamed from a node, or the gateway's own,
/// or either of them through body_filter plugins (boxed: the plugin side
/// it carries is large, and every response is moved step by step).
pub type Body = Either<PooledBody, Either<Full<Bytes>, Box<super::body_filter::Filtered>>>;

/// The `Server` of every response the client gets, the gateway's own and
/// a node's (whose own `Server` is not passed on), unless a plugin set
/// one: written by the servers (`h1::write`, `pipeline::handle`).
pub const SERVER_NAME: &str = "radixgate";

/// A step's own answer to the request (the gateway's or a plugin's), which
/// ends its way towards a node. Boxed: a response is large, and answering
/// early is the rarer way.
pub type Answer = Box<Response<Body>>;

/// A JSON response `{"error_msg": msg}` with `status`.
pub fn error(status: StatusCode, msg: &str) -> Response<Body> {
    let body = serde_json::json!({ "error_msg": msg }).to_string();
    json(status, body)
}

/// `404 {"error_msg":"404 Route Not Found"}`, as APISIX answers.
pub fn not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, "404 Route Not Found")
}

/// `200 {"status":"ok"}` for `GET /healthz`.
pub fn healthy() -> Response<Body> {
    json(StatusCode::OK, r#"{"status":"ok"}"#.to_owned())
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut resp = Response::new(Either::Right(Either::Left(Full::new(Bytes::from(body)))));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
