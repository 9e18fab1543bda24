//! The `rg_host` functions as a C plugin calls them, on the host's real
//! request and services: views and edits, the NULL, UTF-8 and range
//! refusals, the decisions each phase allows, and who frees a suspended
//! phase's state.

use std::ffi::c_void;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use abi_stable::sabi_trait::TD_Opaque;
use radixgate_plugin::abi::{PhaseResult, RequestCtx, RequestCtx_TO};
use radixgate_plugin::Phase;

use super::abi::{code, decision, RgBytes, RgOpResult, RgRequest, RgServices, ABI_VERSION};
use super::call::{CallState, Decided};
use super::host_services::CServices;
use super::table::HOST;
use crate::plugin_host::{GatewayServices, RequestState};

fn request(uri: &str) -> RequestState {
    let client: SocketAddr = "192.0.2.9:4000".parse().expect("an address");
    RequestState::new(http::Method::GET, uri, client)
}

/// Runs `f` with an `rg_request` of `phase` on `state`; the call's decision
/// for `returned` afterwards.
fn with_call(
    state: &mut RequestState,
    phase: Phase,
    returned: u32,
    f: impl FnOnce(*mut RgRequest),
) -> Decided {
    let ctx = RequestCtx_TO::from_ptr(state, TD_Opaque);
    let mut call = CallState::new(ctx, phase, None);
    f(call.as_request());
    call.decide("t", returned)
}

/// The text an `rg_bytes` the host wrote views.
fn text(b: &RgBytes) -> String {
    // SAFETY: a view the host just wrote, into a request still alive.
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(b.ptr, b.len) }).into_owned()
}

const EMPTY: RgBytes = RgBytes {
    ptr: std::ptr::null(),
    len: 0,
};

#[test]
fn a_plugin_reads_and_edits_the_request_through_the_table() {
    let mut state = request("/a?b=c");
    with_call(&mut state, Phase::Access, decision::CONTINUE, |req| {
        let mut out = EMPTY;
        // SAFETY: every call below passes a live request, buffers readable
        // for their lengths and out-params on this frame (or NULL on
        // purpose, which the host refuses).
        unsafe {
            assert_eq!((HOST.request_path)(req, &mut out), code::OK);
            assert_eq!(text(&out), "/a");
            assert_eq!(
                (HOST.request_query_arg)(req, b"b".as_ptr(), 1, &mut out),
                code::OK
            );
            assert_eq!(text(&out), "c");
            assert_eq!(
                (HOST.request_header)(req, b"x-a".as_ptr(), 3, &mut out),
                code::NONE
            );
            assert_eq!(
                (HOST.request_header_add)(req, b"X-A".as_ptr(), 3, b"1".as_ptr(), 1),
                code::OK
            );
            assert_eq!(
                (HOST.request_header)(req, b"x-a".as_ptr(), 3, &mut out),
                code::OK
            );
            assert_eq!(text(&out), "1");
            // What the host refuses, and how.
            assert_eq!(
                (HOST.request_header)(req, std::ptr::null(), 0, &mut out),
                code::NULL_PARAMETER
            );
            assert_eq!(
                (HOST.request_header)(req, b"x-a".as_ptr(), 3, std::ptr::null_mut()),
                code::NULL_PARAMETER
            );
            assert_eq!(
                (HOST.request_header)(std::ptr::null(), b"x-a".as_ptr(), 3, &mut out),
                code::NULL_PARAMETER
            );
            assert_eq!(
                (HOST.request_header_set)(req, b"\xff".as_ptr(), 1, b"v".as_ptr(), 1),
                code::INVALID_UTF8
            );
            assert_eq!(
                (HOST.request_header_set)(req, b"a b".as_ptr(), 3, b"v".as_ptr(), 1),
                code::INVALID_ARGUMENT
            );
            assert_eq!(
                (HOST.request_set_uri)(req, b"no-slash".as_ptr(), 8),
                code::INVALID_ARGUMENT
            );
            assert_eq!((HOST.request_set_uri)(req, b"/b?x=1".as_ptr(), 6), code::OK);
            assert_eq!((HOST.response_status)(std::ptr::null()), 0);
            assert_eq!((HOST.request_header_count)(std::ptr::null()), 0);
        }
    });
    assert_eq!(RequestCtx::path(&state).as_str(), "/b");
}

#[test]
fn respond_is_for_rewrite_and_access_and_decides_the_reply() {
    let mut state = request("/");
    let body = b"no";
    let decided = with_call(&mut state, Phase::HeaderFilter, decision::RESPOND, |req| {
        // SAFETY: a live request and a readable body.
        unsafe {
            assert_eq!(
                (HOST.respond)(req, 403, body.as_ptr(), 2),
                code::WRONG_PHASE
            );
        }
    });
    let Decided::Result(result) = decided else {
        panic!("no suspension was asked for");
    };
    let Ok(PhaseResult::Error(failure)) = result.into_enum() else {
        panic!("RG_RESPOND without a reply fails");
    };
    assert!(
        failure.message.contains("without a reply"),
        "{}",
        failure.message
    );

    let decided = with_call(&mut state, Phase::Access, decision::RESPOND, |req| {
        // SAFETY: as above.
        unsafe {
            assert_eq!(
                (HOST.respond)(req, 42, body.as_ptr(), 2),
                code::INVALID_ARGUMENT
            );
            assert_eq!((HOST.respond)(req, 403, body.as_ptr(), 2), code::OK);
            assert_eq!(
                (HOST.respond_header)(req, b"X-R".as_ptr(), 3, b"1".as_ptr(), 1),
                code::OK
            );
        }
    });
    let Decided::Result(result) = decided else {
        panic!("no suspension was asked for");
    };
    let Ok(PhaseResult::Respond(reply)) = result.into_enum() else {
        panic!("a reply");
    };
    assert_eq!((reply.status, reply.body.as_slice()), (403, &body[..]));
    assert_eq!(reply.headers[0].0.as_str(), "X-R");
}

/// States freed by [`count_drop`].
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// A plugin's `state_drop` that counts.
unsafe extern "C" fn count_drop(_state: *mut c_void) {
    DROPPED.fetch_add(1, Ordering::SeqCst);
}

/// A plugin's resume function (never called here).
unsafe extern "C" fn never(
    _: *mut c_void,
    _: *mut c_void,
    _: *const super::abi::RgHost,
    _: *mut RgRequest,
    _: *const RgOpResult,
) -> u32 {
    decision::FAIL
}

#[test]
fn a_suspended_state_is_the_hosts_once_taken_and_freed_when_unused() {
    let mut state = request("/");
    let before = DROPPED.load(Ordering::SeqCst);
    let decided = with_call(&mut state, Phase::Access, decision::CONTINUE, |req| {
        // SAFETY: a live request; the states are markers, never read.
        unsafe {
            assert_eq!(
                (HOST.suspend_sleep)(
                    req,
                    5,
                    Some(never),
                    std::ptr::dangling_mut::<c_void>(),
                    Some(count_drop)
                ),
                code::OK
            );
            // A second operation is refused, and its state stays the plugin's.
            assert_eq!(
                (HOST.suspend_sleep)(
                    req,
                    5,
                    Some(never),
                    std::ptr::dangling_mut::<c_void>().wrapping_add(2),
                    Some(count_drop)
                ),
                code::ALREADY_SUSPENDED
            );
            assert_eq!(
                (HOST.suspend_sleep)(
                    req,
                    5,
                    None,
                    std::ptr::dangling_mut::<c_void>().wrapping_add(3),
                    Some(count_drop)
                ),
                code::ALREADY_SUSPENDED
            );
        }
    });
    // RG_CONTINUE after suspending: a failure, and the state taken over
    // is freed, once.
    let Decided::Result(result) = decided else {
        panic!("RG_CONTINUE does not suspend");
    };
    assert!(matches!(result.into_enum(), Ok(PhaseResult::Error(_))));
    assert_eq!(DROPPED.load(Ordering::SeqCst) - before, 1);

    let decided = with_call(&mut state, Phase::BodyFilter, decision::SUSPEND, |req| {
        // SAFETY: as above.
        unsafe {
            assert_eq!(
                (HOST.suspend_sleep)(
                    req,
                    5,
                    Some(never),
                    std::ptr::dangling_mut::<c_void>().wrapping_add(4),
                    Some(count_drop)
                ),
                code::WRONG_PHASE
            );
            let (mut chunk, mut last) = (EMPTY, false);
            // This call has no chunk (body_filter calls get one from the host).
            assert_eq!(
                (HOST.body_chunk)(req, &mut chunk, &mut last),
                code::WRONG_PHASE
            );
        }
    });
    assert!(matches!(decided, Decided::Result(_)));
    assert_eq!(
        DROPPED.load(Ordering::SeqCst) - before,
        1,
        "refused states stay the plugin's"
    );
}

#[test]
fn services_copy_out_with_the_needed_length_and_log_as_the_plugin() {
    let services = CServices {
        host: GatewayServices::default().handle(),
        plugin: "t".into(),
    };
    let s: *const RgServices = services.as_services();
    let mut buf = [0u8; 4];
    let mut len = 0usize;
    // SAFETY: live services, buffers readable or writable for their
    // lengths, out-params on this frame.
    unsafe {
        assert_eq!(
            (HOST.store_set)(s, b"k".as_ptr(), 1, b"hello".as_ptr(), 5, 0),
            code::OK
        );
        assert_eq!(
            (HOST.store_get)(s, b"k".as_ptr(), 1, std::ptr::null_mut(), 0, &mut len),
            code::BUFFER_TOO_SMALL
        );
        assert_eq!(len, 5);
        assert_eq!(
            (HOST.store_get)(s, b"k".as_ptr(), 1, buf.as_mut_ptr(), 4, &mut len),
            code::BUFFER_TOO_SMALL
        );
        let mut big = [0u8; 8];
        assert_eq!(
            (HOST.store_get)(s, b"k".as_ptr(), 1, big.as_mut_ptr(), 8, &mut len),
            code::OK
        );
        assert_eq!(&big[..len], b"hello");
        assert_eq!(
            (HOST.store_get)(s, b"none".as_ptr(), 4, big.as_mut_ptr(), 8, &mut len),
            code::NONE
        );
        let mut value = 0i64;
        assert_eq!(
            (HOST.store_incr)(s, b"n".as_ptr(), 1, 2, 0, &mut value, std::ptr::null_mut()),
            code::OK
        );
        assert_eq!(value, 2);
        assert_eq!((HOST.log)(s, 9, b"x".as_ptr(), 1), code::INVALID_ARGUMENT);
        assert_eq!((HOST.log)(s, 2, b"hello".as_ptr(), 5), code::OK);
        assert_eq!((HOST.now_unix_ms)(std::ptr::null()), 0);
        assert!((HOST.now_unix_ms)(s) > 0);
    }
    assert_eq!(HOST.abi_version, ABI_VERSION);
}
