//! Typed request variables: `rr_value`, the `rr_value_fn` callback that
//! fills one, and `rr_router_match_values`. A vars expression then sees
//! numbers, booleans and lists as they are (lua-resty-expr compares Lua
//! values: `has` needs a list, `== true` a boolean), where `rr_var_fn`
//! passes text only.

use super::handle::bytes;
use super::lookup::{match_request, rr_filter_fn, rr_match, rr_request};
use super::panic::ffi_panic_boundary;
use super::result::rr_result;
use super::router::rr_router;
use crate::{NoVars, Var, Vars};
use std::ffi::{c_int, c_void};

/// `rr_value.kind`: the variable does not exist (as when the callback returns 0).
pub const RR_VALUE_MISSING: u32 = 0;
/// `rr_value.kind`: text, in `text` and `text_len`.
pub const RR_VALUE_TEXT: u32 = 1;
/// `rr_value.kind`: a number, in `number`.
pub const RR_VALUE_NUMBER: u32 = 2;
/// `rr_value.kind`: a boolean, in `boolean`.
pub const RR_VALUE_BOOL: u32 = 3;
/// `rr_value.kind`: a list, `items_len` values at `items` (text, numbers or
/// booleans; an item that is a list or "other" equals nothing).
pub const RR_VALUE_LIST: u32 = 4;
/// `rr_value.kind`: a value that is none of the above (a Lua function,
/// `ngx.null`): it exists, but equals no literal and is no number.
pub const RR_VALUE_OTHER: u32 = 5;

/// One request variable as a vars expression sees it. Only the fields of
/// its `kind` are read; pointers need not be NUL-terminated and must stay
/// valid until the match call returns.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rr_value {
    /// `RR_VALUE_*`; an unknown kind reads as missing.
    pub kind: u32,
    /// `RR_VALUE_TEXT`: the bytes (NULL only with `text_len` 0).
    pub text: *const u8,
    pub text_len: usize,
    /// `RR_VALUE_NUMBER`.
    pub number: f64,
    /// `RR_VALUE_BOOL`.
    pub boolean: bool,
    /// `RR_VALUE_LIST`: the items (NULL only with `items_len` 0).
    pub items: *const rr_value,
    pub items_len: usize,
}

/// Looks up the request variable `(name, name_len)` for a vars expression
/// and writes it to `*out` (which arrives as `RR_VALUE_MISSING`). Returns
/// nonzero when it wrote a value, 0 when the variable does not exist.
/// Called on the matching thread, only for routes with vars, only during
/// the match call; it must not change the router.
pub type rr_value_fn = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        name: *const u8,
        name_len: usize,
        out: *mut rr_value,
    ) -> c_int,
>;

const MISSING: rr_value = rr_value {
    kind: RR_VALUE_MISSING,
    text: std::ptr::null(),
    text_len: 0,
    number: 0.0,
    boolean: false,
    items: std::ptr::null(),
    items_len: 0,
};

/// The caller's typed callback as the router's `Vars`.
struct CValues {
    f: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut rr_value) -> c_int,
    ctx: *mut c_void,
}

/// `v` as a `Var`; `None` when missing. A list's items are read one level
/// deep (a nested list or "other" equals nothing: an empty list).
///
/// # Safety
/// `v`'s pointers are valid as `rr_value` documents, for 'a.
unsafe fn to_var<'a>(v: &rr_value, deep: bool) -> Option<Var<'a>> {
    match v.kind {
        RR_VALUE_TEXT if v.text.is_null() => (v.text_len == 0).then_some(Var::Str(b"")),
        // SAFETY: the callback promised `text_len` readable bytes at `text`.
        RR_VALUE_TEXT => unsafe { bytes(v.text, v.text_len) }.map(Var::Str),
        RR_VALUE_NUMBER => Some(Var::Num(v.number)),
        RR_VALUE_BOOL => Some(Var::Bool(v.boolean)),
        RR_VALUE_LIST if deep => {
            if v.items.is_null() || v.items_len == 0 {
                return Some(Var::List(Vec::new()));
            }
            if v.items_len > isize::MAX as usize / std::mem::size_of::<rr_value>() {
                return None;
            }
            // SAFETY: the callback promised `items_len` values at `items`,
            // valid until the match call returns.
            let items = unsafe { std::slice::from_raw_parts(v.items, v.items_len) };
            let list = items
                .iter()
                // SAFETY: each item is an rr_value under the same promise.
                .map(|item| unsafe { to_var(item, false) }.unwrap_or(Var::List(Vec::new())))
                .collect();
            Some(Var::List(list))
        }
        // A value that equals nothing: an empty list does exactly that.
        RR_VALUE_LIST | RR_VALUE_OTHER => Some(Var::List(Vec::new())),
        _ => None,
    }
}

impl Vars for CValues {
    fn var(&self, name: &str) -> Option<Var<'_>> {
        let mut out = MISSING;
        // SAFETY: calling the caller's callback as the header declares it:
        // `name` is readable for `name.len()` bytes during the call and
        // `out` is a live local.
        let found = unsafe { (self.f)(self.ctx, name.as_ptr(), name.len(), &mut out) };
        if found == 0 {
            return None;
        }
        // SAFETY: the callback promised that what `out` points to stays
        // valid until the match call returns; this Var lives only while
        // `self` does, which is inside that call.
        unsafe { to_var(&out, true) }
    }
}

/// As `rr_router_match_with`, with typed variables: `vars` (NULL: no
/// variables) fills an `rr_value` per variable, so that a vars expression
/// compares numbers, booleans and lists as lua-resty-expr does (`has` on a
/// list, `== true`). A list variable costs one allocation per read.
///
/// # Safety
/// As `rr_router_match_with`; `vars` NULL or a callback as declared,
/// called with `vars_ctx`.
#[no_mangle]
pub unsafe extern "C" fn rr_router_match_values(
    router: *const rr_router,
    req: *const rr_request,
    vars: rr_value_fn,
    vars_ctx: *mut c_void,
    filter: rr_filter_fn,
    filter_ctx: *mut c_void,
    out: *mut rr_match,
) -> rr_result {
    ffi_panic_boundary(|| {
        let c_vars = vars.map(|f| CValues { f, ctx: vars_ctx });
        let vars: &dyn Vars = match &c_vars {
            Some(v) => v,
            None => &NoVars,
        };
        // SAFETY: the caller's promises, forwarded.
        unsafe { match_request(router, req, vars, filter, filter_ctx, out) }
    })
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::MISSING;
    use std::collections::HashMap;
    use std::ffi::{c_int, c_void};
    use std::ptr::{null, null_mut};

    /// A router from `(id, value, path, vars JSON)`; freed by the caller.
    fn router(flags: u32, routes: &[(&str, u64, &str, &str)]) -> *mut rr_router {
        let mut r = null_mut();
        // SAFETY: live locals and slices; each builder is freed once.
        unsafe {
            assert_eq!(rr_router_new(flags, &mut r), rr_result::RR_OK);
            for (id, value, path, vars) in routes {
                let mut b = null_mut();
                assert_eq!(
                    rr_route_new(id.as_ptr(), id.len(), *value, &mut b),
                    rr_result::RR_OK
                );
                rr_route_add_path(b, path.as_ptr(), path.len());
                if !vars.is_empty() {
                    rr_route_set_vars_json(b, vars.as_ptr(), vars.len());
                }
                assert_eq!(rr_router_insert(r, b), rr_result::RR_OK, "{id}");
                rr_route_free(b);
            }
        }
        r
    }

    type Values = HashMap<&'static str, rr_value>;

    unsafe extern "C" fn lookup(
        ctx: *mut c_void,
        name: *const u8,
        name_len: usize,
        out: *mut rr_value,
    ) -> c_int {
        // SAFETY: the tests pass a live `Values` as ctx, and the router a
        // name of `name_len` bytes and a writable `out`.
        unsafe {
            let vars = &*(ctx as *const Values);
            let name = std::str::from_utf8(std::slice::from_raw_parts(name, name_len)).unwrap();
            assert_eq!((*out).kind, RR_VALUE_MISSING, "out arrives missing");
            match vars.get(name) {
                Some(v) => {
                    *out = *v;
                    1
                }
                None => 0,
            }
        }
    }

    fn find(r: *const rr_router, path: &str, vars: &Values) -> Option<u64> {
        let req = rr_request {
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
        };
        let mut m = std::mem::MaybeUninit::<rr_match>::uninit();
        let ctx = vars as *const Values as *mut c_void;
        // SAFETY: live router, request, callback context and out.
        let code = unsafe {
            rr_router_match_values(r, &req, Some(lookup), ctx, None, null_mut(), m.as_mut_ptr())
        };
        match code {
            // SAFETY: RR_OK wrote `m`.
            rr_result::RR_OK => Some(unsafe { m.assume_init() }.value),
            rr_result::RR_NO_MATCH => None,
            other => panic!("{other:?}"),
        }
    }

    fn text(s: &'static str) -> rr_value {
        rr_value {
            kind: RR_VALUE_TEXT,
            text: s.as_ptr(),
            text_len: s.len(),
            ..MISSING
        }
    }

    fn kind(kind: u32, number: f64, boolean: bool) -> rr_value {
        rr_value {
            kind,
            number,
            boolean,
            ..MISSING
        }
    }

    #[test]
    fn typed_values_reach_vars_expressions() {
        let r = router(
            0,
            &[
                ("has", 1, "/has", r#"[["tags", "has", "a"]]"#),
                ("bool", 2, "/bool", r#"[["flag", "==", true]]"#),
                ("num", 3, "/num", r#"[["n", "~=", "5"]]"#),
                ("null", 4, "/null", r#"[["x", "==", null]]"#),
                ("numeq", 5, "/numeq", r#"[["n", "==", 5]]"#),
            ],
        );
        let items = [text("b"), text("a"), kind(RR_VALUE_NUMBER, 1.0, false)];
        let list = |items: &[rr_value]| rr_value {
            kind: RR_VALUE_LIST,
            items: items.as_ptr(),
            items_len: items.len(),
            ..MISSING
        };
        let one = |name: &'static str, v: rr_value| Values::from([(name, v)]);
        let cases: Vec<(&str, Values, bool)> = vec![
            ("/has", one("tags", list(&items)), true),
            ("/has", one("tags", list(&items[..1])), false),
            ("/has", one("tags", list(&[])), false),
            ("/has", one("tags", text("a")), false),
            ("/bool", one("flag", kind(RR_VALUE_BOOL, 0.0, true)), true),
            ("/bool", one("flag", kind(RR_VALUE_BOOL, 0.0, false)), false),
            ("/bool", one("flag", text("true")), false),
            // Lua: 5 ~= "5" holds; "5" ~= "5" does not.
            ("/num", one("n", kind(RR_VALUE_NUMBER, 5.0, false)), true),
            ("/num", one("n", text("5")), false),
            ("/numeq", one("n", kind(RR_VALUE_NUMBER, 5.0, false)), true),
            ("/numeq", one("n", text("5.0")), true),
            // Missing equals null; "other" (ngx.null, a function) does not.
            ("/null", Values::new(), true),
            ("/null", one("x", kind(RR_VALUE_OTHER, 0.0, false)), false),
            ("/null", one("x", kind(99, 0.0, false)), true),
        ];
        for (path, vars, want) in &cases {
            let got = find(r, path, vars).is_some();
            assert_eq!(got, *want, "{path} with {:?}", vars.keys());
        }
        // SAFETY: `r` came from rr_router_new and is freed once.
        unsafe { rr_router_free(r) };
    }

    fn warnings(r: *const rr_router) -> String {
        let mut n = 0usize;
        // SAFETY: live router; (NULL, 0) asks for the length.
        let code = unsafe { rr_router_last_warnings(r, null_mut(), 0, &mut n) };
        if n == 0 {
            assert_eq!(code, rr_result::RR_OK);
            return String::new();
        }
        let mut buf = vec![0u8; n];
        // SAFETY: live router and buffer of `n` bytes.
        let code = unsafe { rr_router_last_warnings(r, buf.as_mut_ptr(), n, &mut n) };
        assert_eq!(code, rr_result::RR_OK);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn tolerant_routers_add_and_report_what_they_let_pass() {
        let bad = [
            ("bad", 1, "/b/:id/(x", r#"[["arg_k", "~~", "[0"]]"#),
            ("ok", 2, "/ok", ""),
        ];
        let r = router(RR_OPT_TOLERANT, &bad[..1]);
        let w = warnings(r);
        let lines: Vec<&str> = w.lines().collect();
        assert_eq!(lines.len(), 2, "{w}");
        assert!(
            lines[0].starts_with(r#"route "bad": field vars: ["arg_k","~~","[0"]: invalid regex"#)
        );
        assert!(lines[1].starts_with(r#"route "bad": field paths: /b/:id/(x: invalid regex"#));
        // SAFETY: live router.
        assert_eq!(unsafe { rr_router_len(r) }, 1);
        // SAFETY: as above; `r` is freed once.
        unsafe { rr_router_free(r) };
        let r = router(RR_OPT_TOLERANT, &bad[1..]);
        assert_eq!(warnings(r), "", "nothing to tolerate");
        // SAFETY: `r` is freed once.
        unsafe { rr_router_free(r) };
        // Strict (the default): refused, with the code of the field.
        let mut r = null_mut();
        let mut b = null_mut();
        let (id, _, path, vars) = bad[0];
        // SAFETY: live locals; the builder and the router are freed once.
        unsafe {
            rr_router_new(0, &mut r);
            rr_route_new(id.as_ptr(), id.len(), 1, &mut b);
            rr_route_add_path(b, path.as_ptr(), path.len());
            assert_eq!(rr_router_insert(r, b), rr_result::RR_INVALID_PATH);
            rr_route_set_vars_json(b, vars.as_ptr(), vars.len());
            assert_eq!(rr_router_insert(r, b), rr_result::RR_INVALID_VARS);
            assert_eq!(warnings(r), "");
            rr_route_free(b);
            rr_router_free(r);
        }
    }

    #[test]
    fn a_route_may_set_its_own_no_param_match() {
        let r = router(RR_OPT_NO_PARAM_MATCH, &[("text", 1, "/t/:id", "")]);
        let path = "/p/:id";
        let mut b = null_mut();
        // SAFETY: live locals; the builder is freed once.
        unsafe {
            rr_route_new(b"param".as_ptr(), 5, 2, &mut b);
            rr_route_add_path(b, path.as_ptr(), path.len());
            assert_eq!(rr_route_set_no_param_match(b, false), rr_result::RR_OK);
            assert_eq!(rr_router_insert(r, b), rr_result::RR_OK);
            rr_route_free(b);
            assert_eq!(
                rr_route_set_no_param_match(null_mut(), true),
                rr_result::RR_NULL_PARAMETER
            );
        }
        let none = Values::new();
        assert_eq!(find(r, "/t/:id", &none), Some(1));
        assert_eq!(find(r, "/t/7", &none), None);
        assert_eq!(find(r, "/p/7", &none), Some(2));
        // SAFETY: `r` is freed once.
        unsafe { rr_router_free(r) };
    }
}
