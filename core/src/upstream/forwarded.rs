//! What a node is told about the client and the hop it came in on
//! (nginx's `X-Real-IP` and `X-Forwarded-*`): written into the request
//! head as it goes out to an HTTP/1.1 node, set in the headers for an
//! HTTP/2 one.

use std::net::IpAddr;

use bytes::{BufMut, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");

/// The headers that say who the client is and how it came in: set for the
/// node here, believed from a client only at a trusted address.
pub const FORWARDED: [HeaderName; 5] = [
    X_FORWARDED_FOR,
    X_REAL_IP,
    X_FORWARDED_PROTO,
    X_FORWARDED_HOST,
    X_FORWARDED_PORT,
];

/// The index in [`FORWARDED`] of `name`, if it is one of them.
pub(crate) fn which(name: &HeaderName) -> Option<usize> {
    FORWARDED.iter().position(|f| f == name)
}

/// Which of [`FORWARDED`] `headers` carries, in one pass over the names:
/// most requests carry none, and each lookup would hash its name.
fn carried(headers: &HeaderMap) -> [bool; 5] {
    let mut has = [false; 5];
    for i in headers.keys().filter_map(which) {
        has[i] = true;
    }
    has
}

/// What the node is told. `X-Forwarded-For` gets the client appended to
/// what earlier proxies reported; `X-Real-IP`, `X-Forwarded-Proto`,
/// `-Host` and `-Port` are set unless the request carries them already
/// (from a trusted proxy: the arrival step removed an untrusted client's,
/// or a plugin's own).
#[derive(Debug, Clone, Copy)]
pub struct Forwarded<'a> {
    /// The client (as plugins left it, real-ip).
    pub client: IpAddr,
    /// The port the client connected to.
    pub port: u16,
    /// The host the client asked for, without its port; empty: none.
    pub host: &'a [u8],
    /// The client's scheme: `http` or `https`.
    pub proto: &'static str,
}

impl Forwarded<'_> {
    /// Sets the headers in `headers` (for a node spoken to over HTTP/2).
    pub fn set(&self, headers: &mut HeaderMap) {
        let [has_for, has_real_ip, has_proto, has_host, has_port] = carried(headers);
        let ip_text = radixgate_plugin::IpText::new(self.client);
        let ip = ip_text.as_bytes();
        let ip_value = HeaderValue::from_bytes(ip).ok();
        let xff = if has_for {
            let mut xff = Vec::with_capacity(64);
            earlier_proxies(headers, &mut xff);
            xff.extend_from_slice(ip);
            HeaderValue::from_bytes(&xff).ok()
        } else {
            ip_value.clone()
        };
        if let Some(v) = xff {
            headers.insert(X_FORWARDED_FOR, v);
        }
        if let (false, Some(v)) = (has_real_ip, ip_value) {
            headers.insert(X_REAL_IP, v);
        }
        if !has_proto {
            headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(self.proto));
        }
        if !has_host && !self.host.is_empty() {
            if let Ok(v) = HeaderValue::from_bytes(self.host) {
                headers.insert(X_FORWARDED_HOST, v);
            }
        }
        if !has_port {
            headers.insert(X_FORWARDED_PORT, HeaderValue::from(self.port));
        }
    }

    /// Appends the header lines to a request head being written from
    /// `headers`, which carries those of [`FORWARDED`] that `has` marks.
    /// The request's own `X-Forwarded-For` lines are not written by the
    /// caller: the one written here holds them, the client appended.
    pub(crate) fn write(&self, has: [bool; 5], headers: &HeaderMap, out: &mut BytesMut) {
        let [has_for, has_real_ip, has_proto, has_host, has_port] = has;
        let ip_text = radixgate_plugin::IpText::new(self.client);
        let ip = ip_text.as_bytes();
        let mut line = |name: &HeaderName, value: &[&[u8]]| {
            out.put_slice(name.as_str().as_bytes());
            out.put_slice(b": ");
            for part in value {
                out.put_slice(part);
            }
            out.put_slice(b"\r\n");
        };
        if has_for {
            let mut earlier = Vec::with_capacity(64);
            earlier_proxies(headers, &mut earlier);
            line(&X_FORWARDED_FOR, &[&earlier, ip]);
        } else {
            line(&X_FORWARDED_FOR, &[ip]);
        }
        if !has_real_ip {
            line(&X_REAL_IP, &[ip]);
        }
        if !has_proto {
            line(&X_FORWARDED_PROTO, &[self.proto.as_bytes()]);
        }
        if !has_host && !self.host.is_empty() && is_field_value(self.host) {
            line(&X_FORWARDED_HOST, &[self.host]);
        }
        if !has_port {
            line(
                &X_FORWARDED_PORT,
                &[itoa::Buffer::new().format(self.port).as_bytes()],
            );
        }
    }
}

/// Whether `bytes` may be a header value as http takes one (RFC 9110
/// field-value: visible ASCII, spaces, tabs and obs-text), checked
/// without making one.
fn is_field_value(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b == b'\t' || (b >= b' ' && b != 0x7f))
}

/// What earlier proxies reported in `headers`' `X-Forwarded-For` lines
/// (those that are text), each followed by `, `, as nginx's
/// `$proxy_add_x_forwarded_for` joins them.
fn earlier_proxies(headers: &HeaderMap, out: &mut Vec<u8>) {
    for v in headers.get_all(&X_FORWARDED_FOR).iter() {
        if v.to_str().is_ok() {
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b", ");
        }
    }
}

#[cfg(test)]
mod tests;
