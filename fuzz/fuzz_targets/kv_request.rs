#![no_main]
//! See `fuzz/src/kv_request.rs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| distributed_fuzz::kv_request::run(data));
