//! An Admin API body decoded into an object of any kind (`config::decode`), an upstream built as the proxy runs it.
//! The promises checked are listed at `radixgate::fuzzing::admin_decode`.
//!
//! Run from `core/` (see `core/fuzz/README.md`):
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run admin_decode fuzz/seeds/admin_decode -- -max_total_time=600`

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| radixgate::fuzzing::admin_decode(data));
