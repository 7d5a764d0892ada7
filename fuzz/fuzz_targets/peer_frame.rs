#![no_main]
//! See `fuzz/src/peer_frame.rs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| distributed_fuzz::peer_frame::run(data));
