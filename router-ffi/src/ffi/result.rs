//! `rr_result`: the code every fallible call returns, its names, and the
//! copy of an error text into a caller's buffer.

use super::handle::{out_bytes, write_out};
use super::panic::{ffi_panic_boundary, try_some};
use crate::{Field, RouteError};
use std::ffi::{c_char, CStr};

/// What a call did. 0 is success; numbers are grouped by kind (1xx the
/// arguments, 2xx the route or the router, 9xx failures of the library) and
/// never change or get reused; a retired number stays here as a comment.
///
/// The type is 32 bits wide (`typedef uint32_t rr_result`) so that any
/// number, even one this version does not know, can be passed back to
/// `rr_result_name`.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rr_result {
    /// Success.
    RR_OK = 0,
    /// `rr_router_match`: no route matches the request. Not an error.
    RR_NO_MATCH = 1,
    /// A pointer argument was NULL (or a byte buffer was NULL with a
    /// non-zero length, or longer than `PTRDIFF_MAX`).
    RR_NULL_PARAMETER = 100,
    /// Text that must be UTF-8 (ids, paths, hosts, methods, addresses) is not.
    RR_INVALID_UTF8 = 101,
    /// The output buffer is too small; `*out_len` holds the needed length.
    RR_BUFFER_TOO_SMALL = 102,
    /// A path pattern is malformed (or a route has no path).
    RR_INVALID_PATH = 200,
    /// A host pattern is malformed.
    RR_INVALID_HOST = 201,
    /// A method is not one of GET POST PUT DELETE PATCH HEAD OPTIONS CONNECT TRACE PURGE.
    RR_INVALID_METHOD = 202,
    /// A client address or CIDR is malformed.
    RR_INVALID_REMOTE_ADDR = 203,
    /// The vars JSON is not JSON, or not a valid expression.
    RR_INVALID_VARS = 204,
    /// The route id is refused.
    RR_INVALID_ID = 205,
    /// `rr_router_insert`: the router already holds a route with this id.
    RR_DUPLICATE_ID = 210,
    /// `rr_router_update`/`rr_router_remove`: no route has this id.
    RR_ROUTE_NOT_FOUND = 211,
    /// The router holds the most routes it can.
    RR_ROUTER_FULL = 212,
    /// The library panicked (a bug); the call did nothing or left its
    /// change half done, and the panic message went to stderr.
    RR_PANIC = 900,
    /// A number this version of the library does not know.
    RR_UNKNOWN = 999,
}

impl rr_result {
    /// Every code, for lookups by number.
    const ALL: [rr_result; 16] = [
        rr_result::RR_OK,
        rr_result::RR_NO_MATCH,
        rr_result::RR_NULL_PARAMETER,
        rr_result::RR_INVALID_UTF8,
        rr_result::RR_BUFFER_TOO_SMALL,
        rr_result::RR_INVALID_PATH,
        rr_result::RR_INVALID_HOST,
        rr_result::RR_INVALID_METHOD,
        rr_result::RR_INVALID_REMOTE_ADDR,
        rr_result::RR_INVALID_VARS,
        rr_result::RR_INVALID_ID,
        rr_result::RR_DUPLICATE_ID,
        rr_result::RR_ROUTE_NOT_FOUND,
        rr_result::RR_ROUTER_FULL,
        rr_result::RR_PANIC,
        rr_result::RR_UNKNOWN,
    ];

    /// The code numbered `n`; `RR_UNKNOWN` for a number not listed.
    pub fn from_u32(n: u32) -> rr_result {
        Self::ALL
            .into_iter()
            .find(|r| *r as u32 == n)
            .unwrap_or(rr_result::RR_UNKNOWN)
    }

    /// The code's name as written in the header (`"RR_OK"`, ...).
    pub fn name(self) -> &'static CStr {
        match self {
            rr_result::RR_OK => c"RR_OK",
            rr_result::RR_NO_MATCH => c"RR_NO_MATCH",
            rr_result::RR_NULL_PARAMETER => c"RR_NULL_PARAMETER",
            rr_result::RR_INVALID_UTF8 => c"RR_INVALID_UTF8",
            rr_result::RR_BUFFER_TOO_SMALL => c"RR_BUFFER_TOO_SMALL",
            rr_result::RR_INVALID_PATH => c"RR_INVALID_PATH",
            rr_result::RR_INVALID_HOST => c"RR_INVALID_HOST",
            rr_result::RR_INVALID_METHOD => c"RR_INVALID_METHOD",
            rr_result::RR_INVALID_REMOTE_ADDR => c"RR_INVALID_REMOTE_ADDR",
            rr_result::RR_INVALID_VARS => c"RR_INVALID_VARS",
            rr_result::RR_INVALID_ID => c"RR_INVALID_ID",
            rr_result::RR_DUPLICATE_ID => c"RR_DUPLICATE_ID",
            rr_result::RR_ROUTE_NOT_FOUND => c"RR_ROUTE_NOT_FOUND",
            rr_result::RR_ROUTER_FULL => c"RR_ROUTER_FULL",
            rr_result::RR_PANIC => c"RR_PANIC",
            rr_result::RR_UNKNOWN => c"RR_UNKNOWN",
        }
    }

    /// The code for a field that is malformed.
    pub(crate) fn for_field(field: Field) -> rr_result {
        match field {
            Field::Id => rr_result::RR_INVALID_ID,
            Field::Paths => rr_result::RR_INVALID_PATH,
            Field::Hosts => rr_result::RR_INVALID_HOST,
            Field::Methods => rr_result::RR_INVALID_METHOD,
            Field::RemoteAddrs => rr_result::RR_INVALID_REMOTE_ADDR,
            Field::Vars => rr_result::RR_INVALID_VARS,
        }
    }

    /// The code for an error of the router.
    pub(crate) fn for_route_error(e: &RouteError) -> rr_result {
        match e {
            RouteError::Invalid { field, .. } => rr_result::for_field(*field),
            RouteError::DuplicateId { .. } => rr_result::RR_DUPLICATE_ID,
            RouteError::NotFound { .. } => rr_result::RR_ROUTE_NOT_FOUND,
            RouteError::Full { .. } => rr_result::RR_ROUTER_FULL,
        }
    }
}

/// The name of the code `result` (`"RR_OK"`, `"RR_NO_MATCH"`, ...), or
/// `"RR_UNKNOWN"` for a number this version does not know.
///
/// Returns static, NUL-terminated text: never free it. Never NULL.
#[no_mangle]
pub extern "C" fn rr_result_name(result: u32) -> *const c_char {
    ffi_panic_boundary(|| rr_result::from_u32(result).name().as_ptr())
}

/// Copies `text` into the caller's buffer `(buf, buf_len)` and its length
/// into `*out_len`; when it does not fit, writes only `*out_len` (the
/// needed length) and returns `RR_BUFFER_TOO_SMALL`. No NUL is added.
///
/// # Safety
/// `buf` as in [`out_bytes`]; `out_len` NULL or writable.
pub(crate) unsafe fn copy_text(
    text: &str,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> rr_result {
    if out_len.is_null() {
        return rr_result::RR_NULL_PARAMETER;
    }
    // SAFETY: the caller's contract for `buf`, forwarded.
    let dst = try_some!(unsafe { out_bytes(buf, buf_len) });
    let fits = text.len() <= dst.len();
    if fits {
        dst[..text.len()].copy_from_slice(text.as_bytes());
    }
    // SAFETY: `out_len` is non-NULL and writable (this function's contract).
    try_some!(unsafe { write_out(out_len, text.len()) });
    if fits {
        rr_result::RR_OK
    } else {
        rr_result::RR_BUFFER_TOO_SMALL
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::null_mut;

    #[test]
    fn names_and_numbers() {
        for r in rr_result::ALL {
            assert_eq!(rr_result::from_u32(r as u32), r);
            // SAFETY: rr_result_name returns static NUL-terminated text.
            let name = unsafe { CStr::from_ptr(rr_result_name(r as u32)) };
            assert_eq!(name.to_str().ok(), Some(format!("{r:?}").as_str()));
        }
        assert_eq!(rr_result::from_u32(4242), rr_result::RR_UNKNOWN);
        // SAFETY: as above.
        let name = unsafe { CStr::from_ptr(rr_result_name(4242)) };
        assert_eq!(name, c"RR_UNKNOWN");
    }

    #[test]
    fn copy_text_fits_or_says_how_much_is_needed() {
        let mut buf = [0u8; 8];
        let mut n = 0usize;
        // SAFETY: `buf` and `n` are live locals; NULL is allowed where passed.
        unsafe {
            assert_eq!(
                copy_text("hello", buf.as_mut_ptr(), 8, &mut n),
                rr_result::RR_OK
            );
            assert_eq!((&buf[..n], n), (&b"hello"[..], 5));
            assert_eq!(
                copy_text("too long text", buf.as_mut_ptr(), 8, &mut n),
                rr_result::RR_BUFFER_TOO_SMALL
            );
            assert_eq!((&buf[..5], n), (&b"hello"[..], 13));
            assert_eq!(
                copy_text("abc", null_mut(), 0, &mut n),
                rr_result::RR_BUFFER_TOO_SMALL
            );
            assert_eq!(n, 3);
            assert_eq!(copy_text("", null_mut(), 0, &mut n), rr_result::RR_OK);
            assert_eq!(n, 0);
            assert_eq!(
                copy_text("abc", null_mut(), 4, &mut n),
                rr_result::RR_NULL_PARAMETER
            );
            assert_eq!(
                copy_text("abc", buf.as_mut_ptr(), 8, null_mut()),
                rr_result::RR_NULL_PARAMETER
            );
        }
    }
}
