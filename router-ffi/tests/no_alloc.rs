//! A lookup allocates nothing on the heap, and a built router can be shared
//! between threads (docs/router.md, "Changes and cost": matching may run on
//! many threads at once and allocates nothing).

use radix_router::{Request, Route, Router};
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made by the current thread while counting is on.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the
// thread-local counters are `const`-initialised Cells, so touching them
// never allocates (no re-entrancy).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as ours, passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours, passed through.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    ALLOCS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(Cell::get)
}

fn router() -> Router<u32> {
    let mut r = Router::default();
    let routes = [
        Route::new("exact", 1).path("/a/b").method("GET"),
        Route::new("prefix", 2).path("/a/*"),
        Route::new("param", 3).path("/user/:id/*rest"),
        Route::new("host", 4).path("/h").host("*.Example.com"),
        Route::new("addr", 5).path("/ip").remote_addr("10.0.0.0/8"),
        Route::new("vars", 6)
            .path("/v")
            .vars(json!([["arg_k", "==", "1"], ["arg_n", ">", 3]])),
    ];
    for route in routes {
        r.insert(route).expect("valid route");
    }
    r
}

#[test]
fn lookups_do_not_allocate() {
    let r = router();
    let vars: std::collections::HashMap<&str, &str> = [("arg_k", "1"), ("arg_n", "7")].into();
    let ip = "10.1.2.3".parse().expect("ip");
    let requests = [
        Request::new("/a/b").method("GET"),
        Request::new("/a/b").method("POST"),
        Request::new("/user/7/x/y"),
        Request::new("/h").host("WWW.EXAMPLE.COM"),
        Request::new("/ip").remote_addr(ip),
        Request::new("/v"),
        Request::new("/nothing"),
    ];
    let mut found = 0;
    let n = allocations_during(|| {
        for req in &requests {
            if let Some(m) = r.find_with(req, &vars, &mut |_| true) {
                found += *m.value;
                found += m.params.iter().count() as u32;
            }
        }
    });
    assert_eq!(n, 0, "lookups allocated {n} times");
    // exact 1; POST falls through to the prefix (2, one `:ext` param);
    // param 3 with two params; host 4; addr 5; vars 6; no match.
    assert_eq!(found, 1 + (2 + 1) + (3 + 2) + 4 + 5 + 6);
}

#[test]
fn a_router_is_shared_between_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let r = router();
    send_sync(&r);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..1000 {
                    let m = r.find(&Request::new("/user/9/z")).expect("match");
                    assert_eq!(m.params.get("id"), Some(&b"9"[..]));
                }
            });
        }
    });
}
