//! Certificate expiry while stored. A certificate is refused expired when
//! it is written or loaded; one that expires later keeps being served, as
//! nginx and APISIX keep serving theirs (a client then sees an expired
//! certificate, not a missing one), and:
//! - the first handshake that gets it expired logs a warning naming the
//!   object, once per object version;
//! - every served object's expiry is a gauge on the metrics exporter,
//!   `radixgate_ssl_cert_expiry_seconds{id,sni}`: its earliest `notAfter`
//!   as Unix seconds (alert on `radixgate_ssl_cert_expiry_seconds - time()`).
//!
//! Cheap: a handshake compares one clock reading; the gauge reads the SNI
//! index the snapshot builder last made, only when scraped.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, RwLock};

use super::certs::SslRt;
use super::index::SniIndex;

/// The SNI index the builder made last.
static INDEX: RwLock<Option<Arc<SniIndex>>> = RwLock::new(None);
/// The listener's own certificate (`gateway.tls.cert`), when set.
static DEFAULT: OnceLock<Arc<SslRt>> = OnceLock::new();

/// The snapshot builder made `index` (an `ssls` object changed).
pub fn publish(index: Arc<SniIndex>) {
    *INDEX.write().unwrap_or_else(|e| e.into_inner()) = Some(index);
}

/// The listener serves `ssl` to names no object has.
pub fn publish_default(ssl: Arc<SslRt>) {
    let _ = DEFAULT.set(ssl);
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl SslRt {
    /// Called when a handshake is about to serve this object: logs a
    /// warning the first time it is found past its `notAfter`.
    pub fn warn_if_expired(&self) {
        if self.not_after >= now() || self.expiry_warned.swap(true, Ordering::Relaxed) {
            return;
        }
        tracing::warn!(kind = "ssl", id = %self.id, names = ?self.names, not_after = self.not_after,
            "serving an expired certificate: replace this ssls object");
    }
}

/// Prometheus label value escaping (backslash, quote, newline).
fn label(s: &str) -> String {
    s.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// The gauge in Prometheus' text format: one series per served name of
/// each object (`sni=""` for one without names: a client certificate, the
/// listener's own).
pub fn render() -> String {
    let index = INDEX.read().unwrap_or_else(|e| e.into_inner()).clone();
    let ssls = index.as_deref().map_or(&[][..], SniIndex::all);
    let mut out = String::from(
        "# HELP radixgate_ssl_cert_expiry_seconds When a served certificate's validity ends (notAfter, Unix seconds).\n\
         # TYPE radixgate_ssl_cert_expiry_seconds gauge\n",
    );
    for ssl in ssls.iter().chain(DEFAULT.get()) {
        let id = label(&ssl.id);
        if ssl.names.is_empty() {
            let _ = writeln!(
                out,
                "radixgate_ssl_cert_expiry_seconds{{id=\"{id}\",sni=\"\"}} {}",
                ssl.not_after
            );
        }
        for name in &ssl.names {
            let _ = writeln!(
                out,
                "radixgate_ssl_cert_expiry_seconds{{id=\"{id}\",sni=\"{}\"}} {}",
                label(name),
                ssl.not_after
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
