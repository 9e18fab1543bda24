//! Scale benchmark (ignored by `cargo test`; run by `benches/scale/run.sh`).
//!
//! For each route count in `BENCH_SIZES` (default `1000,10000,100000`): a
//! fresh etcd loaded with that many routes on one shared upstream (each
//! with a `name` and a `label`), one gateway (`BENCH_WORKERS`, default 1), then:
//!
//! - start: from spawning the process to the last route served (from etcd);
//! - RSS once loaded;
//! - CPU per Admin change: the gateway's process CPU time (user + system,
//!   `/proc/<pid>/stat`) over `BENCH_CHANGES` Admin API PUTs that move a
//!   route to a new path, until the last one serves, divided by the count;
//!   the first change after the load before them, on its own (the first
//!   to change a clone of the loaded router);
//! - one Admin list page of 500, without a filter and with each of `name`,
//!   `label` and `uri` (median of 5);
//! - start again from the snapshot file with etcd down, to the last route
//!   served.
//!
//! Prints one `BENCH` line per size, then `met`/`not met` against the
//! targets of docs/performance.md (CPU per change at the largest size <=
//! 1 ms and <= 1.5x the smallest size's).

mod scale_setup;

use std::time::{Duration, Instant};

use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{Gateway, Node};
use scale_setup::{
    cpu, env_or, etcd_gateway, load_routes, moved_route, ms, rss_mb, settle, until_served,
};

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
    let last = load_routes(&rt, &mut c, n, &node.addr());

    let t0 = Instant::now();
    let mut gw = etcd_gateway(&e).start();
    until_served(&gw, &last);
    let start_etcd = t0.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let rss = rss_mb(gw.pid());

    // The first change after the load, measured on its own: the first to
    // clone the router the load built (a builder that made a second router
    // for it paid that here).
    let pid = gw.pid();
    settle(pid);
    let before = cpu(pid);
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/routes/r0",
        Some(&moved_route(0, "/first")),
    );
    assert!(s == 200 || s == 201, "{s} {v}");
    until_served(&gw, "/first");
    settle(pid);
    let first_change = ms(cpu(pid) - before);

    // Moves routes r1.. to new paths, one Admin PUT each.
    let before = cpu(pid);
    let t = Instant::now();
    for i in 0..changes {
        // The last route stays where it is: the restart below waits for it.
        let j = 1 + i % (n - 2);
        let body = moved_route(j, &format!("/moved/{i}"));
        let (s, v) = gw.admin("PUT", &format!("/apisix/admin/routes/r{j}"), Some(&body));
        assert!(s == 200 || s == 201, "{s} {v}");
    }
    until_served(&gw, &format!("/moved/{}", changes - 1));
    let wall = t.elapsed();
    // What the changes left to do (the snapshot file's records) counts.
    settle(pid);
    let cpu_per_change = (cpu(pid) - before).as_secs_f64() * 1e3 / changes as f64;
    // RSS once the gateway has seen changes, as it stays from then on
    // (a builder that kept a second router for changes shows it here).
    let rss_changed = rss_mb(pid);

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
        "BENCH routes={n} start_etcd_ms={:.0} rss_mb={rss:.1} rss_changed_mb={rss_changed:.1} changes={changes} changes_wall_ms={:.0} \
         cpu_per_change_ms={cpu_per_change:.3} first_change_cpu_ms={first_change:.1} first_list_ms={first_list:.0} list_page_ms={page:.1} list_name_ms={by_name:.1} \
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
