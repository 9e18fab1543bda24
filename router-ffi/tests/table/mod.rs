//! Helpers shared by the table-driven matching tests (`match_table.rs`,
//! `match_order.rs`): a request row type, lookups that report the route id
//! and params, and shuffled insertion.

#![allow(dead_code)]

use radix_router::{Options, Request, Route, Router, Vars};
use std::collections::HashMap;
use std::net::IpAddr;

pub type R = Route<&'static str>;

pub fn route(id: &'static str, path: &str) -> R {
    Route::new(id, id).path(path)
}

/// One request of a table row, with its vars and the ids the filter refuses.
#[derive(Clone, Default)]
pub struct Req {
    pub path: Vec<u8>,
    pub host: Option<Vec<u8>>,
    pub http_host: Option<Vec<u8>>,
    pub method: Option<&'static str>,
    pub addr: Option<IpAddr>,
    pub vars: Vec<(&'static str, &'static str)>,
    pub deny: Vec<&'static str>,
}

pub fn get(path: impl AsRef<[u8]>) -> Req {
    Req {
        path: path.as_ref().to_vec(),
        ..Req::default()
    }
}

impl Req {
    pub fn host(mut self, h: impl AsRef<[u8]>) -> Self {
        self.host = Some(h.as_ref().to_vec());
        self
    }
    pub fn http_host(mut self, h: &str) -> Self {
        self.http_host = Some(h.as_bytes().to_vec());
        self
    }
    pub fn method(mut self, m: &'static str) -> Self {
        self.method = Some(m);
        self
    }
    pub fn addr(mut self, a: &str) -> Self {
        self.addr = Some(a.parse().unwrap());
        self
    }
    pub fn var(mut self, k: &'static str, v: &'static str) -> Self {
        self.vars.push((k, v));
        self
    }
    pub fn deny(mut self, id: &'static str) -> Self {
        self.deny.push(id);
        self
    }
}

pub struct MapVars(pub HashMap<&'static str, &'static str>);

impl Vars for MapVars {
    fn var(&self, name: &str) -> Option<radix_router::Var<'_>> {
        self.0.var(name)
    }
}

pub type Found = Option<(String, Vec<(String, Vec<u8>)>)>;

pub fn lookup(r: &Router<&'static str>, q: &Req) -> Found {
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
pub type Row = (
    Req,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
);

pub fn describe(q: &Req) -> String {
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

pub fn check_rows(r: &Router<&'static str>, rows: &[Row], context: &str) {
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
pub fn shuffle<T>(items: &mut [T], seed: u64) {
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
pub fn check_shuffled(routes: &[R], rows: &[Row]) {
    check_shuffled_with(Options::default(), routes, rows)
}

pub fn check_shuffled_with(opts: Options, routes: &[R], rows: &[Row]) {
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

pub fn build(routes: Vec<R>) -> Router<&'static str> {
    Router::build(routes, Options::default()).unwrap()
}
