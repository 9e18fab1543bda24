//! Property tests against a naive reference matcher.
//!
//! The reference implements [`docs/router.md`](../../docs/router.md) literally: it
//! turns each path pattern into a regex (a param pattern as lua-resty-radixtree
//! does, its text keeping its regex meaning; an exact or prefix pattern with
//! its text escaped), keeps every route in a plain list, and for a request
//! sorts all the path entries that match:
//!
//! 1. exact patterns first (higher priority, then the one added first);
//! 2. then the others by literal prefix length (longest first), priority
//!    (highest first), pattern length (longest first), insertion order;
//!
//! and returns the first whose method, remote address, host, vars and filter
//! all hold. Random route sets and requests from a small alphabet (so that
//! routes overlap and requests hit near misses) must give the same route,
//! pattern and params from the router and from the reference.
//!
//! Decisions the reference follows, as docs/router.md states them (after
//! lua-resty-radixtree):
//! - insertion order counts per path: a route's paths are inserted one after
//!   the other, so with equal keys its first path is tried first;
//! - an updated route orders as if newly added (Lua's `update_tab_in_order`
//!   puts it after routes of equal priority and length);
//! - a host pattern with `:` is compared with `http_host` (falling back to
//!   `host` when the request has none), any other with `host`; a route with
//!   hosts needs a request host (Lua checks `opts.host` first).

use proptest::prelude::*;
use radix_router::{Options, Request, Route, Router, Var, Vars};
use regex::bytes::Regex;
use serde_json::Value;
use std::net::IpAddr;

// ---------------------------------------------------------------- generated input

const SEGMENTS: &[&str] = &[
    "a",
    "b",
    "ab",
    "1",
    "12",
    ":x",
    ":y",
    "{n:[0-9]+}",
    "{w:[ab]+}",
    "a:b",
    "a*b",
    "x{y}",
    "abc",
    // Text with a regex meaning in a param pattern.
    "ab?",
    "a.b",
    "(a|ab)",
    "b+",
];
const HOSTS: &[&str] = &[
    "a.com",
    "B.a.com",
    "*.a.com",
    "*",
    "a.com:8080",
    "c.com",
    "*.com",
    "A.COM",
    "*.a.com:8080",
];
const METHODS: &[&str] = &["GET", "POST", "PURGE"];
const ADDRS: &[&str] = &["10.0.0.0/8", "::1", "0.0.0.0/0"];
const REQ_HOSTS: &[&str] = &[
    "a.com",
    "A.COM",
    "b.a.com",
    "x.B.a.com",
    "Y.A.COM",
    "c.com",
    "d.org",
];
const REQ_METHODS: &[&str] = &["GET", "POST", "PURGE", "BREW", "get"];
const REQ_ADDRS: &[&str] = &["10.1.1.1", "::1", "192.168.1.1", "::ffff:10.1.1.1"];
const REQ_SEGMENTS: &[&str] = &[
    "a", "b", "ab", "aab", "1", "12", "x", "", "a:b", "a*b", "x{y}", "ab?", "a.b", "aXb", "bbb",
];
const VALUES: &[&str] = &["1", "a", "12", "zz", "ab", "b"];
const RESTS: &[&str] = &["", "a", "a/b", "1/", "/"];

/// A route as generated: indices into the tables above.
#[derive(Clone, Debug)]
struct Spec {
    paths: Vec<String>,
    hosts: Vec<&'static str>,
    methods: Vec<&'static str>,
    addr: Option<&'static str>,
    vars: usize,
    priority: i32,
    filter: bool,
}

fn pattern() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(SEGMENTS), 0..=3),
        0..8u8,
    )
        .prop_map(|(segs, end)| {
            let mut p = String::new();
            for s in &segs {
                p.push('/');
                p.push_str(s);
            }
            let last_dynamic = segs
                .last()
                .is_some_and(|s| s.starts_with(':') || s.starts_with('{'));
            match end {
                2 => p.push('/'),
                3 => p.push_str("/*"),
                // A `*` glued to a literal last segment (`/aa*`); after a param
                // it would be part of the param's name, so use `/*` there.
                4 if !last_dynamic && !p.is_empty() => p.push('*'),
                4 => p.push_str("/*"),
                5 => p.push_str("/*rest"),
                6 if p.is_empty() => p.push('*'),
                // A catch-all in the middle: any bytes (a regex pattern).
                6 => p.push_str("/*/a"),
                _ => {}
            }
            if p.is_empty() {
                p.push('/');
            }
            p
        })
}

/// A pattern of the same length and literal prefix as `p` (or `p` itself).
fn twin(p: &str) -> String {
    if p.contains(":x") {
        p.replacen(":x", ":y", 1)
    } else if p.contains("*rest") {
        p.replacen("*rest", ":rest", 1)
    } else if p.contains(":y") {
        p.replacen(":y", ":x", 1)
    } else {
        p.to_string()
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop_oneof![
            3 => prop::collection::vec(pattern(), 1..=2),
            // Two paths of one route that tie on every key but insertion order.
            1 => pattern().prop_map(|p| vec![p.clone(), twin(&p)]),
        ],
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec(prop::sample::select(HOSTS), 1..=2),
        ],
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec(prop::sample::select(METHODS), 1..=2),
        ],
        prop::option::weighted(0.2, prop::sample::select(ADDRS)),
        prop_oneof![3 => Just(0usize), 1 => 1..VARS.len()],
        -2..=2i32,
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(paths, hosts, methods, addr, vars, priority, filter)| Spec {
                paths,
                hosts,
                methods,
                addr,
                vars,
                priority,
                filter,
            },
        )
}

/// How a request's path is made.
#[derive(Clone, Debug)]
enum PathGen {
    /// Segments from `REQ_SEGMENTS`, then an ending.
    Raw(Vec<&'static str>, u8),
    /// One of the router's patterns, filled in (and maybe spoilt) by a seed.
    Instance(usize, u32),
}

#[derive(Clone, Debug)]
struct Rq {
    path: PathGen,
    host: Option<&'static str>,
    /// 0: no http_host; 1: host + ":8080"; 2: host + ":9"; 3: "a.com:8080".
    http_host: u8,
    method: Option<&'static str>,
    addr: Option<&'static str>,
    arg_a: Option<&'static str>,
    arg_b: Option<&'static str>,
    deny: u8,
}

fn rq() -> impl Strategy<Value = Rq> {
    let path = prop_oneof![
        1 => (
            prop::collection::vec(prop::sample::select(REQ_SEGMENTS), 0..=4),
            0..4u8
        )
            .prop_map(|(s, e)| PathGen::Raw(s, e)),
        3 => (any::<usize>(), any::<u32>()).prop_map(|(i, s)| PathGen::Instance(i, s)),
    ];
    let arg = || prop::option::of(prop::sample::select(&["1", "2"][..]));
    (
        path,
        prop::option::weighted(0.7, prop::sample::select(REQ_HOSTS)),
        0..4u8,
        prop::option::weighted(0.7, prop::sample::select(REQ_METHODS)),
        prop::option::weighted(0.5, prop::sample::select(REQ_ADDRS)),
        arg(),
        arg(),
        prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
    )
        .prop_map(
            |(path, host, http_host, method, addr, arg_a, arg_b, deny)| Rq {
                path,
                host,
                http_host,
                method,
                addr,
                arg_a,
                arg_b,
                deny,
            },
        )
}

// ---------------------------------------------------------------- vars

type VarsEval = fn(Option<&str>, Option<&str>) -> bool;

/// `vars` expressions with their meaning written out by hand.
const VARS: &[(&str, VarsEval)] = &[
    ("", |_, _| true),
    (r#"[["arg_a", "==", "1"]]"#, |a, _| a == Some("1")),
    (r#"[["arg_a", "!", "==", "1"]]"#, |a, _| a != Some("1")),
    (r#"["OR", ["arg_a", "2"], ["arg_b", "2"]]"#, |a, b| {
        a == Some("2") || b == Some("2")
    }),
    (r#"[["arg_b", "~=", "1"]]"#, |_, b| b != Some("1")),
    (r#"["!AND", ["arg_a", "1"], ["arg_b", "1"]]"#, |a, b| {
        !(a == Some("1") && b == Some("1"))
    }),
    (
        r#"[["arg_a", "in", ["1", "2"]], ["!OR", ["arg_b", "1"], ["arg_b", "~~", "^2$"]]]"#,
        |a, b| matches!(a, Some("1" | "2")) && b.is_none(),
    ),
    (r#"[["arg_a", ">", 1]]"#, |a, _| a == Some("2")),
];

fn vars_json(i: usize) -> Option<Value> {
    (i != 0).then(|| serde_json::from_str(VARS[i].0).unwrap())
}

struct ArgVars<'a>(Option<&'a str>, Option<&'a str>);

impl Vars for ArgVars<'_> {
    fn var(&self, name: &str) -> Option<Var<'_>> {
        let v = match name {
            "arg_a" => self.0,
            "arg_b" => self.1,
            _ => None,
        };
        v.map(|s| Var::Str(s.as_bytes()))
    }
}

// ---------------------------------------------------------------- the reference

mod model;
use model::{Hit, Model};

// ---------------------------------------------------------------- requests

/// A request with its path made concrete.
#[derive(Debug)]
struct Concrete {
    path: Vec<u8>,
    host: Option<&'static str>,
    http_host: Option<String>,
    method: Option<&'static str>,
    addr: Option<IpAddr>,
    arg_a: Option<&'static str>,
    arg_b: Option<&'static str>,
    deny: u8,
}

/// Fills in `pattern` with values picked by `seed`, then maybe spoils it.
fn instance(pattern: &str, mut seed: u32) -> Vec<u8> {
    let mut pick = |n: usize| {
        let i = seed as usize % n;
        seed = (seed / n as u32) ^ seed.rotate_left(7);
        i
    };
    let segs: Vec<&str> = pattern.split('/').collect();
    let mut out = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        if seg.starts_with(':') || (seg.starts_with('{') && seg.ends_with('}')) {
            out.extend(VALUES[pick(VALUES.len())].chars());
        } else if seg.starts_with('*') {
            out.extend(RESTS[pick(RESTS.len())].chars());
        } else if let Some(lit) = seg.strip_suffix('*') {
            out.extend(lit.chars());
            out.extend(RESTS[pick(RESTS.len())].chars());
        } else {
            out.extend(seg.chars());
        }
    }
    let mut path: String = out.into_iter().collect();
    match pick(10) {
        6 => {
            path.pop();
        }
        7 => path.push('/'),
        8 => path.push('b'),
        9 => path.insert(0, '/'),
        _ => {}
    }
    path.into_bytes()
}

fn concrete(q: &Rq, patterns: &[String]) -> Concrete {
    let path = match &q.path {
        PathGen::Instance(i, seed) if !patterns.is_empty() => {
            instance(&patterns[i % patterns.len()], *seed)
        }
        PathGen::Instance(_, seed) => instance("/a/:x", *seed),
        PathGen::Raw(segs, end) => {
            let mut p: String = segs.iter().map(|s| format!("/{s}")).collect();
            match end {
                1 => p.push('/'),
                2 => p.push('x'),
                3 if p.is_empty() => p.push('/'),
                _ => {}
            }
            p.into_bytes()
        }
    };
    let http_host = match q.http_host {
        1 => q.host.map(|h| format!("{h}:8080")),
        2 => q.host.map(|h| format!("{h}:9")),
        3 => Some("a.com:8080".to_string()),
        _ => None,
    };
    Concrete {
        path,
        host: q.host,
        http_host,
        method: q.method,
        addr: q.addr.map(|a| a.parse().unwrap()),
        arg_a: q.arg_a,
        arg_b: q.arg_b,
        deny: q.deny,
    }
}

fn router_find(r: &Router<usize>, q: &Concrete) -> Hit {
    let mut req = Request::new(&q.path[..]);
    if let Some(h) = q.host {
        req = req.host(h);
    }
    if let Some(h) = &q.http_host {
        req = req.http_host(h.as_str());
    }
    if let Some(m) = q.method {
        req = req.method(m);
    }
    if let Some(a) = q.addr {
        req = req.remote_addr(a);
    }
    let vars = ArgVars(q.arg_a, q.arg_b);
    let deny = q.deny;
    let m = r.find_with(&req, &vars, &mut |v: &usize| deny & (1 << (v % 8)) == 0)?;
    let params = m
        .params
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_vec()))
        .collect();
    Some((m.id.to_string(), m.pattern.to_string(), params))
}

fn to_route(k: usize, spec: &Spec) -> Route<usize> {
    let mut r = Route::new(format!("r{k}"), k).priority(spec.priority);
    r.paths = spec.paths.clone();
    r.hosts = spec.hosts.iter().map(|h| h.to_string()).collect();
    r.methods = spec.methods.iter().map(|m| m.to_string()).collect();
    r.remote_addrs = spec.addr.iter().map(|a| a.to_string()).collect();
    r.vars = vars_json(spec.vars);
    r.filter = spec.filter;
    r
}

fn all_patterns(model: &Model) -> Vec<String> {
    model
        .routes
        .iter()
        .flat_map(|r| r.spec.paths.iter().cloned())
        .collect()
}

fn compare(router: &Router<usize>, model: &Model, reqs: &[Rq]) -> Result<(), TestCaseError> {
    let patterns = all_patterns(model);
    for q in reqs {
        let c = concrete(q, &patterns);
        let want = model.find(&c);
        let got = router_find(router, &c);
        prop_assert_eq!(
            &got,
            &want,
            "request {:?} (path {:?})",
            c,
            String::from_utf8_lossy(&c.path)
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- properties

/// `cases` cases, or `PROPTEST_CASES` when set (for long local runs).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn router_agrees_with_reference(
        specs in prop::collection::vec(spec(), 1..12),
        reqs in prop::collection::vec(rq(), 1..24),
        no_param_match in prop::bool::weighted(0.1),
    ) {
        let opts = Options {
            no_param_match,
            ..Options::default()
        };
        let mut router = Router::new(opts);
        let mut model = Model::new(no_param_match);
        for (k, s) in specs.iter().enumerate() {
            let ok = router.insert(to_route(k, s)).is_ok();
            prop_assert_eq!(ok, model.insert(format!("r{k}"), k, s.clone()), "insert {:?}", s);
        }
        prop_assert_eq!(router.len(), model.routes.len());
        compare(&router, &model, &reqs)?;
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert(usize, Spec),
    Update(usize, Spec),
    Upsert(usize, Spec),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let k = || 0..6usize;
    prop_oneof![
        3 => (k(), spec()).prop_map(|(k, s)| Op::Insert(k, s)),
        2 => (k(), spec()).prop_map(|(k, s)| Op::Update(k, s)),
        1 => (k(), spec()).prop_map(|(k, s)| Op::Upsert(k, s)),
        2 => k().prop_map(Op::Remove),
    ]
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn live_changes_agree_with_reference(
        ops in prop::collection::vec(op(), 1..24),
        reqs in prop::collection::vec(rq(), 1..10),
    ) {
        let mut router = Router::new(Options::default());
        let mut model = Model::default();
        for op in &ops {
            let (ok, want) = apply(&mut router, &mut model, op);
            prop_assert_eq!(ok, want, "{:?}", op);
            prop_assert_eq!(router.len(), model.routes.len());
            compare(&router, &model, &reqs)?;
        }
    }

    /// A clone shares the router's tables until one of the two changes;
    /// then each goes its own way and matches as its own reference does.
    /// Filler routes spread the tables over many chunks and shards.
    #[test]
    fn clones_agree_with_reference(
        fill in 0..200usize,
        before in prop::collection::vec(op(), 0..12),
        clone_ops in prop::collection::vec(op(), 1..12),
        source_ops in prop::collection::vec(op(), 0..12),
        reqs in prop::collection::vec(rq(), 1..10),
    ) {
        let mut router = Router::new(Options::default());
        let mut model = Model::default();
        for i in 0..fill {
            let spec = filler(i);
            let k = 100 + i;
            prop_assert!(router.insert(to_route(k, &spec)).is_ok());
            model.insert(format!("r{k}"), k, spec);
        }
        for op in &before {
            apply(&mut router, &mut model, op);
        }
        let mut copy = router.clone();
        let mut copy_model = model.clone();
        for op in &clone_ops {
            let (ok, want) = apply(&mut copy, &mut copy_model, op);
            prop_assert_eq!(ok, want, "clone: {:?}", op);
        }
        for op in &source_ops {
            let (ok, want) = apply(&mut router, &mut model, op);
            prop_assert_eq!(ok, want, "source: {:?}", op);
        }
        prop_assert_eq!(copy.len(), copy_model.routes.len());
        prop_assert_eq!(router.len(), model.routes.len());
        compare(&copy, &copy_model, &reqs)?;
        compare(&router, &model, &reqs)?;
    }
}

/// Filler route `i`: an exact path, a param or a catch-all under its own
/// prefix, on no condition.
fn filler(i: usize) -> Spec {
    let path = match i % 3 {
        0 => format!("/fill/{i}"),
        1 => format!("/fill/{i}/:x"),
        _ => format!("/fill{i}/*"),
    };
    Spec {
        paths: vec![path],
        hosts: Vec::new(),
        methods: Vec::new(),
        addr: None,
        vars: 0,
        priority: 0,
        filter: false,
    }
}

/// Applies `op` to `router` and `model`: whether each took it.
fn apply(router: &mut Router<usize>, model: &mut Model, op: &Op) -> (bool, bool) {
    match op {
        Op::Insert(k, s) => (
            router.insert(to_route(*k, s)).is_ok(),
            model.insert(format!("r{k}"), *k, s.clone()),
        ),
        Op::Update(k, s) => (
            router.update(to_route(*k, s)).is_ok(),
            model.update(format!("r{k}"), *k, s.clone()),
        ),
        Op::Upsert(k, s) => {
            let id = format!("r{k}");
            let want = if model.position(&id).is_some() {
                model.update(id, *k, s.clone())
            } else {
                model.insert(id, *k, s.clone())
            };
            (router.upsert(to_route(*k, s)).is_ok(), want)
        }
        Op::Remove(k) => (
            router.remove(&format!("r{k}")).is_ok(),
            model.remove(&format!("r{k}")),
        ),
    }
}

proptest! {
    #![proptest_config(config(96))]

    /// A router kept in step with another by adopting its routes (as the
    /// gateway's spare snapshot is) matches as the reference does, whether
    /// it follows each change at once or catches up on several.
    #[test]
    fn adopted_routes_agree_with_reference(
        ops in prop::collection::vec(op(), 1..24),
        reqs in prop::collection::vec(rq(), 1..10),
        catch_up_every in 1..4usize,
    ) {
        let mut source = Router::new(Options::default());
        let mut follower = Router::new(Options::default());
        let mut model = Model::default();
        let mut behind = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            let k = match op {
                Op::Insert(k, s) => {
                    model.insert(format!("r{k}"), *k, s.clone());
                    source.insert(to_route(*k, s)).is_ok().then_some(*k)
                }
                Op::Update(k, s) => {
                    model.update(format!("r{k}"), *k, s.clone());
                    source.update(to_route(*k, s)).is_ok().then_some(*k)
                }
                Op::Upsert(k, s) => {
                    let id = format!("r{k}");
                    if model.position(&id).is_some() {
                        model.update(id, *k, s.clone());
                    } else {
                        model.insert(id, *k, s.clone());
                    }
                    source.upsert(to_route(*k, s)).is_ok().then_some(*k)
                }
                Op::Remove(k) => {
                    model.remove(&format!("r{k}"));
                    source.remove(&format!("r{k}")).is_ok().then_some(*k)
                }
            };
            behind.extend(k);
            if (n + 1) % catch_up_every != 0 && n + 1 != ops.len() {
                continue;
            }
            // The follower takes each changed route as the source has it now.
            for k in behind.drain(..) {
                let id = format!("r{k}");
                let adopted = follower.adopt(&source, &id);
                if source.get(&id).is_some() {
                    prop_assert!(adopted.is_ok(), "adopt {}: {:?}", id, adopted);
                } else {
                    prop_assert!(adopted.is_err());
                    let _ = follower.remove(&id);
                }
            }
            prop_assert_eq!(follower.len(), model.routes.len());
            compare(&follower, &model, &reqs)?;
        }
    }
}
