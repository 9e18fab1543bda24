//! Upstream nodes on real loopback sockets, steered by the test.
//!
//! A [`Node`] answers `GET /health` (a probe) with a health status the test
//! sets, and every other request with a status the test sets, per path or
//! for all; it can hold requests until released and counts hits and
//! probes; it keeps the bodies of the requests it received, and answers a
//! scripted series of statuses first when the test gives one. Its body
//! echoes what it received (method, path, headers, body), or is just its
//! name. Responses carry `x-upstream: <name>`; connections
//! are kept alive until the client closes them or asks to.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// What the test steers, shared with the node's threads.
#[derive(Default)]
struct Ctl {
    status: AtomicU16,
    health: AtomicU16,
    by_path: Mutex<HashMap<String, u16>>,
    name_only: AtomicBool,
    hits: AtomicUsize,
    connections: AtomicUsize,
    probes: AtomicUsize,
    held: AtomicUsize,
    hold: Mutex<bool>,
    released: Condvar,
    script: Mutex<VecDeque<u16>>,
    bodies: Mutex<Vec<Vec<u8>>>,
}

/// Locks `m`; a test thread that panicked holding it poisons nothing here.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A node the test steers. Its threads live as long as the test process.
pub struct Node {
    /// Its name, in `x-upstream` and the body.
    pub name: String,
    /// Its loopback port.
    pub port: u16,
    ctl: Arc<Ctl>,
}

impl Node {
    /// A node answering 200 with an echo of each request: lines
    /// `upstream=<name>`, `method=`, `path=`, one `<header>: <value>` per
    /// header (names lower-cased), and `body=`.
    pub fn start(name: &str) -> Node {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an upstream node");
        let port = listener.local_addr().expect("the node's address").port();
        let ctl = Arc::new(Ctl::default());
        ctl.status.store(200, Ordering::Relaxed);
        ctl.health.store(200, Ordering::Relaxed);
        let (n, c) = (name.to_owned(), ctl.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                c.connections.fetch_add(1, Ordering::Relaxed);
                let (n, c) = (n.clone(), c.clone());
                thread::spawn(move || serve(stream, &n, &c));
            }
        });
        Node {
            name: name.to_owned(),
            port,
            ctl,
        }
    }

    /// A node answering 200 with its name alone as the body.
    pub fn start_named(name: &str) -> Node {
        let node = Node::start(name);
        node.ctl.name_only.store(true, Ordering::Relaxed);
        node
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The status of answers to requests other than `/health`.
    pub fn set_status(&self, status: u16) {
        self.ctl.status.store(status, Ordering::Relaxed);
    }

    /// The status of answers to `path` (without its query), before the one
    /// [`Node::set_status`] set.
    pub fn set_status_of(&self, path: &str, status: u16) {
        lock(&self.ctl.by_path).insert(path.to_owned(), status);
    }

    /// The next answers (`/health` aside) take these statuses, in order,
    /// before any other rule.
    pub fn script(&self, statuses: &[u16]) {
        lock(&self.ctl.script).extend(statuses.iter().copied());
    }

    /// The bodies of the requests received so far (`/health` aside), in
    /// the order they came.
    pub fn bodies(&self) -> Vec<String> {
        lock(&self.ctl.bodies)
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    /// The status of answers to `/health`.
    pub fn set_health(&self, status: u16) {
        self.ctl.health.store(status, Ordering::Relaxed);
    }

    /// Requests received, `/health` aside.
    pub fn hits(&self) -> usize {
        self.ctl.hits.load(Ordering::Relaxed)
    }

    /// Connections accepted.
    pub fn connections(&self) -> usize {
        self.ctl.connections.load(Ordering::Relaxed)
    }

    /// `/health` probes received.
    pub fn probes(&self) -> usize {
        self.ctl.probes.load(Ordering::Relaxed)
    }

    /// Requests being held now.
    pub fn held(&self) -> usize {
        self.ctl.held.load(Ordering::Relaxed)
    }

    /// From now on, hold requests (`true`) until `hold(false)` lets all go.
    pub fn hold(&self, on: bool) {
        *lock(&self.ctl.hold) = on;
        self.ctl.released.notify_all();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Held requests must not outlive the test's gateway for long.
        self.hold(false);
    }
}

/// One request as the node read it.
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

/// Reads a request; `None` when the connection ended first. Lines may hold
/// bytes that are not UTF-8: they are read as bytes and shown lossily.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Received> {
    let mut read_line = || {
        let mut buf = Vec::new();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
        }
    };
    let line = read_line()?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let h = read_line()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let value = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let len = value("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let close = value("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        method,
        target,
        headers,
        body,
        close,
    })
}

/// The status for `req`, after holding it while the test says so.
fn status_for(req: &Received, ctl: &Ctl) -> u16 {
    let path = req.target.split('?').next().unwrap_or_default();
    if path == "/health" {
        ctl.probes.fetch_add(1, Ordering::Relaxed);
        return ctl.health.load(Ordering::Relaxed);
    }
    lock(&ctl.bodies).push(req.body.clone());
    ctl.hits.fetch_add(1, Ordering::Relaxed);
    let mut held = lock(&ctl.hold);
    if *held {
        ctl.held.fetch_add(1, Ordering::Relaxed);
        while *held {
            held = ctl.released.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        ctl.held.fetch_sub(1, Ordering::Relaxed);
    }
    drop(held);
    if let Some(status) = lock(&ctl.script).pop_front() {
        return status;
    }
    let by_path = lock(&ctl.by_path).get(path).copied();
    by_path.unwrap_or_else(|| ctl.status.load(Ordering::Relaxed))
}

/// The echo body of `req` (see [`Node::start`]).
fn echo(req: &Received, name: &str) -> String {
    let mut body = format!(
        "upstream={name}\nmethod={}\npath={}\n",
        req.method, req.target
    );
    for (k, v) in &req.headers {
        body.push_str(&format!("{k}: {v}\n"));
    }
    body.push_str(&format!("body={}\n", String::from_utf8_lossy(&req.body)));
    body
}

fn serve(stream: TcpStream, name: &str, ctl: &Ctl) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    while let Some(req) = read_request(&mut reader) {
        let status = status_for(&req, ctl);
        let body = if ctl.name_only.load(Ordering::Relaxed) {
            name.to_owned()
        } else {
            echo(&req, name)
        };
        let reason = if status == 200 { "OK" } else { "X" };
        let resp = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\nx-upstream: {name}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if out.write_all(resp.as_bytes()).is_err() || req.close {
            return;
        }
    }
}

/// An upstream that misbehaves, on the returned port: with `hang` it
/// accepts and never answers; otherwise it reads at most 4 KiB of each
/// request and closes the connection without answering.
pub fn bad_upstream(hang: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a bad upstream");
    let port = listener
        .local_addr()
        .expect("the bad upstream's address")
        .port();
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
