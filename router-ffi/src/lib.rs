//! A compressed radix-tree HTTP router with host, method, client address
//! and `vars` conditions: the router of radixgate, a C library
//! (`include/radix_router.h`) and, through LuaJIT FFI, a drop-in for
//! OpenResty's `resty.radixtree`.
//!
//! # Paths
//!
//! | pattern | matches |
//! |---|---|
//! | `/a/b` | exactly `/a/b` |
//! | `/a/*`, `/aa*`, `*` | everything starting with the text before `*` (`/aa*` matches `/aa`, `/aa/bb`); the rest is the param `:ext` |
//! | `/user/:name` | one non-empty segment |
//! | `/user/{id:[0-9]+}` | one segment matching the regex in full |
//! | `/user/:id/*action` | the named rest of the path (may be empty, may hold `/`) |
//! | `/a/*/b` | a `*` in the middle: any run of bytes, `/` included |
//!
//! A pattern without a param is text: `/foo:bar` and `/v1.0` are exact. A
//! pattern with one is matched as lua-resty-radixtree (APISIX's router)
//! matches it: a regex built from its segments, whose text keeps its regex
//! meaning (`/nodes/?` takes `/nodes` too). Only the patterns whose text
//! holds a regex metacharacter, or with a `*` in the middle, run a regex;
//! the tree reads every other one as that regex would. See
//! [`Options::tolerant`] for regexes that do not compile.
//!
//! # Order
//!
//! Exact paths first; then prefix and param routes, the longest literal
//! prefix (the text before the first param or `*`) first; among routes with
//! the same literal prefix, higher `priority` first, then the longer
//! pattern, then the one added first. The first candidate whose method,
//! client address, host, `vars` and filter all hold wins; when one fails the
//! next is tried.
//!
//! ```text
//! root ── "/foo" ── "/" ─┬─ "bar"        (exact routes live in a hash map)
//!                        ├─ :param ── "/" ── *catch-all
//!                        └─ *catch-all    ← group "/foo/", tried before group "/"
//! ```
//!
//! ```
//! use radix_router::{Request, Route, Router};
//!
//! let mut r = Router::default();
//! r.insert(Route::new("any", 1).path("/*").priority(100)).unwrap();
//! r.insert(Route::new("foo", 2).path("/foo/*")).unwrap();
//! r.insert(Route::new("user", 3).path("/foo/:user")).unwrap();
//! r.insert(Route::new("exact", 4).path("/foo/bar")).unwrap();
//!
//! // Exact beats everything.
//! assert_eq!(r.find(&Request::new("/foo/bar")).unwrap().value, &4);
//! // Same literal prefix "/foo/": the longer pattern wins.
//! let m = r.find(&Request::new("/foo/ann")).unwrap();
//! assert_eq!((m.value, m.params.get("user")), (&3, Some(&b"ann"[..])));
//! // A deeper literal prefix beats a higher priority elsewhere.
//! assert_eq!(r.find(&Request::new("/foo/a/b")).unwrap().value, &2);
//! assert_eq!(r.find(&Request::new("/other")).unwrap().value, &1);
//! ```

mod addr;
mod children;
mod cow;
mod error;
mod expr;
// The C ABI (`include/radix_router.h`): the C library's implementation,
// not part of the Rust API.
#[doc(hidden)]
pub mod ffi;
mod host;
mod label;
mod method;
mod path_regex;
mod pattern;
mod record;
mod router;
mod slot;
mod tree;
mod vars;

pub use addr::AddrRule;
pub use cow::CowVec;
pub use error::{Field, RouteError, Tolerated};
pub use expr::{Expr, Flaw};
pub use host::HostPattern;
pub use method::{method_bit, METHODS};
pub use pattern::{Pattern, Token, ANONYMOUS_CATCH_ALL, MAX_PARAMS};
pub use router::{Match, MatchedHost, Options, Params, Router};
pub use vars::{NoVars, Var, Vars};

use std::net::IpAddr;

/// A route as given to [`Router::insert`]: every field is checked there.
#[derive(Debug, Clone)]
pub struct Route<T> {
    /// Key for update and remove; unique in a router.
    pub id: String,
    /// Path patterns (at least one).
    pub paths: Vec<String>,
    /// Host patterns: `foo.com`, `*.foo.com`, `*`, `foo.com:8080`; empty = any.
    pub hosts: Vec<String>,
    /// Method names (upper case); empty = any.
    pub methods: Vec<String>,
    /// Client addresses or CIDRs; empty = any.
    pub remote_addrs: Vec<String>,
    /// A `vars` expression in its JSON form.
    pub vars: Option<serde_json::Value>,
    /// Order among routes with the same literal prefix (higher first).
    pub priority: i32,
    /// Ask the caller's filter before accepting this route.
    pub filter: bool,
    /// This route's own `no_param_match` ([`Options::no_param_match`]),
    /// when it differs from the router's.
    pub no_param_match: Option<bool>,
    /// What a match returns.
    pub value: T,
}

impl<T> Route<T> {
    /// A route with no path yet and no conditions.
    pub fn new(id: impl Into<String>, value: T) -> Self {
        Route {
            id: id.into(),
            paths: Vec::new(),
            hosts: Vec::new(),
            methods: Vec::new(),
            remote_addrs: Vec::new(),
            vars: None,
            priority: 0,
            filter: false,
            no_param_match: None,
            value,
        }
    }

    /// Adds a path pattern.
    pub fn path(mut self, p: impl Into<String>) -> Self {
        self.paths.push(p.into());
        self
    }

    /// Adds a host pattern.
    pub fn host(mut self, h: impl Into<String>) -> Self {
        self.hosts.push(h.into());
        self
    }

    /// Adds a method.
    pub fn method(mut self, m: impl Into<String>) -> Self {
        self.methods.push(m.into());
        self
    }

    /// Adds a client address or CIDR.
    pub fn remote_addr(mut self, a: impl Into<String>) -> Self {
        self.remote_addrs.push(a.into());
        self
    }

    /// Sets the `vars` expression.
    pub fn vars(mut self, v: serde_json::Value) -> Self {
        self.vars = Some(v);
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, p: i32) -> Self {
        self.priority = p;
        self
    }

    /// Marks the route as needing the caller's filter.
    pub fn filter(mut self, on: bool) -> Self {
        self.filter = on;
        self
    }

    /// Reads this route's `:` and `{` as text (`true`) or params (`false`),
    /// whatever the router's [`Options::no_param_match`].
    pub fn no_param_match(mut self, on: bool) -> Self {
        self.no_param_match = Some(on);
        self
    }
}

/// What a lookup knows of the request. Only `path` is required.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// The path (no query string). Any bytes are safe.
    pub path: &'a [u8],
    /// The host without port (nginx's `$host`). Compared case-insensitively.
    pub host: Option<&'a [u8]>,
    /// The raw `Host` header (nginx's `$http_host`), for `host:port` patterns.
    pub http_host: Option<&'a [u8]>,
    /// The method, upper case.
    pub method: Option<&'a [u8]>,
    /// The client address.
    pub remote_addr: Option<IpAddr>,
}

impl<'a> Request<'a> {
    /// A request with only a path.
    pub fn new(path: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        Request {
            path: path.as_ref(),
            ..Request::default()
        }
    }

    /// Sets the host (without port).
    pub fn host(mut self, h: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        self.host = Some(h.as_ref());
        self
    }

    /// Sets the raw `Host` header.
    pub fn http_host(mut self, h: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        self.http_host = Some(h.as_ref());
        self
    }

    /// Sets the method.
    pub fn method(mut self, m: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        self.method = Some(m.as_ref());
        self
    }

    /// Sets the client address.
    pub fn remote_addr(mut self, ip: IpAddr) -> Self {
        self.remote_addr = Some(ip);
        self
    }
}
