//! HTTP/2 towards clients: which protocol a connection speaks, and hyper's
//! HTTP/2 server (alone, or beside HTTP/1.1 in hyper-util's `auto` server)
//! under `gateway.http2`'s stream limits and windows.

use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;

use super::server::Limits;

/// The protocol a client connection speaks, as its listener or its TLS
/// handshake decided. `Http2` and the ALPN helpers are the TLS listener's.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 only: a plain listener without `gateway.http2.enable`, or
    /// TLS where ALPN chose `http/1.1` or nothing.
    Http1,
    /// HTTP/2 only: TLS where ALPN chose `h2`.
    Http2,
    /// HTTP/1.1, or HTTP/2 when the client opens with the HTTP/2 preface
    /// (h2c with prior knowledge): a plain listener with
    /// `gateway.http2.enable`.
    Auto,
}

#[allow(dead_code)]
impl Protocol {
    /// The protocol for what ALPN negotiated on a TLS connection (`None`:
    /// the client offered no ALPN).
    pub fn from_alpn(alpn: Option<&[u8]>) -> Protocol {
        match alpn {
            Some(b"h2") => Protocol::Http2,
            _ => Protocol::Http1,
        }
    }

    /// The ALPN protocols a TLS listener offers, in preference order:
    /// `h2` first, then `http/1.1`.
    pub const ALPN: [&'static [u8]; 2] = [b"h2", b"http/1.1"];
}

/// Sets `gateway.http2`'s stream limits and windows on an HTTP/2 builder
/// (hyper's and hyper-util's have the same methods, not a shared trait).
macro_rules! h2_limits {
    ($builder:expr, $limits:expr) => {{
        let h = &$limits.http2;
        $builder
            .timer(TokioTimer::new())
            .max_concurrent_streams(h.max_concurrent_streams)
            .initial_stream_window_size(h.initial_stream_window_size)
            .initial_connection_window_size(h.initial_connection_window_size)
            .max_header_list_size(h.max_header_list_size)
            .max_pending_accept_reset_streams(h.max_pending_accept_reset_streams)
            .max_local_error_reset_streams(h.max_local_error_reset_streams);
    }};
}

impl Limits {
    /// hyper's HTTP/2 server under these limits (stream count, windows,
    /// header list size, reset streams).
    pub fn http2(&self) -> http2::Builder<TokioExecutor> {
        let mut builder = http2::Builder::new(TokioExecutor::new());
        h2_limits!(builder, self);
        builder
    }

    /// hyper-util's server that serves HTTP/1.1 as [`Limits::http1`] does
    /// and HTTP/2 as [`Limits::http2`] does, whichever the client opens
    /// with.
    pub fn auto(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .max_buf_size(self.max_header_size.max(8192))
            .keep_alive(self.keepalive_timeout.is_some());
        h2_limits!(builder.http2(), self);
        builder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_h2_alone_speaks_http2() {
        assert_eq!(Protocol::from_alpn(Some(b"h2")), Protocol::Http2);
        assert_eq!(Protocol::from_alpn(Some(b"http/1.1")), Protocol::Http1);
        assert_eq!(Protocol::from_alpn(None), Protocol::Http1);
    }
}
