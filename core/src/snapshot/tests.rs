//! The builder applies changes in place (via the spare snapshot) and
//! never rebuilds the router for them, falls back to a rebuild (counted)
//! when the spare is still held, and keeps last good versions when a
//! change is refused.

use std::sync::Arc;

use arc_swap::ArcSwap;
use radix_router::{NoVars, Request};
use serde_json::{json, Value};

use super::{Live, Snapshot, SnapshotBuilder};
use crate::config::{decode, Id, Kind};
use crate::source::{Change, Item, SourceEvent};

fn item(kind: Kind, v: Value) -> Item {
    let (id, object) = decode(kind, &v, "#").expect("a valid test object");
    Item { id, object }
}

fn put(kind: Kind, v: Value) -> Change {
    Change::Put(item(kind, v))
}

fn del(kind: Kind, id: &str) -> Change {
    Change::Delete {
        kind,
        id: Id(id.into()),
    }
}

fn setup() -> (Live, SnapshotBuilder) {
    let live: Live = Arc::new(ArcSwap::from_pointee(Snapshot::empty()));
    let mut b = SnapshotBuilder::new(live.clone());
    let errors = b.apply(SourceEvent::Full(vec![
        item(
            Kind::Route,
            json!({"id": "r1", "uri": "/a", "upstream_id": "u"}),
        ),
        item(
            Kind::Route,
            json!({"id": "r2", "uri": "/b", "service_id": "s"}),
        ),
        item(
            Kind::Service,
            json!({"id": "s", "upstream_id": "u", "hosts": ["s.com"]}),
        ),
        item(
            Kind::Upstream,
            json!({"id": "u", "nodes": {"127.0.0.1:1": 1}}),
        ),
    ]));
    assert!(errors.is_empty(), "{errors:?}");
    (live, b)
}

fn route_at(live: &Live, path: &str, host: Option<&str>) -> Option<String> {
    let snap = live.load();
    let mut req = Request::new(path);
    if let Some(h) = host {
        req = req.host(h);
    }
    snap.find(&req, &NoVars).map(|r| r.id.clone())
}

fn node_of(live: &Live, path: &str) -> String {
    let snap = live.load();
    let r = snap
        .find(&Request::new(path), &NoVars)
        .unwrap_or_else(|| panic!("no route for {path}"));
    r.upstream.nodes[0].authority.to_string()
}

#[test]
fn full_set_merges_services() {
    let (live, _b) = setup();
    assert_eq!(route_at(&live, "/a", None).as_deref(), Some("r1"));
    // r2 inherits the service's hosts
    assert_eq!(route_at(&live, "/b", None), None);
    assert_eq!(route_at(&live, "/b", Some("s.com")).as_deref(), Some("r2"));
}

#[test]
fn changes_apply_in_place_one_after_another() {
    let (live, mut b) = setup();
    for round in 0..3 {
        let uri = format!("/c{round}");
        b.apply(SourceEvent::Changes(vec![put(
            Kind::Route,
            json!({"id": "r3", "uri": uri, "upstream_id": "u"}),
        )]));
        assert_eq!(
            route_at(&live, &uri, None).as_deref(),
            Some("r3"),
            "round {round}"
        );
        if round > 0 {
            assert_eq!(route_at(&live, &format!("/c{}", round - 1), None), None);
        }
        assert_eq!(route_at(&live, "/a", None).as_deref(), Some("r1"));
    }
    b.apply(SourceEvent::Changes(vec![del(Kind::Route, "r1")]));
    assert_eq!(route_at(&live, "/a", None), None);
    // status 0 takes a route out; status 1 brings it back
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "r3", "uri": "/c2", "upstream_id": "u", "status": 0}),
    )]));
    assert_eq!(route_at(&live, "/c2", None), None);
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "r3", "uri": "/c2", "upstream_id": "u"}),
    )]));
    assert_eq!(route_at(&live, "/c2", None).as_deref(), Some("r3"));
    assert_eq!(live.load().len(), 2);
}

#[test]
fn changes_apply_without_a_router_rebuild() {
    let (live, mut b) = setup();
    assert_eq!(b.router_rebuilds(), 0, "the first router is a build");
    let events = [
        (
            "add r3",
            vec![put(
                Kind::Route,
                json!({"id": "r3", "uri": "/c", "upstream_id": "u"}),
            )],
        ),
        (
            "move r3",
            vec![put(
                Kind::Route,
                json!({"id": "r3", "uri": "/c2", "upstream_id": "u"}),
            )],
        ),
        (
            "change the upstream",
            vec![put(
                Kind::Upstream,
                json!({"id": "u", "nodes": {"127.0.0.1:2": 1}}),
            )],
        ),
        (
            "change the service's hosts",
            vec![put(
                Kind::Service,
                json!({"id": "s", "upstream_id": "u", "hosts": ["t.com"]}),
            )],
        ),
        ("delete r1", vec![del(Kind::Route, "r1")]),
        (
            "two at once",
            vec![
                put(
                    Kind::Route,
                    json!({"id": "r4", "uri": "/d", "upstream_id": "u"}),
                ),
                del(Kind::Route, "r3"),
            ],
        ),
    ];
    for (what, changes) in events {
        b.apply(SourceEvent::Changes(changes));
        assert_eq!(b.router_rebuilds(), 0, "{what} rebuilt the router");
    }
    // A full set (a re-list after a reconnect) applies in place too.
    b.apply(SourceEvent::Full(vec![
        item(
            Kind::Route,
            json!({"id": "r2", "uri": "/b", "service_id": "s"}),
        ),
        item(
            Kind::Route,
            json!({"id": "r5", "uri": "/e", "upstream_id": "u"}),
        ),
        item(
            Kind::Service,
            json!({"id": "s", "upstream_id": "u", "hosts": ["t.com"]}),
        ),
        item(
            Kind::Upstream,
            json!({"id": "u", "nodes": {"127.0.0.1:2": 1}}),
        ),
    ]));
    assert_eq!(b.router_rebuilds(), 0, "a full set rebuilt the router");
    for (path, host, want) in [
        ("/a", None, None),
        ("/b", Some("s.com"), None),
        ("/b", Some("t.com"), Some("r2")),
        ("/c2", None, None),
        ("/d", None, None),
        ("/e", None, Some("r5")),
    ] {
        assert_eq!(route_at(&live, path, host).as_deref(), want, "{path}");
    }
    assert_eq!(node_of(&live, "/e"), "127.0.0.1:2");
}

#[test]
fn the_spare_snapshot_shares_each_unchanged_route_with_the_live_one() {
    let (live, mut b) = setup();
    let add = |id: &str, uri: &str| {
        let route = json!({"id": id, "uri": uri, "upstream_id": "u"});
        SourceEvent::Changes(vec![put(Kind::Route, route)])
    };
    let first = live.load_full();
    // The first change builds a second router from the served routes.
    b.apply(add("r3", "/c"));
    let second = live.load_full();
    for id in ["r1", "r2"] {
        assert!(second.router.shares_route(&first.router, id), "{id}");
    }
    assert!(second.router.get("r3").is_some() && first.router.get("r3").is_none());
    drop(first);
    // The next brings the first router up to date: r3 is taken as the
    // live router holds it; r4, new, is compiled.
    b.apply(add("r4", "/d"));
    let third = live.load_full();
    for id in ["r1", "r2", "r3"] {
        assert!(third.router.shares_route(&second.router, id), "{id}");
    }
    assert!(second.router.get("r4").is_none() && third.router.get("r4").is_some());
    assert_eq!(b.router_rebuilds(), 0);
    assert_eq!(route_at(&live, "/c", None).as_deref(), Some("r3"));
    assert_eq!(route_at(&live, "/d", None).as_deref(), Some("r4"));
}

#[test]
fn held_spare_falls_back_to_a_rebuild() {
    let (live, mut b) = setup();
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "r3", "uri": "/c", "upstream_id": "u"}),
    )]));
    // A reader keeps the current snapshot: it becomes the spare next time.
    let held = live.load_full();
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "r4", "uri": "/d", "upstream_id": "u"}),
    )]));
    // The spare (before r3) was free: r3 and r4 both serve.
    assert_eq!(route_at(&live, "/c", None).as_deref(), Some("r3"));
    assert_eq!(route_at(&live, "/d", None).as_deref(), Some("r4"));
    assert_eq!(b.router_rebuilds(), 0);
    // Now the spare is `held`: this change must rebuild, and still be right.
    b.apply(SourceEvent::Changes(vec![del(Kind::Route, "r3")]));
    assert_eq!(b.router_rebuilds(), 1);
    assert_eq!(route_at(&live, "/c", None), None);
    assert_eq!(route_at(&live, "/d", None).as_deref(), Some("r4"));
    // The reader's snapshot never changed under it.
    assert!(held.find(&Request::new("/c"), &NoVars).is_some());
    assert!(held.find(&Request::new("/d"), &NoVars).is_none());
    drop(held);
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "r5", "uri": "/e", "upstream_id": "u"}),
    )]));
    for (p, want) in [
        ("/a", Some("r1")),
        ("/c", None),
        ("/d", Some("r4")),
        ("/e", Some("r5")),
    ] {
        assert_eq!(route_at(&live, p, None).as_deref(), want, "{p}");
    }
    // The spare is free again: no further rebuild.
    assert_eq!(b.router_rebuilds(), 1);
}

#[test]
fn upstream_change_reaches_its_routes() {
    let (live, mut b) = setup();
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Upstream,
        json!({"id": "u", "nodes": {"127.0.0.1:2": 1}}),
    )]));
    assert_eq!(node_of(&live, "/a"), "127.0.0.1:2");
    let snap = live.load();
    let r2 = snap
        .find(&Request::new("/b").host("s.com"), &NoVars)
        .expect("r2 serves /b on s.com");
    assert_eq!(r2.upstream.nodes[0].authority.as_str(), "127.0.0.1:2");
}

#[test]
fn refused_changes_keep_the_last_good_version() {
    let (live, mut b) = setup();
    // A dangling reference: refused, the old r1 stays.
    let errors = b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "r1", "uri": "/a2", "upstream_id": "nope"}),
    )]));
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].id.as_str(), errors[0].field.as_str()),
        ("r1", "upstream_id")
    );
    assert_eq!(route_at(&live, "/a", None).as_deref(), Some("r1"));
    // A path the router refuses: refused with the field named.
    let errors = b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "r9", "uri": "/x/{id:[}", "upstream_id": "u"}),
    )]));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "uri");
    assert_eq!(route_at(&live, "/a", None).as_deref(), Some("r1"));
    // A new route on a missing upstream is not served until it arrives.
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "r6", "uri": "/f", "upstream_id": "later"}),
    )]));
    assert_eq!(route_at(&live, "/f", None), None);
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Upstream,
        json!({"id": "later", "nodes": {"127.0.0.1:3": 1}}),
    )]));
    assert_eq!(route_at(&live, "/f", None).as_deref(), Some("r6"));
}

#[test]
fn dangling_references_skip_the_route_in_apisix_words() {
    let text = "upstreams:\n  - {id: u, nodes: {\"127.0.0.1:1\": 1}}\nplugin_configs:\n  - {id: pc, plugins: {}}\nroutes:\n  - {id: a, uri: /a, upstream_id: nope}\n  - {id: b, uri: /b, service_id: s9}\n  - {id: c, uri: /c, upstream_id: u, plugin_config_id: pc9}\n  - {id: d, uri: /d, upstream_id: u, plugin_config_id: pc}\n#END\n";
    let parsed = crate::source::parse_standalone(text, "f").expect("a valid standalone file");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let mut store = super::ObjectStore::default();
    let items = parsed.items.into_iter().map(|(i, _)| i).collect();
    assert!(store.replace(items).is_empty());
    let cases = [
        (
            "a",
            "upstream_id",
            "failed to fetch upstream info by upstream id [nope]",
        ),
        (
            "b",
            "service_id",
            "failed to fetch service info by service id [s9]",
        ),
        (
            "c",
            "plugin_config_id",
            "failed to fetch plugin config info by plugin config id [pc9]",
        ),
    ];
    for (id, field, msg) in cases {
        let e = store.compile(&Id(id.into())).unwrap_err();
        assert_eq!(
            (e.kind, e.id.as_str(), e.field.as_str()),
            (Kind::Route, id, field)
        );
        assert_eq!(e.error_msg(), msg);
        assert_eq!(
            e.to_string(),
            format!("invalid route {id:?}: property {field:?} validation failed: {msg}")
        );
    }
    assert!(store
        .compile(&Id("d".into()))
        .expect("route d compiles")
        .is_some());
}

/// The routes of `large_set_is_routed_on_two_threads_as_on_one`: every
/// 500th from 7 on has no upstream, every 700th from 3 on a path the
/// router refuses, and groups of ten share a path (the first of the ten by
/// id wins, as the router keeps insertion order among equals).
fn large_set(n: usize) -> Vec<Item> {
    let mut items = vec![item(
        Kind::Upstream,
        json!({"id": "u", "nodes": {"127.0.0.1:1": 1}}),
    )];
    for i in 0..n {
        let id = format!("r{i:05}");
        let route = if i % 500 == 7 {
            json!({"id": id, "uri": format!("/p{i}"), "upstream_id": "nope"})
        } else if i % 700 == 3 {
            json!({"id": id, "uri": "/x/{id:[}", "upstream_id": "u"})
        } else if i % 3 == 0 {
            json!({"id": id, "uri": format!("/shared/{}", i / 10), "upstream_id": "u"})
        } else {
            json!({"id": id, "uri": format!("/p{i}"), "upstream_id": "u"})
        };
        items.push(item(Kind::Route, route));
    }
    items
}

/// Every path of `large_set(n)` goes to the same route in `a` and `b`.
fn same_routes(a: &Live, b: &Live, n: usize, when: &str) {
    for i in 0..n {
        for path in [format!("/p{i}"), format!("/shared/{i}")] {
            assert_eq!(
                route_at(a, &path, None),
                route_at(b, &path, None),
                "{path} {when}"
            );
        }
    }
}

#[test]
fn large_set_is_routed_on_two_threads_as_on_one() {
    let n = 3000;
    assert!(
        n >= crate::source::LARGE_LOAD,
        "the set must take the two-thread path"
    );
    // One event of the whole set: the router gets it on its own thread.
    let live: Live = Arc::new(ArcSwap::from_pointee(Snapshot::empty()));
    let mut b = SnapshotBuilder::new(live.clone());
    let mut errors: Vec<(String, String)> = b
        .apply(SourceEvent::Full(large_set(n)))
        .into_iter()
        .map(|e| (e.id, e.field))
        .collect();
    errors.sort();
    // The same set in id order, in events too small for a second thread.
    let one_live: Live = Arc::new(ArcSwap::from_pointee(Snapshot::empty()));
    let mut one = SnapshotBuilder::new(one_live.clone());
    let mut one_errors = Vec::new();
    let mut items = large_set(n).into_iter();
    let upstream = items.next().expect("the upstream");
    one.apply(SourceEvent::Full(vec![upstream]));
    let routes: Vec<Change> = items.map(Change::Put).collect();
    for chunk in routes.chunks(crate::source::LARGE_LOAD - 1) {
        let errs = one.apply(SourceEvent::Changes(chunk.to_vec()));
        one_errors.extend(errs.into_iter().map(|e| (e.id, e.field)));
    }
    one_errors.sort();
    let mut want: Vec<(String, String)> = (0..n)
        .filter_map(|i| {
            let id = format!("r{i:05}");
            if i % 500 == 7 {
                Some((id, "upstream_id".to_owned()))
            } else if i % 700 == 3 {
                Some((id, "uri".to_owned()))
            } else {
                None
            }
        })
        .collect();
    want.sort();
    assert_eq!(errors, want);
    assert_eq!(one_errors, want);
    let served = n - want.len();
    assert_eq!(live.load().len(), served);
    assert_eq!(one_live.load().len(), served);
    same_routes(&live, &one_live, n, "after the set");
    // Each shared path goes to the first route of its ten that has it.
    assert_eq!(
        route_at(&live, "/shared/0", None).as_deref(),
        Some("r00000")
    );
    assert_eq!(
        route_at(&live, "/shared/1", None).as_deref(),
        Some("r00012")
    );
    assert_eq!(route_at(&live, "/p1", None).as_deref(), Some("r00001"));
    assert_eq!(route_at(&live, "/p7", None), None);
    // The next change works on a copy built from what is served (the
    // snapshot the set replaced was empty): every route is still there,
    // and that first copy counts as no rebuild.
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "z", "uri": "/z", "upstream_id": "u"}),
    )]));
    assert_eq!(route_at(&live, "/z", None).as_deref(), Some("z"));
    assert_eq!(live.load().len(), served + 1);
    same_routes(&live, &one_live, n, "after a change");
    assert_eq!(b.router_rebuilds(), 0);
}
