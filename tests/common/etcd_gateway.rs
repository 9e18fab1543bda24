//! The gateway side of the real-etcd harness: a radixgate process on etcd
//! with its Admin API, an HTTP/1.1 helper, and a tiny upstream. Included by
//! `etcd.rs` (its items are re-exported there).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{free_port, temp_dir};

/// (status, lower-cased headers, body).
pub type Exchange = (u16, Vec<(String, String)>, String);

/// One HTTP/1.1 exchange on loopback with an optional JSON body; returns
/// (status, lower-cased headers, body). `Err` when the port cannot be reached.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<Exchange> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    if let Some(b) = body {
        // A server may answer (413) before reading a large body.
        let _ = s.write_all(b.as_bytes());
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    // Chunked bodies are not expected from the Admin API (it sets a length).
    Ok((status, headers, body.to_owned()))
}

/// APISIX's default admin key (accepted from loopback).
pub const KEY: &str = "edd1c9f034335f136f87ad84b625c8f1";

/// A radixgate process on etcd, with its Admin API; killed on drop. Its
/// working dir (config.yaml, etcd-snapshot.json, gateway.log) outlives
/// restarts of the process.
pub struct EtcdGateway {
    pub port: u16,
    pub admin_port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl EtcdGateway {
    /// `config.yaml` for a gateway on `endpoints` with `extra` YAML appended
    /// to its `admin:` section.
    pub fn config(port: u16, admin_port: u16, endpoints: &[String], extra: &str) -> String {
        let eps: Vec<String> = endpoints.iter().map(|e| format!("\"{e}\"")).collect();
        let etcd = format!("etcd:\n  endpoints: [{}]\n  timeout: 2\n", eps.join(", "));
        EtcdGateway::config_with(port, admin_port, &etcd, extra)
    }

    /// `config.yaml` with the given `etcd:` section.
    pub fn config_with(port: u16, admin_port: u16, etcd: &str, extra: &str) -> String {
        format!(
            "gateway:\n  listen: [\"127.0.0.1:{port}\"]\n  worker_threads: 2\n  upstream_connect_timeout: 2\n  upstream_read_timeout: 5\nconfig:\n  provider: etcd\n{etcd}admin:\n  listen: \"127.0.0.1:{admin_port}\"\n{extra}"
        )
    }

    /// Starts a gateway whose `etcd:` section is `etcd` (YAML).
    pub fn start_yaml(etcd: &str) -> EtcdGateway {
        EtcdGateway::launch(|port, admin| EtcdGateway::config_with(port, admin, etcd, ""))
    }

    /// Starts a gateway on `endpoints` and waits until both listeners answer.
    pub fn start(endpoints: &[String]) -> EtcdGateway {
        EtcdGateway::start_with(endpoints, "")
    }

    /// Same, with `extra` lines of `config.yaml`.
    pub fn start_with(endpoints: &[String], extra: &str) -> EtcdGateway {
        EtcdGateway::launch(|port, admin| EtcdGateway::config(port, admin, endpoints, extra))
    }

    /// Writes the `config.yaml` that `config` makes for free ports, starts
    /// the gateway and waits for it.
    fn launch(config: impl FnOnce(u16, u16) -> String) -> EtcdGateway {
        let (port, admin_port) = (free_port(), free_port());
        let dir = temp_dir("gw");
        std::fs::write(dir.join("config.yaml"), config(port, admin_port))
            .expect("write config.yaml");
        let mut gw = EtcdGateway {
            port,
            admin_port,
            dir,
            child: None,
        };
        gw.start_process();
        gw
    }

    /// Starts the process again (same ports and dir) and waits for it.
    pub fn start_process(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("gateway.log"))
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_radixgate"))
            .arg("--config")
            .arg(self.dir.join("config.yaml"))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn radixgate");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let up = http(self.port, "GET", "/healthz", &[], None).is_ok_and(|r| r.0 != 0)
                && http(self.admin_port, "GET", "/", &[], None).is_ok_and(|r| r.0 != 0);
            if up {
                return;
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    panic!("radixgate exited early ({st}):\n{}", self.log());
                }
            }
            assert!(
                Instant::now() < deadline,
                "radixgate did not start:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process (its own pid).
    pub fn stop_process(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// An Admin API call with the default key.
    pub fn admin(&self, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
        let (status, _, text) = http(self.admin_port, method, path, &[("X-API-KEY", KEY)], body)
            .expect("Admin API reachable");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// A proxied GET: (status, body); status 0 when the request failed.
    pub fn get(&self, path: &str) -> (u16, String) {
        match http(self.port, "GET", path, &[], None) {
            Ok((s, _, b)) => (s, b),
            Err(_) => (0, String::new()),
        }
    }

    /// What the gateway logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("gateway.log")).unwrap_or_default()
    }
}

impl Drop for EtcdGateway {
    fn drop(&mut self) {
        self.stop_process();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `f` until true or `secs` pass.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}

/// An upstream on a real socket answering every request with 200 and body `name`.
pub fn upstream(name: &str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let port = listener.local_addr().expect("addr").port();
    let name = name.to_owned();
    thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let name = name.clone();
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut got = Vec::new();
                loop {
                    let n = match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    got.extend_from_slice(&buf[..n]);
                    while let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        got.drain(..end + 4);
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{name}",
                            name.len()
                        );
                        if s.write_all(resp.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

/// A port that was free a moment ago.
pub fn http_free_port() -> u16 {
    free_port()
}

/// Kills a child process (by its own handle) when dropped.
pub struct KillOnDrop<'a>(pub &'a mut Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
