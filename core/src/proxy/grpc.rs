//! gRPC calls through the pipeline: which requests are gRPC (their
//! `content-type` is `application/grpc*`), the deadline a call carries
//! (`grpc-timeout`), and the gateway's own refusals turned into gRPC
//! statuses. A gRPC client cannot read a JSON error body: a call refused
//! at the gateway (no route, no node, a timeout, a plugin's answer) gets a
//! trailers-only response, HTTP 200 with `grpc-status` and `grpc-message`
//! in its headers and no body.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::Body as _;

use super::respond::Body;

const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// Longest `grpc-message` the gateway writes, in bytes before encoding.
const MAX_MESSAGE: usize = 512;

/// What the pipeline knows of a gRPC call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The client's deadline (`grpc-timeout`), when it sent one.
    pub timeout: Option<Duration>,
}

impl Call {
    /// The call `headers` make, or `None` when the request is not gRPC.
    pub fn of(headers: &HeaderMap) -> Option<Call> {
        let grpc = headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        grpc.then(|| Call {
            timeout: headers
                .get(GRPC_TIMEOUT)
                .and_then(|v| timeout(v.as_bytes())),
        })
    }
}

/// A `grpc-timeout` value (`1-8 digits` and a unit of `H`, `M`, `S`, `m`,
/// `u`, `n`); `None` when it is not one.
pub fn timeout(v: &[u8]) -> Option<Duration> {
    let (&unit, digits) = v.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The gRPC status code for an HTTP status the gateway answered with.
pub fn status_code(status: StatusCode) -> u16 {
    match status.as_u16() {
        400 => 13,       // INTERNAL
        401 => 16,       // UNAUTHENTICATED
        403 => 7,        // PERMISSION_DENIED
        404 => 12,       // UNIMPLEMENTED
        408 | 504 => 4,  // DEADLINE_EXCEEDED
        413 | 429 => 8,  // RESOURCE_EXHAUSTED
        502 | 503 => 14, // UNAVAILABLE
        _ => 2,          // UNKNOWN
    }
}

/// `resp` as a gRPC client reads it: an answer of the gateway's own (or a
/// plugin's) with a status other than 2xx becomes a trailers-only
/// response; a node's response, or a success, is left as it is.
pub fn answer(resp: Response<Body>) -> Response<Body> {
    if resp.status().is_success() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let own = match body {
        Either::Right(Either::Left(full)) => full,
        other => return Response::from_parts(parts, other),
    };
    let message = error_message(own).unwrap_or_else(|| {
        let reason = parts.status.canonical_reason().unwrap_or("");
        format!("{} {reason}", parts.status.as_u16())
    });
    let mut out = Response::new(Either::Right(Either::Left(Full::new(Bytes::new()))));
    let h = out.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    h.insert(GRPC_STATUS, HeaderValue::from(status_code(parts.status)));
    if let Ok(v) = HeaderValue::from_str(&percent_encode(&message)) {
        h.insert(GRPC_MESSAGE, v);
    }
    for name in [
        header::SERVER,
        header::WWW_AUTHENTICATE,
        header::RETRY_AFTER,
    ] {
        if let Some(v) = parts.headers.get(&name) {
            h.insert(name, v.clone());
        }
    }
    out
}

/// The text of an answer's body: its JSON `error_msg`, or the body itself.
/// The gateway's own bodies are whole in memory, so one poll reads them.
fn error_message(mut body: Full<Bytes>) -> Option<String> {
    let mut cx = Context::from_waker(Waker::noop());
    let data = match Pin::new(&mut body).poll_frame(&mut cx) {
        Poll::Ready(Some(Ok(frame))) => frame.into_data().ok()?,
        _ => return None,
    };
    let text = match serde_json::from_slice::<serde_json::Value>(&data) {
        Ok(v) => match v.get("error_msg").or_else(|| v.get("message")) {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => String::from_utf8_lossy(&data).into_owned(),
        },
        Err(_) => String::from_utf8_lossy(&data).into_owned(),
    };
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut end = text.len().min(MAX_MESSAGE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_owned())
}

/// gRPC's percent-encoding of `grpc-message`: printable ASCII but `%` as
/// it is, every other byte as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::respond;

    #[test]
    fn grpc_timeouts_parse_and_bad_ones_do_not() {
        let cases: [(&[u8], Option<Duration>); 9] = [
            (b"1S", Some(Duration::from_secs(1))),
            (b"250m", Some(Duration::from_millis(250))),
            (b"2H", Some(Duration::from_secs(7200))),
            (b"3M", Some(Duration::from_secs(180))),
            (b"10u", Some(Duration::from_micros(10))),
            (b"99999999n", Some(Duration::from_nanos(99_999_999))),
            (b"123456789S", None), // more than 8 digits
            (b"S", None),
            (b"5x", None),
        ];
        for (v, want) in cases {
            assert_eq!(timeout(v), want, "{}", String::from_utf8_lossy(v));
        }
    }

    #[test]
    fn own_errors_become_trailers_only_statuses() {
        let cases = [
            (StatusCode::NOT_FOUND, "12"),
            (StatusCode::BAD_GATEWAY, "14"),
            (StatusCode::GATEWAY_TIMEOUT, "4"),
            (StatusCode::UNAUTHORIZED, "16"),
            (StatusCode::TOO_MANY_REQUESTS, "8"),
            (StatusCode::IM_A_TEAPOT, "2"),
        ];
        for (status, code) in cases {
            let resp = answer(respond::error(status, "no way: 100%"));
            assert_eq!(resp.status(), StatusCode::OK);
            assert_eq!(resp.headers()["grpc-status"], code, "{status}");
            assert_eq!(resp.headers()["content-type"], "application/grpc");
            assert_eq!(resp.headers()["grpc-message"], "no way: 100%25");
            assert!(resp.body().is_end_stream());
        }
        let ok = answer(respond::healthy());
        assert_eq!(ok.headers()["content-type"], "application/json");
    }

    #[test]
    fn only_grpc_content_types_are_calls() {
        let mut h = HeaderMap::new();
        assert_eq!(Call::of(&h), None);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(Call::of(&h), None);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc+proto"),
        );
        h.insert(GRPC_TIMEOUT, HeaderValue::from_static("5S"));
        let call = Call::of(&h).expect("a gRPC call");
        assert_eq!(call.timeout, Some(Duration::from_secs(5)));
    }
}
