//! Matching: the request and match structs, the vars and filter callbacks,
//! and `rr_router_match` / `rr_router_match_with`. Nothing here allocates.

use super::handle::{borrow, bytes, c_ptr, optional_bytes, write_out};
use super::panic::{ffi_panic_boundary, try_some};
use super::result::rr_result;
use super::router::rr_router;
use crate::{Match, MatchedHost, NoVars, Request, Var, Vars};
use std::ffi::{c_int, c_void};
use std::net::IpAddr;

/// The most params a match reports (a path pattern can't hold more).
pub const RR_MAX_PARAMS: usize = 16;

const _: () = assert!(RR_MAX_PARAMS == crate::MAX_PARAMS);

/// A request to match. Every buffer is `(pointer, length)` and borrowed for
/// the call only; nothing needs NUL. Only `path` is required: the others
/// may be `(NULL, 0)` for none.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rr_request {
    /// The path, without query string. Required (not NULL).
    pub path: *const u8,
    pub path_len: usize,
    /// The host without port (nginx `$host`); NULL = none.
    pub host: *const u8,
    pub host_len: usize,
    /// The raw Host header (nginx `$http_host`), for `host:port` routes; NULL = none.
    pub http_host: *const u8,
    pub http_host_len: usize,
    /// The method (upper case); NULL = none.
    pub method: *const u8,
    pub method_len: usize,
    /// The client address as text (`1.2.3.4`, `::1`); NULL or unparsable = none.
    pub remote_addr: *const u8,
    pub remote_addr_len: usize,
}

/// One param of a match: its name (borrowed from the router) and its value
/// as the byte range `[start, end)` of the request path.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rr_param {
    pub name: *const u8,
    pub name_len: usize,
    pub start: usize,
    pub end: usize,
}

/// Which host of the route admitted the request.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rr_host_kind {
    /// The route lists no hosts.
    RR_HOST_UNRESTRICTED = 0,
    /// The route lists the request's host.
    RR_HOST_REQUEST = 1,
    /// A wildcard of the route: report `*` followed by `host_suffix`.
    RR_HOST_WILDCARD = 2,
}

/// What a match reports. Pointers are never NULL and are borrowed from the
/// router: valid until the router changes or is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rr_match {
    /// The route's value.
    pub value: u64,
    /// The route's id.
    pub id: *const u8,
    pub id_len: usize,
    /// The path pattern that matched, as written (lua `_path`).
    pub pattern: *const u8,
    pub pattern_len: usize,
    /// Which host admitted the request.
    pub host_kind: rr_host_kind,
    /// For `RR_HOST_WILDCARD`: the text after `*` (`.foo.com`; empty for a
    /// bare `*`). Empty otherwise.
    pub host_suffix: *const u8,
    pub host_suffix_len: usize,
    /// How many entries of `params` are set, in pattern order.
    pub param_count: usize,
    pub params: [rr_param; RR_MAX_PARAMS],
}

/// Looks up the request variable `(name, name_len)` (`arg_id`,
/// `http_x_user`, ...) for a vars expression. Returns 1 and sets `*value`,
/// `*value_len` when it exists (the bytes must stay valid until the match
/// call returns), 0 when it does not. Called on the matching thread, only
/// for routes with vars, only during the match call; it must not change
/// the router.
pub type rr_var_fn = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        name: *const u8,
        name_len: usize,
        value: *mut *const u8,
        value_len: *mut usize,
    ) -> c_int,
>;

/// Asked, on the matching thread, whether the route with `value` (added
/// with `rr_route_set_filter(route, true)`) may match; true accepts. It
/// must not change the router.
pub type rr_filter_fn = Option<unsafe extern "C" fn(ctx: *mut c_void, value: u64) -> bool>;

/// The caller's vars callback as the router's `Vars`.
struct CVars {
    f: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut *const u8, *mut usize) -> c_int,
    ctx: *mut c_void,
}

impl Vars for CVars {
    fn var(&self, name: &str) -> Option<Var<'_>> {
        let mut ptr: *const u8 = std::ptr::null();
        let mut len = 0usize;
        // SAFETY: calling the caller's callback as the header declares it:
        // `name` is readable for `name.len()` bytes during the call and the
        // two out-params are live locals.
        let found = unsafe { (self.f)(self.ctx, name.as_ptr(), name.len(), &mut ptr, &mut len) };
        if found == 0 {
            return None;
        }
        if ptr.is_null() {
            return (len == 0).then_some(Var::Str(b""));
        }
        // SAFETY: the callback promised `len` readable bytes at `ptr` that
        // stay valid until the match call returns; this Var lives only
        // while `self` does, which is inside that call.
        unsafe { bytes(ptr, len) }.map(Var::Str)
    }
}

/// The request as the router sees it; `None` for a NULL required pointer.
///
/// # Safety
/// Every non-NULL pointer in `req` is readable for its length during 'a.
unsafe fn to_request<'a>(req: &rr_request) -> Option<Request<'a>> {
    // SAFETY: the caller's promise for the request's buffers.
    let path = unsafe { bytes(req.path, req.path_len) }?;
    // SAFETY: as above.
    let host = unsafe { optional_bytes(req.host, req.host_len) }?;
    // SAFETY: as above.
    let http_host = unsafe { optional_bytes(req.http_host, req.http_host_len) }?;
    // SAFETY: as above.
    let method = unsafe { optional_bytes(req.method, req.method_len) }?;
    // SAFETY: as above.
    let addr = unsafe { optional_bytes(req.remote_addr, req.remote_addr_len) }?;
    Some(Request {
        path,
        host,
        http_host,
        method,
        remote_addr: addr.and_then(parse_addr),
    })
}

/// `1.2.3.4`, `::1` or `[::1]`; `None` when it is neither.
fn parse_addr(text: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(text).ok()?;
    let text = match text.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']')?,
        None => text,
    };
    text.parse().ok()
}

/// Fills an `rr_match` from the router's match.
fn to_match(m: &Match<'_, '_, u64>) -> rr_match {
    let (host_kind, suffix): (_, &[u8]) = match m.host {
        MatchedHost::Unrestricted => (rr_host_kind::RR_HOST_UNRESTRICTED, b""),
        MatchedHost::Request => (rr_host_kind::RR_HOST_REQUEST, b""),
        MatchedHost::Wildcard(s) => (rr_host_kind::RR_HOST_WILDCARD, s),
    };
    let empty = rr_param {
        name: c_ptr(b""),
        name_len: 0,
        start: 0,
        end: 0,
    };
    let mut params = [empty; RR_MAX_PARAMS];
    let mut count = 0;
    for (slot, (name, range)) in params.iter_mut().zip(m.params.ranges()) {
        *slot = rr_param {
            name: c_ptr(name.as_bytes()),
            name_len: name.len(),
            start: range.start,
            end: range.end,
        };
        count += 1;
    }
    rr_match {
        value: *m.value,
        id: c_ptr(m.id.as_bytes()),
        id_len: m.id.len(),
        pattern: c_ptr(m.pattern.as_bytes()),
        pattern_len: m.pattern.len(),
        host_kind,
        host_suffix: c_ptr(suffix),
        host_suffix_len: suffix.len(),
        param_count: count,
        params,
    }
}

/// Matches `req` against `router`, with no request variables (routes with
/// vars see every variable missing) and no filter (routes that ask for one
/// are accepted). As `rr_router_match_with` otherwise.
///
/// # Safety
/// As `rr_router_match_with`.
#[no_mangle]
pub unsafe extern "C" fn rr_router_match(
    router: *const rr_router,
    req: *const rr_request,
    out: *mut rr_match,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: forwarded contract; no callbacks.
        unsafe {
            rr_router_match_with(
                router,
                req,
                None,
                std::ptr::null_mut(),
                None,
                std::ptr::null_mut(),
                out,
            )
        }
    })
}

/// Finds the first route, in docs/router.md's order, that matches `req`: path,
/// method, client address, host, vars (read through `vars`, which may be
/// NULL: no variables) and, for routes that ask, `filter` (NULL: accept).
/// Thread-safe on a `const rr_router *`. Allocates nothing itself (the
/// regex engine may fill its per-thread cache for regex params and vars).
///
/// Returns `RR_OK` (and writes `*out`), `RR_NO_MATCH` (`*out` untouched),
/// or `RR_NULL_PARAMETER` (`router`, `req`, `req->path` or `out` NULL, or an
/// optional buffer NULL with a non-zero length).
///
/// # Safety
/// `router` NULL or a live router that no call changes meanwhile; `req`
/// NULL or readable, with its buffers readable for their lengths; `out`
/// NULL or writable; `vars`/`filter` NULL or callbacks as declared, called
/// with `vars_ctx`/`filter_ctx`.
#[no_mangle]
pub unsafe extern "C" fn rr_router_match_with(
    router: *const rr_router,
    req: *const rr_request,
    vars: rr_var_fn,
    vars_ctx: *mut c_void,
    filter: rr_filter_fn,
    filter_ctx: *mut c_void,
    out: *mut rr_match,
) -> rr_result {
    ffi_panic_boundary(|| {
        let c_vars = vars.map(|f| CVars { f, ctx: vars_ctx });
        let vars: &dyn Vars = match &c_vars {
            Some(v) => v,
            None => &NoVars,
        };
        // SAFETY: the caller's promises, forwarded.
        unsafe { match_request(router, req, vars, filter, filter_ctx, out) }
    })
}

/// The body of `rr_router_match_with` and `rr_router_match_values`, with
/// the caller's variables as `vars`. One function for both, so that the
/// lookup and `to_match` have one caller and stay inlined into it.
///
/// # Safety
/// As `rr_router_match_with`.
pub(super) unsafe fn match_request(
    router: *const rr_router,
    req: *const rr_request,
    vars: &dyn Vars,
    filter: rr_filter_fn,
    filter_ctx: *mut c_void,
    out: *mut rr_match,
) -> rr_result {
    // SAFETY: the caller passes NULL or a live router nobody changes now.
    let h = try_some!(unsafe { borrow::<rr_router>(router) });
    // SAFETY: the caller passes NULL or a readable request.
    let req = try_some!(unsafe { req.as_ref() });
    if out.is_null() {
        return rr_result::RR_NULL_PARAMETER;
    }
    // SAFETY: the caller promises the request's buffers are readable.
    let request = try_some!(unsafe { to_request(req) });
    let mut accept = |value: &u64| match filter {
        // SAFETY: calling the caller's filter as the header declares it.
        Some(f) => unsafe { f(filter_ctx, *value) },
        None => true,
    };
    let Some(m) = h.router.find_with(&request, vars, &mut accept) else {
        return rr_result::RR_NO_MATCH;
    };
    // SAFETY: `out` is non-NULL and writable (the caller's promise).
    try_some!(unsafe { write_out(out, to_match(&m)) });
    rr_result::RR_OK
}
