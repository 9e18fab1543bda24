//! An `ssls` object made ready to serve: its certificates and keys
//! parsed and checked (PEM, key matching its certificate, not expired),
//! its client-certificate check built, its server names normalised. The
//! same check runs when the object is decoded (Admin API write, etcd,
//! file), so a bad certificate is refused there, naming its field, and
//! never replaces a good one.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::ServerConfig;
use rustls::sign::CertifiedKey;

use super::verify::ClientCheck;
use crate::config::{SslConf, SslType, TlsVersion};

/// One `ssls` object as the TLS listener (or the upstream client, for
/// `type: client`) uses it. Shared by snapshots until the object changes.
pub struct SslRt {
    /// The object's id.
    pub id: String,
    /// Whom it is offered to.
    pub ssl_type: SslType,
    /// `status: 1` (served); `status: 0` objects are kept but not offered.
    pub enabled: bool,
    /// Its server names, lower case (`*.example.com` kept as written).
    pub names: Vec<String>,
    /// Certificate chains with their keys (`cert`/`key`, then `certs`/`keys`).
    pub keys: Vec<Arc<CertifiedKey>>,
    /// The PEM chain and key of the first pair, for the upstream client.
    pub pem: (String, String),
    /// Client certificates asked for (mTLS), if any.
    pub client: Option<Arc<ClientCheck>>,
    /// Its own TLS versions (`ssl_protocols`), else the listener's.
    pub protocols: Option<Vec<TlsVersion>>,
    /// The earliest end of validity (`notAfter`, Unix seconds) of its
    /// leaf certificates.
    pub not_after: i64,
    /// Set once a handshake found it expired (the warning is logged once).
    pub(super) expiry_warned: AtomicBool,
    /// The rustls configuration, built on the first handshake that needs it.
    pub(super) server: OnceLock<Option<Arc<ServerConfig>>>,
}

impl std::fmt::Debug for SslRt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SslRt")
            .field("id", &self.id)
            .field("names", &self.names)
            .field("keys", &self.keys.len())
            .field("mtls", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

/// What is wrong with an `ssls` object: the field and the problem.
pub type SslProblem = (String, String);

impl SslRt {
    /// Parses and checks `conf`. Errors name the field (`cert`,
    /// `keys[1]`, `client.ca`, ...) and the problem.
    pub fn build(conf: &SslConf) -> Result<SslRt, SslProblem> {
        let provider = rustls::crypto::ring::default_provider();
        let (first, mut not_after) = certified(&conf.cert, "cert", &conf.key, "key", &provider)?;
        let mut keys = vec![first];
        let certs = conf.certs.as_deref().unwrap_or_default();
        let more_keys = conf.keys.as_deref().unwrap_or_default();
        if certs.len() != more_keys.len() {
            return Err((
                "keys".into(),
                format!(
                    "{} keys for {} certs: each of certs needs its key, in the same order",
                    more_keys.len(),
                    certs.len()
                ),
            ));
        }
        for (i, (c, k)) in certs.iter().zip(more_keys).enumerate() {
            let (cf, kf) = (format!("certs[{i}]"), format!("keys[{i}]"));
            let (key, end) = certified(c, &cf, k, &kf, &provider)?;
            keys.push(key);
            not_after = not_after.min(end);
        }
        let client = match &conf.client {
            Some(c) => Some(Arc::new(ClientCheck::build(c, Arc::new(provider))?)),
            None => None,
        };
        let protocols = match &conf.ssl_protocols {
            None => None,
            Some(list) => {
                // TLSv1.1 is in APISIX's schema; this build never offers it.
                let offered: Vec<TlsVersion> = list
                    .iter()
                    .filter_map(|p| TlsVersion::try_from(p.clone()).ok())
                    .collect();
                if offered.is_empty() {
                    return Err((
                        "ssl_protocols".into(),
                        "names no version this build offers (TLSv1.2, TLSv1.3)".into(),
                    ));
                }
                Some(offered)
            }
        };
        Ok(SslRt {
            id: conf.id.0.clone(),
            ssl_type: conf.ssl_type,
            enabled: conf.status == 1,
            names: conf
                .server_names()
                .iter()
                .map(|n| n.to_ascii_lowercase())
                .collect(),
            keys,
            pem: (conf.cert.clone(), conf.key.clone()),
            client,
            protocols,
            not_after,
            expiry_warned: AtomicBool::new(false),
            server: OnceLock::new(),
        })
    }

    /// The listener's own certificate (`gateway.tls.cert`/`key`), served
    /// to names no object has. Errors name the setting.
    pub fn from_files(cert: &std::path::Path, key: &std::path::Path) -> Result<SslRt, SslProblem> {
        let read = |path: &std::path::Path, field: &str| {
            std::fs::read_to_string(path).map_err(|e| {
                (
                    field.to_owned(),
                    format!("cannot read {}: {e}", path.display()),
                )
            })
        };
        let (cert_pem, key_pem) = (
            read(cert, "gateway.tls.cert")?,
            read(key, "gateway.tls.key")?,
        );
        let provider = rustls::crypto::ring::default_provider();
        let (key, not_after) = certified(
            &cert_pem,
            "gateway.tls.cert",
            &key_pem,
            "gateway.tls.key",
            &provider,
        )?;
        Ok(SslRt {
            id: "gateway.tls".into(),
            ssl_type: SslType::Server,
            enabled: true,
            names: Vec::new(),
            keys: vec![key],
            pem: (cert_pem, key_pem),
            client: None,
            protocols: None,
            not_after,
            expiry_warned: AtomicBool::new(false),
            server: OnceLock::new(),
        })
    }

    /// The client verifier of its mTLS, or `None`.
    pub(super) fn verifier(&self) -> Option<Arc<dyn ClientCertVerifier>> {
        self.client.as_ref().map(|c| c.handshake_verifier())
    }
}

/// The certificate chain `cert` with its key `key`, checked: both PEM, the
/// key the certificate's, the certificate not expired; and the leaf's
/// `notAfter` (Unix seconds).
fn certified(
    cert: &str,
    cert_field: &str,
    key: &str,
    key_field: &str,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<(Arc<CertifiedKey>, i64), SslProblem> {
    let problem = |f: &str, p: String| (f.to_owned(), p);
    let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(cert_field, format!("not a PEM certificate: {e}")))?;
    let Some(leaf) = chain.first() else {
        return Err(problem(cert_field, "no PEM certificate in it".into()));
    };
    let not_after = not_expired(leaf).map_err(|p| problem(cert_field, p))?;
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
        .map_err(|e| problem(key_field, format!("not a PEM private key: {e}")))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| problem(key_field, format!("unusable private key: {e}")))?;
    let ck = CertifiedKey::new(chain, signing);
    ck.keys_match().map_err(|e| {
        problem(
            key_field,
            format!("does not match the certificate in {cert_field}: {e}"),
        )
    })?;
    Ok((Arc::new(ck), not_after))
}

/// Refuses a certificate whose validity ended (or that cannot be read as
/// X.509); its `notAfter` in Unix seconds otherwise.
fn not_expired(leaf: &CertificateDer<'_>) -> Result<i64, String> {
    let (_, x509) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let end = x509.validity().not_after.timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if end < now {
        return Err(format!(
            "expired on {} (not after)",
            x509.validity().not_after
        ));
    }
    Ok(end)
}
