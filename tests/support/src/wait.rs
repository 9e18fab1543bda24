//! Waiting for a condition that becomes true in another process or thread.

use std::thread;
use std::time::{Duration, Instant};

/// Polls `f` every 50 ms until it returns true (then true) or `secs`
/// seconds pass (then false).
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}
