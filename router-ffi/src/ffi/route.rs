//! `rr_route`: a mutable route builder that C fills in and the router
//! copies from (`rr_router_insert`, `_update`, `_upsert`).
//!
//! A setter that fails (NULL bytes, invalid UTF-8, JSON that does not
//! parse) returns its code at once *and* marks the builder broken: a route
//! missing a host or vars condition it was meant to have would match more
//! than intended, so the router refuses a broken builder with the same code
//! and keeps the text for `rr_router_last_error`.

use super::handle::{borrow_mut, bytes, free, into_raw, write_out, BoxHandle};
use super::panic::{ffi_panic_boundary, try_some};
use super::result::rr_result;
use crate::{Field, Route, RouteError};

/// A route being built: id, value, paths, conditions.
///
/// Created by `rr_route_new`, freed once by `rr_route_free`. Not shared:
/// one thread at a time may use it (it may move between threads). The
/// router never keeps it: free it whenever the calls that read it returned.
pub struct rr_route {
    _private: [u8; 0],
}

impl BoxHandle for rr_route {
    type Rust = RouteBuilder;
}

/// The Rust side of `rr_route`.
#[derive(Debug)]
pub(crate) struct RouteBuilder {
    route: Route<u64>,
    /// The first setter that failed, if any.
    broken: Option<Broken>,
}

#[derive(Debug)]
struct Broken {
    code: rr_result,
    field: Field,
    problem: String,
}

impl RouteBuilder {
    /// The route to hand to the router, or why it can't be.
    pub(crate) fn build(&self) -> Result<Route<u64>, (rr_result, RouteError)> {
        match &self.broken {
            None => Ok(self.route.clone()),
            Some(b) => Err((
                b.code,
                RouteError::invalid(&self.route.id, b.field, b.problem.clone()),
            )),
        }
    }

    fn fail(&mut self, code: rr_result, field: Field, problem: String) -> rr_result {
        if self.broken.is_none() {
            self.broken = Some(Broken {
                code,
                field,
                problem,
            });
        }
        code
    }
}

/// The text of `(ptr, len)` as UTF-8, or the code and problem to report.
///
/// # Safety
/// A non-NULL `ptr` is readable for `len` bytes for 'a.
pub(crate) unsafe fn text<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a str, (rr_result, String)> {
    // SAFETY: forwarded contract of this function.
    let Some(b) = (unsafe { bytes(ptr, len) }) else {
        return Err((
            rr_result::RR_NULL_PARAMETER,
            format!("{what}: NULL pointer"),
        ));
    };
    std::str::from_utf8(b).map_err(|e| {
        let at = e.valid_up_to();
        (
            rr_result::RR_INVALID_UTF8,
            format!("{what} is not valid UTF-8 (bad byte at offset {at})"),
        )
    })
}

/// Creates a route builder with the id `(id, id_len)` (UTF-8, unique in a
/// router, may be empty but not NULL) and `value` (what a match reports),
/// with no path or condition yet, and writes it to `*out`.
///
/// Returns `RR_OK`, `RR_NULL_PARAMETER` (`id` or `out` NULL) or
/// `RR_INVALID_UTF8`; `*out` is written only on `RR_OK`. The caller frees
/// the builder with `rr_route_free`.
///
/// # Safety
/// `id` readable for `id_len` bytes; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rr_route_new(
    id: *const u8,
    id_len: usize,
    value: u64,
    out: *mut *mut rr_route,
) -> rr_result {
    ffi_panic_boundary(|| {
        if out.is_null() {
            return rr_result::RR_NULL_PARAMETER;
        }
        // SAFETY: the caller promises `id` is readable for `id_len` bytes.
        let id = match unsafe { text(id, id_len, "id") } {
            Ok(id) => id,
            Err((code, _)) => return code,
        };
        let builder = RouteBuilder {
            route: Route::new(id, value),
            broken: None,
        };
        let handle = into_raw::<rr_route>(builder);
        // SAFETY: `out` is non-NULL and writable (the caller's promise).
        try_some!(unsafe { write_out(out, handle) });
        rr_result::RR_OK
    })
}

/// Frees a route builder. NULL is fine; freeing twice is not.
///
/// # Safety
/// `route` is NULL or from `rr_route_new`, not freed, not used after.
#[no_mangle]
pub unsafe extern "C" fn rr_route_free(route: *mut rr_route) {
    // SAFETY: the caller passes NULL or a live builder it gives up.
    ffi_panic_boundary(|| unsafe { free(route) })
}

/// One item of `field`, as error texts name it.
fn noun(field: Field) -> &'static str {
    match field {
        Field::Id => "id",
        Field::Paths => "path",
        Field::Hosts => "host",
        Field::Methods => "method",
        Field::RemoteAddrs => "remote address",
        Field::Vars => "vars",
    }
}

/// Adds one text item (path, host, method, address) to `route`.
///
/// # Safety
/// `route` NULL or a live builder used by nobody else; `ptr` readable for `len`.
unsafe fn add_text(
    route: *mut rr_route,
    ptr: *const u8,
    len: usize,
    field: Field,
    push: fn(&mut Route<u64>, String),
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live builder nobody else uses.
        let b = try_some!(unsafe { borrow_mut::<rr_route>(route) });
        // SAFETY: the caller promises `ptr` is readable for `len` bytes.
        match unsafe { text(ptr, len, noun(field)) } {
            Ok(t) => {
                push(&mut b.route, t.to_owned());
                rr_result::RR_OK
            }
            Err((code, problem)) => b.fail(code, field, problem),
        }
    })
}

/// Adds a path pattern (`/a/b`, `/user/:id`, a prefix ending in `*`, ...;
/// see docs/router.md). A route needs at least one. The pattern is checked by
/// the router at insert time. Returns `RR_OK`, `RR_NULL_PARAMETER` or
/// `RR_INVALID_UTF8`.
///
/// # Safety
/// `route` NULL or a live builder; `path` readable for `path_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn rr_route_add_path(
    route: *mut rr_route,
    path: *const u8,
    path_len: usize,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller's promises for `route` and `path`, forwarded.
        unsafe { add_text(route, path, path_len, Field::Paths, |r, t| r.paths.push(t)) }
    })
}

/// Adds a host pattern (`foo.com`, `*.foo.com`, `*`, `foo.com:8080`).
/// Returns `RR_OK`, `RR_NULL_PARAMETER` or `RR_INVALID_UTF8`.
///
/// # Safety
/// `route` NULL or a live builder; `host` readable for `host_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn rr_route_add_host(
    route: *mut rr_route,
    host: *const u8,
    host_len: usize,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller's promises for `route` and `host`, forwarded.
        unsafe { add_text(route, host, host_len, Field::Hosts, |r, t| r.hosts.push(t)) }
    })
}

/// Adds a method (`GET`, ...; upper case). No method means any.
/// Returns `RR_OK`, `RR_NULL_PARAMETER` or `RR_INVALID_UTF8`.
///
/// # Safety
/// `route` NULL or a live builder; `method` readable for `method_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn rr_route_add_method(
    route: *mut rr_route,
    method: *const u8,
    method_len: usize,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller's promises for `route` and `method`, forwarded.
        unsafe {
            add_text(route, method, method_len, Field::Methods, |r, t| {
                r.methods.push(t)
            })
        }
    })
}

/// Adds a client address or CIDR (`10.0.0.0/8`, `::1`, `[::1]`).
/// Returns `RR_OK`, `RR_NULL_PARAMETER` or `RR_INVALID_UTF8`.
///
/// # Safety
/// `route` NULL or a live builder; `addr` readable for `addr_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn rr_route_add_remote_addr(
    route: *mut rr_route,
    addr: *const u8,
    addr_len: usize,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller's promises for `route` and `addr`, forwarded.
        unsafe {
            add_text(route, addr, addr_len, Field::RemoteAddrs, |r, t| {
                r.remote_addrs.push(t)
            })
        }
    })
}

/// Sets the route's vars expression from its JSON text (the vars array,
/// e.g. `[["arg_id", "==", "1"]]`), replacing an earlier one. Text that is
/// not JSON returns `RR_INVALID_VARS`; an invalid expression (unknown
/// operator, ...) is refused by the router at insert time.
///
/// # Safety
/// `route` NULL or a live builder; `json` readable for `json_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn rr_route_set_vars_json(
    route: *mut rr_route,
    json: *const u8,
    json_len: usize,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live builder nobody else uses.
        let b = try_some!(unsafe { borrow_mut::<rr_route>(route) });
        // SAFETY: the caller promises `json` is readable for `json_len` bytes.
        let Some(json) = (unsafe { bytes(json, json_len) }) else {
            let problem = "vars JSON: NULL pointer".to_owned();
            return b.fail(rr_result::RR_NULL_PARAMETER, Field::Vars, problem);
        };
        match serde_json::from_slice(json) {
            Ok(v) => {
                b.route.vars = Some(v);
                rr_result::RR_OK
            }
            Err(e) => b.fail(
                rr_result::RR_INVALID_VARS,
                Field::Vars,
                format!("invalid JSON: {e}"),
            ),
        }
    })
}

/// Sets the priority: among routes with the same literal prefix, higher
/// first (default 0). Returns `RR_OK` or `RR_NULL_PARAMETER`.
///
/// # Safety
/// `route` NULL or a live builder used by nobody else.
#[no_mangle]
pub unsafe extern "C" fn rr_route_set_priority(route: *mut rr_route, priority: i32) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live builder nobody else uses.
        let b = try_some!(unsafe { borrow_mut::<rr_route>(route) });
        b.route.priority = priority;
        rr_result::RR_OK
    })
}

/// With `true`, the route matches only when the filter callback given to
/// `rr_router_match_with` accepts its value. Returns `RR_OK` or
/// `RR_NULL_PARAMETER`.
///
/// # Safety
/// `route` NULL or a live builder used by nobody else.
#[no_mangle]
pub unsafe extern "C" fn rr_route_set_filter(route: *mut rr_route, filter: bool) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live builder nobody else uses.
        let b = try_some!(unsafe { borrow_mut::<rr_route>(route) });
        b.route.filter = filter;
        rr_result::RR_OK
    })
}

/// Sets how this route's paths read `:` and `{`: with `true` as ordinary
/// text, with `false` as params, whatever the router's
/// `RR_OPT_NO_PARAM_MATCH` (which applies to routes that never call this).
/// lua-resty-radixtree takes the option per added route. Returns `RR_OK`
/// or `RR_NULL_PARAMETER`.
///
/// # Safety
/// `route` NULL or a live builder used by nobody else.
#[no_mangle]
pub unsafe extern "C" fn rr_route_set_no_param_match(
    route: *mut rr_route,
    no_param_match: bool,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live builder nobody else uses.
        let b = try_some!(unsafe { borrow_mut::<rr_route>(route) });
        b.route.no_param_match = Some(no_param_match);
        rr_result::RR_OK
    })
}
