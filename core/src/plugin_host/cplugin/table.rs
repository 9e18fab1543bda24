//! The `rg_host` table every C plugin call is given: static, one for the
//! process.

use std::ffi::c_char;

use super::abi::{code, RgHost, ABI_VERSION};
use super::{host_decision as dc, host_request as rq, host_services as sv};

/// `result_name`: static, NUL-terminated, never NULL.
///
/// # Safety
/// None: any number is fine (`unsafe` only to fit the table's type).
unsafe extern "C" fn result_name(result: u32) -> *const c_char {
    // `code::name` cannot panic (a lookup in a constant table).
    code::name(result).as_ptr()
}

/// The host's functions, as `include/radixgate_plugin.h` orders them.
pub static HOST: RgHost = RgHost {
    abi_version: ABI_VERSION,
    size: std::mem::size_of::<RgHost>() as u32,
    result_name,
    request_method: rq::request_method,
    request_path: rq::request_path,
    request_query: rq::request_query,
    request_query_arg: rq::request_query_arg,
    request_header: rq::request_header,
    request_header_count: rq::request_header_count,
    request_header_at: rq::request_header_at,
    request_header_add: rq::request_header_add,
    request_header_set: rq::request_header_set,
    request_header_remove: rq::request_header_remove,
    request_set_uri: rq::request_set_uri,
    request_set_method: rq::request_set_method,
    request_client_addr: rq::request_client_addr,
    request_route_id: rq::request_route_id,
    request_route_param: rq::request_route_param,
    request_consumer: rq::request_consumer,
    request_set_consumer: rq::request_set_consumer,
    request_var: rq::request_var,
    request_set_var: rq::request_set_var,
    response_status: rq::response_status,
    response_set_status: rq::response_set_status,
    response_header: rq::response_header,
    response_header_add: rq::response_header_add,
    response_header_set: rq::response_header_set,
    response_header_remove: rq::response_header_remove,
    body_chunk: dc::body_chunk,
    body_replace: dc::body_replace,
    respond: dc::respond,
    respond_header: dc::respond_header,
    fail: dc::fail,
    suspend_sleep: dc::suspend_sleep,
    suspend_http: dc::suspend_http,
    suspend_redis: dc::suspend_redis,
    store_incr: sv::store_incr,
    store_get: sv::store_get,
    store_set: sv::store_set,
    plugin_metadata: sv::plugin_metadata,
    now_unix_ms: sv::now_unix_ms,
    monotonic_ns: sv::monotonic_ns,
    log: sv::log,
    counter_register: sv::counter_register,
    histogram_register: sv::histogram_register,
    counter_add: sv::counter_add,
    histogram_observe: sv::histogram_observe,
};
