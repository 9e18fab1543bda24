//! What the scale benchmarks share (`mod scale_setup;` in
//! `tests/scale_bench.rs` and `tests/scale_churn.rs`): the binary under
//! test, process CPU time and RSS from `/proc`, N routes loaded into etcd
//! with transactions, the gateway on that etcd, waits, and an nginx
//! upstream (cheaper per request than the support crate's `Node`, which
//! keeps every request's body: a long soak would grow the test process).

// Each benchmark uses a part of this.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_client::{Client, Txn, TxnOp};
use radixgate_test_support::etcd::Etcd;
use radixgate_test_support::gateway::GatewayBuilder;
use radixgate_test_support::{free_port, Gateway, Request, TempDir};
use serde_json::json;
use tokio::runtime::Runtime;

/// The binary under test: `$BENCH_BIN` (a saved build, for A/B runs), else this build's.
pub fn bin() -> String {
    std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_radixgate").to_owned())
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`).
pub const TICKS: f64 = 100.0;

/// `$name` as a number, else `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU time from a `/proc/.../stat` file.
pub fn cpu_of(stat: &str) -> Duration {
    let stat = std::fs::read_to_string(stat).unwrap_or_else(|e| panic!("read {stat}: {e}"));
    // Fields after the command name (which may hold spaces) start at state.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime");
    Duration::from_secs_f64(ticks as f64 / TICKS)
}

/// The process's user + system CPU time.
pub fn cpu(pid: u32) -> Duration {
    cpu_of(&format!("/proc/{pid}/stat"))
}

/// The calling thread's user + system CPU time.
pub fn thread_cpu() -> Duration {
    cpu_of("/proc/thread-self/stat")
}

/// The machine's busy and total CPU time over all cores (`/proc/stat`,
/// idle and iowait as not busy), to show how much of it a phase left.
pub fn machine_cpu() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/stat").expect("read /proc/stat");
    let f: Vec<u64> = stat
        .lines()
        .next()
        .expect("the cpu line")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = f.iter().take(8).sum();
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    let secs = |t: u64| Duration::from_secs_f64(t as f64 / TICKS);
    (secs(total - idle), secs(total))
}

/// The share of the machine's CPU (all cores) busy between two
/// [`machine_cpu`] readings, in percent.
pub fn machine_busy_pct(before: (Duration, Duration), after: (Duration, Duration)) -> f64 {
    let busy = (after.0 - before.0).as_secs_f64();
    let total = (after.1 - before.1).as_secs_f64();
    100.0 * busy / total.max(1e-9)
}

/// The process's resident set, in MB.
pub fn rss_mb(pid: u32) -> f64 {
    try_rss_mb(pid).expect("VmRSS")
}

/// The process's resident set, in MB; `None` once it exited.
pub fn try_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    Some(kb / 1024.0)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Waits (up to 60 s) until the process is idle: less than 5 ms of CPU
/// in half a second, so that work left from the load (the snapshot file's
/// first write, the Admin API's index, returning freed memory) is not
/// counted as the changes'.
pub fn settle(pid: u32) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        let before = cpu(pid);
        std::thread::sleep(Duration::from_millis(500));
        if cpu(pid) - before < Duration::from_millis(5) {
            return;
        }
    }
}

/// Waits until `path` answers 200; panics with the log after 300 s.
pub fn until_served(gw: &Gateway, path: &str) {
    let t = Instant::now();
    while gw.fetch(path).0 != 200 {
        assert!(t.elapsed() < Duration::from_secs(300), "{}", gw.log());
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Puts upstream `u` (one node, `upstream`) and `n` routes `r0..` on it,
/// each with a `name`, a `label` and the URI `/load/<i>/*`, 100 puts a
/// transaction (etcd allows 128). Returns a path of the last route.
pub fn load_routes(rt: &Runtime, c: &mut Client, n: usize, upstream: &str) -> String {
    let up = json!({"id": "u", "nodes": {upstream: 1}}).to_string();
    rt.block_on(c.put("/apisix/upstreams/u", up, None))
        .expect("put upstream");
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let ops: Vec<TxnOp> = chunk
            .iter()
            .map(|i| {
                let v = json!({"id": format!("r{i}"), "name": format!("route-{i}"),
                    "labels": {"team": format!("t{}", i % 10)},
                    "uri": format!("/load/{i}/*"), "upstream_id": "u"});
                TxnOp::put(format!("/apisix/routes/r{i}"), v.to_string(), None)
            })
            .collect();
        rt.block_on(c.txn(Txn::new().and_then(ops)))
            .expect("load txn");
    }
    format!("/load/{}/x", n - 1)
}

/// The Admin PUT body that moves route `r<j>` (as [`load_routes`] made
/// it) to the exact path `uri`.
pub fn moved_route(j: usize, uri: &str) -> String {
    json!({"name": format!("route-{j}"), "labels": {"team": format!("t{}", j % 10)},
        "uri": uri, "upstream_id": "u"})
    .to_string()
}

/// The gateway on `etcd` (log level `warn`) with `BENCH_WORKERS` proxy
/// workers (default 1), not started yet. A long etcd timeout: an Admin
/// list that reads every key from etcd takes seconds at 100k.
pub fn etcd_gateway(etcd: &Etcd) -> GatewayBuilder {
    let section = format!(
        "etcd:\n  endpoints: [\"{}\"]\n  timeout: 30\n",
        etcd.endpoints()[0]
    );
    Gateway::etcd_yaml(bin(), &section)
        .log_level("warn")
        .workers(env_or("BENCH_WORKERS", 1))
}

/// An nginx upstream on a free loopback port answering every request 200
/// `hello world\n` (the upstream of benches/proxy): one process
/// (`master_process off`), killed on drop.
pub struct Nginx {
    /// Its loopback port.
    pub port: u16,
    child: Child,
    dir: TempDir,
}

impl Nginx {
    /// Starts it and waits until it answers; panics when nginx is missing
    /// or does not answer within 10 s.
    pub fn start() -> Nginx {
        let dir = TempDir::new("nginx-up");
        let port = free_port();
        let root = dir.root().display().to_string();
        let conf = format!(
            "daemon off; master_process off; worker_processes 1;\n\
             pid {root}/nginx.pid; error_log {root}/error.log;\n\
             events {{ worker_connections 4096; }}\n\
             http {{ access_log off; server {{ listen 127.0.0.1:{port}; keepalive_requests 10000000;\n\
             location / {{ return 200 \"hello world\\n\"; }} }} }}\n"
        );
        std::fs::write(dir.path("nginx.conf"), conf).expect("write nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.root())
            .arg("-e")
            .arg(dir.path("error.log"))
            .arg("-c")
            .arg(dir.path("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nginx (make deps installs it): {e}"));
        let mut up = Nginx { port, child, dir };
        let t = Instant::now();
        while !Request::get("/").send(port).is_ok_and(|r| r.status == 200) {
            if let Ok(Some(status)) = up.child.try_wait() {
                panic!("nginx exited ({status}): {}", up.error_log());
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "nginx does not answer: {}",
                up.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        up
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
