#![no_main]
//! See `fuzz/src/resp.rs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| distributed_fuzz::resp::run(data));
