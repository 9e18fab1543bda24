//! Scale benchmark (ignored by `cargo test`; run by `benches/scale/run.sh`).
//!
//! For each route count in `BENCH_SIZES` (default `1000,10000,100000`): a
//! fresh etcd loaded with that many routes on one shared upstream (each
//! with a `name` and a `label`), one gateway with one worker, then:
//!
//! - start: from spawning the process to the last route served (from etcd);
//! - RSS once loaded;
//! - CPU per Admin change: the gateway's process CPU time (user + system,
//!   `/proc/<pid>/stat`) over `BENCH_CHANGES` Admin API PUTs that move a
//!   route to a new path, until the last one serves, divided by the count;
//! - one Admin list page of 500, without a filter and with each of `name`,
//!   `label` and `uri` (median of 5);
//! - start again from the snapshot file with etcd down, to the last route
//!   served.
//!
//! Prints one `BENCH` line per size, then `met`/`not met` against the
//! targets of docs/performance.md (CPU per change at the largest size <=
//! 1 ms and <= 1.5x the smallest size's).

use std::time::{Duration, Instant};

use etcd_client::{Txn, TxnOp};
use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{Gateway, Node};
use serde_json::json;

/// The binary under test: `$BENCH_BIN` (a saved build, for A/B runs), else this build's.
fn bin() -> String {
    std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_radixgate").to_owned())
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`).
const TICKS: f64 = 100.0;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The process's user + system CPU time.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/pid/stat");
    // Fields after the command name (which may hold spaces) start at state.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime");
    Duration::from_secs_f64(ticks as f64 / TICKS)
}

/// The process's resident set, in MB.
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    kb / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Waits (up to 60 s) until the process is idle: less than 5 ms of CPU
/// in half a second, so that work left from the load (the snapshot file's
/// first write, the Admin API's index, returning freed memory) is not
/// counted as the changes'.
fn settle(pid: u32) {
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
fn until_served(gw: &Gateway, path: &str) {
    let t = Instant::now();
    while gw.fetch(path).0 != 200 {
        assert!(t.elapsed() < Duration::from_secs(300), "{}", gw.log());
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Median time of 5 Admin GETs of `path`; the `total` of the last.
fn list_ms(gw: &Gateway, path: &str) -> (f64, u64) {
    let mut times = Vec::new();
    let mut total = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let (s, v) = gw.admin("GET", path, None);
        times.push(t.elapsed());
        assert_eq!(s, 200, "{path}: {v}");
        total = v["total"].as_u64().unwrap_or(0);
    }
    times.sort();
    (ms(times[2]), total)
}

struct Figures {
    routes: usize,
    cpu_per_change_ms: f64,
}

fn one_size(n: usize, changes: usize) -> Figures {
    let mut e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let node = Node::start_named("bench");
    let up = json!({"id": "u", "nodes": {node.addr().as_str(): 1}}).to_string();
    rt.block_on(c.put("/apisix/upstreams/u", up, None))
        .expect("put upstream");
    // 100 puts a transaction (etcd allows 128).
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
    let last = format!("/load/{}/x", n - 1);

    let t0 = Instant::now();
    // A long etcd timeout: an Admin list that reads every key from etcd
    // takes seconds at 100k.
    let section = format!(
        "etcd:\n  endpoints: [\"{}\"]\n  timeout: 30\n",
        e.endpoints()[0]
    );
    let mut gw = Gateway::etcd_yaml(bin(), &section)
        .log_level("warn")
        .start();
    until_served(&gw, &last);
    let start_etcd = t0.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let rss = rss_mb(gw.pid());

    // Moves routes r0.. to new paths, one Admin PUT each.
    let pid = gw.pid();
    settle(pid);
    let before = cpu(pid);
    let t = Instant::now();
    for i in 0..changes {
        // The last route stays where it is: the restart below waits for it.
        let j = i % (n - 1);
        let body = json!({"name": format!("route-{j}"), "labels": {"team": format!("t{}", j % 10)},
            "uri": format!("/moved/{i}"), "upstream_id": "u"})
        .to_string();
        let (s, v) = gw.admin("PUT", &format!("/apisix/admin/routes/r{j}"), Some(&body));
        assert!(s == 200 || s == 201, "{s} {v}");
    }
    until_served(&gw, &format!("/moved/{}", changes - 1));
    let wall = t.elapsed();
    // What the changes left to do (the snapshot file's records) counts.
    settle(pid);
    let cpu_per_change = (cpu(pid) - before).as_secs_f64() * 1e3 / changes as f64;

    // The first list after start also starts the Admin API's index (it
    // reads etcd itself); the figures below are the steady state.
    let t = Instant::now();
    let (s, v) = gw.admin("GET", "/apisix/admin/routes?page=1&page_size=500", None);
    assert_eq!(s, 200, "{v}");
    let first_list = ms(t.elapsed());
    std::thread::sleep(Duration::from_secs(3));
    let (page, total) = list_ms(&gw, "/apisix/admin/routes?page=1&page_size=500");
    assert_eq!(total as usize, n);
    let (by_name, _) = list_ms(
        &gw,
        "/apisix/admin/routes?page=1&page_size=500&name=route-1",
    );
    let (by_label, _) = list_ms(
        &gw,
        "/apisix/admin/routes?page=1&page_size=500&label=team:t3",
    );
    let (by_uri, _) = list_ms(&gw, "/apisix/admin/routes?page=1&page_size=500&uri=/load/5");

    // Let the snapshot file catch up, then start again with etcd down.
    std::thread::sleep(Duration::from_secs(2));
    gw.stop_process();
    e.stop(0);
    let t0 = Instant::now();
    gw.start_process();
    until_served(&gw, &last);
    let start_snapshot = t0.elapsed();
    let rss_snapshot = rss_mb(gw.pid());

    println!(
        "BENCH routes={n} start_etcd_ms={:.0} rss_mb={rss:.1} changes={changes} changes_wall_ms={:.0} \
         cpu_per_change_ms={cpu_per_change:.3} first_list_ms={first_list:.0} list_page_ms={page:.1} list_name_ms={by_name:.1} \
         list_label_ms={by_label:.1} list_uri_ms={by_uri:.1} start_snapshot_ms={:.0} rss_snapshot_mb={rss_snapshot:.1}",
        ms(start_etcd),
        ms(wall),
        ms(start_snapshot),
    );
    Figures {
        routes: n,
        cpu_per_change_ms: cpu_per_change,
    }
}

#[test]
#[ignore = "benchmark: run benches/scale/run.sh"]
fn scale_cpu_per_change_memory_start_and_admin_lists() {
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let changes = env_or("BENCH_CHANGES", 200);
    let figures: Vec<Figures> = sizes.iter().map(|&n| one_size(n, changes)).collect();
    if let (Some(small), Some(big)) = (figures.first(), figures.last()) {
        let ratio = big.cpu_per_change_ms / small.cpu_per_change_ms;
        let met = big.cpu_per_change_ms <= 1.0 && ratio <= 1.5;
        println!(
            "BENCH cpu_per_change {}k/{}k ratio={ratio:.2} target<=1.5x and <=1ms: {}",
            big.routes / 1000,
            small.routes.max(1000) / 1000,
            if met { "met" } else { "not met" }
        );
    }
}
