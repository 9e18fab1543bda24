//! The APISIX `ssl` object as a typed value (after its schema check):
//! a certificate and key chosen by SNI, optionally with client mTLS.
//! Not used yet: the gateway has no TLS listener.

use serde::Deserialize;

use super::objects::Id;

/// A certificate with its key and the server names it serves.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked before
// this type is decoded. So are bad `desc`, `labels`, `create_time` and
// `update_time` (and `name`): they stay in the stored JSON, not here.
pub struct SslConf {
    /// The id.
    pub id: Id,
    /// Whom the certificate is offered to (`type`).
    #[serde(default, rename = "type")]
    pub ssl_type: SslType,
    /// PEM certificate (chain).
    pub cert: String,
    /// PEM private key.
    pub key: String,
    /// One server name (`*.example.com` allowed); APISIX's older spelling.
    #[serde(default)]
    pub sni: Option<String>,
    /// Server names (`*.example.com` allowed).
    #[serde(default)]
    pub snis: Option<Vec<String>>,
    /// More certificates (for example an ECC one beside an RSA one).
    #[serde(default)]
    pub certs: Option<Vec<String>>,
    /// Their keys, in the same order.
    #[serde(default)]
    pub keys: Option<Vec<String>>,
    /// Client certificate checking (mTLS).
    #[serde(default)]
    pub client: Option<SslClient>,
    /// TLS versions offered.
    #[serde(default)]
    pub ssl_protocols: Option<Vec<String>>,
    /// Expiry (unix seconds), informational.
    #[serde(default)]
    pub exptime: Option<u64>,
    /// Start of validity (unix seconds), informational.
    #[serde(default)]
    pub validity_start: Option<u64>,
    /// End of validity (unix seconds), informational.
    #[serde(default)]
    pub validity_end: Option<u64>,
    /// 1 = used, 0 = not used.
    #[serde(default = "one")]
    pub status: u8,
}

/// `client {ca, depth, skip_mtls_uri_regex}`: client certificates must chain to `ca`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SslClient {
    /// PEM CA certificate(s).
    pub ca: String,
    /// Longest verification chain (default 1).
    #[serde(default = "one_u32")]
    pub depth: u32,
    /// Paths that skip the client certificate check.
    #[serde(default)]
    pub skip_mtls_uri_regex: Option<Vec<String>>,
}

/// Whom a certificate is offered to (an `ssl`'s `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SslType {
    /// `server`: to clients, chosen by SNI (the default).
    #[default]
    Server,
    /// `client`: to upstreams, as the gateway's client certificate.
    Client,
}

impl SslConf {
    /// The server names, from `snis` or `sni`.
    pub fn server_names(&self) -> Vec<String> {
        match (&self.snis, &self.sni) {
            (Some(s), _) => s.clone(),
            (None, Some(s)) => vec![s.clone()],
            (None, None) => Vec::new(),
        }
    }
}

fn one() -> u8 {
    1
}

fn one_u32() -> u32 {
    1
}
