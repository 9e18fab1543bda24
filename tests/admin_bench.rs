//! Config changes through the Admin API and etcd:
//!
//! - a test (run by `cargo test`): route and upstream changes made through
//!   the Admin API serve, each applied to the routes it touches only, as
//!   every snapshot the gateway publishes logs (`changed=`);
//! - a benchmark (ignored by `cargo test`; run by `benches/admin/run.sh`):
//!   with 10k routes in etcd, the time for a gateway to start and serve all
//!   of them, then Admin PUT -> first request served by the new route,
//!   p50/p99 over 1000 changes.

use std::time::{Duration, Instant};

use etcd_client::{Txn, TxnOp};
use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{eventually, Gateway, Node};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// The `changed` field of every "config snapshot published" line of
/// `log`, in order: how many routes each publication changed.
fn routes_changed(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|l| l.contains("config snapshot published"))
        .map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("changed="))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no changed= in {l:?}"))
        })
        .collect()
}

#[test]
fn admin_changes_apply_to_the_routes_they_touch() {
    let e = Etcd::start();
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    let (one, two) = (Node::start_named("one"), Node::start_named("two"));
    let admin = |method: &str, path: &str, body: Option<serde_json::Value>| {
        let body = body.map(|b| b.to_string());
        let (status, v) = gw.admin(method, path, body.as_deref());
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {v}"
        );
    };
    let served = |path: &str, want: (u16, &str)| {
        let ok = eventually(10, || gw.fetch(path) == (want.0, want.1.to_owned()));
        assert!(ok, "{path} never answered {want:?}\n{}", gw.log());
    };
    let nodes = |n: &Node| json!({"nodes": {n.addr(): 1}});
    admin("PUT", "/apisix/admin/upstreams/u", Some(nodes(&one)));
    // New routes, one at a time, each served before the next.
    for i in 0..8 {
        let route = json!({"uri": format!("/new/{i}"), "upstream_id": "u"});
        admin("PUT", &format!("/apisix/admin/routes/r{i}"), Some(route));
        served(&format!("/new/{i}"), (200, "one"));
    }
    // A route's path changes, an upstream's nodes change, a route goes.
    let moved = json!({"uri": "/moved", "upstream_id": "u"});
    admin("PUT", "/apisix/admin/routes/r0", Some(moved));
    served("/moved", (200, "one"));
    assert_eq!(gw.fetch("/new/0").0, 404);
    admin("PUT", "/apisix/admin/upstreams/u", Some(nodes(&two)));
    served("/new/1", (200, "two"));
    admin("DELETE", "/apisix/admin/routes/r1", None);
    served("/new/1", (404, r#"{"error_msg":"404 Route Not Found"}"#));

    let log = gw.log();
    let changed = routes_changed(&log);
    // The first snapshot, then at least one for each of the 11 changes.
    assert!(changed.len() >= 12, "{changed:?}\n{log}");
    // 8 routes added, 1 moved, the 8 on `u` for its nodes, 1 removed: a
    // change that applied every served route again would count more.
    assert_eq!(changed.iter().sum::<u64>(), 18, "{changed:?}\n{log}");
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[test]
#[ignore = "benchmark: run benches/admin/run.sh"]
fn admin_put_to_first_request_served() {
    let loaded = env_or("BENCH_ROUTES", 10_000);
    let changes = env_or("BENCH_CHANGES", 1_000);
    let e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let up = Node::start_named("bench");
    let node = up.addr();
    let up = json!({"id": "u", "nodes": {node.as_str(): 1}}).to_string();
    rt.block_on(c.put("/apisix/upstreams/u", up, None))
        .expect("put upstream");
    // 10k routes, 100 puts a transaction (etcd allows 128).
    for chunk in (0..loaded).collect::<Vec<_>>().chunks(100) {
        let ops: Vec<TxnOp> = chunk
            .iter()
            .map(|i| {
                let v = json!({"id": format!("r{i}"), "uri": format!("/load/{i}/*"), "upstream_id": "u"});
                TxnOp::put(format!("/apisix/routes/r{i}"), v.to_string(), None)
            })
            .collect();
        rt.block_on(c.txn(Txn::new().and_then(ops)))
            .expect("load txn");
    }

    let t0 = Instant::now();
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    let last = format!("/load/{}/x", loaded - 1);
    while gw.fetch(&last).0 != 200 {
        assert!(t0.elapsed() < Duration::from_secs(300), "{}", gw.log());
        std::thread::sleep(Duration::from_millis(1));
    }
    let full_load = t0.elapsed();
    assert_eq!(gw.fetch("/load/0/x").0, 200);

    let mut lat = Vec::with_capacity(changes);
    let mut put_only = Vec::with_capacity(changes);
    for i in 0..changes {
        let body = json!({"uri": format!("/new/{i}"), "upstream_id": "u"}).to_string();
        let path = format!("/apisix/admin/routes/n{i}");
        let t = Instant::now();
        let r = gw.admin_request("PUT", &path, Some(&body));
        let (s, b) = (r.status, r.body);
        assert_eq!(s, 201, "{b}");
        put_only.push(t.elapsed());
        let uri = format!("/new/{i}");
        while gw.fetch(&uri).0 != 200 {
            assert!(t.elapsed() < Duration::from_secs(30), "{}", gw.log());
        }
        lat.push(t.elapsed());
    }
    lat.sort();
    put_only.sort();
    println!(
        "BENCH routes_loaded={loaded} full_load_ms={:.1} changes={changes} \
         put_to_served_p50_ms={:.2} p99_ms={:.2} max_ms={:.2} admin_put_p50_ms={:.2} p99_ms={:.2}",
        full_load.as_secs_f64() * 1e3,
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat[lat.len() - 1].as_secs_f64() * 1e3,
        pct(&put_only, 0.5).as_secs_f64() * 1e3,
        pct(&put_only, 0.99).as_secs_f64() * 1e3,
    );
}
