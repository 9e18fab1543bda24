//! Real `redis-server` processes (Debian's `redis-server` package) on free
//! loopback ports: one server, or a Redis Cluster of masters joined with
//! `redis-cli --cluster create`; each in its own temp dir, killed on drop.
//! [`command`] talks RESP to one of them, for checks.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::ports::free_port;
use crate::temp::TempDir;
use crate::wait::eventually;

/// One `redis-server`, no persistence, killed on drop.
pub struct RedisServer {
    /// Its loopback port.
    pub port: u16,
    child: Option<Child>,
    dir: TempDir,
    extra: Vec<String>,
}

impl RedisServer {
    /// A server on a free port, answering `PING` when returned; panics when
    /// `redis-server` is missing or does not answer within 10 s.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// A server started with `args` too (`--cluster-enabled yes`).
    pub fn start_with(args: &[&str]) -> RedisServer {
        let mut server = RedisServer {
            port: free_port(),
            child: None,
            dir: TempDir::new("redis"),
            extra: args.iter().map(|a| (*a).to_owned()).collect(),
        };
        server.restart();
        server
    }

    /// A server that speaks TLS only, on a free port, with `cert` and its
    /// `key` (PEM), trusting `ca` (PEM: the cluster bus checks its peers
    /// with it), no client certificates asked: `--port 0 --tls-port
    /// <port>`. Answering `PING` over TLS when returned (`redis-cli
    /// --tls`, the certificate not checked).
    pub fn start_tls(cert: &str, key: &str, ca: &str) -> RedisServer {
        RedisServer::start_tls_with(cert, key, ca, &[])
    }

    /// The same started with `args` too.
    pub fn start_tls_with(cert: &str, key: &str, ca: &str, args: &[&str]) -> RedisServer {
        let dir = TempDir::new("redis-tls");
        let cert_file = dir.root().join("server.crt");
        let key_file = dir.root().join("server.key");
        let ca_file = dir.root().join("ca.crt");
        std::fs::write(&cert_file, cert).expect("write the certificate");
        std::fs::write(&key_file, key).expect("write the key");
        std::fs::write(&ca_file, ca).expect("write the CA");
        let port = free_port();
        let files = [
            ("--tls-cert-file", &cert_file),
            ("--tls-key-file", &key_file),
            ("--tls-ca-cert-file", &ca_file),
        ];
        let mut extra = vec!["--tls-port".to_owned(), port.to_string()];
        for (flag, file) in files {
            extra.push(flag.to_owned());
            extra.push(file.display().to_string());
        }
        extra.extend(["--tls-auth-clients", "no"].map(str::to_owned));
        extra.extend(args.iter().map(|a| (*a).to_owned()));
        let mut server = RedisServer {
            port,
            child: None,
            dir,
            extra,
        };
        server.restart();
        server
    }

    /// Whether this server speaks TLS only.
    fn tls(&self) -> bool {
        self.extra.iter().any(|a| a == "--tls-port")
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the server (its port stops answering).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (stopped first if running).
    pub fn restart(&mut self) {
        self.stop();
        let mut cmd = Command::new("redis-server");
        let plain = if self.tls() { 0 } else { self.port };
        cmd.args(["--port", &plain.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--protected-mode", "no", "--loglevel", "warning"])
            .arg("--dir")
            .arg(self.dir.root())
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start redis-server (Debian package redis-server): {e}")
        });
        self.child = Some(child);
        let port = self.port;
        let answers = || match self.tls() {
            true => tls_ping(port),
            false => command(port, &["PING"]).is_ok_and(|r| r == "+PONG\r\n"),
        };
        assert!(
            eventually(10, answers),
            "redis-server on port {port} does not answer PING"
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether the TLS server on `port` answers `PING` (`redis-cli --tls
/// --insecure`).
fn tls_ping(port: u16) -> bool {
    Command::new("redis-cli")
        .args(["--tls", "--insecure", "-p", &port.to_string(), "PING"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "PONG")
}

/// A cluster node's arguments, its bus on port `bus`.
fn cluster_args(bus: &str) -> Vec<&str> {
    vec![
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "5000",
        "--cluster-port",
        bus,
    ]
}

/// A Redis Cluster of masters (no replicas), each a [`RedisServer`] with
/// its cluster bus on a free port too.
pub struct RedisCluster {
    /// The masters.
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// `masters` servers joined into one cluster whose slots are all
    /// served when returned; panics when `redis-cli` is missing or the
    /// cluster is not up within 20 s.
    pub fn start(masters: usize) -> RedisCluster {
        let nodes = (0..masters)
            .map(|_| {
                let bus = free_port().to_string();
                RedisServer::start_with(&cluster_args(&bus))
            })
            .collect();
        RedisCluster::join(nodes, &[])
    }

    /// The same with masters that speak TLS only (each with `cert` and
    /// `key`, trusting `ca`, PEM), their cluster bus too (`--tls-cluster
    /// yes`).
    pub fn start_tls(masters: usize, cert: &str, key: &str, ca: &str) -> RedisCluster {
        let nodes = (0..masters)
            .map(|_| {
                let bus = free_port().to_string();
                let mut args = cluster_args(&bus);
                args.extend(["--tls-cluster", "yes"]);
                RedisServer::start_tls_with(cert, key, ca, &args)
            })
            .collect();
        RedisCluster::join(nodes, &["--tls", "--insecure"])
    }

    /// Joins `nodes` into a cluster with `redis-cli <tls> --cluster
    /// create`; waits until every node says the cluster is up.
    fn join(nodes: Vec<RedisServer>, tls: &[&str]) -> RedisCluster {
        let out = Command::new("redis-cli")
            .args(tls)
            .args(["--cluster", "create"])
            .args(nodes.iter().map(RedisServer::addr))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run redis-cli (Debian package redis-tools): {e}"));
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = RedisCluster { nodes };
        for node in &cluster.nodes {
            let port = node.port;
            let up = || {
                Command::new("redis-cli")
                    .args(tls)
                    .args(["-p", &port.to_string(), "CLUSTER", "INFO"])
                    .stdin(Stdio::null())
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
            };
            assert!(eventually(20, up), "the cluster is not up on port {port}");
        }
        cluster
    }

    /// The masters' `host:port`.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::addr).collect()
    }
}

/// Sends one command to the server on `port` and reads its reply, raw
/// RESP (`:1\r\n`, a bulk string with its length line).
pub fn command(port: u16, args: &[&str]) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    stream.write_all(req.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut out = String::new();
    read_reply(&mut reader, &mut out)?;
    Ok(out)
}

/// Reads one RESP reply into `out`.
fn read_reply(reader: &mut BufReader<TcpStream>, out: &mut String) -> std::io::Result<()> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    out.push_str(&line);
    let n: i64 = line.get(1..).unwrap_or("").trim().parse().unwrap_or(-1);
    match line.as_bytes().first() {
        Some(b'$') if n >= 0 => {
            let mut body = vec![0; n as usize + 2];
            reader.read_exact(&mut body)?;
            out.push_str(&String::from_utf8_lossy(&body));
        }
        Some(b'*') => {
            for _ in 0..n.max(0) {
                read_reply(reader, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}
