//! The C ABI (`include/radix_router.h`, generated from this module by
//! cbindgen; `tests/header.rs` fails when the two differ).
//!
//! Conventions (docs/router.md, "The C ABI"; the model is rustls-ffi):
//! opaque handles made by `_new` and freed once by `_free`, casts only
//! through `handle`; every export inside `panic::ffi_panic_boundary`
//! and checking every pointer; fallible calls return [`rr_result`]; byte
//! buffers are `(const uint8_t *, size_t)` and need no NUL.
//!
//! Files by concern: `panic` (the barrier), `handle` (pointer casts and
//! ownership), `result` (codes and error text), `route` (the route
//! builder), `router` (the router and its changes), `lookup` (matching),
//! `values` (matching with typed variables).
//!
//! This module is the only place of the crate with `unsafe`; each unsafe
//! block says why it is sound.

#![allow(non_camel_case_types)]

pub(crate) mod handle;
pub(crate) mod panic;

mod lookup;
mod result;
mod route;
mod router;
mod values;

#[cfg(test)]
mod tests;

pub use lookup::{
    rr_filter_fn, rr_host_kind, rr_match, rr_param, rr_request, rr_router_match,
    rr_router_match_with, rr_var_fn, RR_MAX_PARAMS,
};
pub use result::{rr_result, rr_result_name};
pub use route::{
    rr_route, rr_route_add_host, rr_route_add_method, rr_route_add_path, rr_route_add_remote_addr,
    rr_route_free, rr_route_new, rr_route_set_filter, rr_route_set_no_param_match,
    rr_route_set_priority, rr_route_set_vars_json,
};
pub use router::{
    rr_router, rr_router_free, rr_router_insert, rr_router_last_error, rr_router_last_problem,
    rr_router_last_warnings, rr_router_len, rr_router_new, rr_router_remove, rr_router_update,
    rr_router_upsert, RR_OPT_NO_PARAM_MATCH, RR_OPT_TOLERANT,
};

pub use values::{
    rr_router_match_values, rr_value, rr_value_fn, RR_VALUE_BOOL, RR_VALUE_LIST, RR_VALUE_MISSING,
    RR_VALUE_NUMBER, RR_VALUE_OTHER, RR_VALUE_TEXT,
};

use std::ffi::c_char;

/// The crate version (`"0.1.0"`): static, NUL-terminated, never freed.
#[no_mangle]
pub extern "C" fn rr_version() -> *const c_char {
    panic::ffi_panic_boundary(|| {
        const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
        VERSION.as_ptr().cast()
    })
}

// What the header promises about threads, checked: a router may be shared
// (matching takes `&`), a route builder may move between threads.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    const fn movable<T: Send>() {}
    shared::<router::RouterHandle>();
    movable::<route::RouteBuilder>();
};
