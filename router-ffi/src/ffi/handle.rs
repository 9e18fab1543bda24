//! Casts between C pointers and Rust values: owned handles, byte buffers and
//! out-params. Every raw pointer the C ABI receives goes through one of
//! these helpers; each says what the caller must guarantee.
//!
//! A handle type declares once, by implementing [`BoxHandle`], that C holds
//! it as a `Box` of its Rust type: [`into_raw`] creates it, [`borrow`] and
//! [`borrow_mut`] lend it, [`free`] takes it back. No other cast of a handle
//! exists, so a handle can't be freed as the wrong type.

/// A C handle (an opaque struct) that C holds as a `Box<Self::Rust>` made
/// by [`into_raw`] and given back once to [`free`].
pub(crate) trait BoxHandle {
    /// The Rust value behind the handle.
    type Rust;
}

/// Moves `value` to the heap and gives C the handle to it.
pub(crate) fn into_raw<C: BoxHandle>(value: C::Rust) -> *mut C {
    Box::into_raw(Box::new(value)).cast()
}

/// Lends the value behind `handle`; `None` when it is NULL.
///
/// # Safety
/// `handle` is NULL or came from [`into_raw`] for the same `C`, has not been
/// freed, and nothing changes the value while the borrow lasts.
pub(crate) unsafe fn borrow<'a, C: BoxHandle>(handle: *const C) -> Option<&'a C::Rust> {
    // SAFETY: per this function's contract a non-NULL `handle` points to a
    // live `C::Rust` (into_raw cast a Box<C::Rust> to it), shared only
    // with readers for 'a.
    unsafe { handle.cast::<C::Rust>().as_ref() }
}

/// Lends the value behind `handle` for a change; `None` when it is NULL.
///
/// # Safety
/// As [`borrow`], and nothing else reads or changes the value while the
/// borrow lasts (the header says which calls need exclusive access).
pub(crate) unsafe fn borrow_mut<'a, C: BoxHandle>(handle: *mut C) -> Option<&'a mut C::Rust> {
    // SAFETY: per this function's contract a non-NULL `handle` points to a
    // live `C::Rust` that nobody else uses for 'a.
    unsafe { handle.cast::<C::Rust>().as_mut() }
}

/// Drops the value behind `handle`; does nothing for NULL.
///
/// # Safety
/// `handle` is NULL or came from [`into_raw`] for the same `C` and has not
/// been freed; it must not be used after this call.
pub(crate) unsafe fn free<C: BoxHandle>(handle: *mut C) {
    if handle.is_null() {
        return;
    }
    // SAFETY: `handle` is the pointer Box::into_raw returned for a
    // Box<C::Rust> (see into_raw), not freed before, and never used again.
    drop(unsafe { Box::from_raw(handle.cast::<C::Rust>()) });
}

/// Writes `value` through the out-param `out`; `None` (nothing written)
/// when `out` is NULL.
///
/// # Safety
/// `out` is NULL or valid for writing one properly aligned `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) -> Option<()> {
    if out.is_null() {
        return None;
    }
    // SAFETY: `out` is non-NULL and, per this function's contract, valid
    // and aligned for a write of T; `write` drops nothing old (C memory).
    unsafe { out.write(value) };
    Some(())
}

/// The bytes `(ptr, len)`; `None` when `ptr` is NULL (whatever `len`) or
/// `len` is beyond what a Rust slice may span (`PTRDIFF_MAX`).
///
/// # Safety
/// A non-NULL `ptr` is readable for `len` bytes that don't change during 'a.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() || len > isize::MAX as usize {
        return None;
    }
    // SAFETY: `ptr` is non-NULL, readable for `len` <= isize::MAX bytes
    // that stay unchanged for 'a (this function's contract); u8 needs no
    // alignment.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// An optional byte buffer: `Some(None)` for `(NULL, 0)` (none),
/// `Some(Some(bytes))` for a buffer, `None` for NULL with a length (a bug
/// in the caller that must not pass for "none").
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn optional_bytes<'a>(ptr: *const u8, len: usize) -> Option<Option<&'a [u8]>> {
    if ptr.is_null() {
        return (len == 0).then_some(None);
    }
    // SAFETY: forwarded contract of this function.
    unsafe { bytes(ptr, len) }.map(Some)
}

/// A caller's output buffer `(ptr, len)`: `(NULL, 0)` is an empty buffer;
/// `None` for NULL with a length.
///
/// # Safety
/// A non-NULL `ptr` is writable for `len` bytes that nothing else reads or
/// writes during 'a.
pub(crate) unsafe fn out_bytes<'a>(ptr: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if ptr.is_null() {
        return (len == 0).then_some(&mut []);
    }
    if len > isize::MAX as usize {
        return None;
    }
    // SAFETY: `ptr` is non-NULL and, per this function's contract,
    // writable for `len` <= isize::MAX bytes used by nobody else for 'a.
    Some(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// A never-NULL pointer for a slice handed to C: an empty slice's own
/// pointer is dangling, so empty slices point at a static byte instead.
pub(crate) fn c_ptr(s: &[u8]) -> *const u8 {
    static EMPTY: u8 = 0;
    if s.is_empty() {
        &EMPTY
    } else {
        s.as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    struct Counter;
    impl BoxHandle for Counter {
        type Rust = u32;
    }

    #[test]
    fn box_handles_round_trip() {
        let h = into_raw::<Counter>(41);
        // SAFETY: h came from into_raw::<Counter> and is freed only below.
        unsafe {
            *borrow_mut(h).expect("non-NULL") += 1;
            assert_eq!(borrow(h.cast_const()), Some(&42));
            free(h);
        }
    }

    #[test]
    fn null_handles_are_none_and_free_ignores_them() {
        // SAFETY: NULL is allowed by every helper.
        unsafe {
            assert!(borrow::<Counter>(null()).is_none());
            assert!(borrow_mut::<Counter>(null_mut()).is_none());
            free::<Counter>(null_mut());
        }
    }

    #[test]
    fn byte_buffers() {
        let data = *b"abc";
        // SAFETY: `data` is readable for 3 bytes; NULL is allowed.
        unsafe {
            assert_eq!(bytes(data.as_ptr(), 3), Some(&b"abc"[..]));
            assert_eq!(bytes(data.as_ptr(), 0), Some(&b""[..]));
            assert_eq!(bytes(null(), 0), None);
            assert_eq!(bytes(data.as_ptr(), usize::MAX), None);
            assert_eq!(optional_bytes(null(), 0), Some(None));
            assert_eq!(optional_bytes(null(), 3), None);
            assert_eq!(optional_bytes(data.as_ptr(), 2), Some(Some(&b"ab"[..])));
        }
    }

    #[test]
    fn out_params() {
        let mut n = 0usize;
        let mut buf = [0u8; 4];
        // SAFETY: `n` and `buf` are live locals; NULL is allowed.
        unsafe {
            assert_eq!(write_out(&mut n, 5), Some(()));
            assert_eq!(write_out(null_mut::<usize>(), 5), None);
            assert_eq!(out_bytes(buf.as_mut_ptr(), 4).map(|b| b.len()), Some(4));
            assert_eq!(out_bytes(null_mut(), 0).map(|b| b.len()), Some(0));
            assert!(out_bytes(null_mut(), 4).is_none());
        }
        assert_eq!(n, 5);
    }

    #[test]
    fn c_ptr_is_never_null() {
        assert!(!c_ptr(b"").is_null());
        let s = b"xy";
        assert_eq!(c_ptr(s), s.as_ptr());
    }
}
