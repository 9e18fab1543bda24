//! A client's request head, as the native HTTP/1.1 server reads it (`proxy::h1`).
//! The promises checked are listed at `radixgate::fuzzing::request_head`.
//!
//! Run from `core/` (see `core/fuzz/README.md`):
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run request_head fuzz/seeds/request_head -- -max_total_time=600`

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| radixgate::fuzzing::request_head(data));
