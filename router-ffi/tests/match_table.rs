//! Table-driven matching cases, one section per rule of
//! `/work/shared/design/ROUTER.md` (model: matchit's `tests/match.rs`).
//!
//! Every route's value is its id, so a row names the route it expects. Where
//! the result must not depend on insertion order, the route set is inserted
//! in several shuffled orders and every row is checked against each.
//! Regressions name what was wrong, in a comment on their row.

use radix_router::{Field, MatchedHost, Options, Request, Route, RouteError, Router, Vars};
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;

type R = Route<&'static str>;

fn route(id: &'static str, path: &str) -> R {
    Route::new(id, id).path(path)
}

/// One request of a table row, with its vars and the ids the filter refuses.
#[derive(Clone, Default)]
struct Req {
    path: Vec<u8>,
    host: Option<Vec<u8>>,
    http_host: Option<Vec<u8>>,
    method: Option<&'static str>,
    addr: Option<IpAddr>,
    vars: Vec<(&'static str, &'static str)>,
    deny: Vec<&'static str>,
}

fn get(path: impl AsRef<[u8]>) -> Req {
    Req {
        path: path.as_ref().to_vec(),
        ..Req::default()
    }
}

impl Req {
    fn host(mut self, h: impl AsRef<[u8]>) -> Self {
        self.host = Some(h.as_ref().to_vec());
        self
    }
    fn http_host(mut self, h: &str) -> Self {
        self.http_host = Some(h.as_bytes().to_vec());
        self
    }
    fn method(mut self, m: &'static str) -> Self {
        self.method = Some(m);
        self
    }
    fn addr(mut self, a: &str) -> Self {
        self.addr = Some(a.parse().unwrap());
        self
    }
    fn var(mut self, k: &'static str, v: &'static str) -> Self {
        self.vars.push((k, v));
        self
    }
    fn deny(mut self, id: &'static str) -> Self {
        self.deny.push(id);
        self
    }
}

struct MapVars(HashMap<&'static str, &'static str>);

impl Vars for MapVars {
    fn var(&self, name: &str) -> Option<radix_router::Var<'_>> {
        self.0.var(name)
    }
}

type Found = Option<(String, Vec<(String, Vec<u8>)>)>;

fn lookup(r: &Router<&'static str>, q: &Req) -> Found {
    let mut req = Request::new(&q.path[..]);
    if let Some(h) = &q.host {
        req = req.host(&h[..]);
    }
    if let Some(h) = &q.http_host {
        req = req.http_host(&h[..]);
    }
    if let Some(m) = q.method {
        req = req.method(m);
    }
    if let Some(a) = q.addr {
        req = req.remote_addr(a);
    }
    let vars = MapVars(q.vars.iter().copied().collect());
    let m = r.find_with(&req, &vars, &mut |v| !q.deny.contains(v))?;
    assert_eq!(*m.value, m.id, "a route's value is its id");
    let params = m
        .params
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_vec()))
        .collect();
    Some((m.id.to_string(), params))
}

/// A table row: request, expected route id (None = no match), expected params.
type Row = (
    Req,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
);

fn describe(q: &Req) -> String {
    format!(
        "path={:?} host={:?} http_host={:?} method={:?} addr={:?} vars={:?} deny={:?}",
        String::from_utf8_lossy(&q.path),
        q.host.as_deref().map(String::from_utf8_lossy),
        q.http_host.as_deref().map(String::from_utf8_lossy),
        q.method,
        q.addr,
        q.vars,
        q.deny
    )
}

fn check_rows(r: &Router<&'static str>, rows: &[Row], context: &str) {
    for (q, want, params) in rows {
        let got = lookup(r, q);
        let want: Found = want.map(|id| {
            (
                id.to_string(),
                params
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                    .collect(),
            )
        });
        assert_eq!(got, want, "{context}: {}", describe(q));
    }
}

/// A tiny deterministic shuffle (no rand dependency): Fisher-Yates over an LCG.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for i in (1..items.len()).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (s >> 33) as usize % (i + 1);
        items.swap(i, j);
    }
}

/// Builds `routes` in the given order and checks every row, then does the
/// same for several shuffled orders.
fn check_shuffled(routes: &[R], rows: &[Row]) {
    check_shuffled_with(Options::default(), routes, rows)
}

fn check_shuffled_with(opts: Options, routes: &[R], rows: &[Row]) {
    for seed in 0..8u64 {
        let mut order = routes.to_vec();
        if seed > 0 {
            shuffle(&mut order, seed);
        }
        let ids: Vec<&str> = order.iter().map(|r| r.value).collect();
        let r = Router::build(order, opts).unwrap();
        check_rows(&r, rows, &format!("insertion order {ids:?}"));
    }
}

fn build(routes: Vec<R>) -> Router<&'static str> {
    Router::build(routes, Options::default()).unwrap()
}

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
        // Literal text is not a regex: `.` is a dot (the Lua library matches this).
        (get("/5/v1X0"), Some("all"), &[(":ext", "/5/v1X0")]),
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
fn mid_path_catch_all_is_refused() {
    let mut r = build(vec![route("keep", "/a/*")]);
    let err = r.insert(route("mid", "/a/*/b")).unwrap_err();
    assert_eq!(err.field(), Some(Field::Paths));
    let text = err.to_string();
    assert!(text.contains("\"mid\"") && text.contains("paths"), "{text}");
    assert!(err.problem().contains("last segment"), "{err}");
    let err = r.insert(route("mid2", "/a/*rest/b")).unwrap_err();
    assert_eq!(err.field(), Some(Field::Paths));
    assert_eq!(r.len(), 1);
    check_rows(&r, &[(get("/a/x/b"), Some("keep"), &[(":ext", "x/b")])], "");
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
            // dropped, so `*.bar.com` could not match it although ROUTER.md
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
        (route("mid", "/a/*/b"), Field::Paths, "last segment"),
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
            route("b", "/b/*/c"),
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
