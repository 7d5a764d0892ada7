#![no_main]
//! See `fuzz/src/wal_record.rs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| distributed_fuzz::wal_record::run(data));
