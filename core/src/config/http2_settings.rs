//! `gateway.http2`: HTTP/2 towards clients. `enable` turns on h2c with
//! prior knowledge on the plain listeners; the stream limits and windows
//! apply to every HTTP/2 connection (h2c, and `h2` negotiated by ALPN on a
//! TLS listener).

use serde::Deserialize;

/// `gateway.http2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http2Section {
    /// Serve HTTP/2 with prior knowledge (h2c) on the plain listeners,
    /// beside HTTP/1.1 (default false, as APISIX's `enable_http2`).
    #[serde(default)]
    pub enable: bool,
    /// Streams a client may have open at once on one connection (nginx's
    /// `http2_max_concurrent_streams`, 128).
    #[serde(default = "default_streams")]
    pub max_concurrent_streams: u32,
    /// Bytes a client may send on one stream before the gateway reads them.
    #[serde(default = "default_window")]
    pub initial_stream_window_size: u32,
    /// Bytes a client may send on one connection before the gateway reads them.
    #[serde(default = "default_window")]
    pub initial_connection_window_size: u32,
    /// Largest header list (decoded, as HTTP/2 counts it) of a request.
    #[serde(default = "default_header_list")]
    pub max_header_list_size: u32,
    /// Streams a client may reset before the gateway has taken them up;
    /// past it the connection is closed with `ENHANCE_YOUR_CALM` (the
    /// rapid-reset attack, CVE-2023-44487).
    #[serde(default = "default_pending_resets")]
    pub max_pending_accept_reset_streams: usize,
    /// Streams the gateway may reset for a client's protocol errors on one
    /// connection; past it the connection is closed.
    #[serde(default = "default_error_resets")]
    pub max_local_error_reset_streams: usize,
}

impl Default for Http2Section {
    fn default() -> Self {
        Http2Section {
            enable: false,
            max_concurrent_streams: default_streams(),
            initial_stream_window_size: default_window(),
            initial_connection_window_size: default_window(),
            max_header_list_size: default_header_list(),
            max_pending_accept_reset_streams: default_pending_resets(),
            max_local_error_reset_streams: default_error_resets(),
        }
    }
}

/// HTTP/2's largest window and stream count (2^31 - 1).
const MAX_WINDOW: u32 = (1 << 31) - 1;

impl Http2Section {
    /// Checks the ranges; the error names the field under `gateway.http2`.
    pub fn check(&self) -> Result<(), (String, String)> {
        let field = |f: &str| format!("gateway.http2.{f}");
        if !(1..=MAX_WINDOW).contains(&self.max_concurrent_streams) {
            return Err((
                field("max_concurrent_streams"),
                "expected 1 to 2147483647".into(),
            ));
        }
        for (name, v) in [
            (
                "initial_stream_window_size",
                self.initial_stream_window_size,
            ),
            (
                "initial_connection_window_size",
                self.initial_connection_window_size,
            ),
        ] {
            if !(65_535..=MAX_WINDOW).contains(&v) {
                return Err((field(name), "expected 65535 to 2147483647 bytes".into()));
            }
        }
        if !(1024..=1 << 20).contains(&self.max_header_list_size) {
            return Err((
                field("max_header_list_size"),
                "expected 1024 to 1048576 bytes".into(),
            ));
        }
        for (name, v) in [
            (
                "max_pending_accept_reset_streams",
                self.max_pending_accept_reset_streams,
            ),
            (
                "max_local_error_reset_streams",
                self.max_local_error_reset_streams,
            ),
        ] {
            if v == 0 {
                return Err((field(name), "expected at least 1".into()));
            }
        }
        Ok(())
    }
}

fn default_streams() -> u32 {
    128
}
// hyper's defaults: 1 MiB windows, 20 pending resets, 1024 error resets.
fn default_window() -> u32 {
    1 << 20
}
fn default_header_list() -> u32 {
    32 * 1024
}
fn default_pending_resets() -> usize {
    20
}
fn default_error_resets() -> usize {
    1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (
                Http2Section {
                    max_concurrent_streams: 0,
                    ..Default::default()
                },
                "gateway.http2.max_concurrent_streams",
            ),
            (
                Http2Section {
                    initial_stream_window_size: 100,
                    ..Default::default()
                },
                "gateway.http2.initial_stream_window_size",
            ),
            (
                Http2Section {
                    max_header_list_size: 10,
                    ..Default::default()
                },
                "gateway.http2.max_header_list_size",
            ),
            (
                Http2Section {
                    max_pending_accept_reset_streams: 0,
                    ..Default::default()
                },
                "gateway.http2.max_pending_accept_reset_streams",
            ),
        ];
        for (s, field) in cases {
            assert_eq!(s.check().expect_err(field).0, field);
        }
        assert!(Http2Section::default().check().is_ok());
    }
}
