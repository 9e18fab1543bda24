//! Table-driven matching cases, one section per rule of
//! [`docs/router.md`](../../docs/router.md) (model: matchit's `tests/match.rs`).
//!
//! Every route's value is its id, so a row names the route it expects. Where
//! the result must not depend on insertion order, the route set is inserted
//! in several shuffled orders and every row is checked against each.
//! Regressions name what was wrong, in a comment on their row.

mod table;

use radix_router::{Field, MatchedHost, Options, Request, Route, Router};
use serde_json::json;
use table::*;

// ---------------------------------------------------------------- paths

fn path_routes() -> Vec<R> {
    vec![
        route("exact", "/a/b"),
        route("prefix", "/a/*"),
        route("aa", "/aa*"),
        route("bar", "/bar/*"),
        route("user", "/user/:name"),
        route("action", "/user/:id/*action"),
        route("files", "/files/*path"),
        route("slash", "/t/"),
        route("slash_param", "/tp/:x/"),
        route("colon", "/foo:bar"),
        route("star_in_seg", "/x*y/z"),
        route("version", "/:id/v1.0"),
        route("num", "/n/{id:[0-9]+}"),
        route("name", "/n/:name"),
        route("two", "/two/:a/:b"),
    ]
}

fn path_rows() -> Vec<Row> {
    vec![
        (get("/a/b"), Some("exact"), &[]),
        (get("/a/c"), Some("prefix"), &[(":ext", "c")]),
        (get("/a/"), Some("prefix"), &[(":ext", "")]),
        (get("/a/b/c"), Some("prefix"), &[(":ext", "b/c")]),
        (get("/a"), Some("all"), &[(":ext", "/a")]),
        // `/aa*` matches `/aa` and `/aa/bb`.
        (get("/aa"), Some("aa"), &[(":ext", "")]),
        (get("/aa/bb"), Some("aa"), &[(":ext", "/bb")]),
        (get("/aab"), Some("aa"), &[(":ext", "b")]),
        // `/bar/*` does not match `/bar`.
        (get("/bar"), Some("all"), &[(":ext", "/bar")]),
        (get("/bar/"), Some("bar"), &[(":ext", "")]),
        (get("/bar/x/y"), Some("bar"), &[(":ext", "x/y")]),
        (get("/user/bob"), Some("user"), &[("name", "bob")]),
        (get("/user/b%20b"), Some("user"), &[("name", "b%20b")]),
        // A param is one non-empty segment.
        (get("/user/"), Some("all"), &[(":ext", "/user/")]),
        (
            get("/user/bob/"),
            Some("action"),
            &[("id", "bob"), ("action", "")],
        ),
        (
            get("/user/bob/x/y"),
            Some("action"),
            &[("id", "bob"), ("action", "x/y")],
        ),
        (get("/files/a/b.txt"), Some("files"), &[("path", "a/b.txt")]),
        (get("/files/"), Some("files"), &[("path", "")]),
        (get("/files"), Some("all"), &[(":ext", "/files")]),
        // A trailing `/` in the pattern must be present in the request.
        (get("/t/"), Some("slash"), &[]),
        (get("/t"), Some("all"), &[(":ext", "/t")]),
        (get("/tp/1/"), Some("slash_param"), &[("x", "1")]),
        (get("/tp/1"), Some("all"), &[(":ext", "/tp/1")]),
        // `:` and `*` not starting a segment are literal text.
        (get("/foo:bar"), Some("colon"), &[]),
        (get("/foo"), Some("all"), &[(":ext", "/foo")]),
        (get("/foo:baz"), Some("all"), &[(":ext", "/foo:baz")]),
        (get("/x*y/z"), Some("star_in_seg"), &[]),
        (get("/xAy/z"), Some("all"), &[(":ext", "/xAy/z")]),
        (get("/5/v1.0"), Some("version"), &[("id", "5")]),
        // The text of a param pattern keeps its regex meaning, as in
        // lua-resty-radixtree and APISIX: this `.` takes any byte. (It was
        // text here before: routes written for APISIX matched less.)
        (get("/5/v1X0"), Some("version"), &[("id", "5")]),
        (get("/n/42"), Some("num"), &[("id", "42")]),
        (get("/n/4x"), Some("name"), &[("name", "4x")]),
        (get("/two/1/2"), Some("two"), &[("a", "1"), ("b", "2")]),
        (get("/two/1/"), Some("all"), &[(":ext", "/two/1/")]),
        (get("/two//2"), Some("all"), &[(":ext", "/two//2")]),
        (get(""), Some("all"), &[(":ext", "")]),
        (get("/"), Some("all"), &[(":ext", "/")]),
        (get("relative"), Some("all"), &[(":ext", "relative")]),
    ]
}

#[test]
fn paths_with_catch_all_everything() {
    let mut routes = path_routes();
    // `*` alone matches every path.
    routes.push(route("all", "*"));
    check_shuffled(&routes, &path_rows());
}

#[test]
fn paths_without_fallback() {
    let rows: Vec<Row> = path_rows()
        .into_iter()
        .map(|(q, want, params)| match want {
            Some("all") => (q, None, &[][..]),
            _ => (q, want, params),
        })
        .collect();
    check_shuffled(&path_routes(), &rows);
}

#[test]
fn mid_path_catch_all_takes_any_bytes() {
    // lua-resty-radixtree reads a `*` segment in the middle as any run of
    // bytes, `/` included (its regex `(.|\n)*`).
    let r = build(vec![
        route("keep", "/a/*"),
        route("mid", "/a/*/b"),
        route("named", "/a/*rest/c/:id"),
    ]);
    check_rows(
        &r,
        &[
            (get("/a/x/b"), Some("mid"), &[(":ext", "x")]),
            (get("/a/x/y/b"), Some("mid"), &[(":ext", "x/y")]),
            (get("/a//b"), Some("mid"), &[(":ext", "")]),
            (get("/a/x/y/bb"), Some("keep"), &[(":ext", "x/y/bb")]),
            (
                get("/a/x/y/c/7"),
                Some("named"),
                &[("rest", "x/y"), ("id", "7")],
            ),
            (get("/a/x/y/c/7/8"), Some("keep"), &[(":ext", "x/y/c/7/8")]),
        ],
        "",
    );
}

#[test]
fn param_patterns_keep_the_regex_meaning_of_their_text() {
    // lua-resty-radixtree's own example: the three share the literal prefix
    // `/api/`, the longest is tried first and `/nodes/?` takes the `/` or not.
    let routes = vec![
        route(
            "long",
            "/api/:version/test/api/projects/:project_id/clusters/:cluster_id/nodes/?",
        ),
        route("medium", "/api/:version/test/api/projects/:project_id"),
        route("short", "/api/:version/test/*subpath"),
        route("plain", "/api/:version/x"),
        route("q", "/q/:a/b+"),
        // Shorter, so after `q` in the group `/q/`, though the tree holds it.
        route("qany", "/q/:a/*"),
        route("alt", "/alt/:a/(x|xy)"),
    ];
    const LONG: &[(&str, &str)] = &[
        ("version", "v4"),
        ("project_id", "saas"),
        ("cluster_id", "123"),
    ];
    let rows: Vec<Row> = vec![
        (
            get("/api/v4/test/api/projects/saas/clusters/123/nodes/"),
            Some("long"),
            LONG,
        ),
        (
            get("/api/v4/test/api/projects/saas/clusters/123/nodes"),
            Some("long"),
            LONG,
        ),
        (
            get("/api/v4/test/api"),
            Some("short"),
            &[("version", "v4"), ("subpath", "api")],
        ),
        (
            get("/api/v4/test/api/projects/saas"),
            Some("medium"),
            &[("version", "v4"), ("project_id", "saas")],
        ),
        (get("/api/v4/x"), Some("plain"), &[("version", "v4")]),
        (get("/q/1/bbb"), Some("q"), &[("a", "1")]),
        (get("/q/1/b+"), Some("qany"), &[("a", "1"), (":ext", "b+")]),
        // The regex's first match must be the whole path: `x` is found
        // before `xy`, so `/alt/1/xy` is no match (as there).
        (get("/alt/1/x"), Some("alt"), &[("a", "1")]),
        (get("/alt/1/xy"), None, &[]),
    ];
    check_shuffled(&routes, &rows);
}

#[test]
fn tolerant_mode_adds_a_route_whose_regex_does_not_compile() {
    let mut strict = Router::new(Options::default());
    let mut tolerant = Router::new(Options {
        tolerant: true,
        ..Options::default()
    });
    let bad = || {
        route("bad", "/a/:id/(b")
            .path("/ok/:id")
            .vars(json!([["arg_k", "~~", "[0"]]))
    };
    let err = strict.insert(bad()).unwrap_err();
    assert_eq!(err.field(), Some(Field::Vars), "{err}");
    assert!(strict.tolerated().is_empty());
    tolerant.insert(bad()).unwrap();
    let t: Vec<String> = tolerant.tolerated().iter().map(|t| t.to_string()).collect();
    assert_eq!(
        t,
        [
            r#"route "bad": field vars: ["arg_k","~~","[0"]: invalid regex "[0": unclosed character class (tolerated: this comparison is always false)"#,
            r#"route "bad": field paths: /a/:id/(b: invalid regex: unclosed group (tolerated: this path never matches)"#,
        ]
    );
    let err = strict.insert(route("bad", "/a/:id/(b")).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"route "bad": field paths: "/a/:id/(b": invalid regex: unclosed group"#
    );
    // The route is in; its comparison never holds, its bad path never matches.
    assert_eq!(tolerant.len(), 1);
    let find = |r: &Router<&'static str>, path: &str| {
        let vars = std::collections::HashMap::from([("arg_k", "[0")]);
        let m = r.find_with(&Request::new(path), &vars, &mut |_| true);
        m.map(|m| *m.value)
    };
    assert_eq!(find(&tolerant, "/ok/1"), None);
    assert_eq!(find(&tolerant, "/a/1/(b"), None);
    tolerant.insert(route("next", "/ok/:id")).unwrap();
    assert!(
        tolerant.tolerated().is_empty(),
        "cleared by the next change"
    );
    assert_eq!(find(&tolerant, "/ok/1"), Some("next"));
    // Removing and updating the tolerated route works as for any other.
    tolerant.update(bad().priority(1)).unwrap();
    assert_eq!(tolerant.tolerated().len(), 2);
    tolerant.remove("bad").unwrap();
    assert_eq!(tolerant.len(), 1);
}

#[test]
fn no_param_match_makes_colon_text() {
    let routes = vec![
        route("colon", "/user/:id"),
        route("brace", "/n/{id:[0-9]+}"),
        route("star", "/s/*"),
    ];
    let rows: Vec<Row> = vec![
        (get("/user/:id"), Some("colon"), &[]),
        (get("/user/5"), None, &[]),
        (get("/n/{id:[0-9]+}"), Some("brace"), &[]),
        (get("/n/5"), None, &[]),
        (get("/s/x"), Some("star"), &[(":ext", "x")]),
    ];
    check_shuffled_with(
        Options {
            no_param_match: true,
            ..Options::default()
        },
        &routes,
        &rows,
    );
}

// ---------------------------------------------------------------- hosts

fn host_routes(path: &str) -> Vec<R> {
    let p = |id: &'static str, prio: i32| Route::new(id, id).path(path).priority(prio);
    vec![
        p("h_exact", 5).host("Foo.com"),
        p("h_wild", 4).host("*.bar.com"),
        p("h_port", 3).host("baz.com:8080"),
        p("h_many", 2).host("one.com").host("*.two.com"),
        p("h_any", 1).host("*"),
        p("h_none", 0),
    ]
}

#[test]
fn hosts() {
    let long_wild = format!("{}.bar.com", "a".repeat(1000));
    let long_wild: &'static str = Box::leak(long_wild.into_boxed_str());
    for path in ["/h", "/hp/*"] {
        let req = |h: &[u8]| {
            let p = if path == "/h" { "/h" } else { "/hp/x" };
            get(p).host(h)
        };
        let nohost = get(if path == "/h" { "/h" } else { "/hp/x" });
        let rows: Vec<Row> = vec![
            // Exact host, case-insensitive on both sides.
            (req(b"foo.com"), Some("h_exact"), &[]),
            (req(b"FOO.COM"), Some("h_exact"), &[]),
            (req(b"foo.com.evil"), Some("h_any"), &[]),
            // `*.bar.com`: a.bar.com and a.b.bar.com, not bar.com.
            (req(b"a.bar.com"), Some("h_wild"), &[]),
            (req(b"A.B.Bar.Com"), Some("h_wild"), &[]),
            (req(b"bar.com"), Some("h_any"), &[]),
            (req(b"xbar.com"), Some("h_any"), &[]),
            // Regression: a host longer than the 260-byte lowering buffer was
            // dropped, so `*.bar.com` could not match it although docs/router.md
            // says any host ending with `.bar.com` does.
            (req(long_wild.as_bytes()), Some("h_wild"), &[]),
            // `host:port` is compared with the raw Host header.
            (
                req(b"baz.com").http_host("baz.com:8080"),
                Some("h_port"),
                &[],
            ),
            (
                req(b"BAZ.com").http_host("Baz.COM:8080"),
                Some("h_port"),
                &[],
            ),
            (
                req(b"baz.com").http_host("baz.com:9090"),
                Some("h_any"),
                &[],
            ),
            (req(b"baz.com"), Some("h_any"), &[]),
            // Regression: with no request host, a `host:port` route matched
            // through `http_host` alone; routes with hosts need a request host
            // (as in lua-resty-radixtree, which checks `opts.host` first).
            (
                nohost.clone().http_host("baz.com:8080"),
                Some("h_none"),
                &[],
            ),
            (req(b"one.com"), Some("h_many"), &[]),
            (req(b"x.two.com"), Some("h_many"), &[]),
            (req(b"two.com"), Some("h_any"), &[]),
            // `*` needs a host; no host: only the route without hosts.
            (req(b"anything"), Some("h_any"), &[]),
            (req(b"\xff\xfe.bar.com"), Some("h_wild"), &[]),
            (req(b"\xff\xfe"), Some("h_any"), &[]),
            (req(b""), Some("h_any"), &[]),
            (nohost, Some("h_none"), &[]),
        ];
        let rows: Vec<Row> = rows
            .into_iter()
            .map(|(q, w, _)| {
                let params: &'static [(&str, &str)] =
                    if path == "/h" { &[] } else { &[(":ext", "x")] };
                (q, w, params)
            })
            .collect();
        check_shuffled(&host_routes(path), &rows);
    }
}

#[test]
fn host_report() {
    let r = build(host_routes("/h"));
    let m = r.find(&Request::new("/h").host("a.bar.com")).unwrap();
    assert_eq!(m.host, MatchedHost::Wildcard(b".bar.com"));
    let m = r.find(&Request::new("/h").host("foo.com")).unwrap();
    assert_eq!(m.host, MatchedHost::Request);
    let m = r.find(&Request::new("/h").host("zzz")).unwrap();
    assert_eq!(m.host, MatchedHost::Wildcard(b""));
    let m = r.find(&Request::new("/h")).unwrap();
    assert_eq!(m.host, MatchedHost::Unrestricted);
    assert_eq!(m.pattern, "/h");
}

// ---------------------------------------------------------------- methods

#[test]
fn methods() {
    let p = |id: &'static str, prio: i32| Route::new(id, id).path("/m").priority(prio);
    let routes = vec![
        p("m_get", 5).method("GET"),
        p("m_post_put", 4).method("POST").method("PUT"),
        p("m_connect", 3).method("CONNECT"),
        p("m_trace", 3).method("TRACE"),
        p("m_purge", 3).method("PURGE"),
        p("m_none", 0),
    ];
    let rows: Vec<Row> = vec![
        (get("/m").method("GET"), Some("m_get"), &[]),
        (get("/m").method("POST"), Some("m_post_put"), &[]),
        (get("/m").method("PUT"), Some("m_post_put"), &[]),
        (get("/m").method("CONNECT"), Some("m_connect"), &[]),
        (get("/m").method("TRACE"), Some("m_trace"), &[]),
        (get("/m").method("PURGE"), Some("m_purge"), &[]),
        (get("/m").method("DELETE"), Some("m_none"), &[]),
        // Methods are case-sensitive.
        (get("/m").method("get"), Some("m_none"), &[]),
        (get("/m").method("BREW"), Some("m_none"), &[]),
        (get("/m"), Some("m_none"), &[]),
    ];
    check_shuffled(&routes, &rows);

    let mut r = build(vec![route("keep", "/k")]);
    let err = r.insert(route("bad", "/m").method("get")).unwrap_err();
    assert_eq!(err.field(), Some(Field::Methods));
    assert!(err.to_string().contains("\"bad\""), "{err}");
    assert!(err.problem().contains("get"), "{err}");
    assert_eq!(r.len(), 1);
}

// ---------------------------------------------------------------- remote_addrs

#[test]
fn remote_addrs() {
    let p = |id: &'static str, prio: i32| Route::new(id, id).path("/ip/*").priority(prio);
    let routes = vec![
        p("v4_net", 5).remote_addr("10.0.0.0/8"),
        p("v4_one", 4).remote_addr("192.168.1.7"),
        p("v6_net", 3).remote_addr("fe80::/10"),
        p("v6_loop", 2).remote_addr("[::1]"),
        p("v4_all", 1).remote_addr("0.0.0.0/0"),
        p("any", 0),
    ];
    let x: &[(&str, &str)] = &[(":ext", "x")];
    let rows: Vec<Row> = vec![
        (get("/ip/x").addr("10.1.2.3"), Some("v4_net"), x),
        (get("/ip/x").addr("192.168.1.7"), Some("v4_one"), x),
        (get("/ip/x").addr("192.168.1.8"), Some("v4_all"), x),
        (get("/ip/x").addr("fe80::1"), Some("v6_net"), x),
        (get("/ip/x").addr("::1"), Some("v6_loop"), x),
        // IPv4 rules never match IPv6 addresses, mapped ones included.
        (get("/ip/x").addr("::ffff:10.1.2.3"), Some("any"), x),
        (get("/ip/x").addr("2001:db8::1"), Some("any"), x),
        (get("/ip/x"), Some("any"), x),
    ];
    check_shuffled(&routes, &rows);

    let mut r = build(vec![route("keep", "/k")]);
    for bad in ["10.0.0.0/33", "bogus", "1.2.3"] {
        let err = r.insert(route("bad", "/ip").remote_addr(bad)).unwrap_err();
        assert_eq!(err.field(), Some(Field::RemoteAddrs), "{bad}");
        assert!(err.problem().contains(bad), "{err}");
    }
    assert_eq!(r.len(), 1);
}

// ---------------------------------------------------------------- vars and filter

#[test]
fn vars() {
    let p = |id: &'static str, prio: i32| Route::new(id, id).path("/v").priority(prio);
    let routes = vec![
        p("and", 9).vars(json!([["arg_a", "==", "1"], ["arg_b", "==", "2"]])),
        p("or", 8).vars(json!(["OR", ["arg_a", "==", "3"], ["arg_b", "4"]])),
        p("not_and", 7).vars(json!([
            ["arg_c", "x"],
            ["!AND", ["arg_a", "5"], ["arg_b", "6"]]
        ])),
        p("not_or", 6).vars(json!([
            ["arg_c", "y"],
            ["!OR", ["arg_a", "7"], ["arg_b", "8"]]
        ])),
        p("negated", 5).vars(json!([["arg_c", "z"], ["arg_a", "!", "~~", "^9"]])),
        p("nested", 4).vars(json!([
            ["arg_c", "w"],
            [
                "OR",
                ["AND", ["arg_a", "1"], ["arg_b", "1"]],
                ["arg_d", "~=", "0"]
            ]
        ])),
        p("numbers", 3).vars(json!([["arg_n", ">", 10], ["arg_n", "<=", "20"]])),
        p("none", 0),
    ];
    let rows: Vec<Row> = vec![
        (
            get("/v").var("arg_a", "1").var("arg_b", "2"),
            Some("and"),
            &[],
        ),
        (get("/v").var("arg_a", "1"), Some("none"), &[]),
        (get("/v").var("arg_a", "3"), Some("or"), &[]),
        (get("/v").var("arg_b", "4"), Some("or"), &[]),
        (get("/v").var("arg_c", "x"), Some("not_and"), &[]),
        (
            get("/v").var("arg_c", "x").var("arg_a", "5"),
            Some("not_and"),
            &[],
        ),
        (
            get("/v")
                .var("arg_c", "x")
                .var("arg_a", "5")
                .var("arg_b", "6"),
            Some("none"),
            &[],
        ),
        (get("/v").var("arg_c", "y"), Some("not_or"), &[]),
        (
            get("/v").var("arg_c", "y").var("arg_b", "8"),
            Some("none"),
            &[],
        ),
        (
            get("/v").var("arg_c", "z").var("arg_a", "8"),
            Some("negated"),
            &[],
        ),
        // A missing variable does not match the regex, so the negation holds.
        (get("/v").var("arg_c", "z"), Some("negated"), &[]),
        (
            get("/v").var("arg_c", "z").var("arg_a", "91"),
            Some("none"),
            &[],
        ),
        // `~=` holds for a missing variable.
        (get("/v").var("arg_c", "w"), Some("nested"), &[]),
        (
            get("/v").var("arg_c", "w").var("arg_d", "0"),
            Some("none"),
            &[],
        ),
        (
            get("/v")
                .var("arg_c", "w")
                .var("arg_d", "0")
                .var("arg_a", "1")
                .var("arg_b", "1"),
            Some("nested"),
            &[],
        ),
        (get("/v").var("arg_n", "15"), Some("numbers"), &[]),
        (get("/v").var("arg_n", "10"), Some("none"), &[]),
        (get("/v").var("arg_n", "abc"), Some("none"), &[]),
        (get("/v"), Some("none"), &[]),
    ];
    check_shuffled(&routes, &rows);

    let mut r = build(vec![route("keep", "/k")]);
    let err = r
        .insert(route("7", "/v").vars(json!([["arg_a", "xyz", 1]])))
        .unwrap_err();
    assert_eq!(err.field(), Some(Field::Vars));
    assert_eq!(err.problem(), "invalid operator 'xyz'");
    assert_eq!(
        err.to_string(),
        "route \"7\": field vars: invalid operator 'xyz'"
    );
    assert_eq!(r.len(), 1);
}

#[test]
fn filter() {
    let routes = vec![
        route("f_first", "/f/*").priority(2).filter(true),
        route("f_second", "/f/:x").priority(1).filter(true),
        route("f_last", "/f/*"),
    ];
    let rows: Vec<Row> = vec![
        (get("/f/a"), Some("f_first"), &[(":ext", "a")]),
        (get("/f/a").deny("f_first"), Some("f_second"), &[("x", "a")]),
        (
            get("/f/a").deny("f_first").deny("f_second"),
            Some("f_last"),
            &[(":ext", "a")],
        ),
        // The filter is asked only for routes added with `filter: true`.
        (
            get("/f/a").deny("f_first").deny("f_second").deny("f_last"),
            Some("f_last"),
            &[(":ext", "a")],
        ),
    ];
    check_shuffled(&routes, &rows);
}
