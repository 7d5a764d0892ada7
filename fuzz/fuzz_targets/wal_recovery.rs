#![no_main]
//! See `fuzz/src/wal_recovery.rs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| distributed_fuzz::wal_recovery::run(data));
