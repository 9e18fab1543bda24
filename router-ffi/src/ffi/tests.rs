//! The exports called as C would: NULL checks, error texts, matching with
//! callbacks.

use super::*;
use std::ffi::{c_int, c_void, CStr};
use std::ptr::{null, null_mut};

/// A router plus the calls the tests repeat. Frees the router when dropped.
struct R(*mut rr_router);

impl R {
    fn new(flags: u32) -> R {
        let mut p = null_mut();
        // SAFETY: `p` is a live local.
        assert_eq!(unsafe { rr_router_new(flags, &mut p) }, rr_result::RR_OK);
        R(p)
    }

    /// Builds a route with `paths` and extra setup, inserts it, frees it.
    fn insert(
        &self,
        id: &str,
        value: u64,
        paths: &[&str],
        set: impl Fn(*mut rr_route),
    ) -> rr_result {
        let mut route = null_mut();
        // SAFETY: every buffer is a live Rust slice; `route` comes from
        // rr_route_new and is freed once.
        unsafe {
            assert_eq!(
                rr_route_new(id.as_ptr(), id.len(), value, &mut route),
                rr_result::RR_OK
            );
            for p in paths {
                rr_route_add_path(route, p.as_ptr(), p.len());
            }
            set(route);
            let r = rr_router_insert(self.0, route);
            rr_route_free(route);
            r
        }
    }

    fn last(&self, problem_only: bool) -> String {
        let mut buf = [0u8; 256];
        let mut n = 0;
        let f = if problem_only {
            rr_router_last_problem
        } else {
            rr_router_last_error
        };
        // SAFETY: live router, live buffer and length.
        let r = unsafe { f(self.0, buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(r, rr_result::RR_OK);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    fn find(
        &self,
        path: &str,
        vars: rr_var_fn,
        filter: rr_filter_fn,
        ctx: *mut c_void,
    ) -> Option<u64> {
        let req = request(path);
        let mut m = std::mem::MaybeUninit::<rr_match>::uninit();
        // SAFETY: live router and request; `m` is writable.
        let r =
            unsafe { rr_router_match_with(self.0, &req, vars, ctx, filter, ctx, m.as_mut_ptr()) };
        match r {
            // SAFETY: RR_OK means `m` was written.
            rr_result::RR_OK => Some(unsafe { m.assume_init() }.value),
            rr_result::RR_NO_MATCH => None,
            other => panic!("match returned {other:?}"),
        }
    }
}

impl Drop for R {
    fn drop(&mut self) {
        // SAFETY: self.0 came from rr_router_new and is freed only here.
        unsafe { rr_router_free(self.0) }
    }
}

fn request(path: &str) -> rr_request {
    rr_request {
        path: path.as_ptr(),
        path_len: path.len(),
        host: null(),
        host_len: 0,
        http_host: null(),
        http_host_len: 0,
        method: null(),
        method_len: 0,
        remote_addr: null(),
        remote_addr_len: 0,
    }
}

#[test]
fn null_pointers_are_refused() {
    let r = R::new(0);
    let mut route = null_mut();
    let mut m = std::mem::MaybeUninit::<rr_match>::uninit();
    let mut n = 0usize;
    let req = request("/a");
    // SAFETY: every non-NULL pointer below is live; NULL is what is tested.
    unsafe {
        assert_eq!(rr_router_new(0, null_mut()), rr_result::RR_NULL_PARAMETER);
        assert_eq!(
            rr_route_new(null(), 0, 1, &mut route),
            rr_result::RR_NULL_PARAMETER
        );
        assert_eq!(
            rr_route_new(b"a".as_ptr(), 1, 1, null_mut()),
            rr_result::RR_NULL_PARAMETER
        );
        assert!(route.is_null(), "out written on failure");
        assert_eq!(
            rr_route_add_path(null_mut(), b"/".as_ptr(), 1),
            rr_result::RR_NULL_PARAMETER
        );
        assert_eq!(
            rr_route_set_priority(null_mut(), 1),
            rr_result::RR_NULL_PARAMETER
        );
        assert_eq!(
            rr_route_set_filter(null_mut(), true),
            rr_result::RR_NULL_PARAMETER
        );
        assert_eq!(
            rr_route_set_vars_json(null_mut(), b"[]".as_ptr(), 2),
            rr_result::RR_NULL_PARAMETER
        );
        assert_eq!(
            rr_router_insert(null_mut(), null()),
            rr_result::RR_NULL_PARAMETER
        );
        assert_eq!(rr_router_insert(r.0, null()), rr_result::RR_NULL_PARAMETER);
        assert_eq!(
            rr_router_remove(r.0, null(), 0),
            rr_result::RR_NULL_PARAMETER
        );
        assert_eq!(rr_router_len(null()), 0);
        assert_eq!(
            rr_router_last_error(null(), null_mut(), 0, &mut n),
            rr_result::RR_NULL_PARAMETER
        );
        assert_eq!(
            rr_router_last_error(r.0, null_mut(), 0, null_mut()),
            rr_result::RR_NULL_PARAMETER
        );
        assert_eq!(
            rr_router_match(null(), &req, m.as_mut_ptr()),
            rr_result::RR_NULL_PARAMETER
        );
        assert_eq!(
            rr_router_match(r.0, null(), m.as_mut_ptr()),
            rr_result::RR_NULL_PARAMETER
        );
        assert_eq!(
            rr_router_match(r.0, &req, null_mut()),
            rr_result::RR_NULL_PARAMETER
        );
        let mut bad = request("/a");
        bad.path = null();
        assert_eq!(
            rr_router_match(r.0, &bad, m.as_mut_ptr()),
            rr_result::RR_NULL_PARAMETER
        );
        let mut bad = request("/a");
        bad.host_len = 3;
        assert_eq!(
            rr_router_match(r.0, &bad, m.as_mut_ptr()),
            rr_result::RR_NULL_PARAMETER
        );
        rr_route_free(null_mut());
        rr_router_free(null_mut());
    }
    assert_eq!(r.last(false), "remove: id: NULL pointer");
}

#[test]
fn a_failed_setter_breaks_the_builder() {
    let r = R::new(0);
    let bad = [b'/', 0xff];
    let set = |route: *mut rr_route| {
        // SAFETY: live builder and buffer.
        let code = unsafe { rr_route_add_host(route, bad.as_ptr(), bad.len()) };
        assert_eq!(code, rr_result::RR_INVALID_UTF8);
    };
    assert_eq!(r.insert("h", 1, &["/a"], set), rr_result::RR_INVALID_UTF8);
    assert_eq!(
        r.last(false),
        "route \"h\": field hosts: host is not valid UTF-8 (bad byte at offset 1)"
    );
    let json = |route: *mut rr_route| {
        // SAFETY: live builder and buffer.
        let code = unsafe { rr_route_set_vars_json(route, b"[[".as_ptr(), 2) };
        assert_eq!(code, rr_result::RR_INVALID_VARS);
    };
    assert_eq!(r.insert("v", 1, &["/a"], json), rr_result::RR_INVALID_VARS);
    assert!(
        r.last(true).starts_with("invalid JSON: "),
        "{}",
        r.last(true)
    );
    // SAFETY: live router.
    assert_eq!(unsafe { rr_router_len(r.0) }, 0);
}

#[test]
fn router_errors_have_codes_and_texts() {
    let r = R::new(0);
    assert_eq!(r.insert("a", 1, &["/a"], |_| {}), rr_result::RR_OK);
    assert_eq!(
        r.insert("a", 2, &["/b"], |_| {}),
        rr_result::RR_DUPLICATE_ID
    );
    assert_eq!(r.insert("p", 1, &[], |_| {}), rr_result::RR_INVALID_PATH);
    let op = |route: *mut rr_route| {
        let j = br#"[["arg_x", "xyz", "1"]]"#;
        // SAFETY: live builder and buffer.
        let code = unsafe { rr_route_set_vars_json(route, j.as_ptr(), j.len()) };
        assert_eq!(code, rr_result::RR_OK);
    };
    assert_eq!(r.insert("7", 1, &["/v"], op), rr_result::RR_INVALID_VARS);
    assert_eq!(
        r.last(false),
        "route \"7\": field vars: invalid operator 'xyz'"
    );
    assert_eq!(r.last(true), "invalid operator 'xyz'");
    // SAFETY: live router and id.
    let code = unsafe { rr_router_remove(r.0, b"zz".as_ptr(), 2) };
    assert_eq!(code, rr_result::RR_ROUTE_NOT_FOUND);
    // SAFETY: live router and id.
    let code = unsafe { rr_router_remove(r.0, b"a".as_ptr(), 1) };
    assert_eq!(code, rr_result::RR_OK);
    let mut n = 0;
    // SAFETY: live router; NULL buffer with length 0 asks for the length.
    let code = unsafe { rr_router_last_error(r.0, null_mut(), 0, &mut n) };
    assert_eq!(
        (code, n),
        (
            rr_result::RR_BUFFER_TOO_SMALL,
            "route \"zz\": no route with this id".len()
        )
    );
}

unsafe extern "C" fn vars_cb(
    _ctx: *mut c_void,
    name: *const u8,
    name_len: usize,
    value: *mut *const u8,
    value_len: *mut usize,
) -> c_int {
    // SAFETY: the router passes `name_len` readable bytes and writable outs.
    unsafe {
        if std::slice::from_raw_parts(name, name_len) != b"arg_id" {
            return 0;
        }
        *value = b"42".as_ptr();
        *value_len = 2;
    }
    1
}

unsafe extern "C" fn filter_cb(ctx: *mut c_void, value: u64) -> bool {
    // SAFETY: the tests pass a pointer to a live u64 as ctx.
    value != unsafe { *ctx.cast::<u64>() }
}

#[test]
fn callbacks_are_asked() {
    let r = R::new(0);
    let vars = |route: *mut rr_route| {
        let j = br#"[["arg_id", "==", "42"]]"#;
        // SAFETY: live builder and buffer.
        unsafe { rr_route_set_vars_json(route, j.as_ptr(), j.len()) };
    };
    let filtered = |route: *mut rr_route| {
        // SAFETY: live builder.
        unsafe { rr_route_set_filter(route, true) };
    };
    assert_eq!(r.insert("vars", 1, &["/v"], vars), rr_result::RR_OK);
    assert_eq!(r.insert("f", 2, &["/f/*"], filtered), rr_result::RR_OK);
    assert_eq!(r.insert("fallback", 3, &["/*"], |_| {}), rr_result::RR_OK);
    let mut reject = 2u64;
    let ctx = (&mut reject as *mut u64).cast::<c_void>();
    assert_eq!(r.find("/v", Some(vars_cb), None, ctx), Some(1));
    assert_eq!(r.find("/v", None, None, ctx), Some(3));
    assert_eq!(r.find("/f/x", None, Some(filter_cb), ctx), Some(3));
    assert_eq!(r.find("/f/x", None, None, ctx), Some(2));
    reject = 0;
    let ctx = (&mut reject as *mut u64).cast::<c_void>();
    assert_eq!(r.find("/f/x", None, Some(filter_cb), ctx), Some(2));
}

#[test]
fn match_reports_pattern_params_and_host() {
    let r = R::new(0);
    let host = |route: *mut rr_route| {
        // SAFETY: live builder and buffer.
        unsafe { rr_route_add_host(route, b"*.foo.com".as_ptr(), 9) };
    };
    assert_eq!(
        r.insert("u", 9, &["/user/:id/*rest"], host),
        rr_result::RR_OK
    );
    let mut req = request("/user/ann/a/b");
    req.host = b"x.foo.com".as_ptr();
    req.host_len = 9;
    let mut m = std::mem::MaybeUninit::<rr_match>::uninit();
    // SAFETY: live router, request and out.
    let code = unsafe { rr_router_match(r.0, &req, m.as_mut_ptr()) };
    assert_eq!(code, rr_result::RR_OK);
    // SAFETY: RR_OK wrote `m`.
    let m = unsafe { m.assume_init() };
    // SAFETY: the match's pointers borrow the live router, unchanged.
    let s = |p: *const u8, n: usize| unsafe { std::slice::from_raw_parts(p, n) }.to_vec();
    assert_eq!(m.value, 9);
    assert_eq!(s(m.id, m.id_len), b"u");
    assert_eq!(s(m.pattern, m.pattern_len), b"/user/:id/*rest");
    assert_eq!(m.host_kind, rr_host_kind::RR_HOST_WILDCARD);
    assert_eq!(s(m.host_suffix, m.host_suffix_len), b".foo.com");
    assert_eq!(m.param_count, 2);
    let p = m.params[1];
    assert_eq!(
        (s(p.name, p.name_len), p.start, p.end),
        (b"rest".to_vec(), 10, 13)
    );
}

#[test]
fn version_and_names_are_c_strings() {
    // SAFETY: both return static NUL-terminated text.
    unsafe {
        assert_eq!(
            CStr::from_ptr(rr_version()).to_str(),
            Ok(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(CStr::from_ptr(rr_result_name(102)), c"RR_BUFFER_TOO_SMALL");
    }
}

/// Every export (a `#[no_mangle]` fn) runs its body inside the panic
/// barrier: checked on the source, so a new export can't skip it.
#[test]
fn every_export_has_a_panic_barrier() {
    let sources = [
        ("mod.rs", include_str!("mod.rs")),
        ("lookup.rs", include_str!("lookup.rs")),
        ("result.rs", include_str!("result.rs")),
        ("route.rs", include_str!("route.rs")),
        ("router.rs", include_str!("router.rs")),
        ("values.rs", include_str!("values.rs")),
    ];
    let mut names = Vec::new();
    for (file, src) in sources {
        let attr = concat!("#[no_", "mangle]");
        for chunk in src.split(attr).skip(1) {
            let name = chunk
                .split("fn ")
                .nth(1)
                .and_then(|s| s.split('(').next())
                .unwrap_or("?");
            let body = &chunk[..chunk.find("\n}\n").unwrap_or(chunk.len())];
            assert!(
                body.contains("ffi_panic_boundary("),
                "{file}: export {name} has no panic barrier"
            );
            assert!(body.contains("extern \"C\" fn rr_"), "{file}: {name}");
            names.push(name);
        }
        let exports = src.matches("extern \"C\" fn rr_").count();
        let marked = src.matches(attr).count();
        assert_eq!(exports, marked, "{file}: an extern fn without {attr}");
    }
    assert_eq!(names.len(), 25, "{names:?}");
}

/// A `const rr_router *` matched from several threads at once.
#[test]
fn matching_is_shared_between_threads() {
    struct Shared(*const rr_router);
    // SAFETY: the header allows matching one router from many threads; the
    // router outlives the scope and nothing changes it meanwhile.
    unsafe impl Sync for Shared {}
    let r = R::new(0);
    for i in 0..50u64 {
        let path = format!("/p{i}/:x");
        assert_eq!(
            r.insert(&format!("r{i}"), i, &[&path], |_| {}),
            rr_result::RR_OK
        );
    }
    let shared = Shared(r.0);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let shared = &shared;
            s.spawn(move || {
                for n in 0..500u64 {
                    let i = (n + t) % 50;
                    let path = format!("/p{i}/abc");
                    let req = request(&path);
                    let mut m = std::mem::MaybeUninit::<rr_match>::uninit();
                    // SAFETY: live router, request and out; no thread changes the router.
                    let code = unsafe { rr_router_match(shared.0, &req, m.as_mut_ptr()) };
                    assert_eq!(code, rr_result::RR_OK);
                    // SAFETY: RR_OK wrote `m`.
                    assert_eq!(unsafe { m.assume_init() }.value, i);
                }
            });
        }
    });
}
