//! What nginx tells about a client certificate: its subject as an RFC
//! 2253 string (`$ssl_client_s_dn`) and its serial in hexadecimal
//! (`$ssl_client_serial`).

use std::fmt::Write as _;

use rustls::pki_types::CertificateDer;
use x509_parser::prelude::{oid_registry, FromDer, X509Certificate};

/// The subject (`CN=client,O=Example`: last RDN first, as RFC 2253 and
/// nginx write it) and the serial (upper-case hex) of `cert`; `None`s
/// when it is not X.509 (it passed the handshake, so it is).
pub fn dn_and_serial(cert: &CertificateDer<'_>) -> (Option<String>, Option<String>) {
    let Ok((_, x509)) = X509Certificate::from_der(cert.as_ref()) else {
        return (None, None);
    };
    let registry = oid_registry();
    let mut dn = String::new();
    for rdn in x509.subject().iter().collect::<Vec<_>>().into_iter().rev() {
        for attr in rdn.iter() {
            if !dn.is_empty() {
                dn.push(',');
            }
            let name = x509_parser::objects::oid2abbrev(attr.attr_type(), registry)
                .map(str::to_owned)
                .unwrap_or_else(|_| attr.attr_type().to_id_string());
            let value = attr.as_str().map(str::to_owned).unwrap_or_default();
            let _ = write!(dn, "{name}={}", escape(&value));
        }
    }
    let mut serial = String::new();
    for b in x509.raw_serial() {
        let _ = write!(serial, "{b:02X}");
    }
    (Some(dn), Some(serial))
}

/// RFC 2253 escaping of an attribute value.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == v.chars().count() && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
