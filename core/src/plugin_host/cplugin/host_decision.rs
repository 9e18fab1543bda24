//! The host functions on an `rg_request` that make the call's decision: a
//! reply, a failure message, a host operation to suspend on; and the body
//! chunk of body_filter. Each runs behind the panic barrier.

use std::ffi::c_void;

use abi_stable::std_types::RBox;
use radixgate_plugin::abi::{HostOp, HttpCall, RedisCall};
use radixgate_plugin::Phase;

use super::abi::{code, ResumeFn, RgBytes, RgHttpCall, RgRedisCall, RgRequest, StateDropFn};
use super::call::{call_mut, call_ref, Pending, State};
use super::ffi::{self, barrier};
use super::host_request::{edit_header, status};
use super::operations::{http_call, redis_call};

/// `body_chunk`.
///
/// # Safety
/// The header's contract for `req`, `out` and `last`.
pub unsafe extern "C" fn body_chunk(
    req: *const RgRequest,
    out: *mut RgBytes,
    last: *mut bool,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let call = unsafe { call_ref(req) }?;
        let body = call.body.as_ref().ok_or(code::WRONG_PHASE)?;
        let chunk = body.replacement.as_deref().unwrap_or(body.data);
        if last.is_null() {
            return Err(code::NULL_PARAMETER);
        }
        // SAFETY: the caller's contract for `out`.
        unsafe { ffi::write(out, RgBytes::of(chunk)) }?;
        // SAFETY: the caller's contract for `last` (not NULL).
        unsafe { ffi::write(last, body.last) }
    })
}

/// `body_replace`.
///
/// # Safety
/// The header's contract for `req` and the buffer.
pub unsafe extern "C" fn body_replace(req: *mut RgRequest, data: *const u8, len: usize) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let data = unsafe { ffi::optional(data, len) }?;
        // SAFETY: the caller's (C's) contract.
        let call = unsafe { call_mut(req) }?;
        let body = call.body.as_mut().ok_or(code::WRONG_PHASE)?;
        body.replacement = Some(data.to_vec());
        Ok(())
    })
}

/// `respond`.
///
/// # Safety
/// The header's contract for `req` and the buffer.
pub unsafe extern "C" fn respond(
    req: *mut RgRequest,
    code: u16,
    body: *const u8,
    len: usize,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let body = unsafe { ffi::optional(body, len) }?;
        // SAFETY: the caller's (C's) contract.
        let call = unsafe { call_mut(req) }?;
        if !call.may_respond() {
            return Err(code::WRONG_PHASE);
        }
        status(code)?;
        call.reply_status = Some(code);
        call.reply_body = body.to_vec();
        Ok(())
    })
}

/// `respond_header`.
///
/// # Safety
/// The header's contract for `req` and the buffers.
pub unsafe extern "C" fn respond_header(
    req: *mut RgRequest,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
) -> u32 {
    // SAFETY: the caller's (C's) contract.
    unsafe {
        edit_header(req, name, name_len, value, value_len, |call, n, v| {
            if !call.may_respond() {
                return Err(code::WRONG_PHASE);
            }
            call.reply_headers.push((n.to_owned(), v.to_owned()));
            Ok(())
        })
    }
}

/// `fail`.
///
/// # Safety
/// The header's contract for `req` and the buffer.
pub unsafe extern "C" fn fail(req: *mut RgRequest, message: *const u8, len: usize) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let message = unsafe { ffi::optional_text(message, len) }?;
        // SAFETY: the caller's (C's) contract.
        unsafe { call_mut(req) }?.failure = Some(message.to_owned());
        Ok(())
    })
}

/// Records the operation `op` the call behind `req` suspends on, taking
/// `state` over once everything is checked (`op` builds the operation).
///
/// # Safety
/// `req` as [`call_mut`]; `op` reads only what the caller vouches for.
unsafe fn suspend(
    req: *mut RgRequest,
    op: impl FnOnce() -> Result<HostOp, u32>,
    resume: Option<ResumeFn>,
    state: *mut c_void,
    state_drop: Option<StateDropFn>,
) -> u32 {
    barrier(|| {
        // SAFETY: the caller's (C's) contract.
        let call = unsafe { call_mut(req) }?;
        if call.phase == Phase::BodyFilter {
            return Err(code::WRONG_PHASE);
        }
        if call.suspended.is_some() {
            return Err(code::ALREADY_SUSPENDED);
        }
        let resume = resume.ok_or(code::NULL_PARAMETER)?;
        let op = op()?;
        call.suspended = Some(Pending {
            op,
            resume,
            state: State::new(state, state_drop),
        });
        Ok(())
    })
}

/// `suspend_sleep`.
///
/// # Safety
/// The header's contract for `req`, `resume`, `state` and `state_drop`.
pub unsafe extern "C" fn suspend_sleep(
    req: *mut RgRequest,
    ms: u64,
    resume: Option<ResumeFn>,
    state: *mut c_void,
    state_drop: Option<StateDropFn>,
) -> u32 {
    // SAFETY: the caller's (C's) contract.
    unsafe { suspend(req, || Ok(HostOp::Sleep { ms }), resume, state, state_drop) }
}

/// `suspend_http`.
///
/// # Safety
/// The header's contract for `req`, `call` and the rest.
pub unsafe extern "C" fn suspend_http(
    req: *mut RgRequest,
    call: *const RgHttpCall,
    resume: Option<ResumeFn>,
    state: *mut c_void,
    state_drop: Option<StateDropFn>,
) -> u32 {
    let op = || -> Result<HostOp, u32> {
        // SAFETY: the caller's (C's) contract for `call`.
        let http: HttpCall = unsafe { http_call(call) }?;
        Ok(HostOp::Http(RBox::new(http)))
    };
    // SAFETY: the caller's (C's) contract.
    unsafe { suspend(req, op, resume, state, state_drop) }
}

/// `suspend_redis`.
///
/// # Safety
/// The header's contract for `req`, `call` and the rest.
pub unsafe extern "C" fn suspend_redis(
    req: *mut RgRequest,
    call: *const RgRedisCall,
    resume: Option<ResumeFn>,
    state: *mut c_void,
    state_drop: Option<StateDropFn>,
) -> u32 {
    let op = || -> Result<HostOp, u32> {
        // SAFETY: the caller's (C's) contract for `call`.
        let redis: RedisCall = unsafe { redis_call(call) }?;
        Ok(HostOp::Redis(RBox::new(redis)))
    };
    // SAFETY: the caller's (C's) contract.
    unsafe { suspend(req, op, resume, state, state_drop) }
}
