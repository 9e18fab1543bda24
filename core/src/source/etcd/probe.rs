//! Why etcd refuses our TLS connections. tonic sends its HTTP/2 preface as
//! soon as its side of a TLS 1.3 handshake ends, before etcd has checked
//! our certificate (or its absence); etcd's alert then often loses the
//! race with the reset our unread preface causes, and the error says only
//! "connection closed". A handshake of our own that sends nothing reads
//! etcd's answer every time.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use crate::config::{EtcdSection, EtcdTls};

/// How long etcd may take to answer the probe's handshake with an alert.
const ANSWER: Duration = Duration::from_millis(500);
/// Longest the probe's connection and handshake may take.
const HANDSHAKE: Duration = Duration::from_secs(3);

/// Looks, on a task of its own, into why etcd refuses our TLS connections
/// (when TLS is on) and logs the reason if it does.
pub fn log_tls_refusal(settings: &EtcdSection) {
    if settings.tls.is_none() {
        return;
    }
    let settings = settings.clone();
    tokio::spawn(async move {
        if let Some(reason) = tls_refusal(&settings).await {
            tracing::error!(%reason, "etcd refuses our TLS connection (etcd.tls: ca, cert, key)");
        }
    });
}

/// The client config `tls` describes (the CA as the only root, our
/// certificate when given), or why it cannot be built.
fn client_config(tls: &EtcdTls) -> Result<ClientConfig, String> {
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&read(&tls.ca)?) {
        let cert = cert.map_err(|e| format!("etcd.tls.ca: {e}"))?;
        roots.add(cert).map_err(|e| format!("etcd.tls.ca: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(&read(cert)?)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("etcd.tls.cert: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(&read(key)?)
                .map_err(|e| format!("etcd.tls.key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("etcd.tls.cert: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Why etcd's first endpoint refuses a TLS connection made as `settings`
/// say, when it does; `None` when it accepts one (or TLS is off, or the
/// endpoint cannot be reached at all).
pub async fn tls_refusal(settings: &EtcdSection) -> Option<String> {
    let tls = settings.tls.as_ref()?;
    let endpoint = settings.endpoints.first()?;
    let uri: http::Uri = endpoint.parse().ok()?;
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(2379);
    let config = match client_config(tls) {
        Ok(c) => c,
        Err(e) => return Some(e),
    };
    let name = tls.sni.clone().unwrap_or_else(|| host.to_owned());
    let name = ServerName::try_from(name).ok()?;
    let tcp = timeout(HANDSHAKE, TcpStream::connect((host, port)))
        .await
        .ok()?
        .ok()?;
    let connector = TlsConnector::from(Arc::new(config));
    let mut stream = match timeout(HANDSHAKE, connector.connect(name, tcp)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Some(format!("{endpoint}: {e}")),
        Err(_) => return None,
    };
    // Accepted, etcd waits for our preface: nothing comes. Refused, its
    // alert does.
    let mut byte = [0u8; 1];
    match timeout(ANSWER, stream.read(&mut byte)).await {
        Ok(Err(e)) => Some(format!("{endpoint}: {e}")),
        _ => None,
    }
}
