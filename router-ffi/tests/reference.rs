//! Property tests against a naive reference matcher.
//!
//! The reference implements `/work/shared/design/ROUTER.md` literally: it
//! turns each path pattern into a regex (as lua-resty-radixtree does, but
//! with literal text escaped), keeps every route in a plain list, and for a
//! request sorts all the path entries that match:
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
//! Decisions where ROUTER.md leaves room (following lua-resty-radixtree):
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
    "a", "b", "ab", "aab", "1", "12", "x", "", "a:b", "a*b", "x{y}",
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
                // Refused by both: a catch-all that is not the last segment.
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

/// One path pattern, compiled by the reference.
#[derive(Debug)]
struct RefPath {
    text: String,
    regex: Regex,
    /// Param names with the regex each value must match in full, if any.
    params: Vec<(String, Option<Regex>)>,
    exact: bool,
    literal_prefix: usize,
}

fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\x{b:02x}")).collect()
}

/// ROUTER.md's path grammar, segment by segment; `None` when refused.
fn compile_path(text: &str, no_param_match: bool) -> Option<RefPath> {
    if text.is_empty() {
        return None;
    }
    let segs: Vec<&str> = text.split('/').collect();
    let mut pieces = Vec::new();
    let mut params = Vec::new();
    let mut literal_prefix: Option<usize> = None;
    let mut offset = 0;
    for (i, seg) in segs.iter().enumerate() {
        let last = i == segs.len() - 1;
        let braced = seg
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .and_then(|s| s.split_once(':'));
        let dynamic_at = if !no_param_match && seg.starts_with(':') {
            let name = &seg[1..];
            if name.is_empty() {
                return None;
            }
            params.push((name.to_string(), None));
            pieces.push("([^/]+)".to_string());
            Some(offset)
        } else if let (false, Some((name, re))) = (no_param_match, braced) {
            if name.is_empty() {
                return None;
            }
            params.push((
                name.to_string(),
                Some(Regex::new(&format!("^(?:{re})$")).ok()?),
            ));
            pieces.push("([^/]+)".to_string());
            Some(offset)
        } else if let Some(name) = seg.strip_prefix('*') {
            if !last {
                return None;
            }
            let name = if name.is_empty() { ":ext" } else { name };
            params.push((name.to_string(), None));
            pieces.push("(.*)".to_string());
            Some(offset)
        } else if let (true, Some(lit)) = (last, seg.strip_suffix('*')) {
            params.push((":ext".to_string(), None));
            pieces.push(format!("{}(.*)", escape(lit.as_bytes())));
            Some(offset + lit.len())
        } else {
            pieces.push(escape(seg.as_bytes()));
            None
        };
        if literal_prefix.is_none() {
            literal_prefix = dynamic_at;
        }
        offset += seg.len() + 1;
    }
    let regex = Regex::new(&format!("(?s-u)^{}$", pieces.join("/"))).unwrap();
    Some(RefPath {
        text: text.to_string(),
        regex,
        exact: params.is_empty(),
        params,
        literal_prefix: literal_prefix.unwrap_or(text.len()),
    })
}

impl RefPath {
    fn matches(&self, path: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
        let caps = self.regex.captures(path)?;
        let mut out = Vec::new();
        for (i, (name, re)) in self.params.iter().enumerate() {
            let v = caps.get(i + 1).unwrap().as_bytes();
            if re.as_ref().is_some_and(|re| !re.is_match(v)) {
                return None;
            }
            out.push((name.clone(), v.to_vec()));
        }
        Some(out)
    }
}

struct RefRoute {
    id: String,
    value: usize,
    spec: Spec,
    paths: Vec<RefPath>,
    /// Insertion number of each path.
    seqs: Vec<u64>,
}

#[derive(Default)]
struct Model {
    no_param_match: bool,
    routes: Vec<RefRoute>,
    seq: u64,
}

/// What a lookup returns: route id, the pattern that matched, params.
type Hit = Option<(String, String, Vec<(String, Vec<u8>)>)>;

fn addr_rule_holds(rule: &str, ip: IpAddr) -> bool {
    match (rule, ip) {
        ("10.0.0.0/8", IpAddr::V4(v4)) => v4.octets()[0] == 10,
        ("0.0.0.0/0", IpAddr::V4(_)) => true,
        ("::1", IpAddr::V6(v6)) => v6 == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    }
}

fn host_holds(pattern: &str, host: Option<&str>, http_host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let pattern = pattern.to_ascii_lowercase();
    let target = if pattern.contains(':') {
        http_host.unwrap_or(host)
    } else {
        host
    }
    .to_ascii_lowercase();
    match pattern.strip_prefix('*') {
        Some(suffix) => target.ends_with(suffix),
        None => target == pattern,
    }
}

impl Model {
    fn compile(&self, spec: &Spec) -> Option<Vec<RefPath>> {
        spec.paths
            .iter()
            .map(|p| compile_path(p, self.no_param_match))
            .collect()
    }

    fn place(&mut self, id: String, value: usize, spec: Spec, paths: Vec<RefPath>) {
        let seqs = paths
            .iter()
            .map(|_| {
                self.seq += 1;
                self.seq
            })
            .collect();
        self.routes.push(RefRoute {
            id,
            value,
            spec,
            paths,
            seqs,
        });
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.routes.iter().position(|r| r.id == id)
    }

    fn insert(&mut self, id: String, value: usize, spec: Spec) -> bool {
        if self.position(&id).is_some() {
            return false;
        }
        let Some(paths) = self.compile(&spec) else {
            return false;
        };
        self.place(id, value, spec, paths);
        true
    }

    fn update(&mut self, id: String, value: usize, spec: Spec) -> bool {
        let Some(at) = self.position(&id) else {
            return false;
        };
        let Some(paths) = self.compile(&spec) else {
            return false;
        };
        self.routes.remove(at);
        self.place(id, value, spec, paths);
        true
    }

    fn remove(&mut self, id: &str) -> bool {
        match self.position(id) {
            Some(at) => {
                self.routes.remove(at);
                true
            }
            None => false,
        }
    }

    fn find(&self, q: &Concrete) -> Hit {
        // (sort key, route, path, params) of every path that matches.
        let mut cands = Vec::new();
        for r in &self.routes {
            for (pi, p) in r.paths.iter().enumerate() {
                if let Some(params) = p.matches(&q.path) {
                    let key = (
                        !p.exact,
                        if p.exact {
                            0
                        } else {
                            usize::MAX - p.literal_prefix
                        },
                        -r.spec.priority,
                        usize::MAX - p.text.len(),
                        r.seqs[pi],
                    );
                    cands.push((key, r, p, params));
                }
            }
        }
        cands.sort_by_key(|c| c.0);
        cands
            .into_iter()
            .find(|(_, r, _, _)| self.conditions_hold(r, q))
            .map(|(_, r, p, params)| (r.id.clone(), p.text.clone(), params))
    }

    fn conditions_hold(&self, r: &RefRoute, q: &Concrete) -> bool {
        let s = &r.spec;
        if !s.methods.is_empty() && !q.method.is_some_and(|m| s.methods.contains(&m)) {
            return false;
        }
        if let Some(rule) = s.addr {
            if !q.addr.is_some_and(|ip| addr_rule_holds(rule, ip)) {
                return false;
            }
        }
        if !s.hosts.is_empty()
            && !s
                .hosts
                .iter()
                .any(|h| host_holds(h, q.host, q.http_host.as_deref()))
        {
            return false;
        }
        if !(VARS[s.vars].1)(q.arg_a, q.arg_b) {
            return false;
        }
        !s.filter || q.deny & (1 << (r.value % 8)) == 0
    }
}

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
        let opts = Options { no_param_match };
        let mut router = Router::new(opts);
        let mut model = Model { no_param_match, ..Model::default() };
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
            let (ok, want) = match op {
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
            };
            prop_assert_eq!(ok, want, "{:?}", op);
            prop_assert_eq!(router.len(), model.routes.len());
            compare(&router, &model, &reqs)?;
        }
    }
}

/// The reference itself, on ROUTER.md's examples (so that agreement means something).
#[test]
fn reference_follows_router_md() {
    let mut m = Model::default();
    let spec = |p: &str, prio: i32| Spec {
        paths: vec![p.to_string()],
        hosts: vec![],
        methods: vec![],
        addr: None,
        vars: 0,
        priority: prio,
        filter: false,
    };
    for (k, (p, prio)) in [("/*", 100), ("/foo/*", 0), ("/aa*", 0), ("/bar/*", 0)]
        .into_iter()
        .enumerate()
    {
        assert!(m.insert(format!("r{k}"), k, spec(p, prio)));
    }
    let find = |m: &Model, path: &str| {
        let q = Rq {
            path: PathGen::Raw(vec![], 0),
            host: None,
            http_host: 0,
            method: None,
            addr: None,
            arg_a: None,
            arg_b: None,
            deny: 0,
        };
        let mut c = concrete(&q, &[]);
        c.path = path.as_bytes().to_vec();
        m.find(&c).map(|h| (h.0, h.2))
    };
    let ext = |id: &str, v: &str| Some((id.to_string(), vec![(":ext".into(), v.into())]));
    assert_eq!(find(&m, "/foo/bar"), ext("r1", "bar"));
    assert_eq!(find(&m, "/aa"), ext("r2", ""));
    assert_eq!(find(&m, "/aa/bb"), ext("r2", "/bb"));
    assert_eq!(find(&m, "/bar"), ext("r0", "bar"));
    assert!(compile_path("/a/*/b", false).is_none());
    let p = compile_path("/:id/v1.0", false).unwrap();
    assert!(p.matches(b"/5/v1.0").is_some() && p.matches(b"/5/v1X0").is_none());
    assert!(compile_path("/foo:bar", false).unwrap().exact);
    assert!(host_holds("*.foo.com", Some("a.b.foo.com"), None));
    assert!(!host_holds("*.foo.com", Some("foo.com"), None));
    assert!(host_holds(
        "foo.com:8080",
        Some("foo.com"),
        Some("foo.com:8080")
    ));
    assert!(!host_holds("foo.com:8080", None, Some("foo.com:8080")));
}
