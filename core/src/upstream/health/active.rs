//! Active probes (`tcp`: a connect; `http`/`https`: a GET whose status
//! counts): one task per node on the gateway's health-check thread
//! (a current-thread tokio runtime of its own, started on first use, so
//! probes never wait behind proxy work). A task probes, records the
//! result, sleeps the healthy or unhealthy interval, and ends once its
//! set's probers are stopped (or started anew) or the set is dropped.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Handle;

use super::conf::{ActiveConf, CheckType};
use super::{Event, HealthSet, ProbeTarget, Thresholds};
use crate::upstream::tls::{server_name, TlsSettings};

/// What one node's prober sends where.
struct Probe {
    conf: Arc<ActiveConf>,
    /// `host:port` to connect to.
    addr: String,
    /// The bytes of an http(s) probe.
    request: Vec<u8>,
    /// For `https`: the handshake and the name it sends (SNI).
    tls: Option<(TlsSettings, ServerName<'static>)>,
}

/// The runtime probes run on, or `None` when it could not be started
/// (logged once; nodes then keep their state: healthy unless passive
/// checks ejected them).
fn runtime() -> Option<&'static Handle> {
    // Global: one prober thread for the whole process, started by the first active check.
    static RT: OnceLock<Option<Handle>> = OnceLock::new();
    RT.get_or_init(|| {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the health-check runtime: no active checks");
                return None;
            }
        };
        let handle = rt.handle().clone();
        let started = std::thread::Builder::new()
            .name("health-checks".into())
            .spawn(move || rt.block_on(std::future::pending::<()>()));
        match started {
            Ok(_) => Some(handle),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the health-check thread: no active checks");
                None
            }
        }
    })
    .as_ref()
}

/// Starts a prober for each node of `set`, as its start `generation`.
pub fn start(set: &Arc<HealthSet>, generation: u64) {
    let Some(active) = &set.conf.active else {
        return;
    };
    let Some(rt) = runtime() else {
        return;
    };
    let limits = Thresholds {
        successes: active.healthy.successes,
        http_failures: active.unhealthy.http_failures,
        tcp_failures: active.unhealthy.tcp_failures,
        timeouts: active.unhealthy.timeouts,
    };
    let conf = Arc::new(active.clone());
    let tls = match tls_settings(&conf) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(upstream = %set.name, error = %e, "cannot set up https health probes");
            return;
        }
    };
    for (i, target) in set.targets.iter().enumerate() {
        match Probe::new(&conf, target, tls.as_ref()) {
            Ok(probe) => {
                rt.spawn(prober(Arc::downgrade(set), generation, i, probe, limits));
            }
            Err(e) => tracing::error!(upstream = %set.name, node = %target.authority,
                error = %e, "no health probe for this node"),
        }
    }
}

/// The TLS side of `https` probes (`None` for http and tcp);
/// `https_verify_certificate` defaults to true, as in APISIX.
fn tls_settings(conf: &ActiveConf) -> Result<Option<TlsSettings>, String> {
    if conf.check_type != CheckType::Https {
        return Ok(None);
    }
    let verify = conf.https_verify_certificate.unwrap_or(true);
    let tls = serde_json::from_value(serde_json::json!({ "verify": verify }))
        .map_err(|e| e.to_string())?;
    TlsSettings::build(Some(&tls)).map(Some).map_err(|(_, e)| e)
}

async fn prober(set: Weak<HealthSet>, generation: u64, i: usize, probe: Probe, limits: Thresholds) {
    let conf = probe.conf.clone();
    let timeout = Duration::from_secs_f64(conf.timeout);
    loop {
        let event = match tokio::time::timeout(timeout, probe.once()).await {
            Err(_) => Some(Event::Timeout),
            Ok(e) => e,
        };
        let healthy = {
            let Some(set) = set.upgrade() else { return };
            if !set.current(generation) {
                return;
            }
            if let Some(e) = event {
                set.record(i, e, &limits, "active");
            }
            set.is_healthy(i)
        };
        let wait = if healthy {
            conf.healthy.interval
        } else {
            conf.unhealthy.interval
        };
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        match set.upgrade() {
            Some(s) if s.current(generation) => {}
            _ => return,
        }
    }
}

impl Probe {
    /// The probe of `target`; for https, its SNI is `host` or the node's.
    fn new(
        conf: &Arc<ActiveConf>,
        target: &ProbeTarget,
        tls: Option<&TlsSettings>,
    ) -> Result<Probe, String> {
        let host = target.host_for_connect();
        let tls = match tls {
            None => None,
            Some(t) => {
                let sni = conf.host.as_deref().unwrap_or(host);
                let name =
                    server_name(sni).ok_or_else(|| format!("{sni:?} is not a TLS server name"))?;
                Some((t.clone(), name))
            }
        };
        Ok(Probe {
            addr: format!("{host}:{}", conf.port.unwrap_or(target.port)),
            request: probe_request(conf, target),
            conf: conf.clone(),
            tls,
        })
    }

    /// One probe: a tcp connect, or an http(s) GET whose status is
    /// classified. `None`: the answer counts neither way.
    async fn once(&self) -> Option<Event> {
        let Ok(tcp) = TcpStream::connect(&self.addr).await else {
            return Some(Event::TcpFailure);
        };
        if self.conf.check_type == CheckType::Tcp {
            return Some(Event::Success);
        }
        match &self.tls {
            None => exchange(tcp, &self.conf, &self.request).await,
            Some((tls, name)) => match tls.connect(name.clone(), tcp).await {
                Ok(stream) => exchange(stream, &self.conf, &self.request).await,
                // A failed handshake (or certificate check) is a tcp failure.
                Err(_) => Some(Event::TcpFailure),
            },
        }
    }
}

/// Sends an http probe over `stream` and classifies the status.
async fn exchange<S>(mut stream: S, conf: &ActiveConf, request: &[u8]) -> Option<Event>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if stream.write_all(request).await.is_err() {
        return Some(Event::TcpFailure);
    }
    // The status line is all a probe reads.
    let mut buf = [0u8; 64];
    let mut len = 0;
    while len < 12 {
        match stream.read(&mut buf[len..]).await {
            Ok(0) | Err(_) => return Some(Event::TcpFailure),
            Ok(n) => len += n,
        }
    }
    let status = std::str::from_utf8(&buf[9..12])
        .ok()
        .and_then(|s| s.parse::<u16>().ok());
    match status {
        None => Some(Event::HttpFailure),
        Some(s) if conf.healthy.http_statuses.contains(&s) => Some(Event::Success),
        Some(s) if conf.unhealthy.http_statuses.contains(&s) => Some(Event::HttpFailure),
        Some(_) => None,
    }
}

/// The bytes of an http probe: `GET http_path` with the configured host
/// and headers; the connection closes after it.
fn probe_request(conf: &ActiveConf, target: &ProbeTarget) -> Vec<u8> {
    let host = match (&conf.host, conf.port) {
        (Some(h), _) => h.clone(),
        (None, Some(p)) if p != 80 => format!("{}:{p}", target.host_for_connect()),
        (None, None) if target.port != 80 => target.authority.clone(),
        _ => target.host_for_connect().to_owned(),
    };
    let mut req = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: radixgate-health-check\r\nConnection: close\r\n",
        conf.http_path
    );
    for h in &conf.req_headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.into_bytes()
}

impl ProbeTarget {
    /// The host as a connect address takes it (IPv6 in brackets).
    fn host_for_connect(&self) -> &str {
        self.authority
            .rsplit_once(':')
            .map_or(self.authority.as_str(), |(h, _)| h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::health::parse;
    use serde_json::json;

    #[test]
    fn probe_request_uses_host_path_and_headers() {
        let c =
            parse(&json!({"active": {"http_path": "/status", "req_headers": ["X-A: 1"]}})).unwrap();
        let a = c.active.unwrap();
        let t = ProbeTarget {
            authority: "[::1]:8080".into(),
            port: 8080,
        };
        let req = String::from_utf8(probe_request(&a, &t)).unwrap();
        assert!(
            req.starts_with("GET /status HTTP/1.1\r\nHost: [::1]:8080\r\n"),
            "{req}"
        );
        assert!(
            req.contains("\r\nX-A: 1\r\n") && req.ends_with("\r\n\r\n"),
            "{req}"
        );
        assert_eq!(t.host_for_connect(), "[::1]");
    }

    /// A TLS node on a std thread answering every connection with `status`.
    fn tls_node(status: u16) -> u16 {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
        use std::io::{Read, Write};
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert: CertificateDer<'static> = ck.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        let cfg = Arc::new(cfg);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let Ok(conn) = rustls::ServerConnection::new(cfg.clone()) else {
                    continue;
                };
                let mut s = rustls::StreamOwned::new(conn, tcp);
                let mut buf = [0u8; 1024];
                if s.read(&mut buf).is_ok() {
                    let resp = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                    let _ = s.write_all(resp.as_bytes());
                    s.conn.send_close_notify();
                    let _ = s.flush();
                }
            }
        });
        port
    }

    #[test]
    fn https_probes_read_the_status_and_check_certificates() {
        let port = tls_node(503);
        let target = ProbeTarget {
            authority: format!("127.0.0.1:{port}"),
            port,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let event = |v: serde_json::Value| {
            let a = Arc::new(parse(&json!({ "active": v })).unwrap().active.unwrap());
            let tls = tls_settings(&a).unwrap();
            let probe = Probe::new(&a, &target, tls.as_ref()).unwrap();
            rt.block_on(probe.once())
        };
        let insecure =
            json!({"type": "https", "host": "localhost", "https_verify_certificate": false});
        assert_eq!(event(insecure), Some(Event::HttpFailure));
        // A self-signed certificate fails verification: a tcp failure.
        assert_eq!(
            event(json!({"type": "https", "host": "localhost"})),
            Some(Event::TcpFailure)
        );
        assert_eq!(event(json!({"type": "tcp"})), Some(Event::Success));
    }
}
