//! TLS towards `scheme: https` and `grpcs` nodes: one rustls client config per
//! upstream (built with the snapshot, shared by every worker), the server
//! name each node is dialled with, and the handshake itself.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::UpstreamTls;

/// How an upstream's nodes are reached over TLS.
#[derive(Clone)]
pub struct TlsSettings {
    connector: TlsConnector,
    /// Whether the node's certificate is checked (`tls.verify`).
    pub verify: bool,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("verify", &self.verify)
            .finish_non_exhaustive()
    }
}

impl TlsSettings {
    /// Builds from the upstream's `tls` object (absent: APISIX's default,
    /// no verification). Errors name the field.
    pub fn build(conf: Option<&UpstreamTls>) -> Result<TlsSettings, (String, String)> {
        Self::build_for(conf, b"http/1.1")
    }

    /// As [`TlsSettings::build`], for nodes that speak HTTP/2 (`grpcs`):
    /// ALPN offers `h2`.
    pub fn build_h2(conf: Option<&UpstreamTls>) -> Result<TlsSettings, (String, String)> {
        Self::build_for(conf, b"h2")
    }

    /// The settings with ALPN offering `alpn` alone.
    fn build_for(conf: Option<&UpstreamTls>, alpn: &[u8]) -> Result<TlsSettings, (String, String)> {
        let verify = conf.is_some_and(|t| t.verify);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ("tls".to_owned(), e.to_string()))?;
        let builder = if verify {
            builder.with_root_certificates(super::trust::roots())
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        };
        let mut config = match conf.and_then(|t| t.client_cert.as_ref().zip(t.client_key.as_ref()))
        {
            Some((cert, key)) => {
                let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        (
                            "tls.client_cert".to_owned(),
                            format!("not a PEM certificate: {e}"),
                        )
                    })?;
                let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| {
                    (
                        "tls.client_key".to_owned(),
                        format!("not a PEM private key: {e}"),
                    )
                })?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| ("tls.client_cert".to_owned(), e.to_string()))?
            }
            None => builder.with_no_client_auth(),
        };
        // The one protocol the nodes speak to us.
        config.alpn_protocols = vec![alpn.to_vec()];
        Ok(TlsSettings {
            connector: TlsConnector::from(Arc::new(config)),
            verify,
        })
    }

    /// Runs the TLS handshake over `tcp`, sending `name` as SNI (an IP
    /// address sends none).
    pub async fn connect(
        &self,
        name: ServerName<'static>,
        tcp: TcpStream,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        self.connector.connect(name, tcp).await
    }
}

/// The server name a node is dialled with: `host` as a DNS name or an IP
/// address (brackets of IPv6 removed).
pub fn server_name(host: &str) -> Option<ServerName<'static>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned()).ok()
}

/// `tls.verify: false`: any certificate is accepted, signatures are still
/// checked so the handshake itself stays sound.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
