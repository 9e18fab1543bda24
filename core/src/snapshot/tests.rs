//! The builder applies changes to a clone of the live snapshot, which
//! shares its router and routes with it: unchanged routes are never
//! compiled again, a reader's snapshot never changes under it, and last
//! good versions stay when a change is refused.

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

/// Whether `now` holds each route of `ids` as `before` does: one compiled
/// record, shared (the route was not compiled again).
fn shared(before: &Snapshot, now: &Snapshot, ids: &[&str]) -> Vec<String> {
    ids.iter()
        .filter(|id| !now.router.shares_route(&before.router, id))
        .map(|id| id.to_string())
        .collect()
}

#[test]
fn changes_apply_in_place_on_a_shared_copy() {
    let (live, mut b) = setup();
    let events = [
        (
            "add r3",
            vec![put(
                Kind::Route,
                json!({"id": "r3", "uri": "/c", "upstream_id": "u"}),
            )],
            &["r1", "r2"][..],
        ),
        (
            "move r3",
            vec![put(
                Kind::Route,
                json!({"id": "r3", "uri": "/c2", "upstream_id": "u"}),
            )],
            &["r1", "r2"],
        ),
        (
            "change the upstream",
            vec![put(
                Kind::Upstream,
                json!({"id": "u", "nodes": {"127.0.0.1:2": 1}}),
            )],
            &["r1", "r2", "r3"],
        ),
        (
            "change the service's hosts",
            vec![put(
                Kind::Service,
                json!({"id": "s", "upstream_id": "u", "hosts": ["t.com"]}),
            )],
            &["r1", "r3"],
        ),
        ("delete r1", vec![del(Kind::Route, "r1")], &["r2", "r3"]),
        (
            "two at once",
            vec![
                put(
                    Kind::Route,
                    json!({"id": "r4", "uri": "/d", "upstream_id": "u"}),
                ),
                del(Kind::Route, "r3"),
            ],
            &["r2"],
        ),
    ];
    for (what, changes, unchanged) in events {
        let before = live.load_full();
        b.apply(SourceEvent::Changes(changes));
        let now = live.load_full();
        assert_eq!(
            shared(&before, &now, unchanged),
            Vec::<String>::new(),
            "{what}"
        );
    }
    // A full set (a re-list after a reconnect) applies in place too.
    let before = live.load_full();
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
    assert_eq!(shared(&before, &live.load(), &["r2"]), Vec::<String>::new());
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
fn a_change_copies_only_the_part_of_the_routes_it_writes() {
    let (live, mut b) = setup();
    let routes: Vec<Change> = (0..3000)
        .map(|i| {
            let route =
                json!({"id": format!("m{i}"), "uri": format!("/m/{i}"), "upstream_id": "u"});
            put(Kind::Route, route)
        })
        .collect();
    b.apply(SourceEvent::Changes(routes));
    let before = live.load_full();
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "m5", "uri": "/m/5/new", "upstream_id": "u"}),
    )]));
    let now = live.load_full();
    let index = *now.router.get("m5").expect("m5 is served") as usize;
    let len = now.routes.len();
    let apart: Vec<usize> = (0..len).filter(|i| i.abs_diff(index) > 1000).collect();
    assert!(apart.len() > 1000);
    assert!(apart
        .iter()
        .all(|&i| now.routes.shares_item(&before.routes, i)));
    assert!(!now.routes.shares_item(&before.routes, index));
    let unchanged = ["m0", "m1000", "m2999", "r1", "r2"];
    assert_eq!(shared(&before, &now, &unchanged), Vec::<String>::new());
    // The reader of `before` still sees the route where it was.
    assert!(before.find(&Request::new("/m/5"), &NoVars).is_some());
    assert!(before.find(&Request::new("/m/5/new"), &NoVars).is_none());
    assert_eq!(route_at(&live, "/m/5", None), None);
    assert_eq!(route_at(&live, "/m/5/new", None).as_deref(), Some("m5"));
}

#[test]
fn a_held_snapshot_never_changes_under_its_reader() {
    let (live, mut b) = setup();
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "r3", "uri": "/c", "upstream_id": "u"}),
    )]));
    // A reader keeps the current snapshot through two changes.
    let held = live.load_full();
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "r4", "uri": "/d", "upstream_id": "u"}),
    )]));
    b.apply(SourceEvent::Changes(vec![del(Kind::Route, "r3")]));
    assert_eq!(route_at(&live, "/c", None), None);
    assert_eq!(route_at(&live, "/d", None).as_deref(), Some("r4"));
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
    // The next change works on a clone of the set's snapshot: every route
    // is still there.
    b.apply(SourceEvent::Changes(vec![put(
        Kind::Route,
        json!({"id": "z", "uri": "/z", "upstream_id": "u"}),
    )]));
    assert_eq!(route_at(&live, "/z", None).as_deref(), Some("z"));
    assert_eq!(live.load().len(), served + 1);
    same_routes(&live, &one_live, n, "after a change");
}
