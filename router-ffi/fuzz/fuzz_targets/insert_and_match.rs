//! Arbitrary routes (patterns, hosts, methods, addresses, vars) are inserted,
//! updated and removed, then arbitrary requests are matched: nothing may
//! panic, and every match must be a route the router holds, with params that
//! are slices of the request path. Model: matchit's `fuzz/fuzz_targets/insert_and_match.rs`.
//!
//! Run with `cargo +nightly fuzz run insert_and_match` from `router-ffi/`.
//! Without nightly (no sanitizers), from `router-ffi/fuzz/`:
//!
//! ```text
//! RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
//!   -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
//!   -Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks" \
//!   cargo build --release --bin insert_and_match --target x86_64-unknown-linux-gnu
//! mkdir -p corpus/insert_and_match
//! target/x86_64-unknown-linux-gnu/release/insert_and_match corpus/insert_and_match -max_total_time=300
//! ```

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use radix_router::{Options, Request, Route, Router, Var, Vars};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Arbitrary, Debug)]
struct Input {
    no_param_match: bool,
    tolerant: bool,
    changes: Vec<Change>,
    requests: Vec<Req>,
}

#[derive(Arbitrary, Debug)]
enum Change {
    Insert(RouteIn),
    Update(RouteIn),
    Upsert(RouteIn),
    Remove(u8),
}

#[derive(Arbitrary, Debug)]
struct RouteIn {
    id: u8,
    paths: Vec<String>,
    hosts: Vec<String>,
    methods: Vec<String>,
    remote_addrs: Vec<String>,
    /// JSON text of a `vars` expression.
    vars: Option<String>,
    priority: i32,
    filter: bool,
}

#[derive(Arbitrary, Debug)]
struct Req {
    path: Vec<u8>,
    host: Option<Vec<u8>>,
    http_host: Option<Vec<u8>>,
    method: Option<Vec<u8>>,
    addr: Option<Addr>,
    vars: Vec<(String, Vec<u8>)>,
    filter_accepts: bool,
}

#[derive(Arbitrary, Debug)]
enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
}

struct ReqVars<'a>(&'a [(String, Vec<u8>)]);

impl Vars for ReqVars<'_> {
    fn var(&self, name: &str) -> Option<Var<'_>> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| Var::Str(v))
    }
}

fn route(r: RouteIn) -> Route<u8> {
    let mut route = Route::new(r.id.to_string(), r.id)
        .priority(r.priority)
        .filter(r.filter);
    route.paths = r.paths;
    route.hosts = r.hosts;
    route.methods = r.methods;
    route.remote_addrs = r.remote_addrs;
    route.vars = r.vars.and_then(|v| serde_json::from_str(&v).ok());
    route
}

fuzz_target!(|input: Input| {
    let mut router = Router::new(Options {
        no_param_match: input.no_param_match,
        tolerant: input.tolerant,
    });
    for change in input.changes {
        // Refusals are fine; a refused change must leave the count alone.
        let before = router.len();
        let refused = match change {
            Change::Insert(r) => router.insert(route(r)).is_err(),
            Change::Update(r) => router.update(route(r)).is_err(),
            Change::Upsert(r) => router.upsert(route(r)).is_err(),
            Change::Remove(id) => router.remove(&id.to_string()).is_err(),
        };
        if refused {
            assert_eq!(router.len(), before);
        }
    }
    for q in &input.requests {
        let mut req = Request::new(&q.path[..]);
        if let Some(h) = &q.host {
            req = req.host(&h[..]);
        }
        if let Some(h) = &q.http_host {
            req = req.http_host(&h[..]);
        }
        if let Some(m) = &q.method {
            req = req.method(&m[..]);
        }
        req.remote_addr = q.addr.as_ref().map(|a| match a {
            Addr::V4(b) => IpAddr::V4(Ipv4Addr::from(*b)),
            Addr::V6(b) => IpAddr::V6(Ipv6Addr::from(*b)),
        });
        let vars = ReqVars(&q.vars);
        let accepts = q.filter_accepts;
        if let Some(m) = router.find_with(&req, &vars, &mut |_| accepts) {
            assert_eq!(router.get(m.id), Some(m.value));
            for i in 0..m.params.len() {
                let (_, range) = m.params.range(i).unwrap();
                assert!(range.start <= range.end && range.end <= q.path.len());
            }
        }
        let _ = router.find(&req);
    }
});
