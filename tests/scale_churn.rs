//! Churn benchmark and soak (ignored by `cargo test`; run by
//! `benches/scale/churn.sh` and `benches/scale/soak.sh`).
//!
//! Both: a fresh etcd loaded with `BENCH_ROUTES` routes (default 100000)
//! on one shared upstream (nginx, as in benches/proxy), one gateway with
//! one worker, wrk against a route no change touches, and a churn driver
//! (a thread of this process) sending Admin API PUTs at a steady pace,
//! each moving a route to a new exact path, as `scale_bench` does. Every
//! tenth change is followed by a probe that polls the new path until it
//! serves: Admin PUT -> served.
//!
//! - `churn_steady_route_with_and_without_admin_changes`: wrk (`--latency`,
//!   `BENCH_CONNS` connections, `BENCH_SECS` s) without churn, then the
//!   same with `BENCH_RATE` (50) changes a second; the driver thread's own
//!   CPU beside it (and this whole process's: driver, probes, waiting for
//!   wrk), etcd's CPU and how busy the whole machine was (all cores, other
//!   users' load included); the gateway's CPU per change estimated under
//!   load and measured idle (`BENCH_IDLE_SECS` of churn with no load).
//!   One `BENCH` line.
//! - `soak_rss_and_failures_under_load_and_churn`: `SOAK_MINUTES` (30) of
//!   wrk (`SOAK_CONNS` connections, each waiting `SOAK_DELAY_MS` between
//!   requests: a steady load, not the peak) and `SOAK_RATE` (10) changes a
//!   second; the gateway's RSS every 10 s, the one at 60 s against the
//!   min and max after it (target: within +-5%).
//!
//! Timing is reported, never asserted. Asserted: every change accepted and
//! served (within 60 s), and no request failed (wrk's non-2xx responses and socket
//! errors, timeouts included, are 0).

mod scale_setup;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{Gateway, Request, TempDir, ADMIN_KEY};
use scale_setup::{
    cpu, env_or, etcd_gateway, load_routes, machine_busy_pct, machine_cpu, moved_route, ms, rss_mb,
    settle, thread_cpu, try_rss_mb, until_served, Nginx,
};

/// What wrk reported.
struct Wrk {
    requests: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non2xx: u64,
    socket_errors: u64,
    out: String,
}

impl Wrk {
    fn failed(&self) -> u64 {
        self.non2xx + self.socket_errors
    }

    /// A latency as wrk prints it (`812.00us`, `1.25ms`, `2.00s`), in ms.
    fn latency_ms(v: &str) -> Option<f64> {
        let (num, scale) = if let Some(n) = v.strip_suffix("us") {
            (n, 1e-3)
        } else if let Some(n) = v.strip_suffix("ms") {
            (n, 1.0)
        } else if let Some(n) = v.strip_suffix('s') {
            (n, 1e3)
        } else if let Some(n) = v.strip_suffix('m') {
            (n, 60e3)
        } else {
            return None;
        };
        num.parse::<f64>().ok().map(|n| n * scale)
    }

    fn parse(out: String) -> Wrk {
        let mut w = Wrk {
            requests: 0,
            rps: 0.0,
            p50_ms: f64::NAN,
            p99_ms: f64::NAN,
            non2xx: 0,
            socket_errors: 0,
            out: String::new(),
        };
        for line in out.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["50%", v] => w.p50_ms = Wrk::latency_ms(v).unwrap_or(f64::NAN),
                ["99%", v] => w.p99_ms = Wrk::latency_ms(v).unwrap_or(f64::NAN),
                [n, "requests", "in", ..] => w.requests = n.parse().unwrap_or(0),
                ["Requests/sec:", v] => w.rps = v.parse().unwrap_or(0.0),
                ["Non-2xx", "or", "3xx", "responses:", n] => w.non2xx = n.parse().unwrap_or(0),
                ["Socket", "errors:", rest @ ..] => {
                    // connect N, read N, write N, timeout N
                    w.socket_errors = rest
                        .iter()
                        .filter_map(|x| x.trim_end_matches(',').parse::<u64>().ok())
                        .sum();
                }
                _ => {}
            }
        }
        assert!(w.requests > 0, "wrk made no request:\n{out}");
        w.out = out;
        w
    }
}

/// wrk against `url`: one thread, `conns` connections, `secs` s, latency
/// percentiles, a 5 s request timeout (counted as a socket error), the
/// Lua `script` when given.
fn wrk_command(url: &str, secs: u64, conns: usize, script: Option<&Path>) -> Command {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", &format!("-c{conns}"), &format!("-d{secs}s")])
        .args(["--timeout", "5s", "--latency"]);
    if let Some(script) = script {
        cmd.arg("-s").arg(script);
    }
    cmd.arg(url).stdin(Stdio::null());
    cmd
}

fn wrk(url: &str, secs: u64, conns: usize) -> Wrk {
    let out = wrk_command(url, secs, conns, None)
        .output()
        .unwrap_or_else(|e| panic!("cannot run wrk (make deps installs it): {e}"));
    assert!(
        out.status.success(),
        "wrk: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Wrk::parse(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A wrk process killed on drop (when the soak panics before it ends).
struct WrkRun(Option<Child>);

impl Drop for WrkRun {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sets its flag when dropped: a panic in a scope's main closure stops
/// the churn thread, so that the scope's join does not wait forever.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What a churn driver did.
#[derive(Default)]
struct Churn {
    /// Changes sent.
    changes: usize,
    /// The changes not accepted: status and body, or the transport error.
    rejected: Vec<String>,
    /// The driver thread's own CPU time (the PUTs, not the probes).
    driver_cpu: Duration,
    /// From its start to its stop.
    wall: Duration,
    /// Admin PUT sent -> new path served, for the sampled changes.
    served: Vec<Duration>,
    /// Sampled changes whose path did not serve within [`PROBE_LIMIT`].
    unserved: Vec<String>,
}

impl Churn {
    /// Fails when a change was rejected or never served.
    fn assert_all_served(&self) {
        let first: Vec<_> = self.rejected.iter().take(3).collect();
        assert!(
            self.rejected.is_empty(),
            "changes rejected, the first: {first:?}"
        );
        assert!(
            self.unserved.is_empty(),
            "changes never served (60 s): {:?}",
            self.unserved
        );
    }

    fn served_ms(&self, q: f64) -> f64 {
        let mut v = self.served.clone();
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort();
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        ms(v[rank - 1])
    }
}

/// How long a probe waits for a change to serve before it counts as
/// never served (a late one is reported, not failed).
const PROBE_LIMIT: Duration = Duration::from_secs(60);

/// Polls `path` until it answers 200 (at most [`PROBE_LIMIT`]): the time
/// since `sent`.
fn probe(port: u16, path: &str, sent: Instant) -> Option<Duration> {
    let req = Request::get(path).timeout(Duration::from_secs(5));
    loop {
        if req.send(port).is_ok_and(|r| r.status == 200) {
            break Some(sent.elapsed());
        }
        if sent.elapsed() > PROBE_LIMIT {
            break None;
        }
        // Each poll is a new connection: back off, so that a stalled
        // change does not flood the gateway (and the machine's ports).
        let waited = sent.elapsed();
        thread::sleep(if waited < Duration::from_millis(50) {
            Duration::from_millis(1)
        } else if waited < Duration::from_secs(1) {
            Duration::from_millis(10)
        } else {
            Duration::from_millis(100)
        });
    }
}

/// Sends Admin PUTs at `rate` a second until `stop`: change `i` (from
/// `first`) moves route `r<i mod (n-1)>` to `/moved/<i>` (route `r<n-1>`,
/// the steady one, never moves). A late change is sent at once, the pace
/// kept from the start. Every tenth change is probed until it serves.
fn churn(gw: &Gateway, n: usize, rate: f64, first: usize, stop: &AtomicBool) -> Churn {
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate);
    let (admin, proxy) = (gw.admin_port(), gw.port);
    let mut out = Churn::default();
    thread::scope(|s| {
        let mut probes = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let due = t0 + period * out.changes as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
            let i = first + out.changes;
            let j = i % (n - 1);
            let path = format!("/moved/{i}");
            let sent = Instant::now();
            let put = Request::new("PUT", &format!("/apisix/admin/routes/r{j}"))
                .header("X-API-KEY", ADMIN_KEY)
                .json(&moved_route(j, &path))
                .timeout(Duration::from_secs(30))
                .send(admin);
            out.changes += 1;
            match put {
                Ok(r) if r.status == 200 || r.status == 201 => {
                    if i.is_multiple_of(10) {
                        probes.push((path.clone(), s.spawn(move || probe(proxy, &path, sent))));
                    }
                }
                Ok(r) => out
                    .rejected
                    .push(format!("{path}: {} {}", r.status, r.body)),
                Err(e) => out.rejected.push(format!("{path}: {e}")),
            }
        }
        out.wall = t0.elapsed();
        out.driver_cpu = thread_cpu() - cpu0;
        for (path, p) in probes {
            match p.join().expect("a probe thread") {
                Some(d) => out.served.push(d),
                None => out.unserved.push(path),
            }
        }
    });
    out
}

/// Etcd, the nginx upstream, `n` routes, and the gateway (one worker)
/// serving the last: the start time and the RSS once settled.
struct Setup {
    // Dropped in this order: the gateway, then etcd and the upstream.
    gw: Gateway,
    etcd: Etcd,
    _up: Nginx,
    start: Duration,
    rss_loaded: f64,
}

fn setup(n: usize) -> Setup {
    assert!(n >= 2, "BENCH_ROUTES must be >= 2");
    let etcd = Etcd::start();
    let up = Nginx::start();
    let rt = runtime();
    let mut c = client(&rt, &etcd.endpoints());
    let last = load_routes(&rt, &mut c, n, &up.addr());
    let t0 = Instant::now();
    let gw = etcd_gateway(&etcd).workers(1).start();
    until_served(&gw, &last);
    let start = t0.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    settle(gw.pid());
    let rss_loaded = rss_mb(gw.pid());
    Setup {
        gw,
        etcd,
        _up: up,
        start,
        rss_loaded,
    }
}

fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
#[ignore = "benchmark: run benches/scale/churn.sh"]
fn churn_steady_route_with_and_without_admin_changes() {
    let n = env_or("BENCH_ROUTES", 100_000usize);
    let secs = env_or("BENCH_SECS", 15u64);
    let conns = env_or("BENCH_CONNS", 4usize);
    let rate = env_or("BENCH_RATE", 50.0f64);
    let idle_secs = env_or("BENCH_IDLE_SECS", 5u64);
    // Bound whole: etcd and the upstream live until the end.
    let setup = setup(n);
    let (gw, start, rss_loaded) = (&setup.gw, setup.start, setup.rss_loaded);
    let pid = gw.pid();
    let url = format!("http://127.0.0.1:{}/load/{}/steady", gw.port, n - 1);
    // Warm-up: connections, the upstream pool.
    let warm = wrk(&url, 2, conns);

    // Without churn.
    let etcd_pid = setup.etcd.members[0].pid().expect("etcd runs");
    let (c0, e0, m0) = (cpu(pid), cpu(etcd_pid), machine_cpu());
    let base = wrk(&url, secs, conns);
    let gw_cpu_base = cpu(pid) - c0;
    let etcd_cpu_base = cpu(etcd_pid) - e0;
    let machine_base = machine_busy_pct(m0, machine_cpu());

    // The same load with churn from a thread of this process.
    let stop = AtomicBool::new(false);
    let (c1, e1, m1) = (cpu(pid), cpu(etcd_pid), machine_cpu());
    let me = std::process::id();
    let p1 = cpu(me);
    let (loaded, busy) = thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        let driver = s.spawn(|| churn(gw, n, rate, 0, &stop));
        let loaded = wrk(&url, secs, conns);
        stop.store(true, Ordering::Relaxed);
        (loaded, driver.join().expect("the churn thread"))
    });
    let gw_cpu_churn = cpu(pid) - c1;
    let etcd_cpu_churn = cpu(etcd_pid) - e1;
    let machine_churn = machine_busy_pct(m1, machine_cpu());
    // This whole process meanwhile: the driver, the probes, the wait for wrk.
    let bench_cpu = cpu(me) - p1;

    // The gateway's CPU per change under load: its CPU during churn less
    // what it spent a request without churn, times the requests it served.
    let per_req = gw_cpu_base.as_secs_f64() / base.requests as f64;
    let per_change_loaded = (gw_cpu_churn.as_secs_f64() - per_req * loaded.requests as f64) * 1e3
        / busy.changes.max(1) as f64;

    // The same changes with no load: CPU per change measured alone.
    settle(pid);
    let stop_idle = AtomicBool::new(false);
    let c2 = cpu(pid);
    let idle = thread::scope(|s| {
        let _stop = StopOnDrop(&stop_idle);
        let driver = s.spawn(|| churn(gw, n, rate, busy.changes, &stop_idle));
        thread::sleep(Duration::from_secs(idle_secs));
        stop_idle.store(true, Ordering::Relaxed);
        driver.join().expect("the churn thread")
    });
    settle(pid);
    let per_change_idle = (cpu(pid) - c2).as_secs_f64() * 1e3 / idle.changes.max(1) as f64;
    let rss_end = rss_mb(pid);

    let pct = |cpu: Duration, wall: Duration| 100.0 * cpu.as_secs_f64() / wall.as_secs_f64();
    let wall = Duration::from_secs(secs);
    println!(
        "BENCH churn routes={n} load={} start_ms={:.0} rss_loaded_mb={rss_loaded:.1} rss_end_mb={rss_end:.1} \
         wrk=c{conns}x{secs}s base_rps={:.0} base_p50_ms={:.3} base_p99_ms={:.3} \
         churn_rate={rate} churn_changes={} churn_per_s={:.1} churn_rps={:.0} churn_p50_ms={:.3} churn_p99_ms={:.3} \
         driver_cpu_ms={:.0} driver_cpu_pct={:.1} bench_proc_cpu_ms={:.0} \
         gw_cpu_pct_base={:.1} gw_cpu_pct_churn={:.1} etcd_cpu_pct_base={:.1} etcd_cpu_pct_churn={:.1} \
         machine_busy_pct_base={machine_base:.0} machine_busy_pct_churn={machine_churn:.0} gw_cpu_per_change_loaded_ms={per_change_loaded:.3} \
         gw_cpu_per_change_idle_ms={per_change_idle:.3} idle_changes={} \
         put_served_p50_ms={:.1} put_served_p99_ms={:.1} put_served_max_ms={:.0} put_served_samples={} \
         failed_requests={} rejected_changes={} unserved_changes={}",
        load_avg(),
        ms(start),
        base.rps,
        base.p50_ms,
        base.p99_ms,
        busy.changes,
        busy.changes as f64 / busy.wall.as_secs_f64(),
        loaded.rps,
        loaded.p50_ms,
        loaded.p99_ms,
        ms(busy.driver_cpu),
        pct(busy.driver_cpu, busy.wall),
        ms(bench_cpu),
        pct(gw_cpu_base, wall),
        pct(gw_cpu_churn, busy.wall),
        pct(etcd_cpu_base, wall),
        pct(etcd_cpu_churn, busy.wall),
        idle.changes,
        busy.served_ms(0.5),
        busy.served_ms(0.99),
        busy.served_ms(1.0),
        busy.served.len(),
        warm.failed() + base.failed() + loaded.failed(),
        busy.rejected.len() + idle.rejected.len(),
        busy.unserved.len() + idle.unserved.len(),
    );

    busy.assert_all_served();
    idle.assert_all_served();
    let steady = format!("/load/{}/steady", n - 1);
    for (what, w) in [
        ("warm-up", &warm),
        ("without churn", &base),
        ("with churn", &loaded),
    ] {
        assert_eq!(
            w.failed(),
            0,
            "requests failed {what}:\n{}\nGET {steady} now: {:?}",
            w.out,
            gw.fetch(&steady)
        );
    }
}

#[test]
#[ignore = "soak: run benches/scale/soak.sh"]
fn soak_rss_and_failures_under_load_and_churn() {
    let n = env_or("BENCH_ROUTES", 100_000usize);
    let minutes = env_or("SOAK_MINUTES", 30.0f64);
    let rate = env_or("SOAK_RATE", 10.0f64);
    let conns = env_or("SOAK_CONNS", 4usize);
    let delay_ms = env_or("SOAK_DELAY_MS", 1u64);
    let secs = (minutes * 60.0).round() as u64;
    assert!(
        secs > 60,
        "SOAK_MINUTES must be more than 1 (the first minute is the baseline)"
    );
    // Bound whole: etcd and the upstream live until the end.
    let setup = setup(n);
    let (gw, start, rss_loaded) = (&setup.gw, setup.start, setup.rss_loaded);
    let pid = gw.pid();
    let url = format!("http://127.0.0.1:{}/load/{}/steady", gw.port, n - 1);
    // Each connection waits delay_ms before each request: a steady load.
    let dir = TempDir::new("soak");
    let script = dir.path("delay.lua");
    std::fs::write(
        &script,
        format!("function delay()\n  return {delay_ms}\nend\n"),
    )
    .expect("write the wrk script");

    let stop = AtomicBool::new(false);
    let c0 = cpu(pid);
    let t0 = Instant::now();
    let (samples, out, churned) = thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        let driver = s.spawn(|| churn(gw, n, rate, 0, &stop));
        let mut run = WrkRun(Some(
            wrk_command(&url, secs, conns, Some(&script))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run wrk (make deps installs it): {e}")),
        ));
        // (seconds since the start, RSS in MB) every 10 s while wrk runs.
        let mut samples = Vec::new();
        for k in 1.. {
            let due = t0 + Duration::from_secs(10 * k);
            while Instant::now() < due {
                thread::sleep(Duration::from_millis(200));
            }
            let child = run.0.as_mut().expect("wrk runs");
            if !matches!(child.try_wait(), Ok(None)) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(secs + 60),
                "wrk did not end"
            );
            let rss = try_rss_mb(pid)
                .unwrap_or_else(|| panic!("the gateway exited; its log:\n{}", gw.log()));
            samples.push((10 * k, rss));
        }
        let out = run
            .0
            .take()
            .expect("wrk ran")
            .wait_with_output()
            .expect("wrk's output");
        stop.store(true, Ordering::Relaxed);
        (samples, out, driver.join().expect("the churn thread"))
    });
    let wall = t0.elapsed();
    let gw_cpu = cpu(pid) - c0;
    assert!(
        out.status.success(),
        "wrk: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let w = Wrk::parse(String::from_utf8_lossy(&out.stdout).into_owned());

    // The RSS at 60 s against the min and max after it.
    let base = samples
        .iter()
        .find(|(t, _)| *t >= 60)
        .map_or(f64::NAN, |s| s.1);
    let after: Vec<f64> = samples
        .iter()
        .filter(|(t, _)| *t > 60)
        .map(|s| s.1)
        .collect();
    let max = after.iter().copied().fold(f64::NAN, f64::max);
    let min = after.iter().copied().fold(f64::NAN, f64::min);
    let dev = |v: f64| 100.0 * (v - base) / base;
    let met = dev(max) <= 5.0 && dev(min) >= -5.0;
    let log = gw.log();
    let lines: Vec<&str> = log.lines().collect();
    println!(
        "SOAK gateway log, the last {} of {} lines:",
        lines.len().min(20),
        lines.len()
    );
    for line in &lines[lines.len().saturating_sub(20)..] {
        println!("SOAK   {line}");
    }
    println!(
        "SOAK rss_mb every 10 s: {}",
        samples
            .iter()
            .map(|(t, r)| format!("{t}s={r:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "BENCH soak routes={n} minutes={minutes} load={} start_ms={:.0} rss_loaded_mb={rss_loaded:.1} \
         rss_1min_mb={base:.1} rss_min_mb={min:.1} rss_max_mb={max:.1} rss_dev_pct={:+.1}/{:+.1} rss_within_5pct={} \
         wrk=c{conns}+delay{delay_ms}ms requests={} rps={:.0} p50_ms={:.3} p99_ms={:.3} failed_requests={} \
         changes={} changes_per_s={:.1} driver_cpu_pct={:.1} gw_cpu_pct={:.1} \
         put_served_p50_ms={:.1} put_served_p99_ms={:.1} put_served_max_ms={:.0} put_served_over_1s={} \
         rejected_changes={} unserved_changes={}",
        load_avg(),
        ms(start),
        dev(min),
        dev(max),
        if met { "met" } else { "not met" },
        w.requests,
        w.rps,
        w.p50_ms,
        w.p99_ms,
        w.failed(),
        churned.changes,
        churned.changes as f64 / churned.wall.as_secs_f64(),
        100.0 * churned.driver_cpu.as_secs_f64() / churned.wall.as_secs_f64(),
        100.0 * gw_cpu.as_secs_f64() / wall.as_secs_f64(),
        churned.served_ms(0.5),
        churned.served_ms(0.99),
        churned.served_ms(1.0),
        churned.served.iter().filter(|d| **d > Duration::from_secs(1)).count(),
        churned.rejected.len(),
        churned.unserved.len(),
    );
    assert_eq!(w.failed(), 0, "requests failed:\n{}", w.out);
    churned.assert_all_served();
}
