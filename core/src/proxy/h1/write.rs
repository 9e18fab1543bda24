//! The response as the native server writes it: the head encoded into
//! the connection's reused buffer and sent in one `writev` with the first
//! body bytes when they are ready at once (one write of the buffer when
//! they are small); the body framed by `Content-Length` when it is known,
//! else chunked (HTTP/1.1) or delimited by the close (HTTP/1.0).

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONNECTION, DATE, SERVER, TRANSFER_ENCODING};
use http::{response, StatusCode};
use hyper::body::Body;
use tokio::io::AsyncWrite;

use super::body::{lock, Link};
use crate::proxy::respond::SERVER_NAME;

/// Body bytes up to this size are copied behind the head into one buffer
/// and written with it; larger go beside it in a `writev`.
const COPY_MAX: usize = 4096;

/// How the response body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body is written (HEAD, 1xx, 204, 304).
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the connection closes (an HTTP/1.0 client, length unknown).
    UntilClose,
}

/// What the connection decided about the response before it is written.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// The request was `HEAD`.
    pub head: bool,
    /// The client spoke HTTP/1.0.
    pub http10: bool,
    /// The connection closes after this response.
    pub close: bool,
}

/// The body's framing for a response with `status` under `plan`, whose
/// body is `exact` bytes long when that is known. The pipeline's framing
/// step (`proxy::framing`) made its `Content-Length` say the same: this
/// length is the one its head carries.
pub fn framing(status: StatusCode, plan: Plan, exact: Option<u64>) -> Framing {
    if plan.head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Framing::None;
    }
    match exact {
        Some(n) => Framing::Length(n),
        None if plan.http10 => Framing::UntilClose,
        None => Framing::Chunked,
    }
}

/// Appends the response head to `out`: status line, the headers as the
/// pipeline left them (a `Transfer-Encoding` among them is not written:
/// the framing is this server's), `date` and `server` when none is set,
/// the framing header, and `Connection` as `plan` says. Whether the
/// response itself said `Connection: close`: then the connection closes
/// after it too.
pub fn encode_head(
    parts: &response::Parts,
    framing: Framing,
    plan: Plan,
    out: &mut BytesMut,
) -> bool {
    out.reserve(128 + parts.headers.len() * 32);
    out.put_slice(b"HTTP/1.1 ");
    out.put_slice(parts.status.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(
        parts
            .status
            .canonical_reason()
            .unwrap_or("<none>")
            .as_bytes(),
    );
    out.put_slice(b"\r\n");
    // Noted on the way: a lookup in the map hashes the name again.
    let (mut said_close, mut dated, mut named) = (false, false, false);
    for (name, value) in &parts.headers {
        if name == TRANSFER_ENCODING {
            continue;
        }
        if name == CONNECTION {
            said_close |= value.as_bytes().eq_ignore_ascii_case(b"close");
        }
        dated |= name == DATE;
        named |= name == SERVER;
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    if !dated {
        out.put_slice(b"date: ");
        DATE_NOW.with(|d| out.put_slice(d.borrow_mut().now()));
        out.put_slice(b"\r\n");
    }
    if !named {
        out.put_slice(b"server: ");
        out.put_slice(SERVER_NAME.as_bytes());
        out.put_slice(b"\r\n");
    }
    if framing == Framing::Chunked {
        out.put_slice(b"transfer-encoding: chunked\r\n");
    }
    if plan.close && !said_close && parts.status != StatusCode::SWITCHING_PROTOCOLS {
        out.put_slice(b"connection: close\r\n");
    } else if plan.http10 && !plan.close && !said_close {
        out.put_slice(b"connection: keep-alive\r\n");
    }
    out.put_slice(b"\r\n");
    said_close
}

/// The `Date` value, made once a second per thread.
struct CachedDate {
    at: SystemTime,
    text: [u8; 29],
}

impl CachedDate {
    fn now(&mut self) -> &[u8] {
        let now = SystemTime::now();
        let stale = now
            .duration_since(self.at)
            .map_or(true, |d| d >= Duration::from_secs(1));
        if stale {
            let secs = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            self.at = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            let text = httpdate::fmt_http_date(self.at);
            if text.len() == self.text.len() {
                self.text.copy_from_slice(text.as_bytes());
            }
        }
        &self.text
    }
}

thread_local! {
    static DATE_NOW: RefCell<CachedDate> = const {
        RefCell::new(CachedDate {
            at: SystemTime::UNIX_EPOCH,
            text: *b"Thu, 01 Jan 1970 00:00:00 GMT",
        })
    };
}

/// Writes every slice to the client (the stream holds the send timeout).
async fn write_all(link: &Link, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    while bufs.iter().any(|b| !b.is_empty()) {
        let n = std::future::poll_fn(|cx| {
            let mut s = lock(link);
            let Some(io) = s.io.as_mut() else {
                return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
            };
            Pin::new(io).poll_write_vectored(cx, bufs)
        })
        .await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut bufs, n);
    }
    Ok(())
}

/// Flushes what the stream holds (TLS records).
async fn flush(link: &Link) -> io::Result<()> {
    std::future::poll_fn(|cx| {
        let mut s = lock(link);
        match s.io.as_mut() {
            Some(io) => Pin::new(io).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    })
    .await
}

/// The body's next data; `Ok(None)` at its end. Trailers are dropped.
fn poll_data<B>(body: Pin<&mut B>, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>>
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let mut body = body;
    loop {
        return match body.as_mut().poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(d) if d.is_empty() => continue,
                Ok(d) => Poll::Ready(Ok(Some(d))),
                Err(_) => continue,
            },
            Poll::Ready(Some(Err(e))) => Poll::Ready(Err(io::Error::other(e.to_string()))),
            Poll::Ready(None) => Poll::Ready(Ok(None)),
            Poll::Pending => Poll::Pending,
        };
    }
}

/// A chunk-size line for `n` bytes.
fn chunk_line(n: usize, out: &mut [u8; 18]) -> &[u8] {
    let mut i = 16;
    let mut v = n;
    out[16] = b'\r';
    out[17] = b'\n';
    loop {
        i -= 1;
        out[i] = b"0123456789abcdef"[v & 15];
        v >>= 4;
        if v == 0 {
            return &out[i..];
        }
    }
}

/// Writes the head in `out` and `body` framed as `framing`; an error when
/// the client's stream failed or the body broke off (the connection then
/// closes: a client cannot tell a cut body from a whole one otherwise).
pub async fn response<B>(
    link: &Link,
    out: &mut BytesMut,
    framing: Framing,
    body: B,
) -> io::Result<()>
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let mut body = std::pin::pin!(body);
    if framing == Framing::None {
        write_all(link, &mut [IoSlice::new(out)]).await?;
        return flush(link).await;
    }
    let mut left = match framing {
        Framing::Length(n) => n,
        _ => u64::MAX,
    };
    let chunked = framing == Framing::Chunked;
    // The first data, when it is there at once, goes with the head.
    let first = std::future::poll_fn(|cx| Poll::Ready(poll_data(body.as_mut(), cx))).await;
    let mut pending = match first {
        Poll::Ready(r) => Some(r?),
        Poll::Pending => None,
    };
    let mut head = true;
    loop {
        let data = match pending.take() {
            Some(d) => d,
            None => {
                if head {
                    write_all(link, &mut [IoSlice::new(out)]).await?;
                    head = false;
                }
                flush(link).await?;
                std::future::poll_fn(|cx| poll_data(body.as_mut(), cx)).await?
            }
        };
        let Some(mut data) = data else {
            // The end.
            if left != 0 && left != u64::MAX {
                return Err(io::Error::other("response body shorter than its length"));
            }
            let tail: &[u8] = if chunked { b"0\r\n\r\n" } else { b"" };
            let head: &[u8] = if head { out } else { b"" };
            write_all(link, &mut [IoSlice::new(head), IoSlice::new(tail)]).await?;
            return flush(link).await;
        };
        if left != u64::MAX {
            if data.len() as u64 > left {
                data.truncate(left as usize);
            }
            left -= data.len() as u64;
        }
        let mut line = [0u8; 18];
        let size: &[u8] = if chunked {
            chunk_line(data.len(), &mut line)
        } else {
            b""
        };
        let end: &[u8] = if chunked { b"\r\n" } else { b"" };
        if head && data.len() <= COPY_MAX {
            out.put_slice(size);
            out.put_slice(&data);
            out.put_slice(end);
            write_all(link, &mut [IoSlice::new(out)]).await?;
        } else if head {
            let mut bufs = [
                IoSlice::new(out),
                IoSlice::new(size),
                IoSlice::new(&data),
                IoSlice::new(end),
            ];
            write_all(link, &mut bufs).await?;
        } else {
            let mut bufs = [IoSlice::new(size), IoSlice::new(&data), IoSlice::new(end)];
            write_all(link, &mut bufs).await?;
        }
        head = false;
        if left == 0 {
            return flush(link).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::CONTENT_LENGTH;
    use http::{HeaderValue, Response};

    fn head(resp: Response<()>, plan: Plan) -> (Framing, String) {
        let (parts, ()) = resp.into_parts();
        // The length the pipeline's framing step left in the head.
        let exact = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let f = framing(parts.status, plan, exact);
        let mut out = BytesMut::new();
        encode_head(&parts, f, plan, &mut out);
        (f, String::from_utf8_lossy(&out).into_owned())
    }

    const PLAN: Plan = Plan {
        head: false,
        http10: false,
        close: false,
    };

    #[test]
    fn framing_follows_the_length_the_version_and_the_status() {
        let mut r = Response::new(());
        r.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("12"));
        r.headers_mut()
            .insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        let (f, text) = head(r, PLAN);
        assert_eq!(f, Framing::Length(12));
        assert!(text.starts_with("HTTP/1.1 200 OK\r\ncontent-length: 12\r\ndate: "));
        assert!(!text.contains("transfer-encoding"), "{text}");
        assert!(text.ends_with("GMT\r\nserver: radixgate\r\n\r\n"), "{text}");
        let (f, text) = head(Response::new(()), PLAN);
        assert_eq!(f, Framing::Chunked);
        assert!(text.contains("transfer-encoding: chunked\r\n"), "{text}");
        let old = Plan {
            http10: true,
            ..PLAN
        };
        let (f, text) = head(Response::new(()), old);
        assert_eq!(f, Framing::UntilClose);
        assert!(text.contains("connection: keep-alive\r\n"), "{text}");
        let mut r = Response::new(());
        *r.status_mut() = StatusCode::NO_CONTENT;
        let (f, text) = head(
            r,
            Plan {
                close: true,
                ..PLAN
            },
        );
        assert_eq!(f, Framing::None);
        assert!(text.contains("connection: close\r\n"), "{text}");
        assert_eq!(
            head(Response::new(()), Plan { head: true, ..PLAN }).0,
            Framing::None
        );
    }

    #[test]
    fn a_date_the_response_has_is_the_only_one_written() {
        let node_date = "Thu, 03 Dec 2026 10:00:00 GMT";
        for (before, after) in [(0, 0), (1, 0), (0, 3), (2, 2)] {
            let mut r = Response::new(());
            for i in 0..before {
                let name = http::HeaderName::from_bytes(format!("x-before-{i}").as_bytes());
                r.headers_mut()
                    .insert(name.unwrap(), HeaderValue::from_static("a"));
            }
            r.headers_mut()
                .insert(http::header::DATE, HeaderValue::from_static(node_date));
            for i in 0..after {
                let name = http::HeaderName::from_bytes(format!("x-after-{i}").as_bytes());
                r.headers_mut()
                    .insert(name.unwrap(), HeaderValue::from_static("b"));
            }
            let (_, text) = head(r, PLAN);
            assert_eq!(text.matches("date: ").count(), 1, "{text}");
            assert!(text.contains(&format!("date: {node_date}\r\n")), "{text}");
        }
    }

    #[test]
    fn chunk_lines_are_hex() {
        let mut b = [0; 18];
        assert_eq!(chunk_line(0x1a2f, &mut b), b"1a2f\r\n");
        assert_eq!(chunk_line(1, &mut b), b"1\r\n");
    }
}
