#![no_main]
//! See `fuzz/src/snapshot_file.rs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| distributed_fuzz::snapshot_file::run(data));
