//! WAL records (`server::disk::wal_records::decode_record`) and their replay into a disk.
//!
//! ```text
//!   input = base:u8 ‖ (len:u16 ‖ record)*
//!   each record: decode ──► encode ──► decode ──► encode: the two encodings are equal
//!   all records, in order: Replay over the base snapshot (none, or one at (2,5)) ──► Disk
//!     ──► Raft::new and KvReplica::new on it: an error or a node, never a panic
//! ```
//!
//! A record passed its CRC in `storage`, so these bytes are what an older build, a bug or a
//! forged segment wrote: every field may hold anything, `u64::MAX` included.

use bytes::Bytes;
use distributed_core::NodeId;
use raft::{Entry, HardState, Write};
use server::disk::replay::Replay;
use server::disk::wal_records::{decode_record, encode_snapshot_marker, encode_write, WalRecord};

use crate::{start_node, Input, Seed};

/// Records per input.
const RECORDS_MAX: usize = 64;

/// Run one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let base = base_snapshot(input.u8());
    let mut records = Vec::new();
    while !input.is_empty() && records.len() < RECORDS_MAX {
        let record = input.bytes(1 << 16);
        match decode_record(record) {
            Ok(decoded) => {
                let once = encode(&decoded);
                let again = decode_record(&once)
                    .unwrap_or_else(|e| panic!("{decoded} does not decode after encoding: {e}"));
                assert_eq!(encode(&again), once, "{decoded} survives encode + decode");
            }
            Err(e) => assert!(
                e.to_string().starts_with("at byte "),
                "the error names where: {e}"
            ),
        }
        records.push(record);
    }
    match Replay::new(base).records(records) {
        Ok(replay) => {
            let _ = start_node(&replay.finish());
        }
        Err(e) => assert!(
            e.to_string().starts_with("WAL record #"),
            "names the record: {e}"
        ),
    }
}

/// One record's bytes (a Write is one record when the size target is unbounded).
fn encode(record: &WalRecord) -> Vec<u8> {
    match record {
        WalRecord::Write(w) => {
            let mut out = Vec::new();
            encode_write(w, usize::MAX, &mut out);
            assert_eq!(out.len(), 1, "one record for {w}");
            out.remove(0)
        }
        WalRecord::SnapshotMarker(meta) => encode_snapshot_marker(meta),
    }
}

fn snapshot_at(index: u64, term: u64) -> raft::Snapshot {
    raft::Snapshot {
        meta: raft::SnapshotMeta {
            index,
            term,
            membership: raft::Membership::new([1, 2, 3].map(NodeId)),
        },
        data: kv::StateMachine::default().snapshot(),
    }
}

/// The snapshot file the node found, if any.
fn base_snapshot(choice: u8) -> Option<raft::Snapshot> {
    (choice & 1 == 1).then(|| snapshot_at(5, 2))
}

/// The records a node writes: hard states, appends (config entries too), a legacy in-WAL
/// snapshot and a marker, in the orders the node writes them.
pub fn seeds() -> Vec<Vec<u8>> {
    let entry = |term, index| Entry::normal(term, index, Bytes::from_static(b"put k v"));
    let config = Entry {
        term: 2,
        index: 4,
        data: Bytes::new(),
        kind: raft::EntryKind::Config(raft::Membership {
            voters: [1, 2, 4].map(NodeId).into(),
            outgoing: Some([1, 2, 3].map(NodeId).into()),
            learners: [5].map(NodeId).into(),
        }),
    };
    let hs = |term| {
        Write::HardState(HardState {
            term,
            voted_for: Some(NodeId(1)),
        })
    };
    let plain = vec![
        hs(2),
        Write::Append(vec![entry(1, 1), entry(1, 2), entry(2, 3), config.clone()]),
        Write::Append(vec![entry(2, 3)]),
        hs(3),
    ];
    let compacted = vec![
        Write::Append(vec![
            entry(1, 1),
            entry(1, 2),
            entry(2, 3),
            config,
            entry(2, 5),
        ]),
        Write::Snapshot(snapshot_at(5, 2)),
        hs(2),
        Write::Append(vec![entry(2, 6)]),
    ];
    let mut out = Vec::new();
    for (base, writes) in [(0u8, &plain), (0, &compacted)] {
        let mut records = Vec::new();
        for w in writes {
            encode_write(w, 1 << 20, &mut records);
        }
        out.push(records_seed(base, &records));
    }
    let marker = encode_snapshot_marker(&snapshot_at(5, 2).meta);
    let mut after_marker = vec![marker];
    encode_write(&hs(2), 1 << 20, &mut after_marker);
    encode_write(
        &Write::Append(vec![entry(2, 6)]),
        1 << 20,
        &mut after_marker,
    );
    out.push(records_seed(1, &after_marker));
    out
}

fn records_seed(base: u8, records: &[Vec<u8>]) -> Vec<u8> {
    let mut seed = Seed::new();
    seed.u8(base);
    for r in records {
        seed.bytes(r);
    }
    seed.take()
}
