//! Upstream nodes for balancer and health tests, on real loopback sockets:
//! each answers `GET /health` with a status the test sets (counted as a
//! probe) and every other request with another status the test sets, can
//! hold requests until released, and counts what it received. Responses
//! carry `x-upstream: <name>`; connections are kept alive.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

#[derive(Default)]
struct Ctl {
    status: AtomicU16,
    health: AtomicU16,
    hits: AtomicUsize,
    probes: AtomicUsize,
    held: AtomicUsize,
    hold: Mutex<bool>,
    released: Condvar,
}

/// A node the test steers. Its threads live as long as the test process.
pub struct Node {
    pub name: String,
    pub port: u16,
    ctl: Arc<Ctl>,
}

impl Node {
    /// A node answering 200 to everything.
    pub fn start(name: &str) -> Node {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind node");
        let port = listener.local_addr().expect("addr").port();
        let ctl = Arc::new(Ctl::default());
        ctl.status.store(200, Ordering::Relaxed);
        ctl.health.store(200, Ordering::Relaxed);
        let (n, c) = (name.to_owned(), ctl.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
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

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The status of answers to requests other than `/health`.
    pub fn set_status(&self, s: u16) {
        self.ctl.status.store(s, Ordering::Relaxed);
    }

    /// The status of answers to `/health`.
    pub fn set_health(&self, s: u16) {
        self.ctl.health.store(s, Ordering::Relaxed);
    }

    /// Requests received, `/health` aside.
    pub fn hits(&self) -> usize {
        self.ctl.hits.load(Ordering::Relaxed)
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
        let mut h = self.ctl.hold.lock().unwrap_or_else(|p| p.into_inner());
        *h = on;
        self.ctl.released.notify_all();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Held requests must not outlive the test's gateway for long.
        self.hold(false);
    }
}

fn serve(stream: TcpStream, name: &str, ctl: &Ctl) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut len = 0usize;
        let mut close = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
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
                if k.eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let status = if path == "/health" {
            ctl.probes.fetch_add(1, Ordering::Relaxed);
            ctl.health.load(Ordering::Relaxed)
        } else {
            ctl.hits.fetch_add(1, Ordering::Relaxed);
            let mut held = ctl.hold.lock().unwrap_or_else(|p| p.into_inner());
            if *held {
                ctl.held.fetch_add(1, Ordering::Relaxed);
                while *held {
                    held = ctl.released.wait(held).unwrap_or_else(|p| p.into_inner());
                }
                ctl.held.fetch_sub(1, Ordering::Relaxed);
            }
            ctl.status.load(Ordering::Relaxed)
        };
        let text = format!("{name}\n");
        let resp = format!(
            "HTTP/1.1 {status} X\r\nx-upstream: {name}\r\ncontent-length: {}\r\n\r\n{text}",
            text.len()
        );
        if out.write_all(resp.as_bytes()).is_err() || close {
            return;
        }
    }
}
