//! Active probes: one task per node on the gateway's health-check thread
//! (a current-thread tokio runtime of its own, started on first use, so
//! probes never wait behind proxy work). A task probes, records the
//! result, sleeps the healthy or unhealthy interval, and ends once its
//! set's probers are stopped (or started anew) or the set is dropped.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Handle;

use super::conf::ActiveConf;
use super::{Event, HealthSet, Target, Thresholds};

/// The runtime probes run on, or `None` when it could not be started
/// (logged once; nodes then keep their state: healthy unless passive
/// checks ejected them).
fn runtime() -> Option<&'static Handle> {
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
    for (i, target) in set.targets.iter().enumerate() {
        let request = probe_request(&conf, target);
        let weak = Arc::downgrade(set);
        let (conf, target) = (conf.clone(), target.clone());
        rt.spawn(prober(weak, generation, i, conf, target, limits, request));
    }
}

async fn prober(
    set: Weak<HealthSet>,
    generation: u64,
    i: usize,
    conf: Arc<ActiveConf>,
    target: Target,
    limits: Thresholds,
    request: Vec<u8>,
) {
    let port = conf.port.unwrap_or(target.port);
    let addr = format!("{}:{port}", target.host_for_connect());
    let timeout = Duration::from_secs_f64(conf.timeout);
    loop {
        let event = match tokio::time::timeout(timeout, probe(&addr, &conf, &request)).await {
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

/// One probe: a tcp connect, or an http GET whose status is classified.
/// `None`: the answer counts neither way.
async fn probe(addr: &str, conf: &ActiveConf, request: &[u8]) -> Option<Event> {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return Some(Event::TcpFailure);
    };
    if conf.kind == "tcp" {
        return Some(Event::Success);
    }
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
fn probe_request(conf: &ActiveConf, target: &Target) -> Vec<u8> {
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

impl Target {
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
        let t = Target {
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
}
