//! Client certificates (mTLS, an `ssls` object's `client`): the CA they
//! must chain to, the longest chain (`depth`), and the paths that do
//! without (`skip_mtls_uri_regex`). Without skipped paths a handshake
//! without a valid client certificate fails; with them the handshake
//! lets any client through, the certificate is judged after it, and a
//! request to any other path without a valid one gets 400, as APISIX
//! answers.

use std::sync::Arc;

use regex::RegexSet;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use super::certs::SslProblem;
use crate::config::SslClient;

/// How one `ssls` object checks client certificates.
#[derive(Debug)]
pub struct ClientCheck {
    /// The CA and depth check.
    strict: Arc<dyn ClientCertVerifier>,
    /// Paths that need no client certificate; `None`: every path needs one
    /// (and the handshake enforces it).
    skip: Option<RegexSet>,
}

impl ClientCheck {
    /// Built from `client`; errors name the field.
    pub fn build(
        client: &SslClient,
        provider: Arc<CryptoProvider>,
    ) -> Result<ClientCheck, SslProblem> {
        let field = |f: &str, p: String| (format!("client.{f}"), p);
        let mut roots = RootCertStore::empty();
        let cas = CertificateDer::pem_slice_iter(client.ca.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| field("ca", format!("not a PEM certificate: {e}")))?;
        if cas.is_empty() {
            return Err(field("ca", "no PEM certificate in it".into()));
        }
        for ca in cas {
            roots
                .add(ca)
                .map_err(|e| field("ca", format!("not a usable CA certificate: {e}")))?;
        }
        let webpki = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| field("ca", e.to_string()))?;
        let skip = match &client.skip_mtls_uri_regex {
            Some(list) => Some(
                RegexSet::new(list)
                    .map_err(|e| field("skip_mtls_uri_regex", format!("not a regex: {e}")))?,
            ),
            None => None,
        };
        Ok(ClientCheck {
            strict: Arc::new(DepthVerifier {
                inner: webpki,
                depth: client.depth,
            }),
            skip,
        })
    }

    /// The verifier the handshake runs: the strict one, or, when some
    /// paths skip the check, one that lets every client through.
    pub fn handshake_verifier(&self) -> Arc<dyn ClientCertVerifier> {
        match self.skip {
            None => self.strict.clone(),
            Some(_) => Arc::new(Optional(self.strict.clone())),
        }
    }

    /// Whether the handshake already enforced the check.
    pub fn enforced_in_handshake(&self) -> bool {
        self.skip.is_none()
    }

    /// nginx's `$ssl_client_verify` for the chain `peer` presented:
    /// `SUCCESS`, `FAILED:<reason>` or `NONE`.
    pub fn verdict(&self, peer: Option<&[CertificateDer<'static>]>) -> String {
        let Some((leaf, rest)) = peer.and_then(|p| p.split_first()) else {
            return "NONE".into();
        };
        match self.strict.verify_client_cert(leaf, rest, UnixTime::now()) {
            Ok(_) => "SUCCESS".into(),
            Err(e) => format!("FAILED:{e}"),
        }
    }

    /// Whether a request to `path` may go on without a valid client
    /// certificate (`skip_mtls_uri_regex` matches it).
    pub fn skips(&self, path: &str) -> bool {
        self.skip.as_ref().is_some_and(|s| s.is_match(path))
    }
}

/// The CA check with `client.depth`: at most `depth` certificates between
/// the client's and the CA (nginx's `ssl_verify_depth`, so 1 allows a
/// client certificate issued by the CA itself).
#[derive(Debug)]
struct DepthVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    depth: u32,
}

impl ClientCertVerifier for DepthVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if intermediates.len() >= self.depth as usize {
            return Err(rustls::Error::General(format!(
                "client certificate chain longer than client.depth {}",
                self.depth
            )));
        }
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Asks for a client certificate but lets the handshake finish without a
/// valid one; the chain is judged afterwards ([`ClientCheck::verdict`]).
/// The client's signature over the handshake is still checked, so a
/// presented certificate is one the client holds the key of.
#[derive(Debug)]
struct Optional(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for Optional {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
