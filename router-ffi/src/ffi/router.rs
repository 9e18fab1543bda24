//! `rr_router`: create and free a router, add, replace and remove routes,
//! and read the error of the last change that failed.

use super::handle::{borrow, borrow_mut, bytes, free, into_raw, write_out, BoxHandle};
use super::panic::{ffi_panic_boundary, try_some};
use super::result::{copy_text, rr_result};
use super::route::{rr_route, text};
use crate::{Field, Options, Route, RouteError, Router};

/// `rr_router_new` flag: `:` is ordinary text in path patterns.
pub const RR_OPT_NO_PARAM_MATCH: u32 = 1;

/// `rr_router_new` flag: tolerant mode (lua-resty-radixtree's). A path or
/// vars comparison whose regex does not compile no longer refuses its
/// route: the route is added, that path never matches, that comparison is
/// always false, and `rr_router_last_warnings` says so. Without it (strict,
/// the default) such a route is refused with `RR_INVALID_PATH` or
/// `RR_INVALID_VARS`.
pub const RR_OPT_TOLERANT: u32 = 2;

/// A router of routes whose values are `uint64_t`.
///
/// Created by `rr_router_new`, freed once by `rr_router_free`. Matching
/// (`rr_router_match*`), `rr_router_len` and `rr_router_last_*` take a
/// `const rr_router *` and may run on many threads at once; every other
/// call changes the router and needs exclusive access.
pub struct rr_router {
    _private: [u8; 0],
}

impl BoxHandle for rr_router {
    type Rust = RouterHandle;
}

/// The Rust side of `rr_router`.
#[derive(Debug)]
pub(crate) struct RouterHandle {
    pub(crate) router: Router<u64>,
    last: Option<LastError>,
}

#[derive(Debug)]
struct LastError {
    full: String,
    problem: String,
}

impl RouterHandle {
    /// Records the error of a failed change and returns its code.
    fn fail(&mut self, code: rr_result, e: &RouteError) -> rr_result {
        self.last = Some(LastError {
            full: e.to_string(),
            problem: e.problem(),
        });
        code
    }

    /// Records a failure that is not about a route (a NULL argument).
    fn fail_text(&mut self, code: rr_result, text: &str) -> rr_result {
        self.last = Some(LastError {
            full: text.to_owned(),
            problem: text.to_owned(),
        });
        code
    }

    /// Runs one change with the route built from `route`, recording a failure.
    ///
    /// # Safety
    /// `route` NULL or a live builder that nothing changes during the call.
    unsafe fn change(
        &mut self,
        route: *const rr_route,
        what: &str,
        apply: fn(&mut Router<u64>, Route<u64>) -> Result<(), RouteError>,
    ) -> rr_result {
        // SAFETY: the caller passes NULL or a live builder nobody changes now.
        let Some(b) = (unsafe { borrow::<rr_route>(route) }) else {
            let problem = format!("{what}: the route is NULL");
            return self.fail_text(rr_result::RR_NULL_PARAMETER, &problem);
        };
        let route = match b.build() {
            Ok(r) => r,
            Err((code, e)) => return self.fail(code, &e),
        };
        match apply(&mut self.router, route) {
            Ok(()) => rr_result::RR_OK,
            Err(e) => self.fail(rr_result::for_route_error(&e), &e),
        }
    }
}

/// Creates an empty router and writes it to `*out`. `flags` is 0 or a sum
/// of `RR_OPT_NO_PARAM_MATCH` and `RR_OPT_TOLERANT`; other bits are ignored.
///
/// Returns `RR_OK` or `RR_NULL_PARAMETER`; `*out` is written only on
/// `RR_OK`. The caller frees the router with `rr_router_free`.
///
/// # Safety
/// `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rr_router_new(flags: u32, out: *mut *mut rr_router) -> rr_result {
    ffi_panic_boundary(|| {
        if out.is_null() {
            return rr_result::RR_NULL_PARAMETER;
        }
        let opts = Options {
            no_param_match: flags & RR_OPT_NO_PARAM_MATCH != 0,
            tolerant: flags & RR_OPT_TOLERANT != 0,
        };
        let handle = into_raw::<rr_router>(RouterHandle {
            router: Router::new(opts),
            last: None,
        });
        // SAFETY: `out` is non-NULL and writable (the caller's promise).
        try_some!(unsafe { write_out(out, handle) });
        rr_result::RR_OK
    })
}

/// Frees a router and every route in it; pointers a match returned into it
/// become invalid. NULL is fine; freeing twice is not.
///
/// # Safety
/// `router` NULL or from `rr_router_new`, not freed, used by no other thread
/// and not after this call.
#[no_mangle]
pub unsafe extern "C" fn rr_router_free(router: *mut rr_router) {
    // SAFETY: the caller passes NULL or a live router it gives up.
    ffi_panic_boundary(|| unsafe { free(router) })
}

/// Adds a copy of `route` (the caller still owns and frees `route`).
///
/// Returns `RR_OK`; `RR_NULL_PARAMETER`; `RR_DUPLICATE_ID` when the id is
/// taken; `RR_INVALID_*` when a field is malformed (or a setter of the
/// builder failed); `RR_ROUTER_FULL`. On failure the router is unchanged
/// and `rr_router_last_error` says why.
///
/// # Safety
/// `router` NULL or a live router used by no other thread; `route` NULL or
/// a live builder.
#[no_mangle]
pub unsafe extern "C" fn rr_router_insert(
    router: *mut rr_router,
    route: *const rr_route,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live router nobody else uses.
        let h = try_some!(unsafe { borrow_mut::<rr_router>(router) });
        // SAFETY: the caller passes NULL or a live builder.
        unsafe { h.change(route, "insert", |r, route| r.insert(route)) }
    })
}

/// Replaces the route with the same id as `route` by a copy of it; among
/// routes of equal priority it then orders as if newly added.
///
/// Returns as `rr_router_insert`, with `RR_ROUTE_NOT_FOUND` when no route
/// has that id. On failure the old route stays.
///
/// # Safety
/// As `rr_router_insert`.
#[no_mangle]
pub unsafe extern "C" fn rr_router_update(
    router: *mut rr_router,
    route: *const rr_route,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live router nobody else uses.
        let h = try_some!(unsafe { borrow_mut::<rr_router>(router) });
        // SAFETY: the caller passes NULL or a live builder.
        unsafe { h.change(route, "update", |r, route| r.update(route).map(drop)) }
    })
}

/// Adds a copy of `route`, or replaces the route with the same id.
/// Returns as `rr_router_insert` (never `RR_DUPLICATE_ID`).
///
/// # Safety
/// As `rr_router_insert`.
#[no_mangle]
pub unsafe extern "C" fn rr_router_upsert(
    router: *mut rr_router,
    route: *const rr_route,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live router nobody else uses.
        let h = try_some!(unsafe { borrow_mut::<rr_router>(router) });
        // SAFETY: the caller passes NULL or a live builder.
        unsafe { h.change(route, "upsert", |r, route| r.upsert(route).map(drop)) }
    })
}

/// Removes the route with the id `(id, id_len)`.
///
/// Returns `RR_OK`, `RR_NULL_PARAMETER`, `RR_INVALID_UTF8` or
/// `RR_ROUTE_NOT_FOUND` (then `rr_router_last_error` says why).
///
/// # Safety
/// `router` NULL or a live router used by no other thread; `id` readable
/// for `id_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn rr_router_remove(
    router: *mut rr_router,
    id: *const u8,
    id_len: usize,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live router nobody else uses.
        let h = try_some!(unsafe { borrow_mut::<rr_router>(router) });
        // SAFETY: the caller promises `id` is readable for `id_len` bytes.
        let id = match unsafe { text(id, id_len, "id") } {
            Ok(id) => id,
            Err((rr_result::RR_INVALID_UTF8, problem)) => {
                // SAFETY: as above; `text` only fails this way for readable bytes.
                let raw = unsafe { bytes(id, id_len) }.unwrap_or_default();
                let e = RouteError::invalid(&String::from_utf8_lossy(raw), Field::Id, problem);
                return h.fail(rr_result::RR_INVALID_UTF8, &e);
            }
            Err((code, problem)) => return h.fail_text(code, &format!("remove: {problem}")),
        };
        match h.router.remove(id) {
            Ok(_) => rr_result::RR_OK,
            Err(e) => h.fail(rr_result::for_route_error(&e), &e),
        }
    })
}

/// How many routes `router` holds; 0 for NULL.
///
/// # Safety
/// `router` NULL or a live router.
#[no_mangle]
pub unsafe extern "C" fn rr_router_len(router: *const rr_router) -> usize {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live router.
        let h = try_some!(unsafe { borrow::<rr_router>(router) });
        h.router.len()
    })
}

/// Copies the full text of the last failed change
/// (`route "7": field vars: invalid operator 'xyz'`) into `(buf, buf_len)`
/// and its length into `*out_len`; no NUL is added. With no failure yet,
/// the text is empty. The text stays until the next failed change.
///
/// Returns `RR_OK`, `RR_NULL_PARAMETER`, or `RR_BUFFER_TOO_SMALL` (nothing
/// copied; `*out_len` is the needed length; `buf` may be NULL with
/// `buf_len` 0 to ask for it).
///
/// # Safety
/// `router` NULL or a live router; `buf` NULL or writable for `buf_len`
/// bytes; `out_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rr_router_last_error(
    router: *const rr_router,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live router.
        let h = try_some!(unsafe { borrow::<rr_router>(router) });
        let text = h.last.as_ref().map_or("", |l| l.full.as_str());
        // SAFETY: the caller's promises for `buf` and `out_len`.
        unsafe { copy_text(text, buf, buf_len, out_len) }
    })
}

/// As `rr_router_last_error`, but only the problem, without the route id
/// and field (`invalid operator 'xyz'`).
///
/// # Safety
/// As `rr_router_last_error`.
#[no_mangle]
pub unsafe extern "C" fn rr_router_last_problem(
    router: *const rr_router,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live router.
        let h = try_some!(unsafe { borrow::<rr_router>(router) });
        let text = h.last.as_ref().map_or("", |l| l.problem.as_str());
        // SAFETY: the caller's promises for `buf` and `out_len`.
        unsafe { copy_text(text, buf, buf_len, out_len) }
    })
}

/// Copies what tolerant mode (`RR_OPT_TOLERANT`) let pass in the last
/// change (insert, update, upsert or remove) into `(buf, buf_len)`, one
/// line per path or vars comparison (`route "7": field vars:
/// ["arg_k","~~","[0"]: invalid regex ... (tolerated: this comparison is
/// always false)`), lines joined by `\n`; its length goes to `*out_len`.
/// Empty after a change that had nothing to tolerate, or that failed, and
/// always in strict mode. The text stays until the next change.
///
/// Returns as `rr_router_last_error`.
///
/// # Safety
/// As `rr_router_last_error`.
#[no_mangle]
pub unsafe extern "C" fn rr_router_last_warnings(
    router: *const rr_router,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> rr_result {
    ffi_panic_boundary(|| {
        // SAFETY: the caller passes NULL or a live router.
        let h = try_some!(unsafe { borrow::<rr_router>(router) });
        let mut text = String::new();
        for (i, t) in h.router.tolerated().iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(&t.to_string());
        }
        // SAFETY: the caller's promises for `buf` and `out_len`.
        unsafe { copy_text(&text, buf, buf_len, out_len) }
    })
}
