//! The Rust side of `include/radixgate_plugin.h`: the same structs
//! (`#[repr(C)]`, field for field, checked against the header by a test
//! compiled with the C compiler) and the same numbers.
//!
//! C `bool` fields a plugin writes are read as `u8` (any non-zero is
//! true), so that no byte a plugin writes is an invalid Rust value.

use std::ffi::{c_char, c_void};

/// `RG_PLUGIN_ABI_VERSION`.
pub const ABI_VERSION: u32 = 1;

/// The symbol a C plugin exports (`RG_PLUGIN_SYMBOL`), NUL-terminated.
pub const SYMBOL: &[u8] = b"radixgate_plugin_c_v1\0";

/// `rg_result` codes.
pub mod code {
    /// Success.
    pub const OK: u32 = 0;
    /// What was asked for does not exist.
    pub const NONE: u32 = 1;
    /// A NULL pointer (or a NULL buffer with a length).
    pub const NULL_PARAMETER: u32 = 100;
    /// Text that is not UTF-8.
    pub const INVALID_UTF8: u32 = 101;
    /// The caller's buffer is too small.
    pub const BUFFER_TOO_SMALL: u32 = 102;
    /// An argument out of its range.
    pub const INVALID_ARGUMENT: u32 = 103;
    /// Not in this phase.
    pub const WRONG_PHASE: u32 = 200;
    /// The call already suspended.
    pub const ALREADY_SUSPENDED: u32 = 201;
    /// A metric the host refused.
    pub const METRIC_REFUSED: u32 = 202;
    /// A config the plugin refuses.
    pub const INVALID_CONFIG: u32 = 300;
    /// The host failed.
    pub const PANIC: u32 = 900;
    /// A number this host does not know.
    pub const UNKNOWN: u32 = 999;

    /// Every code with its name, as the header spells it.
    pub const NAMED: [(u32, &std::ffi::CStr); 12] = [
        (OK, c"RG_OK"),
        (NONE, c"RG_NONE"),
        (NULL_PARAMETER, c"RG_NULL_PARAMETER"),
        (INVALID_UTF8, c"RG_INVALID_UTF8"),
        (BUFFER_TOO_SMALL, c"RG_BUFFER_TOO_SMALL"),
        (INVALID_ARGUMENT, c"RG_INVALID_ARGUMENT"),
        (WRONG_PHASE, c"RG_WRONG_PHASE"),
        (ALREADY_SUSPENDED, c"RG_ALREADY_SUSPENDED"),
        (METRIC_REFUSED, c"RG_METRIC_REFUSED"),
        (INVALID_CONFIG, c"RG_INVALID_CONFIG"),
        (PANIC, c"RG_PANIC"),
        (UNKNOWN, c"RG_UNKNOWN"),
    ];

    /// The name of `code` (`RG_UNKNOWN` for a number not in [`NAMED`]).
    pub fn name(code: u32) -> &'static std::ffi::CStr {
        NAMED
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(c"RG_UNKNOWN", |(_, name)| name)
    }
}

/// `rg_decision` codes.
pub mod decision {
    /// `RG_CONTINUE`.
    pub const CONTINUE: u32 = 0;
    /// `RG_RESPOND`.
    pub const RESPOND: u32 = 1;
    /// `RG_FAIL`.
    pub const FAIL: u32 = 2;
    /// `RG_SUSPEND`.
    pub const SUSPEND: u32 = 3;
}

/// `rg_op_kind` codes.
pub mod op_kind {
    /// `RG_OP_DONE`.
    pub const DONE: u32 = 0;
    /// `RG_OP_HTTP`.
    pub const HTTP: u32 = 1;
    /// `RG_OP_REDIS`.
    pub const REDIS: u32 = 2;
    /// `RG_OP_FAILED`.
    pub const FAILED: u32 = 3;
}

/// Every `RG_PHASE_*` bit this host knows (the same bits as [`Phases`](radixgate_plugin::Phases)).
pub const KNOWN_PHASES: u32 = 0b11_1111;

/// `RG_PLUGIN_PREFER_ROUTE`.
pub const FLAG_PREFER_ROUTE: u32 = 1;

/// Every `RG_PLUGIN_*` flag this host knows.
pub const KNOWN_FLAGS: u32 = FLAG_PREFER_ROUTE;

/// `rg_bytes`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RgBytes {
    /// The first byte (NULL only when `len` is 0).
    pub ptr: *const u8,
    /// The length.
    pub len: usize,
}

impl RgBytes {
    /// A view of `bytes`, borrowed as long as the caller keeps them.
    pub fn of(bytes: &[u8]) -> RgBytes {
        RgBytes {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }
}

/// `rg_header`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RgHeader {
    /// The name.
    pub name: RgBytes,
    /// The value.
    pub value: RgBytes,
}

/// `rg_client_addr` (written by the host only).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RgClientAddr {
    /// Address octets.
    pub ip: [u8; 16],
    /// Client port.
    pub port: u16,
    /// Connected over IPv4.
    pub is_v4: bool,
}

/// `rg_http_call` (written by the plugin).
#[repr(C)]
pub struct RgHttpCall {
    /// The method.
    pub method: RgBytes,
    /// The URL.
    pub url: RgBytes,
    /// Header lines.
    pub headers: *const RgHeader,
    /// How many.
    pub header_count: usize,
    /// The body.
    pub body: RgBytes,
    /// The budget in ms.
    pub timeout_ms: u64,
    /// C `bool`.
    pub verify_tls: u8,
}

/// `rg_redis_call` (written by the plugin).
#[repr(C)]
pub struct RgRedisCall {
    /// Server or seed nodes.
    pub nodes: *const RgBytes,
    /// How many.
    pub node_count: usize,
    /// Command and arguments.
    pub args: *const RgBytes,
    /// How many.
    pub arg_count: usize,
    /// ACL user name.
    pub username: RgBytes,
    /// Password.
    pub password: RgBytes,
    /// The budget in ms.
    pub timeout_ms: u64,
    /// The database.
    pub database: u32,
    /// C `bool`.
    pub cluster: u8,
}

/// `rg_op_result` (written by the host only).
#[repr(C)]
pub struct RgOpResult {
    /// An `op_kind`.
    pub kind: u32,
    /// The HTTP status.
    pub status: u16,
    /// HTTP response headers.
    pub headers: *const RgHeader,
    /// How many.
    pub header_count: usize,
    /// Body, reply or failure text.
    pub data: RgBytes,
}

/// `rg_request`: opaque to C; the host's per-call state behind it.
#[repr(C)]
pub struct RgRequest {
    _opaque: [u8; 0],
}

/// `rg_services`: opaque to C; the host's per-instance services behind it.
#[repr(C)]
pub struct RgServices {
    _opaque: [u8; 0],
}

/// `rg_resume_fn`.
pub type ResumeFn = unsafe extern "C" fn(
    instance: *mut c_void,
    state: *mut c_void,
    host: *const RgHost,
    req: *mut RgRequest,
    result: *const RgOpResult,
) -> u32;

/// `rg_state_drop_fn`.
pub type StateDropFn = unsafe extern "C" fn(state: *mut c_void);

/// `rg_instance_new_fn`.
pub type InstanceNewFn = unsafe extern "C" fn(
    host: *const RgHost,
    services: *const RgServices,
    config: *const u8,
    config_len: usize,
    instance: *mut *mut c_void,
    error: *mut u8,
    error_cap: usize,
    error_len: *mut usize,
) -> u32;

/// `rg_instance_drop_fn`.
pub type InstanceDropFn = unsafe extern "C" fn(instance: *mut c_void);

/// `rg_phase_fn`.
pub type PhaseFn =
    unsafe extern "C" fn(instance: *mut c_void, host: *const RgHost, req: *mut RgRequest) -> u32;

/// `rg_plugin`: a C plugin's declaration.
#[repr(C)]
pub struct RgPlugin {
    /// `RG_PLUGIN_ABI_VERSION`.
    pub abi_version: u32,
    /// `sizeof(rg_plugin)` as the plugin was built.
    pub size: u32,
    /// The name.
    pub name: RgBytes,
    /// The plugin's version.
    pub version: RgBytes,
    /// Run order.
    pub priority: i32,
    /// `RG_PHASE_*` bits.
    pub phases: u32,
    /// `RG_PLUGIN_*` bits.
    pub flags: u32,
    /// Route config schema.
    pub route_schema: RgBytes,
    /// Consumer config schema, or `(NULL, 0)`.
    pub consumer_schema: RgBytes,
    /// plugin_metadata schema, or `(NULL, 0)`.
    pub metadata_schema: RgBytes,
    /// The constructor.
    pub instance_new: Option<InstanceNewFn>,
    /// The destructor.
    pub instance_drop: Option<InstanceDropFn>,
    /// rewrite.
    pub rewrite: Option<PhaseFn>,
    /// access.
    pub access: Option<PhaseFn>,
    /// before_proxy.
    pub before_proxy: Option<PhaseFn>,
    /// header_filter.
    pub header_filter: Option<PhaseFn>,
    /// body_filter.
    pub body_filter: Option<PhaseFn>,
    /// log.
    pub log: Option<PhaseFn>,
}

/// `radixgate_plugin_c_v1`'s signature.
pub type DeclareFn = unsafe extern "C" fn() -> *const RgPlugin;

/// A borrowed view out (`rg_bytes *out`).
type ViewOut = *mut RgBytes;

/// `rg_host`: the host's function table, as the header orders it.
#[repr(C)]
pub struct RgHost {
    /// `RG_PLUGIN_ABI_VERSION`.
    pub abi_version: u32,
    /// `sizeof(rg_host)`.
    pub size: u32,
    /// `result_name`.
    pub result_name: unsafe extern "C" fn(u32) -> *const c_char,
    /// `request_method`.
    pub request_method: unsafe extern "C" fn(*const RgRequest, ViewOut) -> u32,
    /// `request_path`.
    pub request_path: unsafe extern "C" fn(*const RgRequest, ViewOut) -> u32,
    /// `request_query`.
    pub request_query: unsafe extern "C" fn(*const RgRequest, ViewOut) -> u32,
    /// `request_query_arg`.
    pub request_query_arg: unsafe extern "C" fn(*const RgRequest, *const u8, usize, ViewOut) -> u32,
    /// `request_header`.
    pub request_header: unsafe extern "C" fn(*const RgRequest, *const u8, usize, ViewOut) -> u32,
    /// `request_header_count`.
    pub request_header_count: unsafe extern "C" fn(*const RgRequest) -> usize,
    /// `request_header_at`.
    pub request_header_at: unsafe extern "C" fn(*const RgRequest, usize, *mut RgHeader) -> u32,
    /// `request_header_add`.
    pub request_header_add: NameValueFn,
    /// `request_header_set`.
    pub request_header_set: NameValueFn,
    /// `request_header_remove`.
    pub request_header_remove: NameFn,
    /// `request_set_uri`.
    pub request_set_uri: NameFn,
    /// `request_set_method`.
    pub request_set_method: NameFn,
    /// `request_client_addr`.
    pub request_client_addr: unsafe extern "C" fn(*const RgRequest, *mut RgClientAddr) -> u32,
    /// `request_route_id`.
    pub request_route_id: unsafe extern "C" fn(*const RgRequest, ViewOut) -> u32,
    /// `request_route_param`.
    pub request_route_param:
        unsafe extern "C" fn(*const RgRequest, *const u8, usize, ViewOut) -> u32,
    /// `request_consumer`.
    pub request_consumer: unsafe extern "C" fn(*const RgRequest, ViewOut) -> u32,
    /// `request_set_consumer`.
    pub request_set_consumer: NameFn,
    /// `request_var`.
    pub request_var: unsafe extern "C" fn(*const RgRequest, *const u8, usize, ViewOut) -> u32,
    /// `request_set_var`.
    pub request_set_var: NameValueFn,
    /// `response_status`.
    pub response_status: unsafe extern "C" fn(*const RgRequest) -> u16,
    /// `response_set_status`.
    pub response_set_status: unsafe extern "C" fn(*mut RgRequest, u16) -> u32,
    /// `response_header`.
    pub response_header: unsafe extern "C" fn(*const RgRequest, *const u8, usize, ViewOut) -> u32,
    /// `response_header_add`.
    pub response_header_add: NameValueFn,
    /// `response_header_set`.
    pub response_header_set: NameValueFn,
    /// `response_header_remove`.
    pub response_header_remove: NameFn,
    /// `body_chunk`.
    pub body_chunk: unsafe extern "C" fn(*const RgRequest, ViewOut, *mut bool) -> u32,
    /// `body_replace`.
    pub body_replace: NameFn,
    /// `respond`.
    pub respond: unsafe extern "C" fn(*mut RgRequest, u16, *const u8, usize) -> u32,
    /// `respond_header`.
    pub respond_header: NameValueFn,
    /// `fail`.
    pub fail: NameFn,
    /// `suspend_sleep`.
    pub suspend_sleep: unsafe extern "C" fn(
        *mut RgRequest,
        u64,
        Option<ResumeFn>,
        *mut c_void,
        Option<StateDropFn>,
    ) -> u32,
    /// `suspend_http`.
    pub suspend_http: unsafe extern "C" fn(
        *mut RgRequest,
        *const RgHttpCall,
        Option<ResumeFn>,
        *mut c_void,
        Option<StateDropFn>,
    ) -> u32,
    /// `suspend_redis`.
    pub suspend_redis: unsafe extern "C" fn(
        *mut RgRequest,
        *const RgRedisCall,
        Option<ResumeFn>,
        *mut c_void,
        Option<StateDropFn>,
    ) -> u32,
    /// `store_incr`.
    pub store_incr: unsafe extern "C" fn(
        *const RgServices,
        *const u8,
        usize,
        i64,
        u64,
        *mut i64,
        *mut u64,
    ) -> u32,
    /// `store_get`.
    pub store_get: CopyOutFn,
    /// `store_set`.
    pub store_set:
        unsafe extern "C" fn(*const RgServices, *const u8, usize, *const u8, usize, u64) -> u32,
    /// `plugin_metadata`.
    pub plugin_metadata: CopyOutFn,
    /// `now_unix_ms`.
    pub now_unix_ms: unsafe extern "C" fn(*const RgServices) -> u64,
    /// `monotonic_ns`.
    pub monotonic_ns: unsafe extern "C" fn(*const RgServices) -> u64,
    /// `log`.
    pub log: unsafe extern "C" fn(*const RgServices, u32, *const u8, usize) -> u32,
    /// `counter_register`.
    pub counter_register: unsafe extern "C" fn(
        *const RgServices,
        *const u8,
        usize,
        *const u8,
        usize,
        *const RgBytes,
        usize,
        *mut u32,
    ) -> u32,
    /// `histogram_register`.
    pub histogram_register: unsafe extern "C" fn(
        *const RgServices,
        *const u8,
        usize,
        *const u8,
        usize,
        *const RgBytes,
        usize,
        *const f64,
        usize,
        *mut u32,
    ) -> u32,
    /// `counter_add`.
    pub counter_add:
        unsafe extern "C" fn(*const RgServices, u32, *const RgBytes, usize, u64) -> u32,
    /// `histogram_observe`.
    pub histogram_observe:
        unsafe extern "C" fn(*const RgServices, u32, *const RgBytes, usize, f64) -> u32,
}

/// A request edit with one buffer (`name`, `uri`, a body, a message).
pub type NameFn = unsafe extern "C" fn(*mut RgRequest, *const u8, usize) -> u32;

/// A request edit with a name and a value.
pub type NameValueFn =
    unsafe extern "C" fn(*mut RgRequest, *const u8, usize, *const u8, usize) -> u32;

/// A service copying text out into the caller's buffer.
pub type CopyOutFn =
    unsafe extern "C" fn(*const RgServices, *const u8, usize, *mut u8, usize, *mut usize) -> u32;
