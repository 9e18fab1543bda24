//! The request head as the native HTTP/1.1 server reads it: parsed in
//! place from the connection's read buffer by httparse, the target and
//! header values sharing that buffer's bytes (nothing is copied), and the
//! body's framing decided by RFC 9112 section 6 with the request
//! smuggling defences: `Content-Length` beside `Transfer-Encoding`,
//! conflicting lengths, a transfer coding other than `chunked`, and
//! obs-fold (httparse refuses it) are each a 400.

use crate::upstream::h1::{parse_length, tokens};
use bytes::BytesMut;
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, Version};

/// Most header lines a request head may carry (hyper's limit too); more
/// gets 431.
const MAX_HEADERS: usize = 100;

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body (`Content-Length: 0`, or neither header).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
}

/// A request head and what the connection needs to know about it.
#[derive(Debug)]
pub struct Head {
    /// Method, target, version and headers; the body comes separately.
    pub request: Request<()>,
    /// How the body that follows is delimited.
    pub body: BodyKind,
    /// Whether the client lets the connection carry another request.
    pub keep_alive: bool,
    /// `Expect: 100-continue`: the client waits before sending the body.
    pub expect_continue: bool,
    /// `Connection: upgrade` with an `Upgrade` header.
    pub upgrade: bool,
}

/// Why a head was refused: the status it is answered with and what was
/// wrong.
#[derive(Debug)]
pub struct HeadError {
    /// 400, or 431 for a head too large.
    pub status: StatusCode,
    /// What was wrong, for the debug log.
    pub why: String,
}

impl HeadError {
    fn bad(why: impl Into<String>) -> HeadError {
        HeadError {
            status: StatusCode::BAD_REQUEST,
            why: why.into(),
        }
    }

    fn too_large(why: impl Into<String>) -> HeadError {
        HeadError {
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            why: why.into(),
        }
    }
}

/// Where a name and value lie in the read buffer.
type Span = (u32, u32, u32, u32);

/// Offsets of a complete head: its length, method, target, minor
/// version and header count.
struct Spans {
    len: usize,
    method: (usize, usize),
    target: (usize, usize),
    minor: u8,
    count: usize,
}

fn parse_spans<const N: usize>(
    buf: &[u8],
    spans: &mut [Span; N],
) -> Result<Option<Spans>, httparse::Error> {
    let mut slots = [httparse::EMPTY_HEADER; N];
    let mut req = httparse::Request::new(&mut slots);
    let len = match req.parse(buf)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    // Offsets fit in u32: the caller bounds the buffer well below that.
    let base = buf.as_ptr() as usize;
    let at = |p: *const u8| p as usize - base;
    for (span, h) in spans.iter_mut().zip(req.headers.iter()) {
        let (name, value) = (at(h.name.as_ptr()), at(h.value.as_ptr()));
        *span = (
            name as u32,
            (name + h.name.len()) as u32,
            value as u32,
            (value + h.value.len()) as u32,
        );
    }
    let method = req.method.unwrap_or_default();
    let target = req.path.unwrap_or_default();
    let (m, t) = (at(method.as_ptr()), at(target.as_ptr()));
    Ok(Some(Spans {
        len,
        method: (m, m + method.len()),
        target: (t, t + target.len()),
        minor: req.version.unwrap_or(1),
        count: req.headers.len(),
    }))
}

/// Parses a request head at the start of `buf` and removes it from there
/// (what follows, a body or pipelined requests, stays). `Ok(None)`: not
/// complete yet and `buf` is under `limit` bytes. Leading empty lines are
/// skipped (RFC 9112 section 2.2).
pub fn parse_request(buf: &mut BytesMut, limit: usize) -> Result<Option<Head>, HeadError> {
    let blank = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let _ = buf.split_to(blank);
    // Most heads have a handful of headers: a small table first, the full
    // one when that is not enough.
    let mut few = [(0, 0, 0, 0); 24];
    let mut all: Box<[Span; MAX_HEADERS]>;
    let parsed = match parse_spans(buf, &mut few) {
        Err(httparse::Error::TooManyHeaders) => {
            all = Box::new([(0, 0, 0, 0); MAX_HEADERS]);
            parse_spans(buf, &mut all).map(|p| (p, &all[..]))
        }
        other => other.map(|p| (p, &few[..])),
    };
    let (s, spans) = match parsed {
        Ok((Some(s), spans)) if s.len <= limit => (s, spans),
        Ok((Some(_), _)) => return Err(HeadError::too_large("request head too large")),
        Ok((None, _)) if buf.len() >= limit => {
            return Err(HeadError::too_large("request head too large"));
        }
        Ok((None, _)) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadError::too_large(format!(
                "more than {MAX_HEADERS} header lines"
            )));
        }
        Err(e) => return Err(HeadError::bad(format!("invalid request head: {e}"))),
    };
    let head = buf.split_to(s.len).freeze();
    let method = Method::from_bytes(&head[s.method.0..s.method.1])
        .map_err(|_| HeadError::bad("invalid method"))?;
    let uri = Uri::from_maybe_shared(head.slice(s.target.0..s.target.1))
        .map_err(|e| HeadError::bad(format!("invalid request target: {e}")))?;
    let version = if s.minor == 0 {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    // Room for a few more: the gateway and plugins add headers.
    let mut headers = HeaderMap::with_capacity(s.count + 6);
    let mut length: Option<u64> = None;
    let mut coding: Option<bool> = None;
    let (mut close, mut keep_alive, mut upgrade_token) = (false, false, false);
    // The first `Expect` decides, noted on the way (a lookup hashes again).
    let mut expect: Option<bool> = None;
    for &(n0, n1, v0, v1) in &spans[..s.count] {
        let (n0, n1, v0, v1) = (n0 as usize, n1 as usize, v0 as usize, v1 as usize);
        let name = HeaderName::from_bytes(&head[n0..n1])
            .map_err(|_| HeadError::bad("invalid header name"))?;
        let value = HeaderValue::from_maybe_shared(head.slice(v0..v1))
            .map_err(|_| HeadError::bad(format!("invalid value of header {name}")))?;
        if name == CONTENT_LENGTH {
            let n = parse_length(value.as_bytes())
                .ok_or_else(|| HeadError::bad("invalid content-length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(HeadError::bad("conflicting content-length headers"));
            }
            length = Some(n);
        } else if name == TRANSFER_ENCODING {
            // Only `chunked`, alone: anything else could be read two ways.
            let chunked = coding.is_none() && value.as_bytes().eq_ignore_ascii_case(b"chunked");
            coding = Some(chunked);
        } else if name == CONNECTION {
            for t in tokens(value.as_bytes()) {
                close |= t.eq_ignore_ascii_case(b"close");
                keep_alive |= t.eq_ignore_ascii_case(b"keep-alive");
                upgrade_token |= t.eq_ignore_ascii_case(b"upgrade");
            }
        } else if name == EXPECT && expect.is_none() {
            expect = Some(value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        }
        headers.append(name, value);
    }
    let body = match (coding, length) {
        (Some(_), Some(_)) => {
            return Err(HeadError::bad("both content-length and transfer-encoding"));
        }
        (Some(false), None) => return Err(HeadError::bad("transfer-encoding other than chunked")),
        (Some(true), None) if version == Version::HTTP_10 => {
            return Err(HeadError::bad("transfer-encoding in an HTTP/1.0 request"));
        }
        (Some(true), None) => BodyKind::Chunked,
        (None, Some(0)) | (None, None) => BodyKind::Empty,
        (None, Some(n)) => BodyKind::Length(n),
    };
    let keep_alive = match version {
        Version::HTTP_10 => keep_alive && !close,
        _ => !close,
    };
    let expect_continue = version == Version::HTTP_11 && expect == Some(true);
    let upgrade = upgrade_token && headers.contains_key(UPGRADE);
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(Some(Head {
        request,
        body,
        keep_alive,
        expect_continue,
        upgrade,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Option<Head>, HeadError> {
        parse_request(&mut BytesMut::from(raw), 8192)
    }

    fn status(raw: &str) -> u16 {
        match parse(raw) {
            Err(e) => e.status.as_u16(),
            Ok(_) => 0,
        }
    }

    #[test]
    fn a_head_is_parsed_and_what_follows_stays() {
        let mut buf = BytesMut::from(
            "\r\nPOST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nX-A: 1\r\nx-a: 2\r\n\r\nabcGET",
        );
        let head = parse_request(&mut buf, 8192)
            .expect("valid")
            .expect("complete");
        assert_eq!(head.request.method(), Method::POST);
        assert_eq!(head.request.uri(), "/a?b=1");
        assert_eq!(head.request.headers().get_all("x-a").iter().count(), 2);
        assert_eq!(head.body, BodyKind::Length(3));
        assert!(head.keep_alive && !head.expect_continue && !head.upgrade);
        assert_eq!(&buf[..], b"abcGET");
        let mut part = BytesMut::from("GET / HTTP/1.1\r\nHost: x\r\n");
        assert!(parse_request(&mut part, 8192).expect("valid").is_none());
    }

    #[test]
    fn framing_and_connection_rules() {
        let h = |raw: &str| parse(raw).expect("valid").expect("complete");
        let chunked = h("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(chunked.body, BodyKind::Chunked);
        let same = h("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n");
        assert_eq!(same.body, BodyKind::Length(2));
        assert!(!h("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(h("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        assert!(!h("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        let ws =
            h("GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n");
        assert!(ws.upgrade);
        assert!(
            h("PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")
                .expect_continue
        );
    }

    #[test]
    fn the_first_expect_of_an_http11_request_decides() {
        let expects = |version: &str, lines: &str| {
            let raw = format!("PUT / HTTP/{version}\r\nX-A: 1\r\n{lines}Content-Length: 1\r\n\r\n");
            parse(&raw)
                .expect("valid")
                .expect("complete")
                .expect_continue
        };
        assert!(expects("1.1", "Expect: 100-continue\r\n"));
        assert!(expects("1.1", "Expect: 100-continue\r\nExpect: other\r\n"));
        assert!(!expects("1.1", "Expect: other\r\nExpect: 100-continue\r\n"));
        assert!(!expects("1.1", "Expect: 100-continued\r\n"));
        assert!(!expects("1.1", ""));
        assert!(!expects("1.0", "Expect: 100-continue\r\n"));
    }

    #[test]
    fn ambiguous_or_oversized_heads_are_refused() {
        // Each row: a head two parsers could frame differently, or too large.
        let rows = [
            ("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", 400),
            ("GARBAGE\r\n\r\n", 400),
        ];
        for (raw, want) in rows {
            assert_eq!(status(raw), want, "{raw:?}");
        }
        let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(status(&format!("GET / HTTP/1.1\r\n{many}\r\n")), 431);
        let big = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n", "a".repeat(9000));
        assert_eq!(status(&big), 431);
    }
}
