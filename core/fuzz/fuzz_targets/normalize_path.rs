//! A request path, normalised as the route step does (`proxy::path`).
//! The promises checked are listed at `radixgate::fuzzing::normalize_path`.
//!
//! Run from `core/` (see `core/fuzz/README.md`):
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run normalize_path fuzz/seeds/normalize_path -- -max_total_time=600`

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| radixgate::fuzzing::normalize_path(data));
