//! The plugin path allocates nothing per request once warm: after one
//! request, the phase calls of key-auth, limit-count and prometheus
//! (the `.so` files `cargo build --workspace` built, loaded by the host)
//! make no allocation on the calling thread, in the plugins or in the
//! host's services they call.
//!
//! Allocations are counted at `malloc`: this executable defines it (and
//! its siblings), so the plugins' Rust allocator (the system's) and the
//! host's (also the system's here: the gateway binary alone sets
//! mimalloc) both reach it. An allocation made while counting records
//! its backtrace, which a failure prints.
//!
//! Left out, by the function that makes them: the header values the host
//! must store for a plugin ([`CARRIED`]).

use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void};
use std::net::SocketAddr;

use radixgate::plugin_host::{
    GatewayServices, Phase, PhaseOutcome, PluginInstance, PluginRegistry, RequestState,
};
use radixgate_test_support::plugins::install;
use radixgate_test_support::TempDir;
use serde_json::json;

extern "C" {
    // glibc's own allocator, which the definitions below forward to.
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_calloc(count: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
}

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static FOUND: RefCell<Vec<Backtrace>> = const { RefCell::new(Vec::new()) };
}

/// Records an allocation of the calling thread while counting is on.
fn seen() {
    if COUNTING.try_with(Cell::get) != Ok(true) {
        return;
    }
    // Off while recording: the backtrace and the list allocate.
    COUNTING.with(|c| c.set(false));
    let trace = Backtrace::force_capture();
    FOUND.with_borrow_mut(|f| f.push(trace));
    COUNTING.with(|c| c.set(true));
}

// SAFETY (all six): same contracts as glibc's, whose functions they call
// with the arguments unchanged; `seen` touches only `const`-initialised
// thread-locals unless counting is on, and turns it off before it
// allocates itself (no re-entrancy).
#[no_mangle]
unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    seen();
    // SAFETY: see above.
    unsafe { __libc_malloc(size) }
}

#[no_mangle]
unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    seen();
    // SAFETY: see above.
    unsafe { __libc_calloc(count, size) }
}

#[no_mangle]
unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    seen();
    // SAFETY: see above.
    unsafe { __libc_realloc(ptr, size) }
}

#[no_mangle]
unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    seen();
    // SAFETY: see above.
    unsafe { __libc_memalign(align, size) }
}

#[no_mangle]
unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    seen();
    // SAFETY: see above.
    unsafe { __libc_memalign(align, size) }
}

#[no_mangle]
unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    const EINVAL: c_int = 22;
    const ENOMEM: c_int = 12;
    if !align.is_power_of_two() || !align.is_multiple_of(std::mem::size_of::<usize>()) {
        return EINVAL;
    }
    seen();
    // SAFETY: see above.
    let ptr = unsafe { __libc_memalign(align, size) };
    if ptr.is_null() {
        return ENOMEM;
    }
    // SAFETY: the caller passes a pointer it lets us write the result to.
    unsafe { *out = ptr };
    0
}

/// The host's functions whose allocation carries what a plugin set, and
/// why it must allocate: a header value a plugin set (request or
/// response; a `HeaderMap` holds owned values: one allocation each, as
/// key-auth's `X-Consumer-Username` and limit-count's three quota
/// headers).
const CARRIED: [&str; 1] = ["radixgate::plugin_host::request::header_value"];

/// Whether `trace` passes through one of [`CARRIED`] (a frame inlined
/// into its caller is named without its path).
fn carried(trace: &Backtrace) -> bool {
    trace.to_string().lines().any(|line| {
        let symbol = line.trim().split_once(": ").map_or(line.trim(), |(_, s)| s);
        CARRIED
            .iter()
            .any(|c| symbol == *c || c.rsplit("::").next().is_some_and(|short| symbol == short))
    })
}

/// The backtraces of the allocations `f` made on this thread.
fn allocations_during<T>(f: impl FnOnce() -> T) -> (T, Vec<Backtrace>) {
    FOUND.with_borrow_mut(Vec::clear);
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    (out, FOUND.with_borrow_mut(std::mem::take))
}

/// A backtrace's frames between the allocator and the phase call (a
/// plugin's own frames show as `<unknown>`: its private copy is gone).
fn our_frames(trace: &Backtrace) -> String {
    let text = trace.to_string();
    let mut out = String::new();
    let mut started = false;
    let mut keep = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(at) = line.strip_prefix("at ") {
            if keep {
                out.push_str(&format!("        at {at}\n"));
            }
            continue;
        }
        let symbol = line.split_once(": ").map_or(line, |(_, s)| s);
        if symbol.contains("PluginInstance::call") {
            break;
        }
        // The allocator's own frames, up to the first caller outside it.
        started |= !symbol.starts_with("std::")
            && !symbol.starts_with("alloc::")
            && !symbol.contains("plugin_no_alloc::")
            && ![
                "malloc",
                "calloc",
                "realloc",
                "alloc",
                "allocate",
                "box_new_uninit",
            ]
            .iter()
            .any(|f| {
                symbol == *f || symbol.starts_with(&format!("{f}_")) || symbol.starts_with("new<")
            });
        keep = started && symbol != "<unknown>";
        if started {
            out.push_str(&format!("    {symbol}\n"));
        }
    }
    out
}

/// One request as the proxy hands it to plugins (what the proxy sets
/// before each phase already set: the log phase's `request_time` too).
fn request() -> RequestState {
    let client: SocketAddr = "192.0.2.7:5555".parse().expect("addr");
    let mut state = RequestState::new(http::Method::GET, "/path?x=1", client);
    for (name, value) in [("host", "example.com"), ("apikey", "auth-one")] {
        state
            .headers
            .insert(name, http::HeaderValue::from_static(value));
    }
    state.route_id = "r1".into();
    for (name, value) in [
        ("request_length", "120"),
        ("matched_uri", "/path"),
        ("matched_host", ""),
        ("upstream_response_time", "0.001"),
    ] {
        state.vars.insert(name, value);
    }
    state.node = Some("127.0.0.1:1980".parse().expect("authority"));
    state.response_status = 200;
    let length = http::HeaderValue::from_static("1234");
    state.response_headers.insert("content-length", length);
    state
}

/// Runs `plugin`'s phases on one request; each phase's allocations.
fn serve(plugin: &PluginInstance) -> Vec<(Phase, Vec<Backtrace>)> {
    let mut state = request();
    let mut found = Vec::new();
    for phase in [
        Phase::Rewrite,
        Phase::Access,
        Phase::BeforeProxy,
        Phase::HeaderFilter,
        Phase::Log,
    ] {
        if phase == Phase::Log {
            state.vars.insert("request_time", "0.002");
        }
        let (outcome, allocations) = allocations_during(|| plugin.call(phase, &mut state));
        assert_eq!(outcome, PhaseOutcome::Continue, "{phase:?}");
        found.push((phase, allocations));
    }
    found
}

#[test]
fn warm_phase_calls_of_key_auth_limit_count_and_prometheus_do_not_allocate() {
    let tmp = TempDir::new("plugins");
    let plugins = ["key-auth", "limit-count", "prometheus"];
    for name in plugins {
        install(tmp.root(), name);
    }
    let registry = PluginRegistry::new(None);
    let report = registry.load_dir(tmp.root());
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let services = GatewayServices::default();
    // As the gateway publishes consumer jack's key-auth key.
    services
        .store()
        .publish("consumer:key-auth:auth-one", Some("jack"));
    services.store().publish("consumer:name:jack", Some("jack"));

    let mut report = String::new();
    for name in plugins {
        let entry = registry.get(name).expect("loaded");
        let config = match name {
            "limit-count" => json!({"count": 1000, "time_window": 60}),
            _ => json!({}),
        };
        let plugin = PluginInstance::build(&entry, &config, services.handle()).expect("built");
        // The first request warms up: the thread's buffers, the store's
        // counter, the metrics' series.
        serve(&plugin);
        for request in [2, 3] {
            for (phase, allocations) in serve(&plugin) {
                for trace in allocations.iter().filter(|t| !carried(t)) {
                    report.push_str(&format!(
                        "{name}, request {request}, {}:\n{}\n",
                        phase.name(),
                        our_frames(trace)
                    ));
                }
            }
        }
    }
    assert!(
        report.is_empty(),
        "allocations on the plugin path:\n{report}"
    );
}
