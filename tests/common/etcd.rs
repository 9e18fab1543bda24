//! The real-etcd harness: Debian's `etcd` (3.4) on free loopback client and
//! peer ports, each member in its own temp data dir, killed on drop. A
//! member can be stopped and started again on the same ports and data dir.
//!
//! Include it with `#[path = "common/etcd.rs"] mod etcd;`.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The etcd binary: `$ETCD_BIN`, else `/usr/bin/etcd`, else `etcd` on PATH.
pub fn etcd_bin() -> String {
    std::env::var("ETCD_BIN").unwrap_or_else(|_| {
        if std::path::Path::new("/usr/bin/etcd").exists() {
            "/usr/bin/etcd".into()
        } else {
            "etcd".into()
        }
    })
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "radixgate-etcd-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create etcd temp dir");
    dir
}

/// One etcd member: its ports, its data dir, and its process while it runs.
pub struct Member {
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    pub dir: PathBuf,
    cluster: String,
    child: Option<Child>,
    /// Certificate and key files when clients speak TLS.
    tls: Option<(PathBuf, PathBuf)>,
}

impl Member {
    /// `http://127.0.0.1:<client port>`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("etcd.log"))
            .expect("etcd log file");
        let client = self.endpoint();
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut cmd = Command::new(etcd_bin());
        if let Some((cert, key)) = &self.tls {
            cmd.arg("--cert-file").arg(cert).arg("--key-file").arg(key);
        }
        let child = cmd
            .arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .arg("--listen-client-urls")
            .arg(&client)
            .arg("--advertise-client-urls")
            .arg(&client)
            .arg("--listen-peer-urls")
            .arg(&peer)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer)
            .arg("--initial-cluster")
            .arg(&self.cluster)
            .arg("--initial-cluster-state")
            .arg("new")
            .arg("--initial-cluster-token")
            .arg(format!("radixgate-test-{}", std::process::id()))
            .arg("--heartbeat-interval")
            .arg("50")
            .arg("--election-timeout")
            .arg("500")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (apt-get install etcd-server)",
                    etcd_bin()
                )
            });
        self.child = Some(child);
    }

    /// Whether `GET /health` answers `"health":"true"`.
    pub fn healthy(&self) -> bool {
        if self.tls.is_some() {
            return self.log().contains("ready to serve client requests");
        }
        http_get(self.client_port, "/health").is_some_and(|b| b.contains("\"health\":\"true\""))
    }

    /// Kills the process (SIGKILL, by its own pid); keeps ports and data dir.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again on the same ports and data dir.
    pub fn start(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    /// Removes the data dir of a stopped member: it starts again empty,
    /// its revisions from 1 (as an etcd restored from an older backup).
    pub fn wipe(&mut self) {
        assert!(self.child.is_none(), "stop the member before wiping it");
        let _ = std::fs::remove_dir_all(self.dir.join("data"));
    }

    /// Sends `signal` (`STOP`, `CONT`) to the member's own process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("member running").id();
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal} {pid}");
    }

    /// Whether the process runs.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// What etcd logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // A stopped (SIGSTOP) process still dies of SIGKILL.
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A one- or three-member etcd on loopback, stopped on drop.
pub struct Etcd {
    pub members: Vec<Member>,
}

impl Etcd {
    /// One member, healthy when this returns.
    pub fn start() -> Etcd {
        Etcd::cluster(1)
    }

    /// `n` members forming one cluster, healthy when this returns.
    pub fn cluster(n: usize) -> Etcd {
        Etcd::build(n, None)
    }

    /// One member whose clients speak TLS with `cert`/`key` (PEM files).
    pub fn start_tls(cert: PathBuf, key: PathBuf) -> Etcd {
        Etcd::build(1, Some((cert, key)))
    }

    fn build(n: usize, tls: Option<(PathBuf, PathBuf)>) -> Etcd {
        let mut members: Vec<Member> = (0..n)
            .map(|i| Member {
                name: format!("m{i}"),
                client_port: free_port(),
                peer_port: free_port(),
                dir: temp_dir(&format!("m{i}")),
                cluster: String::new(),
                child: None,
                tls: tls.clone(),
            })
            .collect();
        let cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        for m in &mut members {
            m.cluster = cluster.clone();
            m.spawn();
        }
        let etcd = Etcd { members };
        etcd.wait_healthy(Duration::from_secs(30));
        etcd
    }

    /// Waits until every running member is healthy; panics with the logs otherwise.
    pub fn wait_healthy(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if self
                .members
                .iter()
                .filter(|m| m.running())
                .all(Member::healthy)
            {
                return;
            }
            if Instant::now() > deadline {
                let logs: Vec<String> = self.members.iter().map(Member::log).collect();
                panic!("etcd did not become healthy:\n{}", logs.join("\n----\n"));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every member's client URL.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(Member::endpoint).collect()
    }

    /// The first member's client URL.
    pub fn endpoint(&self) -> String {
        self.members[0].endpoint()
    }

    /// Kills member `i` (keeps its data).
    pub fn stop(&mut self, i: usize) {
        self.members[i].stop();
    }

    /// Restarts member `i` and waits until the running members are healthy.
    pub fn restart(&mut self, i: usize) {
        self.members[i].start();
        self.wait_healthy(Duration::from_secs(30));
    }
}

/// A plain HTTP/1.0 GET on loopback; the body, or `None` on any failure.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

/// A small tokio runtime for tests that talk to etcd through etcd-client.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Connects an etcd-client to `endpoints` (5 s timeout).
pub fn client(rt: &tokio::runtime::Runtime, endpoints: &[String]) -> etcd_client::Client {
    let opts = etcd_client::ConnectOptions::new()
        .with_timeout(Duration::from_secs(5))
        .with_connect_timeout(Duration::from_secs(2));
    rt.block_on(etcd_client::Client::connect(endpoints, Some(opts)))
        .expect("connect to etcd")
}

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
        let (port, admin_port) = (free_port(), free_port());
        let dir = temp_dir("gw");
        std::fs::write(
            dir.join("config.yaml"),
            EtcdGateway::config_with(port, admin_port, etcd, ""),
        )
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

    /// Starts a gateway on `endpoints` and waits until both listeners answer.
    pub fn start(endpoints: &[String]) -> EtcdGateway {
        EtcdGateway::start_with(endpoints, "")
    }

    /// Same, with `extra` lines of `config.yaml`.
    pub fn start_with(endpoints: &[String], extra: &str) -> EtcdGateway {
        let (port, admin_port) = (free_port(), free_port());
        let dir = temp_dir("gw");
        std::fs::write(
            dir.join("config.yaml"),
            EtcdGateway::config(port, admin_port, endpoints, extra),
        )
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
