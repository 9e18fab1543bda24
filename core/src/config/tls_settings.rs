//! `gateway.tls`: the HTTPS listener. Absent: no TLS listener (as
//! `conf/config.yaml` leaves every optional listener off until named).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// `gateway.tls`: where HTTPS is served and how.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// Addresses of the TLS listener (default `0.0.0.0:9443`).
    #[serde(default = "default_listen")]
    pub listen: Vec<SocketAddr>,
    /// TLS versions offered, unless an `ssls` object names its own
    /// (`ssl_protocols`): `TLSv1.2`, `TLSv1.3` (both by default).
    #[serde(default = "default_protocols")]
    pub protocols: Vec<TlsVersion>,
    /// The server name whose certificate a ClientHello without SNI gets;
    /// none: such a handshake fails with an alert.
    #[serde(default)]
    pub fallback_sni: Option<String>,
    /// Session resumption by tickets (stateless, keys rotated by rustls).
    #[serde(default = "yes")]
    pub session_tickets: bool,
    /// Sessions kept for resumption by session id, shared by the workers
    /// (0: none).
    #[serde(default = "default_cache")]
    pub session_cache_size: usize,
    /// A PEM certificate chain file served when no `ssls` object has the
    /// client's server name (nginx's `ssl_certificate` beside APISIX's
    /// per-SNI ones); none: such a handshake fails with an alert.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// The PEM private key file of `cert`.
    #[serde(default)]
    pub key: Option<PathBuf>,
}

impl Default for TlsSection {
    fn default() -> Self {
        TlsSection {
            listen: default_listen(),
            protocols: default_protocols(),
            fallback_sni: None,
            session_tickets: true,
            session_cache_size: default_cache(),
            cert: None,
            key: None,
        }
    }
}

impl TlsSection {
    /// Checks what the types cannot: at least one address, none shared
    /// with the plain listener (`plain`: with `SO_REUSEPORT` both would
    /// bind and split the connections), at least one version, `cert` and
    /// `key` together. Errors name the field.
    pub fn check(&self, plain: &[SocketAddr]) -> Result<(), (String, String)> {
        let field = |f: &str, r: String| (format!("gateway.tls.{f}"), r);
        if self.listen.is_empty() {
            return Err(field("listen", "expected at least 1 address".into()));
        }
        if let Some(a) = self.listen.iter().find(|a| plain.contains(a)) {
            return Err(field(
                "listen",
                format!("{a} is gateway.listen's too: one address serves one protocol"),
            ));
        }
        if self.protocols.is_empty() {
            return Err(field("protocols", "expected at least 1 version".into()));
        }
        match (&self.cert, &self.key) {
            (Some(_), None) => Err(field("key", "required with gateway.tls.cert".into())),
            (None, Some(_)) => Err(field("cert", "required with gateway.tls.key".into())),
            _ => Ok(()),
        }
    }
}

/// A TLS version as APISIX spells it in `ssl_protocols`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum TlsVersion {
    /// `TLSv1.2`.
    V1_2,
    /// `TLSv1.3`.
    V1_3,
}

impl TryFrom<String> for TlsVersion {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "TLSv1.2" => Ok(TlsVersion::V1_2),
            "TLSv1.3" => Ok(TlsVersion::V1_3),
            "TLSv1" | "TLSv1.1" => Err(format!(
                "{s:?} is not offered by this build (TLSv1.2 and TLSv1.3 only)"
            )),
            _ => Err(format!("{s:?}: expected TLSv1.2 or TLSv1.3")),
        }
    }
}

fn default_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([0, 0, 0, 0], 9443))]
}

fn default_protocols() -> Vec<TlsVersion> {
    vec![TlsVersion::V1_2, TlsVersion::V1_3]
}

fn default_cache() -> usize {
    4096
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GatewayConfig;

    #[test]
    fn tls_is_off_unless_set_and_takes_apisix_defaults() {
        let g = GatewayConfig::parse("", "c.yaml")
            .expect("defaults")
            .gateway;
        assert_eq!(g.tls, None);
        let g = GatewayConfig::parse("gateway: {tls: {}}", "c.yaml")
            .expect("valid")
            .gateway;
        let tls = g.tls.expect("a tls section");
        assert_eq!(tls, TlsSection::default());
        assert_eq!(tls.listen, vec![SocketAddr::from(([0, 0, 0, 0], 9443))]);
        assert_eq!(tls.protocols, vec![TlsVersion::V1_2, TlsVersion::V1_3]);
        assert!(tls.session_tickets && tls.session_cache_size > 0);
    }

    #[test]
    fn bad_tls_settings_are_refused_naming_the_field() {
        for bad in ["TLSv1.1", "TLSv1", "SSLv3"] {
            let text = format!("gateway: {{tls: {{protocols: [{bad}]}}}}");
            let e = GatewayConfig::parse(&text, "c.yaml").expect_err(bad);
            let msg = e.to_string();
            assert!(msg.contains("protocols") && msg.contains(bad), "{msg}");
        }
        let e = GatewayConfig::parse("gateway: {tls: {sni: x}}", "c.yaml").expect_err("unknown");
        assert!(e.to_string().contains("sni"), "{e}");
        let bad = [
            ("gateway: {tls: {listen: []}}", "gateway.tls.listen"),
            (
                "gateway: {listen: [\"127.0.0.1:9443\"], tls: {listen: [\"127.0.0.1:9443\"]}}",
                "gateway.tls.listen",
            ),
            ("gateway: {tls: {protocols: []}}", "gateway.tls.protocols"),
            ("gateway: {tls: {cert: a.pem}}", "gateway.tls.key"),
            ("gateway: {tls: {key: a.key}}", "gateway.tls.cert"),
        ];
        for (text, field) in bad {
            let e = GatewayConfig::parse(text, "c.yaml").expect_err(text);
            assert!(e.to_string().contains(field), "{text}: {e}");
        }
    }
}
