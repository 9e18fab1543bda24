//! Host operations across the C boundary: a plugin's `rg_http_call` and
//! `rg_redis_call` copied into the plugin ABI's operations, and an
//! operation's result lent to the plugin as an `rg_op_result`.

use abi_stable::std_types::{RNone, RSome, RString, RVec, Tuple2};
use radixgate_plugin::abi::{HttpCall, OpResult, OpResultNE, RedisCall};

use super::abi::{op_kind, RgBytes, RgHeader, RgHttpCall, RgOpResult, RgRedisCall};
use super::ffi;

/// Copies a plugin's HTTP call.
///
/// # Safety
/// `call` is NULL or points to an `rg_http_call` whose buffers and header
/// array are readable for their lengths.
pub unsafe fn http_call(call: *const RgHttpCall) -> Result<HttpCall, u32> {
    // SAFETY: the caller's contract.
    let call = unsafe { ffi::array(call, 1) }?
        .first()
        .ok_or(super::abi::code::NULL_PARAMETER)?;
    // SAFETY: the caller's contract for each buffer.
    let method = unsafe { ffi::required_text(call.method.ptr, call.method.len) }?;
    // SAFETY: as above.
    let url = unsafe { ffi::required_text(call.url.ptr, call.url.len) }?;
    // SAFETY: as above, for the header array.
    let lines = unsafe { ffi::array(call.headers, call.header_count) }?;
    let mut headers = RVec::with_capacity(lines.len());
    for line in lines {
        // SAFETY: as above, for each line's buffers.
        let name = unsafe { ffi::bytes_of(&line.name) }.and_then(ffi::utf8)?;
        // SAFETY: as above.
        let value = unsafe { ffi::bytes_of(&line.value) }.and_then(ffi::utf8)?;
        headers.push(Tuple2(RString::from(name), RString::from(value)));
    }
    // SAFETY: as above.
    let body = unsafe { ffi::bytes_of(&call.body) }?;
    Ok(HttpCall {
        method: method.into(),
        url: url.into(),
        headers,
        body: RVec::from(body),
        timeout_ms: call.timeout_ms,
        verify_tls: call.verify_tls != 0,
    })
}

/// Copies a plugin's Redis call.
///
/// # Safety
/// `call` is NULL or points to an `rg_redis_call` whose buffers and arrays
/// are readable for their lengths.
pub unsafe fn redis_call(call: *const RgRedisCall) -> Result<RedisCall, u32> {
    // SAFETY: the caller's contract.
    let call = unsafe { ffi::array(call, 1) }?
        .first()
        .ok_or(super::abi::code::NULL_PARAMETER)?;
    // SAFETY: the caller's contract for the arrays and each buffer.
    let nodes = unsafe { ffi::array(call.nodes, call.node_count) }?
        .iter()
        .map(|n| {
            // SAFETY: as above.
            unsafe { ffi::bytes_of(n) }
                .and_then(ffi::utf8)
                .map(RString::from)
        })
        .collect::<Result<RVec<_>, u32>>()?;
    // SAFETY: as above.
    let args = unsafe { ffi::array(call.args, call.arg_count) }?
        .iter()
        // SAFETY: as above.
        .map(|a| unsafe { ffi::bytes_of(a) }.map(RVec::from))
        .collect::<Result<RVec<_>, u32>>()?;
    let text = |b: &RgBytes| -> Result<_, u32> {
        // SAFETY: as above.
        let t = unsafe { ffi::bytes_of(b) }.and_then(ffi::utf8)?;
        Ok(if b.ptr.is_null() {
            RNone
        } else {
            RSome(RString::from(t))
        })
    };
    Ok(RedisCall {
        nodes,
        cluster: call.cluster != 0,
        database: call.database,
        username: text(&call.username)?,
        password: text(&call.password)?,
        args,
        timeout_ms: call.timeout_ms,
    })
}

/// An operation's result and the header array its `rg_op_result` points
/// into, kept together for the resume call. The array points into the
/// result's heap buffers, which stay put when the two move.
pub struct LentResult {
    result: OpResult,
    headers: Vec<RgHeader>,
}

impl LentResult {
    /// The result the host resumes a phase with (an unknown one as a
    /// failure).
    pub fn new(result: OpResultNE) -> LentResult {
        let result = result.into_enum().unwrap_or_else(|_| {
            OpResult::Failed("an operation result this gateway does not know".into())
        });
        let headers = match &result {
            OpResult::Http(answer) => answer
                .headers
                .iter()
                .map(|h| RgHeader {
                    name: RgBytes::of(h.0.as_bytes()),
                    value: RgBytes::of(h.1.as_bytes()),
                })
                .collect(),
            _ => Vec::new(),
        };
        LentResult { result, headers }
    }

    /// The `rg_op_result` view, borrowing this.
    pub fn view(&self) -> RgOpResult {
        let (kind, status, data): (u32, u16, &[u8]) = match &self.result {
            OpResult::Done => (op_kind::DONE, 0, &[]),
            OpResult::Http(answer) => (op_kind::HTTP, answer.status, &answer.body),
            OpResult::Redis(reply) => (op_kind::REDIS, 0, reply),
            OpResult::Failed(why) => (op_kind::FAILED, 0, why.as_bytes()),
            _ => (
                op_kind::FAILED,
                0,
                b"an operation result this gateway does not know",
            ),
        };
        RgOpResult {
            kind,
            status,
            headers: if self.headers.is_empty() {
                std::ptr::null()
            } else {
                self.headers.as_ptr()
            },
            header_count: self.headers.len(),
            data: RgBytes::of(data),
        }
    }
}
