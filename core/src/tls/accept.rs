//! The TLS side of an accepted connection: the ClientHello is read first,
//! its server name (else `fallback_sni`) looked up in the live snapshot's
//! SNI index, and the handshake finished with that object's rustls
//! configuration (its certificates, its client check, its versions). A
//! name nobody serves gets an `unrecognized_name` alert; bytes that are
//! not TLS end the connection. The caller bounds the whole of it with the
//! header timeout.

use std::io;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert, ServerConfig};
use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use rustls::sign::CertifiedKey;
use rustls::SupportedProtocolVersion;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;

use super::certs::SslRt;
use super::verify::ClientCheck;
use crate::config::{TlsSection, TlsVersion};
use crate::proxy::Protocol;
use crate::snapshot::Live;

/// A fatal `unrecognized_name` alert record (TLS 1.2 framing, which TLS
/// 1.3 clients read too before any key is agreed).
const UNRECOGNIZED_NAME: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70];

/// The listener's own TLS settings (`gateway.tls`), shared by every
/// worker: versions, the name for ClientHellos without SNI, and what
/// session resumption keeps.
pub struct TlsListener {
    /// Where HTTPS is served.
    pub listen: Vec<std::net::SocketAddr>,
    protocols: Vec<TlsVersion>,
    fallback_sni: Option<String>,
    ticketer: Option<Arc<dyn ProducesTickets>>,
    cache: Option<Arc<dyn StoresServerSessions>>,
    /// Served to names no `ssls` object has (`gateway.tls.cert`/`key`).
    default: Option<Arc<SslRt>>,
    /// ALPN protocols offered, in preference order: h2, then http/1.1
    /// (APISIX offers HTTP/2 on its TLS port by default).
    pub alpn: Vec<Vec<u8>>,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("listen", &self.listen)
            .field("protocols", &self.protocols)
            .field("fallback_sni", &self.fallback_sni)
            .finish_non_exhaustive()
    }
}

impl TlsListener {
    /// The listener `section` describes; fails when its own certificate
    /// cannot be read or used, or the ticket key cannot be made.
    pub fn new(section: &TlsSection) -> Result<TlsListener, String> {
        let ticketer = if section.session_tickets {
            let t = rustls::crypto::ring::Ticketer::new()
                .map_err(|e| format!("gateway.tls.session_tickets: {e}"))?;
            Some(t)
        } else {
            None
        };
        let default = match (&section.cert, &section.key) {
            (Some(cert), Some(key)) => {
                let ssl = SslRt::from_files(cert, key).map_err(|(f, p)| format!("{f}: {p}"))?;
                let ssl = Arc::new(ssl);
                super::expiry::publish_default(ssl.clone());
                Some(ssl)
            }
            (None, None) => None,
            _ => return Err("gateway.tls.cert and gateway.tls.key go together".into()),
        };
        let cache = (section.session_cache_size > 0).then(|| {
            ServerSessionMemoryCache::new(section.session_cache_size)
                as Arc<dyn StoresServerSessions>
        });
        Ok(TlsListener {
            listen: section.listen.clone(),
            protocols: section.protocols.clone(),
            fallback_sni: section
                .fallback_sni
                .as_ref()
                .map(|s| s.to_ascii_lowercase()),
            ticketer,
            cache,
            default,
            alpn: Protocol::ALPN.iter().map(|p| p.to_vec()).collect(),
        })
    }

    /// The rustls configuration serving `ssl`, built on its first use.
    fn config_for(&self, ssl: &SslRt) -> Option<Arc<ServerConfig>> {
        ssl.server
            .get_or_init(|| match self.build_config(ssl) {
                Ok(c) => Some(Arc::new(c)),
                Err(e) => {
                    tracing::error!(kind = "ssl", id = %ssl.id, error = %e,
                        "cannot serve this ssls object");
                    None
                }
            })
            .clone()
    }

    fn build_config(&self, ssl: &SslRt) -> Result<ServerConfig, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: Vec<&'static SupportedProtocolVersion> = ssl
            .protocols
            .as_deref()
            .unwrap_or(&self.protocols)
            .iter()
            .map(|v| match v {
                TlsVersion::V1_2 => &rustls::version::TLS12,
                TlsVersion::V1_3 => &rustls::version::TLS13,
            })
            .collect();
        let builder =
            ServerConfig::builder_with_provider(provider).with_protocol_versions(&versions)?;
        let builder = match ssl.verifier() {
            Some(v) => builder.with_client_cert_verifier(v),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(Arc::new(BySignature(ssl.keys.clone())));
        if let Some(t) = &self.ticketer {
            config.ticketer = t.clone();
        }
        config.session_storage = match &self.cache {
            Some(c) => c.clone(),
            None => Arc::new(rustls::server::NoServerSessionStorage {}),
        };
        config.alpn_protocols = self.alpn.clone();
        Ok(config)
    }
}

/// Offers the first of an object's certificates whose key can sign with
/// a scheme the client accepts (RSA and ECDSA side by side).
#[derive(Debug)]
struct BySignature(Vec<Arc<CertifiedKey>>);

impl ResolvesServerCert for BySignature {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let offered = hello.signature_schemes();
        self.0
            .iter()
            .find(|k| k.key.choose_scheme(offered).is_some())
            .cloned()
    }
}

/// What the handshake told about the connection, read by the request
/// variables `ssl_*` and by the mTLS path check.
#[derive(Debug, Default)]
pub struct TlsInfo {
    /// The SNI the client sent (`ssl_server_name`).
    pub server_name: Option<String>,
    /// `SUCCESS`, `FAILED:<reason>` or `NONE` (`ssl_client_verify`).
    pub client_verify: String,
    /// The client certificate's subject, RFC 2253 (`ssl_client_s_dn`).
    pub client_s_dn: Option<String>,
    /// The client certificate's serial, hexadecimal (`ssl_client_serial`).
    pub client_serial: Option<String>,
    /// The object's client check when the handshake let an unchecked
    /// client through (`skip_mtls_uri_regex`): requests are judged by path.
    pub mtls_by_path: Option<Arc<ClientCheck>>,
}

impl TlsInfo {
    /// Whether a request to `path` (normalised) may go on: always, unless
    /// mTLS is judged by path, the client's certificate is not valid and
    /// `skip_mtls_uri_regex` does not match.
    pub fn admits(&self, path: &str) -> bool {
        match &self.mtls_by_path {
            None => true,
            Some(check) => self.client_verify == "SUCCESS" || check.skips(path),
        }
    }
}

/// Sets the connection's TLS variables among the request's variables that
/// plugins read (`scheme`, `https`, `ssl_server_name`, `ssl_client_*`).
pub fn publish_vars(info: &TlsInfo, vars: &mut crate::plugin_host::SharedVars) {
    vars.insert("scheme", "https");
    vars.insert("https", "on");
    vars.insert("ssl_client_verify", &info.client_verify);
    let optional = [
        ("ssl_server_name", &info.server_name),
        ("ssl_client_s_dn", &info.client_s_dn),
        ("ssl_client_serial", &info.client_serial),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            vars.insert(name, v);
        }
    }
}

/// Runs the server side of a TLS handshake on `io` with the certificate
/// the live snapshot has for the client's server name. Errors when the
/// bytes are not TLS, no object serves the name (after an
/// `unrecognized_name` alert) or the handshake fails (rustls sends the alert).
pub async fn handshake<IO>(
    io: IO,
    listener: &TlsListener,
    live: &Live,
) -> io::Result<(TlsStream<IO>, TlsInfo)>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io).await?;
    let sni = start
        .client_hello()
        .server_name()
        .map(|s| s.to_ascii_lowercase());
    let ssl = {
        let snap = live.load();
        sni.as_deref()
            .or(listener.fallback_sni.as_deref())
            .and_then(|name| snap.tls.lookup(name).cloned())
            .or_else(|| listener.default.clone())
    };
    let Some((ssl, config)) = ssl.and_then(|s| listener.config_for(&s).map(|c| (s, c))) else {
        let _ = start.io.write_all(&UNRECOGNIZED_NAME).await;
        let _ = start.io.shutdown().await;
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("no certificate for server name {sni:?}"),
        ));
    };
    ssl.warn_if_expired();
    let stream = start.into_stream(config).await?;
    let mut info = TlsInfo {
        server_name: sni,
        client_verify: "NONE".into(),
        ..TlsInfo::default()
    };
    if let Some(check) = &ssl.client {
        let peer = stream.get_ref().1.peer_certificates();
        info.client_verify = if check.enforced_in_handshake() && peer.is_some() {
            "SUCCESS".into()
        } else {
            check.verdict(peer)
        };
        if !check.enforced_in_handshake() {
            info.mtls_by_path = Some(check.clone());
        }
        if let Some(leaf) = peer.and_then(|p| p.first()) {
            (info.client_s_dn, info.client_serial) = super::subject::dn_and_serial(leaf);
        }
    }
    Ok((stream, info))
}
