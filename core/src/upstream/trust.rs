//! The certificate authorities `tls.verify` trusts towards nodes (`https`,
//! `grpcs`, plugins' outbound calls): Mozilla's roots (webpki-roots), plus
//! the CA certificates of `gateway.ssl_trusted_certificate` (APISIX's
//! `apisix.ssl.ssl_trusted_certificate`), installed once at start.

use std::path::Path;
use std::sync::{Arc, LazyLock, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

/// The store every verifying client config is built on; shared, never
/// copied per upstream.
static ROOTS: LazyLock<RwLock<Arc<RootCertStore>>> =
    LazyLock::new(|| RwLock::new(Arc::new(webpki_store())));

fn webpki_store() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The roots `tls.verify` checks a node's certificate against.
pub fn roots() -> Arc<RootCertStore> {
    ROOTS.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Reads `path` (PEM, one or more CA certificates) and trusts its
/// certificates beside Mozilla's roots from now on. Runs at start, before
/// any upstream is built; returns how many certificates were added, or an
/// error naming the file and the problem (unreadable, not PEM, no
/// certificate, a certificate that is not a usable CA).
pub fn trust_file(path: &Path) -> Result<usize, String> {
    let certs = read_cas(path)?;
    let mut store = webpki_store();
    for (i, cert) in certs.iter().enumerate() {
        store
            .add(cert.clone())
            .map_err(|e| format!("{}: certificate {}: {e}", path.display(), i + 1))?;
    }
    *ROOTS.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(store);
    Ok(certs.len())
}

/// The certificates of the PEM file at `path`; at least one.
pub fn read_cas(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused_naming_it() {
        let dir = std::env::temp_dir().join(format!("radixgate-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let cases = [
            ("empty.pem", "", "no PEM certificate"),
            (
                "bad.pem",
                "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
                "not a PEM certificate",
            ),
        ];
        for (name, text, want) in cases {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write");
            let e = read_cas(&path).expect_err(name);
            assert!(e.contains(name) && e.contains(want), "{name}: {e}");
        }
        let e = read_cas(&dir.join("missing.pem")).expect_err("missing");
        assert!(
            e.contains("cannot read") && e.contains("missing.pem"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
