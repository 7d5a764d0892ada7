#![no_main]
//! See `fuzz/src/history.rs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| distributed_fuzz::history::run(data));
