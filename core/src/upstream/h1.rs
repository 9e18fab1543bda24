//! HTTP/1.1 on the wire towards nodes: the request head as it is written,
//! the response head as it is parsed (header values share the read
//! buffer, nothing is copied), how the response body is framed (RFC 9112
//! section 6.3), and the chunked decoder.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};

use super::forwarded::{self, Forwarded};

/// Most header lines a node's response head may carry (hyper's limit too).
const MAX_HEADERS: usize = 100;
/// Largest response head accepted from a node.
pub const MAX_HEAD: usize = 64 * 1024;
/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;

/// How a request body goes to the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReqFraming {
    /// No body.
    None,
    /// This many bytes (the client's length), as they come.
    Length(u64),
    /// Chunked (the client's length is unknown).
    Chunked,
}

/// Appends the request head to `out`: request line, the headers as they
/// are (an `Expect` is answered by the gateway, not forwarded), what the
/// node is told of the client (`forwarded`, when given), then the
/// framing and `Connection: close` for a connection's last request. The
/// framing is `framing`'s alone: a `Content-Length` or
/// `Transfer-Encoding` among `headers` (a plugin's) is not written. A
/// request without a body says `content-length: 0` when its method
/// usually has one or its headers gave a length.
pub fn encode_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    forwarded: Option<&Forwarded<'_>>,
    framing: ReqFraming,
    close: bool,
    out: &mut BytesMut,
) {
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    out.reserve(64 + target.len() + headers.len() * 32 + forwarded.map_or(0, |_| 160));
    out.put_slice(method.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(target.as_bytes());
    out.put_slice(b" HTTP/1.1\r\n");
    // Which of the forwarded headers the request carries, learnt on the
    // way: its X-Forwarded-For lines go out as one, the client appended.
    let mut carried = [false; 5];
    for (name, value) in headers {
        if name == EXPECT || name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        if let Some(i) = forwarded.and_then(|_| forwarded::which(name)) {
            carried[i] = true;
            // X-Forwarded-For: written with the client appended, below.
            if i == 0 {
                continue;
            }
        }
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    if let Some(f) = forwarded {
        f.write(carried, headers, out);
    }
    match framing {
        ReqFraming::Chunked => out.put_slice(b"transfer-encoding: chunked\r\n"),
        ReqFraming::Length(n) => {
            out.put_slice(b"content-length: ");
            out.put_slice(itoa::Buffer::new().format(n).as_bytes());
            out.put_slice(b"\r\n");
        }
        ReqFraming::None => {
            let usual = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
            if usual || headers.contains_key(CONTENT_LENGTH) {
                out.put_slice(b"content-length: 0\r\n");
            }
        }
    }
    if close && !headers.contains_key(CONNECTION) {
        out.put_slice(b"connection: close\r\n");
    }
    out.put_slice(b"\r\n");
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// None (HEAD, 204, 304, or `Content-Length: 0`).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the node closes the connection.
    UntilClose,
    /// `101 Switching Protocols`: the connection now carries another protocol.
    Upgrade,
}

/// A parsed response head.
#[derive(Debug)]
pub struct Head {
    /// The status (never 1xx other than 101).
    pub status: StatusCode,
    /// The node's HTTP version.
    pub version: Version,
    /// The headers in the node's order.
    pub headers: HeaderMap,
    /// How the body that follows is delimited.
    pub framing: Framing,
    /// Whether the connection may carry another request afterwards.
    pub keep_alive: bool,
}

/// Parses a response head at the start of `buf` and removes it from
/// there. `Ok(None)`: the head is not complete yet. Interim 1xx responses
/// (other than 101) are skipped. Errors say what was wrong.
pub fn parse_response(buf: &mut BytesMut, method: &Method) -> Result<Option<Head>, String> {
    parse_final(buf, method, Keep::All)
}

/// [`parse_response`] for a response the proxy passes on: a `Connection`
/// header that names no other header (nginx's `keep-alive`) is read for
/// the head's `keep_alive` and not kept, as the proxy would drop it (it is
/// hop-by-hop); the node's `Server` and `Date` are not kept either: the
/// client gets the gateway's, as nginx's `proxy_hide_header` defaults do.
pub fn parse_proxied_response(buf: &mut BytesMut, method: &Method) -> Result<Option<Head>, String> {
    parse_final(buf, method, Keep::Proxied)
}

/// Which headers a parsed head keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    All,
    /// All but a `Connection` that names no other header, `Server` and
    /// `Date`.
    Proxied,
}

fn parse_final(buf: &mut BytesMut, method: &Method, keep: Keep) -> Result<Option<Head>, String> {
    loop {
        let Some(head) = parse_one(buf, method, keep)? else {
            return Ok(None);
        };
        if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS {
            continue;
        }
        return Ok(Some(head));
    }
}

/// Where a header's name and value lie in the read buffer.
type Span = (u32, u32, u32, u32);

/// A complete head parsed with room for `N` headers: its length, status
/// code, minor version and header spans. `Ok(None)`: not complete yet.
fn parse_spans<const N: usize>(
    buf: &[u8],
    spans: &mut [Span; N],
) -> Result<Option<(usize, u16, u8, usize)>, httparse::Error> {
    let mut slots = [httparse::EMPTY_HEADER; N];
    let mut resp = httparse::Response::new(&mut slots);
    let len = match resp.parse(buf)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    // Offsets fit in u32: a head is at most MAX_HEAD bytes.
    let base = buf.as_ptr() as usize;
    let at = |p: *const u8| (p as usize - base) as u32;
    for (span, h) in spans.iter_mut().zip(resp.headers.iter()) {
        let (name, value) = (at(h.name.as_ptr()), at(h.value.as_ptr()));
        *span = (
            name,
            name + h.name.len() as u32,
            value,
            value + h.value.len() as u32,
        );
    }
    let code = resp.code.unwrap_or(0);
    Ok(Some((
        len,
        code,
        resp.version.unwrap_or(1),
        resp.headers.len(),
    )))
}

fn parse_one(buf: &mut BytesMut, method: &Method, keep: Keep) -> Result<Option<Head>, String> {
    // Most heads have a handful of headers: a small table first, hyper's
    // limit when that is not enough.
    let mut few = [(0, 0, 0, 0); 24];
    let mut all: Box<[Span; MAX_HEADERS]>;
    let parsed = match parse_spans(buf, &mut few) {
        Err(httparse::Error::TooManyHeaders) => {
            all = Box::new([(0, 0, 0, 0); MAX_HEADERS]);
            parse_spans(buf, &mut all).map(|p| (p, &all[..]))
        }
        other => other.map(|p| (p, &few[..])),
    };
    let (len, code, minor, count, spans) = match parsed {
        Ok((Some((len, code, minor, count)), spans)) => (len, code, minor, count, spans),
        Ok((None, _)) if buf.len() > MAX_HEAD => {
            return Err(format!("response head larger than {MAX_HEAD} bytes"));
        }
        Ok((None, _)) => return Ok(None),
        Err(e) => return Err(format!("invalid response head: {e}")),
    };
    let head = buf.split_to(len).freeze();
    let status = StatusCode::from_u16(code).map_err(|_| format!("invalid status code {code}"))?;
    let version = if minor == 0 {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    // Room for a few more: plugins and the gateway add headers to answers.
    let mut headers = HeaderMap::with_capacity(count + 6);
    let mut length: Option<u64> = None;
    let mut chunked = None;
    let (mut close, mut keep_alive) = (false, false);
    for &(n0, n1, v0, v1) in &spans[..count] {
        let (n0, n1, v0, v1) = (n0 as usize, n1 as usize, v0 as usize, v1 as usize);
        let raw = &head[n0..n1];
        if raw.eq_ignore_ascii_case(b"connection") {
            let value = &head[v0..v1];
            close |= has_token(value, b"close");
            keep_alive |= has_token(value, b"keep-alive");
            if keep == Keep::Proxied && tokens(value).all(names_no_header) {
                continue;
            }
        } else if keep == Keep::Proxied
            && (raw.eq_ignore_ascii_case(b"server") || raw.eq_ignore_ascii_case(b"date"))
        {
            continue;
        }
        let name = HeaderName::from_bytes(&head[n0..n1]).map_err(|_| {
            format!(
                "invalid header name {:?}",
                String::from_utf8_lossy(&head[n0..n1])
            )
        })?;
        let value = HeaderValue::from_maybe_shared(head.slice(v0..v1))
            .map_err(|_| format!("invalid value of header {name}"))?;
        if name == CONTENT_LENGTH {
            let n = parse_length(value.as_bytes())
                .ok_or_else(|| format!("invalid content-length {value:?}"))?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting content-length headers".to_owned());
            }
            length = Some(n);
        } else if name == TRANSFER_ENCODING {
            // The last coding decides: chunked must come last.
            chunked = Some(last_token_is(value.as_bytes(), b"chunked"));
        }
        headers.append(name, value);
    }
    let no_body = *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    // Both: the transfer coding frames the body, and a length passed on
    // would make the client cut it short (RFC 9112 6.3, point 3).
    if chunked.is_some() && length.is_some() {
        headers.remove(CONTENT_LENGTH);
        length = None;
    }
    let framing = if status == StatusCode::SWITCHING_PROTOCOLS {
        Framing::Upgrade
    } else if no_body {
        Framing::Empty
    } else {
        match (chunked, length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::UntilClose,
            (None, Some(0)) => Framing::Empty,
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::UntilClose,
        }
    };
    let keep_alive = match version {
        Version::HTTP_10 => keep_alive && !close,
        _ => !close,
    } && framing != Framing::UntilClose
        && framing != Framing::Upgrade;
    Ok(Some(Head {
        status,
        version,
        headers,
        framing,
        keep_alive,
    }))
}

/// A `Content-Length` value: digits only, at most 19 of them (the
/// client's and the node's heads are read by the same rule).
pub(crate) fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The comma-separated tokens of a header value, trimmed.
pub(crate) fn tokens(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

fn has_token(v: &[u8], want: &[u8]) -> bool {
    tokens(v).any(|t| t.eq_ignore_ascii_case(want))
}

/// Whether a `Connection` token is one that names no header: empty,
/// `close`, `keep-alive` or `upgrade`.
pub(crate) fn names_no_header(token: &[u8]) -> bool {
    token.is_empty()
        || token.eq_ignore_ascii_case(b"close")
        || token.eq_ignore_ascii_case(b"keep-alive")
        || token.eq_ignore_ascii_case(b"upgrade")
}

fn last_token_is(v: &[u8], want: &[u8]) -> bool {
    tokens(v)
        .filter(|t| !t.is_empty())
        .last()
        .is_some_and(|t| t.eq_ignore_ascii_case(want))
}

/// Where the chunked decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk's data: bytes left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last (zero) chunk: trailer lines until an empty one.
    Trailers,
    /// The body ended.
    Done,
}

/// The chunked transfer coding, decoded from a buffer that fills bit by
/// bit. Chunk extensions and trailers are read and dropped.
#[derive(Debug)]
pub struct Chunked(Chunk);

impl Default for Chunked {
    fn default() -> Self {
        Chunked(Chunk::Size)
    }
}

impl Chunked {
    /// Whether the last chunk and the trailers have been read.
    pub fn done(&self) -> bool {
        self.0 == Chunk::Done
    }

    /// The next piece of data from `buf` (removed from it); `Ok(None)`
    /// when `buf` holds no more data yet, or the body ended ([`done`]).
    ///
    /// [`done`]: Chunked::done
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, String> {
        loop {
            match self.0 {
                Chunk::Size => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(None);
                    };
                    let size = parse_chunk_size(&line)?;
                    self.0 = if size == 0 {
                        Chunk::Trailers
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(left) => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let data = buf.split_to(n).freeze();
                    let left = left - n as u64;
                    self.0 = if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    };
                    return Ok(Some(data));
                }
                Chunk::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(None);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err("chunk data not followed by CRLF".to_owned());
                    }
                    buf.advance(2);
                    self.0 = Chunk::Size;
                }
                Chunk::Trailers => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(None);
                    };
                    if line.is_empty() {
                        self.0 = Chunk::Done;
                    }
                }
                Chunk::Done => return Ok(None),
            }
        }
    }
}

/// One CRLF-terminated line off the front of `buf` (without its CRLF).
fn take_line(buf: &mut BytesMut) -> Result<Option<BytesMut>, String> {
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(end) => {
            let mut line = buf.split_to(end + 2);
            line.truncate(end);
            Ok(Some(line))
        }
        None if buf.len() > MAX_LINE => Err("chunk line too long".to_owned()),
        None => Ok(None),
    }
}

fn parse_chunk_size(line: &[u8]) -> Result<u64, String> {
    let hex = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if hex.is_empty() || hex.len() > 15 {
        return Err("invalid chunk size".to_owned());
    }
    hex.iter().try_fold(0u64, |n, &d| {
        let v = (d as char)
            .to_digit(16)
            .ok_or_else(|| "invalid chunk size".to_owned())?;
        Ok(n << 4 | u64::from(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str, method: Method) -> Result<Option<Head>, String> {
        parse_response(&mut BytesMut::from(raw), &method)
    }

    #[test]
    fn request_head_carries_method_target_headers_and_framing() {
        let (mut parts, ()) = http::Request::builder()
            .method("POST")
            .uri("/a/b?x=1")
            .header("host", "node")
            .header("expect", "100-continue")
            .body(())
            .expect("request")
            .into_parts();
        let mut out = BytesMut::new();
        let enc = |parts: &http::request::Parts, f, out: &mut BytesMut| {
            encode_request(
                &parts.method,
                &parts.uri,
                &parts.headers,
                None,
                f,
                true,
                out,
            )
        };
        enc(&parts, ReqFraming::Chunked, &mut out);
        assert_eq!(
            &out[..],
            b"POST /a/b?x=1 HTTP/1.1\r\nhost: node\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );
        parts
            .headers
            .insert(CONNECTION, HeaderValue::from_static("upgrade"));
        out.clear();
        enc(&parts, ReqFraming::None, &mut out);
        assert!(
            out.ends_with(b"connection: upgrade\r\ncontent-length: 0\r\n\r\n"),
            "{out:?}"
        );
    }

    #[test]
    fn request_framing_is_the_hosts_whatever_the_headers_say() {
        let (parts, ()) = http::Request::builder()
            .method("POST")
            .uri("/p")
            .header("content-length", "5")
            .header("transfer-encoding", "chunked")
            .header("x-a", "1")
            .body(())
            .expect("request")
            .into_parts();
        let enc = |f| {
            let mut out = BytesMut::new();
            encode_request(
                &parts.method,
                &parts.uri,
                &parts.headers,
                None,
                f,
                false,
                &mut out,
            );
            String::from_utf8(out.to_vec()).expect("ascii")
        };
        assert_eq!(
            enc(ReqFraming::Length(12)),
            "POST /p HTTP/1.1\r\nx-a: 1\r\ncontent-length: 12\r\n\r\n"
        );
        assert_eq!(
            enc(ReqFraming::Chunked),
            "POST /p HTTP/1.1\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        assert_eq!(
            enc(ReqFraming::None),
            "POST /p HTTP/1.1\r\nx-a: 1\r\ncontent-length: 0\r\n\r\n"
        );
        let mut out = BytesMut::new();
        let get = http::Method::GET;
        encode_request(
            &get,
            &parts.uri,
            &HeaderMap::new(),
            None,
            ReqFraming::None,
            false,
            &mut out,
        );
        assert_eq!(&out[..], b"GET /p HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn a_transfer_coding_drops_the_content_length() {
        let te = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        let head = parse(te, Method::GET).expect("valid").expect("complete");
        assert_eq!(head.framing, Framing::Chunked);
        assert!(
            !head.headers.contains_key(CONTENT_LENGTH),
            "{:?}",
            head.headers
        );
        let te = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n";
        let head = parse(te, Method::GET).expect("valid").expect("complete");
        assert_eq!(head.framing, Framing::UntilClose);
        assert!(!head.headers.contains_key(CONTENT_LENGTH));
    }

    #[test]
    fn response_framing_follows_rfc_9112() {
        let h = |raw: &str, m: Method| parse(raw, m).expect("valid").expect("complete");
        let len = h("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", Method::GET);
        assert_eq!((len.framing, len.keep_alive), (Framing::Length(12), true));
        let te = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(h(te, Method::GET).framing, Framing::Chunked);
        let close = h("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", Method::GET);
        assert_eq!(
            (close.framing, close.keep_alive),
            (Framing::UntilClose, false)
        );
        let head = h("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", Method::HEAD);
        assert_eq!(head.framing, Framing::Empty);
        let old = h("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", Method::GET);
        assert!(!old.keep_alive);
        let old_ka = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n";
        assert!(h(old_ka, Method::GET).keep_alive);
        let up = h(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
            Method::GET,
        );
        assert_eq!((up.framing, up.keep_alive), (Framing::Upgrade, false));
        let interim = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(h(interim, Method::POST).status, StatusCode::NO_CONTENT);
    }

    #[test]
    fn a_proxied_head_drops_a_connection_header_that_names_nothing() {
        let proxied = |raw: &str| {
            parse_proxied_response(&mut BytesMut::from(raw), &Method::GET)
                .expect("valid")
                .expect("complete")
        };
        let ka = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n";
        let head = proxied(ka);
        assert!(head.keep_alive && !head.headers.contains_key(CONNECTION));
        // Kept where the head is not proxied (a plugin's HTTP call).
        let plain = parse(ka, Method::GET).expect("valid").expect("complete");
        assert_eq!(plain.headers[CONNECTION], "Keep-Alive");
        let close = proxied("HTTP/1.1 200 OK\r\nConnection: close, upgrade\r\n\r\n");
        assert!(!close.keep_alive && !close.headers.contains_key(CONNECTION));
        // One that names a header stays, for the hop-by-hop step to read.
        let named = proxied("HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n\r\n");
        assert!(!named.keep_alive);
        assert_eq!(named.headers[CONNECTION], "close, X-Hop");
    }

    #[test]
    fn response_head_shares_the_buffer_and_leaves_the_body() {
        let mut buf = BytesMut::from("HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody");
        let head = parse_response(&mut buf, &Method::GET)
            .expect("valid")
            .expect("complete");
        let all: Vec<_> = head.headers.get_all("x-a").iter().collect();
        assert_eq!(all, ["1", "2"]);
        assert_eq!(&buf[..], b"body");
    }

    #[test]
    fn heads_with_many_headers_up_to_the_limit() {
        let head = |n: usize| {
            let lines: String = (0..n).map(|i| format!("X-H{i}: {i}\r\n")).collect();
            format!("HTTP/1.1 200 OK\r\n{lines}Content-Length: 0\r\n\r\n")
        };
        let h = parse(&head(60), Method::GET)
            .expect("valid")
            .expect("complete");
        assert_eq!(h.headers.len(), 61);
        assert_eq!(h.headers["x-h59"], "59");
        assert!(parse(&head(MAX_HEADERS), Method::GET).is_err());
    }

    #[test]
    fn bad_and_partial_heads() {
        assert!(parse("HTTP/1.1 200 OK\r\nContent-Le", Method::GET)
            .expect("partial is fine")
            .is_none());
        let e = parse(
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            Method::GET,
        );
        assert!(e.expect_err("conflict").contains("content-length"));
        let e = parse("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", Method::GET);
        assert!(e.expect_err("bad length").contains("content-length"));
        assert!(parse("SMTP ready\r\n\r\n", Method::GET).is_err());
        let huge = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEAD + 1));
        assert!(parse(&huge, Method::GET)
            .expect_err("too large")
            .contains("larger"));
    }

    #[test]
    fn chunked_decodes_across_any_split() {
        let wire = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
        for split in 0..wire.len() {
            let mut d = Chunked::default();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for part in [&wire[..split], &wire[split..]] {
                buf.extend_from_slice(part);
                while let Some(data) = d.decode(&mut buf).expect("valid") {
                    got.extend_from_slice(&data);
                }
            }
            assert!(d.done(), "split {split}");
            assert_eq!(got, b"hello, world", "split {split}");
        }
    }

    #[test]
    fn chunked_refuses_garbage() {
        let mut d = Chunked::default();
        assert!(d.decode(&mut BytesMut::from("zz\r\n")).is_err());
        let mut d = Chunked::default();
        assert!(d.decode(&mut BytesMut::from("2\r\nabXY")).is_ok());
        assert!(d.decode(&mut BytesMut::from("XY")).is_err());
    }
}
