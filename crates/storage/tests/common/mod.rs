//! Helpers shared by the integration tests: small options, deterministic records, file access.
#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::{Path, PathBuf};

use storage::{Lsn, Recovery, Wal, WalOptions, RECORD_HEADER_BYTES};

/// Tiny segments so a few records roll several times.
pub fn small_segments() -> WalOptions {
    WalOptions {
        segment_bytes_max: 256,
        record_bytes_max: 64,
    }
}

/// The record a test writes at position `i`: varied length (1..=40 bytes), content tied to `i`.
pub fn record(i: u64) -> Vec<u8> {
    let len = 1 + (i * 7 % 40) as usize;
    (0..len)
        .map(|k| (i as u8).wrapping_mul(31).wrapping_add(k as u8))
        .collect()
}

/// Open `dir`, append `n` records from `record(0)` on, sync, and return them.
pub fn write_synced(dir: &Path, n: u64, options: &WalOptions) -> Vec<Vec<u8>> {
    let (mut wal, recovery) = Wal::open(dir, options.clone()).expect("open");
    assert!(recovery.is_empty(), "a fresh directory");
    let records: Vec<Vec<u8>> = (0..n).map(record).collect();
    for r in &records {
        wal.append(r).expect("append");
    }
    assert_eq!(wal.sync().expect("sync"), Lsn(n));
    records
}

/// Every record a recovery returned, in order.
pub fn contents(recovery: &Recovery) -> Vec<Vec<u8>> {
    recovery.records().map(|(_, r)| r.to_vec()).collect()
}

/// The segment files in `dir`, oldest first.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("wal-") && name.ends_with(".log")
        })
        .collect();
    found.sort();
    found
}

/// The on-disk size of `record` with its header.
pub fn framed(record: &[u8]) -> u64 {
    (RECORD_HEADER_BYTES + record.len()) as u64
}

/// Flip one bit of the byte at `offset` in `path`.
pub fn flip_bit(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).expect("read");
    bytes[offset as usize] ^= 0x04;
    fs::write(path, bytes).expect("write");
}
