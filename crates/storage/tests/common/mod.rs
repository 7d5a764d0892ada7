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

/// A segment header naming `first`, with a valid CRC, as the WAL writes it (format.rs); built
/// here so tests can write segments the WAL never would (an LSN at the top of the range).
pub fn segment_header(first: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(storage::SEGMENT_HEADER_BYTES);
    h.extend_from_slice(&storage::SEGMENT_MAGIC);
    h.extend_from_slice(&storage::SEGMENT_VERSION.to_le_bytes());
    h.extend_from_slice(&first.to_le_bytes());
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// `payload` framed as a record with a valid CRC, appended to `out` (format.rs).
pub fn push_record(payload: &[u8], out: &mut Vec<u8>) {
    let len = (payload.len() as u32).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(payload);
    out.extend_from_slice(&storage::RECORD_MAGIC);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(payload);
}

/// The file name of the segment starting at `first`.
pub fn segment_name(first: u64) -> String {
    format!("wal-{first:020}.log")
}
