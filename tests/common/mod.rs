//! End-to-end helpers: the real `radixgate` binary on a free loopback port
//! with a temp config, real upstream sockets that echo what they received,
//! and a tiny HTTP/1.1 client. Nothing uses a fixed port; every process is
//! killed by a Drop guard.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

mod ports;
pub use ports::free_port;

/// A temp directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "radixgate-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An upstream on a real socket: answers every request with 200 and a body
/// listing its name, the method, the path and every header it received.
pub struct Upstream {
    pub port: u16,
    pub hits: Arc<AtomicUsize>,
}

impl Upstream {
    pub fn start(name: &str) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
        let port = listener.local_addr().expect("addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let (name, h) = (name.to_owned(), hits.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (name, h) = (name.clone(), h.clone());
                thread::spawn(move || serve_echo(stream, &name, &h));
            }
        });
        Upstream { port, hits }
    }

    pub fn node(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// An upstream that misbehaves: `hang` accepts and never answers; otherwise
/// it closes each connection as soon as the request head arrived.
pub fn bad_upstream(hang: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            if hang {
                held.push(stream);
            }
        }
    });
    port
}

fn serve_echo(stream: TcpStream, name: &str, hits: &AtomicUsize) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut out = stream;
    // Lines may hold bytes that are not UTF-8: read bytes, show them lossily.
    let read_line = |r: &mut BufReader<TcpStream>, line: &mut String| {
        let mut buf = Vec::new();
        let n = r.read_until(b'\n', &mut buf).unwrap_or(0);
        *line = String::from_utf8_lossy(&buf).into_owned();
        n
    };
    loop {
        let mut line = String::new();
        if read_line(&mut reader, &mut line) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut body = format!("upstream={name}\nmethod={method}\npath={path}\n");
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if read_line(&mut reader, &mut h) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
                body.push_str(&format!("{}: {}\n", k.to_ascii_lowercase(), v.trim()));
            }
        }
        let mut req_body = vec![0; len];
        if reader.read_exact(&mut req_body).is_err() {
            return;
        }
        body.push_str(&format!("body={}\n", String::from_utf8_lossy(&req_body)));
        hits.fetch_add(1, Ordering::Relaxed);
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-upstream: {name}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if out.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// A response as the test client read it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Resp {
    /// A `key=value` or `header: value` line of an echo body.
    pub fn echoed(&self, key: &str) -> Option<String> {
        self.body.lines().find_map(|l| {
            l.strip_prefix(&format!("{key}="))
                .or_else(|| l.strip_prefix(&format!("{key}: ")))
                .map(str::to_owned)
        })
    }
}

/// Sends one request (with `Connection: close`) and reads the whole response.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str("Host: localhost\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let _ = s.shutdown(Shutdown::Both);
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
    Ok(Resp {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// GET with no extra headers; panics when the gateway cannot be reached.
pub fn get(port: u16, path: &str) -> Resp {
    request(port, "GET", path, &[]).expect("gateway reachable")
}

/// A running gateway; killed on drop.
pub struct Gateway {
    pub port: u16,
    pub dir: TempDir,
    child: Child,
}

/// The `config.yaml` for a gateway on `port` watching `apisix.yaml` beside it.
pub fn config_yaml(port: u16) -> String {
    format!(
        "gateway:\n  listen: [\"127.0.0.1:{port}\"]\n  worker_threads: 2\n  log_level: info\n  header_read_timeout: 2\n  upstream_connect_timeout: 2\n  upstream_read_timeout: 5\nconfig:\n  provider: yaml\n  file: apisix.yaml\n  watch_interval_ms: 100\n"
    )
}

impl Gateway {
    /// Starts the binary with `apisix` as the standalone file and waits
    /// until `/healthz` answers.
    pub fn start(apisix: &str) -> Gateway {
        let dir = TempDir::new("gw");
        let port = free_port();
        std::fs::write(dir.path("config.yaml"), config_yaml(port)).expect("write config");
        std::fs::write(dir.path("apisix.yaml"), apisix).expect("write apisix.yaml");
        let log = std::fs::File::create(dir.path("gateway.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_radixgate"))
            .arg("--config")
            .arg(dir.path("config.yaml"))
            .current_dir(&dir.0)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn radixgate");
        let mut gw = Gateway { port, dir, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = request(port, "GET", "/healthz", &[]) {
                if r.status == 200 || r.status == 404 {
                    return gw;
                }
            }
            if let Ok(Some(status)) = gw.child.try_wait() {
                panic!("radixgate exited early ({status}):\n{}", gw.log());
            }
            assert!(
                Instant::now() < deadline,
                "radixgate did not start:\n{}",
                gw.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Replaces the standalone file.
    pub fn write_apisix(&self, text: &str) {
        std::fs::write(self.dir.path("apisix.yaml"), text).expect("write apisix.yaml");
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM to the gateway (this test's own child, by pid).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits up to `secs` for the process to exit.
    pub fn wait_exit(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What the gateway logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("gateway.log")).unwrap_or_default()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it returns true or `secs` pass.
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

/// Runs `radixgate --test-config --config <path>`.
pub fn test_config(config: &Path, cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_radixgate"))
        .arg("--test-config")
        .arg("--config")
        .arg(config)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run radixgate --test-config")
}
