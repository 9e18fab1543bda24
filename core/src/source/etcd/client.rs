//! The etcd client connection that the etcd source and the Admin API
//! share, made from the `etcd:` section of `config.yaml`.

use std::error::Error as _;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{EtcdSection, EtcdTls};

/// Connects a client to the endpoints of `settings` (fails when none
/// answers within the connect timeout, or when authentication fails).
pub async fn connect(settings: &EtcdSection) -> Result<etcd_client::Client, etcd_client::Error> {
    let timeout = settings.timeout();
    let mut opts = etcd_client::ConnectOptions::new()
        .with_timeout(timeout)
        .with_connect_timeout(timeout.min(Duration::from_secs(3)))
        .with_keep_alive(Duration::from_secs(5), Duration::from_secs(5));
    if let (Some(u), Some(p)) = (&settings.user, &settings.password) {
        opts = opts.with_user(u.clone(), p.clone());
    }
    if let Some(tls) = &settings.tls {
        opts = opts.with_tls(tls_options(tls).map_err(etcd_client::Error::InvalidArgs)?);
    }
    let connect = etcd_client::Client::connect(&settings.endpoints, Some(opts));
    match tokio::time::timeout(timeout, connect).await {
        Ok(r) => r,
        Err(_) => Err(etcd_client::Error::InvalidArgs(format!(
            "no etcd endpoint of {:?} answered within {:?}",
            settings.endpoints, timeout
        ))),
    }
}

/// The client TLS settings of `etcd.tls`, with the PEM files read.
fn tls_options(tls: &EtcdTls) -> Result<etcd_client::TlsOptions, String> {
    let read = |p: &PathBuf, what: &str| {
        std::fs::read(p).map_err(|e| format!("etcd.tls.{what} {}: {e}", p.display()))
    };
    let mut o = etcd_client::TlsOptions::new()
        .ca_certificate(etcd_client::Certificate::from_pem(read(&tls.ca, "ca")?));
    if let (Some(c), Some(k)) = (&tls.cert, &tls.key) {
        o = o.identity(etcd_client::Identity::from_pem(
            read(c, "cert")?,
            read(k, "key")?,
        ));
    }
    if let Some(name) = &tls.sni {
        o = o.domain_name(name.clone());
    }
    Ok(o)
}

/// `e` and the errors under it, as `error: cause: cause`. tonic reports a
/// refused TLS handshake (etcd asking for a client certificate, a
/// certificate it does not trust) as a bare "transport error"; the reason
/// is only in the causes.
pub fn describe(e: &etcd_client::Error) -> String {
    let mut text = e.to_string();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = match e {
        etcd_client::Error::GRpcStatus(status) => status.source(),
        etcd_client::Error::TransportError(t) => t.source(),
        etcd_client::Error::IoError(io) => io.source(),
        _ => None,
    };
    while let Some(c) = cause {
        let line = c.to_string();
        // Layers often repeat the message of the one they wrap.
        if !text.contains(&line) {
            let _ = write!(text, ": {line}");
        }
        cause = c.source();
    }
    text
}
