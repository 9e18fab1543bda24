//! A node's response head and chunked body, as the upstream client reads them (`upstream::h1`).
//! The promises checked are listed at `radixgate::fuzzing::response_head`.
//!
//! Run from `core/` (see `core/fuzz/README.md`):
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run response_head fuzz/seeds/response_head -- -max_total_time=600`

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| radixgate::fuzzing::response_head(data));
