//! Host patterns and the request's host as lookups see it.

use crate::Request;

/// Longest host name compared (a DNS name has at most 253 bytes, plus a port).
pub const MAX_HOST_LEN: usize = 260;

/// One entry of a route's `hosts`, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `*`: any request that names a host.
    Any,
    /// `foo.com`, or `foo.com:8080` (compared with the raw `Host` header).
    Exact(Box<[u8]>),
    /// `*.foo.com` stored as `.foo.com`: any host that ends with it.
    Suffix(Box<[u8]>),
}

impl HostPattern {
    /// Parses one host pattern; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        if text.is_empty() {
            return Err("empty host".into());
        }
        if text.len() > MAX_HOST_LEN {
            return Err(format!("host {text:?} is longer than {MAX_HOST_LEN} bytes"));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '?' | '#' | '@'))
        {
            return Err(format!("host {text:?} holds the character {bad:?}"));
        }
        let lower = text.to_ascii_lowercase().into_bytes();
        if lower == b"*" {
            return Ok(HostPattern::Any);
        }
        if let Some(suffix) = lower.strip_prefix(b"*") {
            if suffix.contains(&b'*') {
                return Err(format!("host {text:?}: '*' may only start a host"));
            }
            return Ok(HostPattern::Suffix(suffix.into()));
        }
        if lower.contains(&b'*') {
            return Err(format!("host {text:?}: '*' may only start a host"));
        }
        Ok(HostPattern::Exact(lower.into()))
    }
}

/// Stack space for one lower-cased host name; filled only when the name
/// has upper-case letters.
pub(crate) type HostBuf = Option<[u8; MAX_HOST_LEN]>;

/// The request's host as lookups compare it (lower case).
pub(crate) struct HostCtx<'b> {
    /// The host without port (`Request::host`), if given.
    pub host: Option<HostName<'b>>,
    /// The raw `Host` header when it carries a port, for `host:port` patterns
    /// (only when the request has a host: routes with hosts need one).
    pub host_with_port: Option<HostName<'b>>,
    /// True when the request names a host at all.
    pub present: bool,
}

/// One lower-cased request host name: all of it, or, when it is longer than
/// the buffer, its last [`MAX_HOST_LEN`] bytes (enough for any suffix pattern).
#[derive(Clone, Copy)]
pub(crate) struct HostName<'b> {
    pub bytes: &'b [u8],
    /// False when `bytes` is only the tail of a longer name (no exact match then).
    pub whole: bool,
}

impl<'b> HostCtx<'b> {
    #[inline]
    pub fn new(req: &Request<'b>, buf: &'b mut HostBuf, buf_port: &'b mut HostBuf) -> Self {
        if req.host.is_none() {
            return HostCtx {
                host: None,
                host_with_port: None,
                present: false,
            };
        }
        let host = req.host.map(|h| lower(h, buf));
        let host_with_port = req
            .http_host
            .filter(|h| req.host.is_some() && h.contains(&b':'))
            .map(|h| lower(h, buf_port));
        HostCtx {
            host,
            host_with_port,
            present: req.host.is_some(),
        }
    }
}

/// `src` in lower case: itself when it has no upper-case letter (the usual
/// case, no copy), else a copy in `buf`.
fn lower<'b>(src: &'b [u8], buf: &'b mut HostBuf) -> HostName<'b> {
    let tail = &src[src.len().saturating_sub(MAX_HOST_LEN)..];
    let whole = tail.len() == src.len();
    if !tail.iter().any(u8::is_ascii_uppercase) {
        return HostName { bytes: tail, whole };
    }
    let out = &mut buf.insert([0; MAX_HOST_LEN])[..tail.len()];
    for (o, b) in out.iter_mut().zip(tail) {
        *o = b.to_ascii_lowercase();
    }
    HostName { bytes: out, whole }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_patterns() {
        assert_eq!(HostPattern::parse("*"), Ok(HostPattern::Any));
        assert_eq!(
            HostPattern::parse("Foo.COM"),
            Ok(HostPattern::Exact((*b"foo.com").into()))
        );
        assert_eq!(
            HostPattern::parse("*.foo.com"),
            Ok(HostPattern::Suffix((*b".foo.com").into()))
        );
        assert!(HostPattern::parse("a.*.com").is_err());
        assert!(HostPattern::parse("a b").is_err());
        assert!(HostPattern::parse("").is_err());
    }
}
