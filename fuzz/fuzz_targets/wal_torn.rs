#![no_main]
//! See `fuzz/src/wal_torn.rs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| distributed_fuzz::wal_torn::run(data));
