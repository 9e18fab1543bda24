//! Table-driven matching cases, continued from `match_table.rs`: the
//! candidate order, fall-through, live changes and errors, any bytes, and
//! scale (docs/router.md's "Order" and the router's change API).

mod table;

use radix_router::{Field, Options, Request, Route, RouteError, Router};
use serde_json::json;
use table::*;

// ---------------------------------------------------------------- order

#[test]
fn order_exact_first_then_longest_prefix() {
    let routes = vec![
        route("exact", "/o/x").priority(-5),
        route("o_star", "/o/*").priority(100),
        route("ox_star", "/o/x/*").priority(-1),
        route("o_param", "/o/:a/*").priority(50),
        route("any", "/*").priority(100),
        route("foo", "/foo/*"),
    ];
    let rows: Vec<Row> = vec![
        (get("/o/x"), Some("exact"), &[]),
        (get("/o/x/y"), Some("ox_star"), &[(":ext", "y")]),
        // Same prefix `/o/`: the higher priority wins over the longer pattern.
        (get("/o/z/y"), Some("o_star"), &[(":ext", "z/y")]),
        (get("/o/"), Some("o_star"), &[(":ext", "")]),
        // `/*` priority 100 loses to `/foo/*` priority 0 for `/foo/bar`.
        (get("/foo/bar"), Some("foo"), &[(":ext", "bar")]),
        (get("/bar"), Some("any"), &[(":ext", "bar")]),
        (get("/foo"), Some("any"), &[(":ext", "foo")]),
    ];
    check_shuffled(&routes, &rows);
}

#[test]
fn order_within_a_prefix() {
    // Priority first, then the longer pattern.
    let routes = vec![
        route("short_hi", "/p/:a").priority(1),
        route("star", "/p/*"),
        route("long", "/p/:abcdef"),
        route("num", "/p/{n:[0-9]+}/x"),
        route("q_short", "/q/:a"),
        route("q_long", "/q/:abc"),
        route("q_regex", "/q/{abc:[a-z]+}"),
    ];
    let rows: Vec<Row> = vec![
        (get("/p/z"), Some("short_hi"), &[("a", "z")]),
        (get("/p/1/x"), Some("num"), &[("n", "1")]),
        (get("/p/a/x"), Some("star"), &[(":ext", "a/x")]),
        (get("/q/abc"), Some("q_regex"), &[("abc", "abc")]),
        (get("/q/ABC"), Some("q_long"), &[("abc", "ABC")]),
    ];
    check_shuffled(&routes, &rows);

    // Equal priority and length: insertion order (no shuffle here).
    let mut r = build(vec![route("first", "/r/:a"), route("second", "/r/:b")]);
    check_rows(&r, &[(get("/r/1"), Some("first"), &[("a", "1")])], "");
    r.remove("first").unwrap();
    check_rows(&r, &[(get("/r/1"), Some("second"), &[("b", "1")])], "");
    r.insert(route("first", "/r/:a")).unwrap();
    check_rows(&r, &[(get("/r/1"), Some("second"), &[("b", "1")])], "");

    // Regression: two paths of one route with equal keys were tried latest
    // first (and a catch-all before a param of the same length), so the
    // route reported its second path; Lua tries a route's paths in order.
    let r = build(vec![Route::new("two", "two").path("/s/:a").path("/s/:b")]);
    let m = r.find(&Request::new("/s/1")).unwrap();
    assert_eq!((m.pattern, m.params.get("a")), ("/s/:a", Some(&b"1"[..])));
    let r = build(vec![Route::new("two", "two").path("/s/:ab").path("/s/*ab")]);
    assert_eq!(r.find(&Request::new("/s/1")).unwrap().pattern, "/s/:ab");
}

#[test]
fn exact_routes_order_by_priority_then_insertion() {
    let mut r = build(vec![
        route("low", "/e").priority(-1),
        route("first", "/e"),
        route("second", "/e"),
    ]);
    check_rows(&r, &[(get("/e"), Some("first"), &[])], "");
    r.update(route("first", "/e")).unwrap();
    // An update orders as if newly added among equal priorities.
    check_rows(&r, &[(get("/e"), Some("second"), &[])], "");
    r.update(route("low", "/e").priority(1)).unwrap();
    check_rows(&r, &[(get("/e"), Some("low"), &[])], "");
}

// ---------------------------------------------------------------- fall-through

#[test]
fn fall_through() {
    let routes = vec![
        route("exact_post", "/ft/x").method("POST"),
        route("deep_post", "/ft/a/*").method("POST"),
        route("deep_param", "/ft/a/:x/z").priority(5),
        route("shallow", "/ft/*"),
        route("top", "/*").priority(-3),
        route("hosted", "/hs/*").host("a.com"),
    ];
    let rows: Vec<Row> = vec![
        // A failing exact route falls through to prefix routes.
        (
            get("/ft/x").method("GET"),
            Some("shallow"),
            &[(":ext", "x")],
        ),
        (get("/ft/x").method("POST"), Some("exact_post"), &[]),
        // A failing deep prefix falls to a shallower one.
        (
            get("/ft/a/b").method("GET"),
            Some("shallow"),
            &[(":ext", "a/b")],
        ),
        (
            get("/ft/a/b").method("POST"),
            Some("deep_post"),
            &[(":ext", "b")],
        ),
        (get("/ft/a/1/z"), Some("deep_param"), &[("x", "1")]),
        (get("/ft/a/1/y"), Some("shallow"), &[(":ext", "a/1/y")]),
        (get("/ft"), Some("top"), &[(":ext", "ft")]),
        (get("/hs/q"), Some("top"), &[(":ext", "hs/q")]),
        (get("/hs/q").host("a.com"), Some("hosted"), &[(":ext", "q")]),
    ];
    check_shuffled(&routes, &rows);
}

// ---------------------------------------------------------------- live changes

#[test]
fn an_adopted_route_is_the_source_routes_and_then_its_own() {
    let mut source = build(vec![route("a", "/a/*"), route("b", "/b/:x")]);
    let mut follower = build(vec![route("a", "/old/*")]);
    // Replaces the follower's own `a`, and adds `b`.
    assert_eq!(follower.adopt(&source, "a"), Ok(Some("a")));
    assert_eq!(follower.adopt(&source, "b"), Ok(None));
    let rows: &[Row] = &[
        (get("/a/1"), Some("a"), &[(":ext", "1")]),
        (get("/old/1"), None, &[]),
        (get("/b/2"), Some("b"), &[("x", "2")]),
    ];
    check_rows(&follower, rows, "adopted");
    // What the source does next is not the follower's.
    source.update(route("a", "/moved")).unwrap();
    source.remove("b").unwrap();
    check_rows(&follower, rows, "source changed");
    // A route the source does not hold is refused; nothing changes.
    assert_eq!(
        follower.adopt(&source, "b"),
        Err(RouteError::NotFound { id: "b".into() })
    );
    check_rows(&follower, rows, "refused");
    // Removing the adopted route takes it out of the follower's tree.
    assert_eq!(follower.remove("b"), Ok("b"));
    check_rows(&follower, &[(get("/b/2"), None, &[])], "b removed");
    assert_eq!(follower.adopt(&source, "a"), Ok(Some("a")));
    check_rows(
        &follower,
        &[(get("/moved"), Some("a"), &[]), (get("/a/1"), None, &[])],
        "a again",
    );
}

#[test]
fn add_update_delete_on_a_live_router() {
    let mut r = build(vec![
        route("abc", "/abc/*"),
        route("abd", "/abd/*"),
        route("ab", "/ab/*"),
        route("only", "/only/:x"),
        route("only_sib", "/onlx"),
    ]);
    let rows = |abc: Option<&'static str>, only: Option<&'static str>| -> Vec<Row> {
        vec![
            (
                get("/abc/1"),
                abc,
                if abc.is_some() { &[(":ext", "1")] } else { &[] },
            ),
            (get("/abd/1"), Some("abd"), &[(":ext", "1")]),
            (get("/ab/1"), Some("ab"), &[(":ext", "1")]),
            (
                get("/only/1"),
                only,
                if only.is_some() { &[("x", "1")] } else { &[] },
            ),
            (get("/onlx"), Some("only_sib"), &[]),
        ]
    };
    check_rows(&r, &rows(Some("abc"), Some("only")), "initial");
    // Delete the last route under a node.
    assert_eq!(r.remove("abc"), Ok("abc"));
    check_rows(&r, &rows(None, Some("only")), "abc removed");
    assert_eq!(r.remove("only"), Ok("only"));
    check_rows(&r, &rows(None, None), "only removed");
    // Re-add.
    r.insert(route("abc", "/abc/*")).unwrap();
    r.insert(route("only", "/only/:x")).unwrap();
    check_rows(&r, &rows(Some("abc"), Some("only")), "re-added");
    // Update a route's paths: it leaves the old place.
    r.update(route("abc", "/new/:id").path("/abc2")).unwrap();
    check_rows(
        &r,
        &[
            (get("/abc/1"), None, &[]),
            (get("/new/7"), Some("abc"), &[("id", "7")]),
            (get("/abc2"), Some("abc"), &[]),
        ],
        "abc moved",
    );
    // upsert both ways.
    assert_eq!(r.upsert(route("abc", "/abc/*")), Ok(Some("abc")));
    assert_eq!(r.upsert(route("zz", "/zz")), Ok(None));
    check_rows(&r, &rows(Some("abc"), Some("only")), "upserted");
    check_rows(
        &r,
        &[(get("/new/7"), None, &[]), (get("/zz"), Some("zz"), &[])],
        "",
    );
    // Remove everything, then add again.
    for id in ["abc", "abd", "ab", "only", "only_sib", "zz"] {
        r.remove(id).unwrap();
    }
    assert!(r.is_empty());
    check_rows(
        &r,
        &[(get("/abd/1"), None, &[]), (get("/onlx"), None, &[])],
        "empty",
    );
    r.insert(route("abd", "/abd/*")).unwrap();
    check_rows(
        &r,
        &[(get("/abd/1"), Some("abd"), &[(":ext", "1")])],
        "again",
    );
}

#[test]
fn errors_name_route_field_and_problem() {
    let mut r = build(vec![route("keep", "/k/*"), route("other", "/o")]);
    let cases: Vec<(R, Field, &str)> = vec![
        (
            Route::new("nopath", "nopath"),
            Field::Paths,
            "at least one path",
        ),
        (route("empty", ""), Field::Paths, "empty path"),
        // A param pattern's text is a regex (strict mode refuses one that
        // does not compile; tolerant mode adds the route, see match_table.rs).
        (route("paren", "/a/:id/(b"), Field::Paths, "invalid regex"),
        (route("noname", "/a/:"), Field::Paths, "needs a name"),
        (route("regex", "/a/{id:[}"), Field::Paths, "invalid regex"),
        (
            route("host", "/a").host("a.*.com"),
            Field::Hosts,
            "may only start",
        ),
        (route("host2", "/a").host(""), Field::Hosts, "empty host"),
        (
            route("method", "/a").method("FETCH"),
            Field::Methods,
            "FETCH",
        ),
        (
            route("addr", "/a").remote_addr("1.2.3.4/40"),
            Field::RemoteAddrs,
            "1.2.3.4/40",
        ),
        (
            route("vars", "/a").vars(json!(["a", "==", 1])),
            Field::Vars,
            "brackets",
        ),
    ];
    for (bad, field, problem) in cases {
        let id = bad.id.clone();
        let err = r.insert(bad).unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
        assert!(err.problem().contains(problem), "{id}: {err}");
        let text = err.to_string();
        assert!(text.contains(&format!("{id:?}")), "{text}");
        assert!(text.contains(field.as_str()), "{text}");
    }
    assert_eq!(
        r.insert(route("keep", "/x")),
        Err(RouteError::DuplicateId { id: "keep".into() })
    );
    assert_eq!(
        r.remove("ghost"),
        Err(RouteError::NotFound { id: "ghost".into() })
    );
    assert!(matches!(
        r.update(route("ghost", "/g")),
        Err(RouteError::NotFound { .. })
    ));
    // A refused update keeps the old route.
    let err = r.update(route("keep", "/k2").method("nope")).unwrap_err();
    assert_eq!(err.field(), Some(Field::Methods));
    assert_eq!(r.len(), 2);
    check_rows(
        &r,
        &[
            (get("/k/1"), Some("keep"), &[(":ext", "1")]),
            (get("/k2"), None, &[]),
            (get("/o"), Some("other"), &[]),
        ],
        "after errors",
    );
    // `build` reports the first refused route.
    let err = Router::build(
        vec![
            route("a", "/a"),
            route("b", "/b/:id/(c"),
            route("c", "/c").method("x"),
        ],
        Options::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"b\""), "{err}");
}

// ---------------------------------------------------------------- any bytes

#[test]
fn any_bytes_are_safe() {
    let r = build(vec![
        route("user", "/user/:name"),
        route("rest", "/r/*rest"),
        route("exact", "/e"),
        route("wild", "/w").host("*.a.com"),
        route("any", "*").priority(-1),
    ]);
    let long_path = format!("/r/{}", "x/".repeat(50_000));
    let long_seg = format!("/user/{}", "y".repeat(100_000));
    let rows: Vec<Row> = vec![
        (get(b"/user/\xff\xfe"), Some("user"), &[]),
        (get(b"/r/\x00/\xc3"), Some("rest"), &[]),
        (get(b"/e\x00"), Some("any"), &[]),
        (get(b"\xff"), Some("any"), &[]),
        (get(b"/w").host(b"\x80.a.com"), Some("wild"), &[]),
        (get(b"/w").host(b"\x80"), Some("any"), &[]),
        (get("/w").host("x".repeat(100_000)), Some("any"), &[]),
        (get(&long_path), Some("rest"), &[]),
        (get(&long_seg), Some("user"), &[]),
        (get("/".repeat(10_000)), Some("any"), &[]),
    ];
    for (q, want, _) in &rows {
        let got = lookup(&r, q);
        assert_eq!(got.map(|g| g.0), want.map(String::from), "{}", describe(q));
    }
    let m = r.find(&Request::new(b"/user/\xff\xfe")).unwrap();
    assert_eq!(m.params.get("name"), Some(&b"\xff\xfe"[..]));
    assert_eq!(m.params.range(0), Some(("name", 6..8)));
    let m = r.find(&Request::new(&long_path)).unwrap();
    assert_eq!(m.params.get("rest").unwrap().len(), 100_000);
}

// ---------------------------------------------------------------- scale

#[test]
fn ten_thousand_param_routes() {
    const N: usize = 10_000;
    let mut ids: Vec<usize> = (0..N).collect();
    shuffle(&mut ids, 42);
    let mut r: Router<usize> = Router::default();
    for &i in &ids {
        r.insert(Route::new(format!("r{i}"), i).path(format!("/api/:version/res{i}")))
            .unwrap();
    }
    assert_eq!(r.len(), N);
    for i in 0..N {
        let path = format!("/api/v{}/res{i}", i % 7);
        let m = r.find(&Request::new(&path)).unwrap();
        assert_eq!(*m.value, i, "{path}");
        let version = format!("v{}", i % 7);
        assert_eq!(m.params.get("version"), Some(version.as_bytes()));
    }
    assert!(r.find(&Request::new("/api/v1/res10000")).is_none());
    assert!(r.find(&Request::new("/api/v1/res")).is_none());
    assert!(r.find(&Request::new("/api//res1")).is_none());
    for i in (0..N).step_by(2) {
        r.remove(&format!("r{i}")).unwrap();
    }
    for i in 0..N {
        let found = r
            .find(&Request::new(&format!("/api/x/res{i}")))
            .map(|m| *m.value);
        assert_eq!(found, (i % 2 == 1).then_some(i));
    }
}
