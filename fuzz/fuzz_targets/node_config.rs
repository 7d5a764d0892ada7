#![no_main]
//! See `fuzz/src/node_config.rs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| distributed_fuzz::node_config::run(data));
