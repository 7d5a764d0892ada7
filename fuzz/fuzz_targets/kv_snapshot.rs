#![no_main]
//! See `fuzz/src/kv_snapshot.rs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| distributed_fuzz::kv_snapshot::run(data));
