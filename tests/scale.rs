//! What keeps a change's cost independent of the route count, seen from
//! outside: the snapshot file written as records after many changes
//! restarts the gateway with etcd down on the latest routes; a resync after
//! a compaction applies only the difference; the Admin API's lists,
//! filters and delete checks, answered from its index, say what etcd
//! holds, writes made directly to etcd included.

use std::time::Duration;

use etcd_client::CompactionOptions;
use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{eventually, request, Gateway, Node};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

fn ok(gw: &Gateway, method: &str, path: &str, body: Value) {
    let (s, v) = gw.admin(method, path, Some(&body.to_string()));
    assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
}

#[test]
fn after_many_changes_the_snapshot_file_restarts_on_the_latest_routes_with_etcd_down() {
    let mut e = Etcd::start();
    let node = Node::start_named("n");
    let mut gw = Gateway::etcd(BIN, &e.endpoints()).start();
    ok(
        &gw,
        "PUT",
        "/apisix/admin/upstreams/u",
        json!({"nodes": {node.addr(): 1}}),
    );
    // 60 routes, then 30 of them moved, then 15 of those deleted: each
    // its own change, each recorded after the file's first whole write.
    for i in 0..60 {
        let r = json!({"uri": format!("/a/{i}"), "upstream_id": "u"});
        ok(&gw, "PUT", &format!("/apisix/admin/routes/{i}"), r);
    }
    assert!(
        eventually(10, || gw.fetch("/a/59").0 == 200),
        "{}",
        gw.log()
    );
    for i in 0..30 {
        let r = json!({"uri": format!("/b/{i}"), "upstream_id": "u"});
        ok(&gw, "PUT", &format!("/apisix/admin/routes/{i}"), r);
    }
    for i in 0..15 {
        let (s, v) = gw.admin("DELETE", &format!("/apisix/admin/routes/{i}"), None);
        assert_eq!(s, 200, "{v}");
    }
    assert!(eventually(10, || gw.fetch("/b/15").0 == 200
        && gw.fetch("/b/14").0 == 404));
    // The file is written at most twice a second.
    std::thread::sleep(Duration::from_millis(1500));
    gw.stop_process();
    e.stop(0);
    gw.start_process();
    for i in 0..60 {
        let (a, b) = (format!("/a/{i}"), format!("/b/{i}"));
        let want = match i {
            0..15 => (404, 404),
            15..30 => (404, 200),
            _ => (200, 404),
        };
        assert_eq!(
            (gw.fetch(&a).0, gw.fetch(&b).0),
            want,
            "route {i} after a restart on the snapshot file:\n{}",
            gw.log()
        );
    }
}

/// The `changed=` counts of the "config snapshot published" lines of `log`.
fn changed_counts(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|l| l.contains("config snapshot published"))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("changed="))
                .and_then(|n| n.parse().ok())
        })
        .collect()
}

#[test]
fn a_resync_after_a_compaction_applies_only_the_difference() {
    let e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let node = Node::start_named("n");
    let up = json!({"id": "u", "nodes": {node.addr(): 1}}).to_string();
    rt.block_on(c.put("/apisix/upstreams/u", up, None))
        .expect("put upstream");
    for i in 0..100 {
        let r = json!({"id": format!("{i}"), "uri": format!("/r/{i}"), "upstream_id": "u"});
        rt.block_on(c.put(format!("/apisix/routes/{i}"), r.to_string(), None))
            .expect("put route");
    }
    let mut gw = Gateway::etcd(BIN, &e.endpoints()).start();
    assert!(
        eventually(10, || gw.fetch("/r/99").0 == 200),
        "{}",
        gw.log()
    );
    std::thread::sleep(Duration::from_millis(1200));
    gw.stop_process();
    // While it is away: one route moves, one goes, then a compaction past
    // the revision its snapshot file holds.
    let moved = json!({"id": "7", "uri": "/moved", "upstream_id": "u"}).to_string();
    rt.block_on(c.put("/apisix/routes/7", moved, None))
        .expect("put");
    rt.block_on(c.delete("/apisix/routes/8", None))
        .expect("delete");
    let rev = rt
        .block_on(c.get("/apisix", None))
        .expect("get")
        .header()
        .map(|h| h.revision())
        .expect("a revision");
    rt.block_on(c.compact(rev, Some(CompactionOptions::new().with_physical())))
        .expect("compact");
    let before = changed_counts(&gw.log()).len();
    gw.start_process();
    assert!(
        eventually(20, || gw.fetch("/moved").0 == 200
            && gw.fetch("/r/8").0 == 404),
        "{}",
        gw.log()
    );
    assert!(gw.log().contains("full re-read"), "{}", gw.log());
    // The routes that did not change kept serving throughout.
    assert_eq!(gw.fetch("/r/99").0, 200);
    let counts = changed_counts(&gw.log());
    // This start: the snapshot file's 100 routes, then the difference.
    assert_eq!(
        &counts[before..],
        [100, 2],
        "publications since the restart\n{}",
        gw.log()
    );
}

/// The ids of a list answer, in order.
fn ids(v: &Value) -> Vec<String> {
    v["list"]
        .as_array()
        .unwrap_or_else(|| panic!("no list in {v}"))
        .iter()
        .map(|o| o["value"]["id"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn admin_lists_filters_and_delete_checks_say_what_etcd_holds() {
    let e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let node = Node::start_named("n");
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    ok(
        &gw,
        "PUT",
        "/apisix/admin/upstreams/u",
        json!({"nodes": {node.addr(): 1}}),
    );
    ok(
        &gw,
        "PUT",
        "/apisix/admin/upstreams/spare",
        json!({"nodes": {node.addr(): 1}}),
    );
    for i in 0..25 {
        let r = json!({"uri": format!("/list/{i}"), "upstream_id": "u", "name": format!("route-{i}"),
            "labels": {"team": if i % 2 == 0 { "even" } else { "odd" }}});
        ok(&gw, "PUT", &format!("/apisix/admin/routes/r{i:02}"), r);
    }
    let uris = json!({"uris": ["/x/one", "/y/two"], "upstream_id": "u", "name": "many",
        "labels": {"team": "even"}});
    ok(&gw, "PUT", "/apisix/admin/routes/z", uris);
    // Written behind the Admin API's back, and listed at once.
    let direct =
        json!({"id": "d", "uri": "/direct", "upstream_id": "spare", "name": "route-direct"});
    rt.block_on(c.put("/apisix/routes/d", direct.to_string(), None))
        .expect("put");
    rt.block_on(c.put("/apisix/routes/junk", "not json", None))
        .expect("put");

    let list = |q: &str| {
        let (s, v) = gw.admin("GET", &format!("/apisix/admin/routes{q}"), None);
        assert_eq!(s, 200, "{q}: {v}");
        (v["total"].as_u64().unwrap_or(u64::MAX), ids(&v))
    };
    let (total, all) = list("");
    assert_eq!(total, 27);
    assert_eq!(all.first().map(String::as_str), Some("d"));
    assert_eq!(all.last().map(String::as_str), Some("z"));
    // Pages of 10 in key order.
    let (total, page) = list("?page=3&page_size=10");
    assert_eq!(total, 27);
    assert_eq!(page, ["r19", "r20", "r21", "r22", "r23", "r24", "z"]);
    let (total, named) = list("?name=route-1");
    assert_eq!(total, 11, "{named:?}");
    assert_eq!(named[0], "r01");
    assert_eq!(list("?name=direct").1, ["d"]);
    let (total, _) = list("?label=team:even");
    assert_eq!(total, 14);
    assert_eq!(
        list("?label=team:odd&page=2&page_size=10").1,
        ["r21", "r23"]
    );
    // A label that is not a string never matches; a key alone matches any value.
    assert_eq!(list("?label=n").0, 0);
    assert_eq!(list("?label=team").0, 26);
    assert_eq!(list("?uri=/y/tw").1, ["z"]);
    assert_eq!(
        list("?uri=/list/2").1,
        ["r02", "r20", "r21", "r22", "r23", "r24"]
    );
    assert_eq!(
        list("?uri=/list/2&label=team:odd&name=route-2").1,
        ["r21", "r23"]
    );

    // The route written directly still holds its upstream.
    let (s, v) = gw.admin("DELETE", "/apisix/admin/upstreams/spare", None);
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["error_msg"],
        "can not delete this upstream, route [d] is still using it now"
    );
    rt.block_on(c.delete("/apisix/routes/d", None))
        .expect("delete");
    let (s, v) = gw.admin("DELETE", "/apisix/admin/upstreams/spare", None);
    assert_eq!(s, 200, "{v}");
    let (s, v) = gw.admin("DELETE", "/apisix/admin/upstreams/u", None);
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["error_msg"],
        "can not delete this upstream, route [r00] is still using it now"
    );
    assert_eq!(list("").0, 26);
}

/// The value of the metric line `name` on the exporter's page.
fn metric(gw: &Gateway, name: &str) -> Option<f64> {
    let page = request(gw.metrics_port(), "GET", "/apisix/prometheus/metrics", &[])
        .map(|r| r.body)
        .unwrap_or_default();
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn the_exporter_shows_the_revision_applied_and_the_events_served() {
    let e = Etcd::start();
    let node = Node::start_named("n");
    let gw = Gateway::etcd(BIN, &e.endpoints())
        .plugins(&["prometheus"])
        .start();
    ok(
        &gw,
        "PUT",
        "/apisix/admin/upstreams/u",
        json!({"nodes": {node.addr(): 1}}),
    );
    let route = json!({"uri": "/lag", "upstream_id": "u"}).to_string();
    let (s, v) = gw.admin("PUT", "/apisix/admin/routes/1", Some(&route));
    assert_eq!(s, 201, "{v}");
    let written = v["modifiedIndex"].as_f64().expect("modifiedIndex");
    assert!(eventually(10, || gw.fetch("/lag").0 == 200), "{}", gw.log());
    // Served means applied: the snapshot serving the route is at its revision.
    assert!(
        eventually(10, || metric(&gw, "radixgate_config_revision_applied")
            == Some(written)),
        "{:?}",
        metric(&gw, "radixgate_config_revision_applied")
    );
    assert!(metric(&gw, "radixgate_config_revision_seen").is_some_and(|r| r >= written));
    // The first full set, the upstream, the route.
    let events = metric(&gw, "radixgate_config_events_applied_total").unwrap_or(0.0);
    assert!(events >= 3.0, "{events}");
    let count = metric(&gw, "radixgate_config_event_to_served_seconds_count").unwrap_or(0.0);
    assert!(count >= 3.0, "{count}");
}

#[test]
fn a_bad_value_among_many_is_skipped_with_its_key_and_the_rest_serve() {
    let e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let node = Node::start_named("n");
    let up = json!({"id": "u", "nodes": {node.addr(): 1}}).to_string();
    rt.block_on(c.put("/apisix/upstreams/u", up, None))
        .expect("put upstream");
    // Enough values to be decoded on several threads; one of them bad.
    for i in 0..1200 {
        let r = if i == 777 {
            json!({"id": "777", "uri": 777, "upstream_id": "u"})
        } else {
            json!({"id": format!("{i}"), "uri": format!("/m/{i}"), "upstream_id": "u"})
        };
        rt.block_on(c.put(format!("/apisix/routes/{i}"), r.to_string(), None))
            .expect("put route");
    }
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    assert!(
        eventually(20, || gw.fetch("/m/1199").0 == 200),
        "{}",
        gw.log()
    );
    for i in (0..1200).filter(|i| *i != 777) {
        assert_eq!(gw.fetch(&format!("/m/{i}")).0, 200, "/m/{i}");
    }
    let log = gw.log();
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("invalid value in etcd skipped"))
        .collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert!(refused[0].contains("/apisix/routes/777"), "{}", refused[0]);
}
