//! The entry points of the fuzz targets (`core/fuzz/`) and of their
//! bounded smoke run in the tests: each takes arbitrary bytes, runs one
//! parser of what a peer or a user sends, and panics only when one of the
//! parser's promises breaks. Not an API: hidden from the docs.

use bytes::BytesMut;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Method, Uri, Version};
use serde_json::Value;

use crate::config::{Kind, Object};
use crate::proxy::h1::{parse_request, BodyKind, Head, HeadError};
use crate::proxy::path::{normalize, with_path};
use crate::upstream::h1::{parse_response, Chunked, Framing};
use crate::upstream::{UpstreamRegistry, UpstreamRt};

/// A node's response head, then its chunked body, as the upstream client
/// reads them. The first byte picks the request method and where the rest
/// is split (a head may arrive in two reads). Promises: never both
/// `Content-Length` and `Transfer-Encoding` passed on, no interim 1xx
/// returned, an upgrade or a body read to the close is never reused, and
/// the chunked decoder consumes what it returns.
pub fn response_head(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let method = match sel % 3 {
        0 => Method::GET,
        1 => Method::HEAD,
        _ => Method::POST,
    };
    let split = usize::from(sel / 3) % (rest.len() + 1);
    let mut buf = BytesMut::new();
    let mut head = None;
    for part in [&rest[..split], &rest[split..]] {
        buf.extend_from_slice(part);
        if head.is_none() {
            match parse_response(&mut buf, &method) {
                Ok(Some(h)) => head = Some(h),
                Ok(None) => {}
                Err(_) => return,
            }
        }
    }
    let Some(head) = head else {
        return;
    };
    assert!(
        !(head.headers.contains_key(CONTENT_LENGTH)
            && head.headers.contains_key(TRANSFER_ENCODING)),
        "both framing headers passed on: {:?}",
        head.headers
    );
    assert!(!head.status.is_informational() || head.status.as_u16() == 101);
    if matches!(head.framing, Framing::Upgrade | Framing::UntilClose) {
        assert!(!head.keep_alive, "{:?} kept alive", head.framing);
    }
    if head.framing == Framing::Chunked {
        let mut decoder = Chunked::default();
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(data)) => {
                    assert!(!data.is_empty(), "an empty piece of data");
                    assert!(buf.len() < before, "data returned without consuming input");
                }
                Ok(None) | Err(_) => break,
            }
        }
    }
}

/// A request path, normalised as the route step does. Promises: the
/// result starts with `/`, has no empty, `.` or `..` segment in its middle,
/// is normal already (normalising again changes nothing), and fits back
/// into the request's target.
pub fn normalize_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = if text.starts_with('/') {
        text.to_owned()
    } else {
        format!("/{text}")
    };
    let Ok(norm) = normalize(&path) else {
        return;
    };
    assert!(norm.starts_with('/'), "{path:?} -> {norm:?}");
    assert!(!norm.contains("//"), "{path:?} -> {norm:?}");
    let inner = norm.trim_end_matches('/');
    assert!(
        !inner.split('/').skip(1).any(|s| s == "." || s == ".."),
        "{path:?} -> {norm:?}"
    );
    assert_eq!(
        normalize(&norm).as_deref(),
        Ok(&*norm),
        "not idempotent: {path:?}"
    );
    // The gateway normalises the path of a parsed target, which never
    // holds what the target's grammar leaves out (`#` and what follows).
    if let Ok(uri) = Uri::try_from(path.as_str()) {
        if let Ok(norm) = normalize(uri.path()) {
            assert!(
                with_path(&uri, &norm).is_some(),
                "{path:?} -> {norm:?} is no target"
            );
        }
    }
}

/// An Admin API body, decoded as the Admin API and the sources decode
/// objects: the first byte picks the kind, the rest is JSON. A decoded
/// upstream (without health checks, which would start probers) is also
/// built the way the proxy runs it. Promise: no panic, whatever the JSON.
pub fn admin_decode(data: &[u8]) {
    let Some((&sel, json)) = data.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(sel) % Kind::ALL.len()];
    let Ok(value) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    if !value.is_object() {
        return;
    }
    if let Ok((_, Object::Upstream(conf))) = crate::config::decode(kind, &value, "fuzz") {
        if conf.checks.is_none() {
            let _ = UpstreamRt::build(&conf, "fuzz".into(), &mut UpstreamRegistry::default());
        }
    }
}

/// Most bytes of a request head in the `request_head` target.
const HEAD_LIMIT: usize = 4096;

/// A client's request head, as the native HTTP/1.1 server reads it
/// (`proxy::h1`). The first byte picks where the rest is split: the head
/// is read in two pieces, as from two reads of the socket. Promises: two
/// reads give what one read gives; a head passed on never carries both
/// `Content-Length` and `Transfer-Encoding`, is chunked only on HTTP/1.1
/// with `Transfer-Encoding: chunked` alone, has the length every
/// `Content-Length` names; what follows the head stays in the buffer.
pub fn request_head(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(sel) % (rest.len() + 1);
    let whole = parse_request(&mut BytesMut::from(rest), HEAD_LIMIT);
    let mut buf = BytesMut::from(&rest[..split]);
    let mut two = parse_request(&mut buf, HEAD_LIMIT);
    buf.extend_from_slice(&rest[split..]);
    if matches!(two, Ok(None)) {
        two = parse_request(&mut buf, HEAD_LIMIT);
    }
    assert_eq!(
        summary(&whole),
        summary(&two),
        "one read and two reads (split at {split}) differ"
    );
    let Ok(Some(head)) = two else {
        return;
    };
    let headers = head.request.headers();
    assert!(
        !(headers.contains_key(CONTENT_LENGTH) && headers.contains_key(TRANSFER_ENCODING)),
        "both framing headers passed on: {headers:?}"
    );
    match head.body {
        BodyKind::Chunked => {
            assert_eq!(head.request.version(), Version::HTTP_11);
            let te: Vec<_> = headers.get_all(TRANSFER_ENCODING).iter().collect();
            assert!(
                te.len() == 1 && te[0].as_bytes().eq_ignore_ascii_case(b"chunked"),
                "chunked from {te:?}"
            );
        }
        BodyKind::Length(n) => {
            for v in headers.get_all(CONTENT_LENGTH) {
                assert_eq!(v.to_str().ok().and_then(|s| s.trim().parse().ok()), Some(n));
            }
        }
        BodyKind::Empty => assert!(!headers.contains_key(TRANSFER_ENCODING)),
    }
    assert!(
        rest.ends_with(&buf),
        "the bytes after the head are not the input's tail"
    );
}

/// What a parse gave, comparable across reads.
fn summary(r: &Result<Option<Head>, HeadError>) -> String {
    match r {
        Ok(None) => "incomplete".into(),
        Ok(Some(h)) => format!(
            "{} {} {:?} {:?} {:?} ka={} ex={} up={}",
            h.request.method(),
            h.request.uri(),
            h.request.version(),
            h.request.headers(),
            h.body,
            h.keep_alive,
            h.expect_continue,
            h.upgrade
        ),
        Err(e) => format!("refused {}", e.status),
    }
}
