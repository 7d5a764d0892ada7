//! A node's whole data directory from fuzzed files: `storage::Wal::open` on the segments,
//! `server::disk::snapshots::recover` folding the records over the snapshot files, then
//! `raft::Raft::new` and `replica::KvReplica::new` on the disk, exactly as `run_node` starts.
//!
//! ```text
//!   input = options:u8 ‖ segments:u8 ‖ segment* ‖ snapshots:u8 ‖ snapshot*
//!     segment  = name LSN ‖ kind ‖ …   kind 0: raw file bytes
//!                                      kind 1: a header (the name's LSN or another) and
//!                                              records framed with valid CRCs, then junk
//!     snapshot = index ‖ kind ‖ …      kind 0: raw file bytes; 1: SnapshotStore::save
//!   Wal::open: Err names a file of the directory, or Ok with consecutive LSNs; then one more
//!              append is durable and a reopen returns the same records plus it
//!   recover + start: an error or a node, never a panic
//! ```
//!
//! The CRCs are computed here so mutations reach what lies behind them: the LSN arithmetic,
//! the record decoder, the replay and Raft's restart (the first fuzzing run found overflows
//! in all three at `u64::MAX`).

use std::fs;
use std::path::Path;

use storage::{Lsn, Wal, WalError, WalOptions, RECORD_MAGIC, SEGMENT_MAGIC, SEGMENT_VERSION};

use crate::{scratch_dir, start_node, Input, Seed};

/// Run one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let options = options(input.u8());
    let dir = scratch_dir();
    let wal_dir = dir.path().join("wal");
    let snap_dir = dir.path().join("snapshots");
    fs::create_dir_all(&wal_dir).expect("mkdir");
    fs::create_dir_all(&snap_dir).expect("mkdir");
    for _ in 0..input.u8() % 5 {
        write_segment(&mut input, &wal_dir);
    }
    for _ in 0..input.u8() % 3 {
        write_snapshot(&mut input, dir.path());
    }
    let (mut wal, recovery) = match Wal::open(&wal_dir, options.clone()) {
        Ok(opened) => opened,
        Err(e) => return refused(&e, &wal_dir),
    };
    let records: Vec<Vec<u8>> = recovery.records().map(|(_, r)| r.to_vec()).collect();
    let lsns: Vec<Lsn> = recovery.records().map(|(lsn, _)| lsn).collect();
    assert_eq!(records.len(), recovery.len());
    if let (Some(first), Some(last)) = (lsns.first(), lsns.last()) {
        assert_eq!(*first, recovery.first_lsn(), "records start at first_lsn");
        assert_eq!(*last, recovery.last_lsn(), "records end at last_lsn");
        assert!(
            lsns.windows(2).all(|w| w[1].0 == w[0].0 + 1),
            "LSNs are consecutive"
        );
    }
    let mut store = server::disk::snapshots::open_store(dir.path()).expect("the store opens");
    let recovered =
        server::disk::snapshots::recover(&mut store, || records.iter().map(Vec::as_slice));
    if let Ok(recovered) = &recovered {
        let _ = start_node(&recovered.disk);
    }
    // The WAL goes on where recovery left it, durably.
    let lsn = wal.append(b"one more").expect("append after recovery");
    assert_eq!(
        lsn,
        recovery.last_lsn().next(),
        "appends continue after the last record"
    );
    wal.sync().expect("sync");
    drop(wal);
    let (_, again) = Wal::open(&wal_dir, options).expect("a recovered WAL reopens");
    assert!(again.truncated().is_none(), "nothing left to cut: {again}");
    let mut expected = records;
    expected.push(b"one more".to_vec());
    let reread: Vec<Vec<u8>> = again.records().map(|(_, r)| r.to_vec()).collect();
    assert_eq!(
        reread, expected,
        "the reopened WAL holds the same records and the new one"
    );
}

/// A refusal must name a segment of this WAL (corruption, a gap) and say where.
fn refused(e: &WalError, wal_dir: &Path) {
    match e {
        WalError::Corrupt { file, reason, .. } => {
            assert!(file.starts_with(wal_dir), "{e}");
            assert!(!reason.is_empty(), "{e}");
        }
        WalError::MissingSegment { file, .. } => assert!(file.starts_with(wal_dir), "{e}"),
        other => panic!("opening fuzzed segments failed with something else: {other}"),
    }
}

/// Small segments (so multi-segment layouts are short), or the defaults.
fn options(choice: u8) -> WalOptions {
    match choice % 2 {
        0 => WalOptions::default(),
        _ => WalOptions {
            segment_bytes_max: 512,
            record_bytes_max: 256,
        },
    }
}

/// The 20-byte header of a segment whose first record is `first`.
pub fn segment_header(first: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(20);
    h.extend_from_slice(&SEGMENT_MAGIC);
    h.extend_from_slice(&SEGMENT_VERSION.to_le_bytes());
    h.extend_from_slice(&first.to_le_bytes());
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// One framed record: magic, length, CRC-32(length ‖ payload), payload.
pub fn framed_record(payload: &[u8], out: &mut Vec<u8>) {
    let len = (payload.len() as u32).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(payload);
    out.extend_from_slice(&RECORD_MAGIC);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(payload);
}

fn write_segment(input: &mut Input<'_>, wal_dir: &Path) {
    let name = input.edgy_u64();
    let bytes = match input.u8() % 2 {
        0 => input.bytes(8192).to_vec(),
        _ => {
            let first = if input.u8() & 1 == 0 {
                name
            } else {
                input.edgy_u64()
            };
            let mut file = segment_header(first);
            for _ in 0..input.u8() % 8 {
                framed_record(input.bytes(4096), &mut file);
            }
            file.extend_from_slice(input.bytes(64));
            file
        }
    };
    let _ = fs::write(wal_dir.join(format!("wal-{name:020}.log")), bytes);
}

fn write_snapshot(input: &mut Input<'_>, data_dir: &Path) {
    let index = input.edgy_u64();
    match input.u8() % 2 {
        0 => {
            let path = data_dir
                .join("snapshots")
                .join(format!("snap-{index:020}.snap"));
            let _ = fs::write(path, input.bytes(8192));
        }
        _ => {
            let term = input.edgy_u64();
            let data = input.bytes(8192);
            let mut store = server::disk::snapshots::open_store(data_dir).expect("store");
            let _ = store.save(index, term, data);
        }
    }
}

/// A node's data directory after a run with a snapshot: the file, the WAL's marker and tail.
pub fn seeds() -> Vec<Vec<u8>> {
    use bytes::Bytes;
    use distributed_core::NodeId;
    use raft::{Entry, HardState, Write};
    use server::disk::wal_records::{encode_snapshot_marker, encode_write};

    let entry = |term, index| Entry::normal(term, index, Bytes::from_static(b"cmd"));
    let snapshot = raft::Snapshot {
        meta: raft::SnapshotMeta {
            index: 3,
            term: 2,
            membership: raft::Membership::new([1, 2, 3].map(NodeId)),
        },
        data: kv::StateMachine::default().snapshot(),
    };
    let hs = Write::HardState(HardState {
        term: 2,
        voted_for: Some(NodeId(1)),
    });
    let mut first = Vec::new();
    encode_write(&hs, 1 << 20, &mut first);
    encode_write(
        &Write::Append(vec![entry(1, 1), entry(2, 2), entry(2, 3)]),
        1 << 20,
        &mut first,
    );
    let mut second = vec![encode_snapshot_marker(&snapshot.meta)];
    encode_write(&hs, 1 << 20, &mut second);
    encode_write(&Write::Append(vec![entry(2, 4)]), 1 << 20, &mut second);
    let segment = |seed: &mut Seed, lsn: u64, records: &[Vec<u8>]| {
        seed.edgy_u64(lsn).u8(1).u8(0).u8(records.len() as u8);
        for r in records {
            seed.bytes(r);
        }
        seed.bytes(b"");
    };
    let file = server::codec::encode_snapshot_file(&snapshot);
    let mut out = Vec::new();
    // One segment, no snapshot.
    let mut seed = Seed::new();
    seed.u8(0).u8(1);
    segment(&mut seed, 1, &first);
    seed.u8(0);
    out.push(seed.take());
    // Two segments and the snapshot file they name.
    let mut seed = Seed::new();
    seed.u8(1).u8(2);
    segment(&mut seed, 1, &first);
    segment(&mut seed, 1 + first.len() as u64, &second);
    seed.u8(1).edgy_u64(3).u8(1).edgy_u64(2).bytes(&file);
    out.push(seed.take());
    // A raw, torn segment.
    let mut torn = segment_header(1);
    framed_record(&first[0], &mut torn);
    torn.extend_from_slice(&[b'D', b'W', b'R', b'1', 9, 0]);
    let mut seed = Seed::new();
    seed.u8(0).u8(1).edgy_u64(1).u8(0).bytes(&torn).u8(0);
    out.push(seed.take());
    out
}
