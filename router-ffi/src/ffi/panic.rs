//! The panic barrier every export runs inside, and the value each return
//! type falls back to when the barrier catches a panic or a pointer is NULL.
//!
//! Unwinding into C is undefined behaviour (and, since Rust 1.81, an abort),
//! so no export lets a panic leave it: [`ffi_panic_boundary`] catches it and
//! returns [`PanicOrDefault::value`] instead.

use super::result::rr_result;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What an export returns when it caught a panic.
pub(crate) trait PanicOrDefault {
    fn value() -> Self;
}

/// What an export returns when C passed a NULL pointer where one is required.
pub(crate) trait NullParameterOrDefault {
    fn value() -> Self;
}

impl PanicOrDefault for rr_result {
    fn value() -> Self {
        rr_result::RR_PANIC
    }
}

impl NullParameterOrDefault for rr_result {
    fn value() -> Self {
        rr_result::RR_NULL_PARAMETER
    }
}

impl PanicOrDefault for () {
    fn value() -> Self {}
}

impl NullParameterOrDefault for () {
    fn value() -> Self {}
}

impl PanicOrDefault for usize {
    fn value() -> Self {
        0
    }
}

impl NullParameterOrDefault for usize {
    fn value() -> Self {
        0
    }
}

impl<T> PanicOrDefault for *const T {
    fn value() -> Self {
        std::ptr::null()
    }
}

impl<T> NullParameterOrDefault for *const T {
    fn value() -> Self {
        std::ptr::null()
    }
}

impl<T> PanicOrDefault for *mut T {
    fn value() -> Self {
        std::ptr::null_mut()
    }
}

impl<T> NullParameterOrDefault for *mut T {
    fn value() -> Self {
        std::ptr::null_mut()
    }
}

/// Runs `f`; if it panics, returns the fallback of its return type
/// (`RR_PANIC`, NULL, nothing, 0) instead of unwinding into C.
///
/// The panic message still goes to the panic hook (stderr by default).
/// State that `f` was changing when it panicked may be half-changed, but it
/// is never unsound: `f` is safe Rust apart from the pointer casts, which
/// happen before any change.
pub(crate) fn ffi_panic_boundary<R: PanicOrDefault>(f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            // Dropping the payload runs arbitrary Drop code that could panic
            // again, outside any barrier; leaking it is the safe choice.
            std::mem::forget(payload);
            R::value()
        }
    }
}

/// Returns the NULL fallback of the enclosing closure's return type when
/// `$opt` is `None` (a NULL or otherwise unusable pointer); else its value.
macro_rules! try_some {
    ($opt:expr) => {
        match $opt {
            Some(v) => v,
            None => return $crate::ffi::panic::NullParameterOrDefault::value(),
        }
    };
}
pub(crate) use try_some;

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::c_char;

    /// Runs `f` with the panic message silenced (one test at a time).
    fn quiet<R>(f: impl FnOnce() -> R) -> R {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = f();
        std::panic::set_hook(hook);
        r
    }

    #[test]
    fn returns_the_value_when_nothing_panics() {
        assert_eq!(
            ffi_panic_boundary(|| rr_result::RR_NO_MATCH),
            rr_result::RR_NO_MATCH
        );
        assert_eq!(ffi_panic_boundary(|| 7usize), 7);
    }

    #[test]
    fn a_panic_becomes_the_fallback_of_the_return_type() {
        quiet(|| {
            assert_eq!(
                ffi_panic_boundary(|| -> rr_result { panic!("boom") }),
                rr_result::RR_PANIC
            );
            assert!(ffi_panic_boundary(|| -> *const c_char { panic!("boom") }).is_null());
            assert!(ffi_panic_boundary(|| -> *mut u8 { panic!("boom") }).is_null());
            assert_eq!(ffi_panic_boundary(|| -> usize { panic!("boom") }), 0);
            ffi_panic_boundary(|| -> () { panic!("boom") });
        });
    }

    #[test]
    fn a_panic_in_a_filter_closure_is_caught() {
        // What rr_router_match_with does with a filter, minus C: the router
        // calls the closure, the closure panics, the barrier answers.
        let r = quiet(|| {
            ffi_panic_boundary(|| {
                let mut router = crate::Router::default();
                router
                    .insert(crate::Route::new("a", 1u64).path("/a").filter(true))
                    .ok();
                let mut filter = |_: &u64| -> bool { panic!("filter panicked") };
                match router.find_with(&crate::Request::new("/a"), &crate::NoVars, &mut filter) {
                    Some(_) => rr_result::RR_OK,
                    None => rr_result::RR_NO_MATCH,
                }
            })
        });
        assert_eq!(r, rr_result::RR_PANIC);
    }

    #[test]
    fn try_some_returns_the_null_fallback() {
        fn code(p: Option<u8>) -> rr_result {
            let _v = try_some!(p);
            rr_result::RR_OK
        }
        fn ptr(p: Option<u8>) -> *const u8 {
            let _v = try_some!(p);
            b"x".as_ptr()
        }
        assert_eq!(code(None), rr_result::RR_NULL_PARAMETER);
        assert_eq!(code(Some(1)), rr_result::RR_OK);
        assert!(ptr(None).is_null());
        assert!(!ptr(Some(1)).is_null());
    }
}
