//! What every host function does with what C hands it: the panic barrier,
//! buffers in, views and copies out. The only place raw buffers become
//! slices.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::abi::{code, RgBytes};

/// A host function's outcome before it becomes an `rg_result`.
pub type Outcome = Result<(), u32>;

/// Runs a host function's body behind a panic barrier: `Ok` is `RG_OK`,
/// `Err(code)` that code, a panic `RG_PANIC` (logged).
pub fn barrier(body: impl FnOnce() -> Outcome) -> u32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => code::OK,
        Ok(Err(code)) => code,
        Err(_) => {
            tracing::error!("a host function called by a C plugin panicked; it returned RG_PANIC");
            code::PANIC
        }
    }
}

/// As [`barrier`] for a host function returning a value: `fallback` on a
/// panic.
pub fn barrier_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        tracing::error!("a host function called by a C plugin panicked");
        fallback
    })
}

/// The bytes of a required buffer: `RG_NULL_PARAMETER` for a NULL pointer
/// (even with length 0) or a length over `isize::MAX`.
///
/// # Safety
/// `ptr`, when not NULL, is readable for `len` bytes that nothing changes
/// for `'a`.
pub unsafe fn required<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], u32> {
    if ptr.is_null() {
        return Err(code::NULL_PARAMETER);
    }
    // SAFETY: not NULL; the caller's contract covers the rest.
    unsafe { optional(ptr, len) }
}

/// The bytes of an optional buffer: `(NULL, 0)` is empty, NULL with a
/// length `RG_NULL_PARAMETER`.
///
/// # Safety
/// As [`required`].
pub unsafe fn optional<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], u32> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(code::NULL_PARAMETER)
        };
    }
    if len > isize::MAX as usize {
        return Err(code::NULL_PARAMETER);
    }
    // SAFETY: not NULL, within isize::MAX, readable for `len` bytes by the
    // caller's contract (the header's: a buffer is readable for its length).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A required buffer as UTF-8 text.
///
/// # Safety
/// As [`required`].
pub unsafe fn required_text<'a>(ptr: *const u8, len: usize) -> Result<&'a str, u32> {
    // SAFETY: the caller's contract.
    utf8(unsafe { required(ptr, len) }?)
}

/// An optional buffer as UTF-8 text.
///
/// # Safety
/// As [`required`].
pub unsafe fn optional_text<'a>(ptr: *const u8, len: usize) -> Result<&'a str, u32> {
    // SAFETY: the caller's contract.
    utf8(unsafe { optional(ptr, len) }?)
}

/// `bytes` as text, or `RG_INVALID_UTF8`.
pub fn utf8(bytes: &[u8]) -> Result<&str, u32> {
    std::str::from_utf8(bytes).map_err(|_| code::INVALID_UTF8)
}

/// The bytes an `rg_bytes` holds (an optional buffer).
///
/// # Safety
/// As [`required`] for its pointer and length.
pub unsafe fn bytes_of<'a>(b: &RgBytes) -> Result<&'a [u8], u32> {
    // SAFETY: the caller's contract.
    unsafe { optional(b.ptr, b.len) }
}

/// The `count` items of a C array: `(NULL, 0)` is empty.
///
/// # Safety
/// `ptr`, when not NULL, points to `count` initialized items that nothing
/// changes for `'a`.
pub unsafe fn array<'a, T>(ptr: *const T, count: usize) -> Result<&'a [T], u32> {
    if ptr.is_null() {
        return if count == 0 {
            Ok(&[])
        } else {
            Err(code::NULL_PARAMETER)
        };
    }
    if !ptr.is_aligned() || count > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(code::NULL_PARAMETER);
    }
    // SAFETY: not NULL, aligned, the size within isize::MAX; readable for
    // `count` items by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
}

/// Writes `value` to the out-param `out`: `RG_NULL_PARAMETER` for NULL.
///
/// # Safety
/// `out`, when not NULL, is writable and aligned for a `T`.
pub unsafe fn write<T>(out: *mut T, value: T) -> Outcome {
    if out.is_null() || !out.is_aligned() {
        return Err(code::NULL_PARAMETER);
    }
    // SAFETY: not NULL, aligned, writable by the caller's contract; `T` is
    // a plain C value (no drop of what was there).
    unsafe { out.write(value) };
    Ok(())
}

/// Writes `value` to `out` unless `out` is NULL (an optional out-param).
///
/// # Safety
/// As [`write`].
pub unsafe fn write_if<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: the caller's contract; NULL was excluded.
        let _ = unsafe { write(out, value) };
    }
}

/// Copies `text` into the caller's `(buf, buf_len)` and its length into
/// `*out_len`: `RG_BUFFER_TOO_SMALL` (with the length written) when it
/// does not fit; `buf` may be NULL with `buf_len` 0 to ask for the length.
///
/// # Safety
/// `buf`, when not NULL, is writable for `buf_len` bytes; `out_len` as
/// [`write`].
pub unsafe fn copy_out(text: &[u8], buf: *mut u8, buf_len: usize, out_len: *mut usize) -> Outcome {
    if out_len.is_null() || (buf.is_null() && buf_len != 0) {
        return Err(code::NULL_PARAMETER);
    }
    // SAFETY: the caller's contract for `out_len`.
    unsafe { write(out_len, text.len()) }?;
    if text.len() > buf_len {
        return Err(code::BUFFER_TOO_SMALL);
    }
    if !text.is_empty() {
        // SAFETY: `buf` is not NULL here (buf_len >= text.len() > 0) and
        // writable for buf_len bytes by the caller's contract; `text` is
        // the host's own memory, so the two do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), buf, text.len()) };
    }
    Ok(())
}
