//! Where a caught panic happened. Inside a loaded plugin library the SDK
//! replaces that library's panic hook (its own copy of std's): a panic in a
//! phase or constructor is recorded for the failure message instead of
//! printing a backtrace per request; a panic elsewhere (a thread the plugin
//! started) still prints one line.

use std::cell::{Cell, RefCell};
use std::panic::PanicHookInfo;
use std::sync::Once;

thread_local! {
    /// True while the SDK runs plugin code under `catch_unwind`.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// The location of the last guarded panic on this thread.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn hook(info: &PanicHookInfo<'_>) {
    let location = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
    if GUARDED.with(Cell::get) {
        LOCATION.with(|l| *l.borrow_mut() = location);
    } else {
        eprintln!(
            "radixgate plugin: thread panicked at {}: {info}",
            location.as_deref().unwrap_or("?")
        );
    }
}

/// Installs the hook, once per library. Called by the export macro's
/// loader only, never in a test binary (where the test harness's hook must
/// stay).
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(hook)));
}

/// Runs `f` marked as guarded (its panics are caught by the caller).
pub fn guarded<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            GUARDED.with(|g| g.set(self.0));
        }
    }
    let _reset = Reset(GUARDED.with(|g| g.replace(true)));
    f()
}

/// The location recorded for the last guarded panic on this thread
/// (taken), if the hook is installed.
pub fn take_location() -> Option<String> {
    LOCATION.with(|l| l.borrow_mut().take())
}
