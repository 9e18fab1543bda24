//! The host functions on an `rg_request` that read and change the request
//! and the response. Each runs behind the panic barrier.

use abi_stable::std_types::{ROption, RStr};
use radixgate_plugin::abi::RawCtx;

use super::abi::{code, RgBytes, RgClientAddr, RgHeader, RgRequest};
use super::call::{call_mut, call_ref, CallState};
use super::ffi::{self, barrier, barrier_or, Outcome};

/// Writes to `out` the view `read` gives of the request behind `req`;
/// `RG_NONE` when it gives none.
///
/// # Safety
/// `req` as [`call_ref`]; `out` as [`ffi::write`].
unsafe fn view(
    req: *const RgRequest,
    out: *mut RgBytes,
    read: impl for<'c> FnOnce(&'c RawCtx<'c>) -> ROption<RStr<'c>>,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's contract.
        let call = unsafe { call_ref(req) }?;
        match read(&call.ctx).into_option() {
            // SAFETY: the caller's contract for `out`.
            Some(text) => unsafe { ffi::write(out, RgBytes::of(text.as_str().as_bytes())) },
            None => Err(code::NONE),
        }
    })
}

/// As [`view`], for a read that takes a name (`(name, name_len)`, UTF-8).
///
/// # Safety
/// As [`view`]; `name` readable for `name_len` bytes.
unsafe fn view_named(
    req: *const RgRequest,
    name: *const u8,
    name_len: usize,
    out: *mut RgBytes,
    read: impl for<'c> FnOnce(&'c RawCtx<'c>, RStr<'_>) -> ROption<RStr<'c>>,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's contract.
        let name = unsafe { ffi::required_text(name, name_len) }?;
        // SAFETY: the caller's contract.
        let call = unsafe { call_ref(req) }?;
        match read(&call.ctx, RStr::from(name)).into_option() {
            // SAFETY: the caller's contract for `out`.
            Some(text) => unsafe { ffi::write(out, RgBytes::of(text.as_str().as_bytes())) },
            None => Err(code::NONE),
        }
    })
}

/// Runs `edit` on the call behind `req` with one text argument.
///
/// # Safety
/// `req` as [`call_mut`]; `text` readable for `len` bytes.
unsafe fn edit(
    req: *mut RgRequest,
    text: *const u8,
    len: usize,
    edit: impl FnOnce(&mut CallState<'_, '_>, &str) -> Outcome,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's contract.
        let text = unsafe { ffi::required_text(text, len) }?;
        // SAFETY: the caller's contract.
        edit(unsafe { call_mut(req) }?, text)
    })
}

/// Runs `edit` on the call behind `req` with a header name and value
/// (refused with `RG_INVALID_ARGUMENT` when not valid HTTP).
///
/// # Safety
/// `req` as [`call_mut`]; the buffers readable for their lengths.
pub(super) unsafe fn edit_header(
    req: *mut RgRequest,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
    edit: impl FnOnce(&mut CallState<'_, '_>, &str, &str) -> Outcome,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's contract.
        let name = unsafe { ffi::required_text(name, name_len) }?;
        // SAFETY: the caller's contract.
        let value = unsafe { ffi::optional_text(value, value_len) }?;
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(value).is_err()
        {
            return Err(code::INVALID_ARGUMENT);
        }
        // SAFETY: the caller's contract.
        edit(unsafe { call_mut(req) }?, name, value)
    })
}

/// A header name a plugin gave, refused when not valid HTTP.
fn header_name(name: &str) -> Outcome {
    http::HeaderName::from_bytes(name.as_bytes())
        .map(|_| ())
        .map_err(|_| code::INVALID_ARGUMENT)
}

/// A status a plugin gave, refused outside 100..=599.
pub(super) fn status(status: u16) -> Outcome {
    if (100..=599).contains(&status) {
        Ok(())
    } else {
        Err(code::INVALID_ARGUMENT)
    }
}

macro_rules! plain_view {
    ($(#[$doc:meta])* $name:ident, $read:ident) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The header's contract for `req` and `out`.
        pub unsafe extern "C" fn $name(req: *const RgRequest, out: *mut RgBytes) -> u32 {
            // SAFETY: the caller's (C's) contract, as the header states it.
            unsafe { view(req, out, |ctx| ROption::RSome(ctx.$read())) }
        }
    };
}

macro_rules! named_view {
    ($(#[$doc:meta])* $name:ident, $read:ident) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The header's contract for `req`, `name` and `out`.
        pub unsafe extern "C" fn $name(
            req: *const RgRequest,
            name: *const u8,
            name_len: usize,
            out: *mut RgBytes,
        ) -> u32 {
            // SAFETY: the caller's (C's) contract, as the header states it.
            unsafe { view_named(req, name, name_len, out, |ctx, name| ctx.$read(name)) }
        }
    };
}

macro_rules! header_edit {
    ($(#[$doc:meta])* $name:ident, $edit:ident) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The header's contract for `req` and the buffers.
        pub unsafe extern "C" fn $name(
            req: *mut RgRequest,
            name: *const u8,
            name_len: usize,
            value: *const u8,
            value_len: usize,
        ) -> u32 {
            // SAFETY: the caller's (C's) contract, as the header states it.
            unsafe {
                edit_header(req, name, name_len, value, value_len, |call, n, v| {
                    call.ctx.$edit(n.into(), v.into());
                    Ok(())
                })
            }
        }
    };
}

macro_rules! header_remove {
    ($(#[$doc:meta])* $name:ident, $remove:ident) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The header's contract for `req` and `name`.
        pub unsafe extern "C" fn $name(req: *mut RgRequest, name: *const u8, name_len: usize) -> u32 {
            // SAFETY: the caller's (C's) contract, as the header states it.
            unsafe {
                edit(req, name, name_len, |call, n| {
                    header_name(n)?;
                    call.ctx.$remove(n.into());
                    Ok(())
                })
            }
        }
    };
}

plain_view!(
    /// `request_method`.
    request_method, method
);
plain_view!(
    /// `request_path`.
    request_path, path
);
plain_view!(
    /// `request_query`.
    request_query, query
);
plain_view!(
    /// `request_route_id`.
    request_route_id, route_id
);
named_view!(
    /// `request_query_arg`.
    request_query_arg, query_arg
);
named_view!(
    /// `request_header`.
    request_header, header
);
named_view!(
    /// `request_route_param`.
    request_route_param, route_param
);
named_view!(
    /// `request_var`.
    request_var, var
);
named_view!(
    /// `response_header`.
    response_header, response_header
);
header_edit!(
    /// `request_header_add`.
    request_header_add, add_header
);
header_edit!(
    /// `request_header_set`.
    request_header_set, set_header
);
header_edit!(
    /// `response_header_add`.
    response_header_add, add_response_header
);
header_edit!(
    /// `response_header_set`.
    response_header_set, set_response_header
);
header_remove!(
    /// `request_header_remove`.
    request_header_remove, remove_header
);
header_remove!(
    /// `response_header_remove`.
    response_header_remove, remove_response_header
);

/// `request_consumer`.
///
/// # Safety
/// The header's contract for `req` and `out`.
pub unsafe extern "C" fn request_consumer(req: *const RgRequest, out: *mut RgBytes) -> u32 {
    // SAFETY: the caller's (C's) contract.
    unsafe { view(req, out, |ctx| ctx.consumer()) }
}

/// `request_header_count`.
///
/// # Safety
/// The header's contract for `req`.
pub unsafe extern "C" fn request_header_count(req: *const RgRequest) -> usize {
    barrier_or(0, || {
        // SAFETY: the caller's (C's) contract.
        unsafe { call_ref(req) }.map_or(0, |call| call.ctx.header_count())
    })
}

/// `request_header_at`.
///
/// # Safety
/// The header's contract for `req` and `out`.
pub unsafe extern "C" fn request_header_at(
    req: *const RgRequest,
    index: usize,
    out: *mut RgHeader,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let call = unsafe { call_ref(req) }?;
        let line = call.ctx.header_at(index).into_option().ok_or(code::NONE)?;
        let header = RgHeader {
            name: RgBytes::of(line.0.as_str().as_bytes()),
            value: RgBytes::of(line.1.as_str().as_bytes()),
        };
        // SAFETY: the caller's contract for `out`.
        unsafe { ffi::write(out, header) }
    })
}

/// `request_set_uri`.
///
/// # Safety
/// The header's contract for `req` and the buffer.
pub unsafe extern "C" fn request_set_uri(req: *mut RgRequest, uri: *const u8, len: usize) -> u32 {
    // SAFETY: the caller's (C's) contract.
    unsafe {
        edit(req, uri, len, |call, uri| {
            if !uri.starts_with('/') || http::uri::PathAndQuery::try_from(uri).is_err() {
                return Err(code::INVALID_ARGUMENT);
            }
            call.ctx.set_uri(uri.into());
            Ok(())
        })
    }
}

/// `request_set_method`.
///
/// # Safety
/// The header's contract for `req` and the buffer.
pub unsafe extern "C" fn request_set_method(req: *mut RgRequest, m: *const u8, len: usize) -> u32 {
    // SAFETY: the caller's (C's) contract.
    unsafe {
        edit(req, m, len, |call, m| {
            http::Method::from_bytes(m.as_bytes()).map_err(|_| code::INVALID_ARGUMENT)?;
            call.ctx.set_method(m.into());
            Ok(())
        })
    }
}

/// `request_set_consumer`.
///
/// # Safety
/// The header's contract for `req` and the buffer.
pub unsafe extern "C" fn request_set_consumer(
    req: *mut RgRequest,
    u: *const u8,
    len: usize,
) -> u32 {
    // SAFETY: the caller's (C's) contract.
    unsafe {
        edit(req, u, len, |call, username| {
            call.ctx.set_consumer(username.into());
            Ok(())
        })
    }
}

/// `request_set_var`.
///
/// # Safety
/// The header's contract for `req` and the buffers.
pub unsafe extern "C" fn request_set_var(
    req: *mut RgRequest,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let name = unsafe { ffi::required_text(name, name_len) }?;
        // SAFETY: the caller's (C's) contract.
        let value = unsafe { ffi::optional_text(value, value_len) }?;
        // SAFETY: the caller's (C's) contract.
        let call = unsafe { call_mut(req) }?;
        call.ctx.set_var(name.into(), value.into());
        Ok(())
    })
}

/// `request_client_addr`.
///
/// # Safety
/// The header's contract for `req` and `out`.
pub unsafe extern "C" fn request_client_addr(req: *const RgRequest, out: *mut RgClientAddr) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let addr = unsafe { call_ref(req) }?.ctx.client_addr();
        let addr = RgClientAddr {
            ip: addr.ip,
            port: addr.port,
            is_v4: addr.is_v4,
        };
        // SAFETY: the caller's contract for `out`.
        unsafe { ffi::write(out, addr) }
    })
}

/// `response_status`.
///
/// # Safety
/// The header's contract for `req`.
pub unsafe extern "C" fn response_status(req: *const RgRequest) -> u16 {
    barrier_or(0, || {
        // SAFETY: the caller's (C's) contract.
        unsafe { call_ref(req) }.map_or(0, |call| call.ctx.response_status())
    })
}

/// `response_set_status`.
///
/// # Safety
/// The header's contract for `req`.
pub unsafe extern "C" fn response_set_status(req: *mut RgRequest, code: u16) -> u32 {
    barrier(|| {
        status(code)?;
        // SAFETY: the caller's (C's) contract.
        unsafe { call_mut(req) }?.ctx.set_response_status(code);
        Ok(())
    })
}
