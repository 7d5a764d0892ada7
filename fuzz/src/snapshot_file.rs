//! Snapshot files: `storage::SnapshotStore` (header, CRC, bounds) and the contents the server
//! keeps in them (`server::codec::decode_snapshot_file`: meta + state machine bytes), then
//! the start-up that uses one (`server::disk::snapshots::recover`, Raft, the replica).
//!
//! ```text
//!   input = index ‖ kind ‖ …   kind 0: raw file bytes at snap-<index>.snap
//!                              kind 1: a 36-byte header built here with a valid CRC around
//!                                      the data (index, term and length may disagree)
//!   load: Corrupt naming the file, or a snapshot at the index its name says
//!   contents: decode ──► encode ──► decode: the same snapshot; an error says where
//!   save(index, term, data) ──► load: the same bytes back
//!   recover + start: an error or a node, never a panic
//! ```

use std::fs;

use storage::{SnapshotError, SnapshotOptions, SnapshotStore, SNAPSHOT_VERSION};

use crate::{scratch_dir, start_node, Input, Seed};

/// The bound this harness runs the store with: above any input, so the length check is the
/// file's own, not the fuzzer's size limit.
const SNAPSHOT_BYTES_MAX: u64 = 1 << 20;

/// Run one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let index = input.edgy_u64();
    let dir = scratch_dir();
    let snap_dir = dir.path().join("snapshots");
    fs::create_dir_all(&snap_dir).expect("mkdir");
    let path = snap_dir.join(format!("snap-{index:020}.snap"));
    let file = match input.u8() % 2 {
        0 => input.bytes(1 << 16).to_vec(),
        _ => {
            let term = input.edgy_u64();
            let header_index = if input.u8() & 1 == 0 {
                index
            } else {
                input.edgy_u64()
            };
            let len_choice = input.u8();
            let data = input.bytes(1 << 16);
            let len = if len_choice & 1 == 0 {
                data.len() as u64
            } else {
                input.edgy_u64()
            };
            file_bytes(header_index, term, len, data)
        }
    };
    fs::write(&path, &file).expect("write");
    let options = SnapshotOptions {
        keep: 2,
        bytes_max: SNAPSHOT_BYTES_MAX,
    };
    let store = SnapshotStore::open(&snap_dir, options.clone()).expect("open");
    match store.load(index) {
        Ok(stored) => {
            assert_eq!(stored.index, index, "the index its name says");
            contents_round_trip(&stored.data);
            let other = scratch_dir();
            let mut again = SnapshotStore::open(other.path(), options).expect("open");
            again
                .save(stored.index, stored.term, &stored.data)
                .expect("save");
            assert_eq!(
                again.load(index).expect("load"),
                stored,
                "save + load round trip"
            );
        }
        Err(SnapshotError::Corrupt { file, reason }) => {
            assert_eq!(file, path, "names the file");
            assert!(!reason.is_empty());
        }
        Err(other) => panic!("a damaged file is Corrupt, not {other}"),
    }
    let mut store = server::disk::snapshots::open_store(dir.path()).expect("store");
    if let Ok(recovered) = server::disk::snapshots::recover(&mut store, Vec::<&[u8]>::new) {
        let _ = start_node(&recovered.disk);
    }
}

/// The server's contents of a file decode to a snapshot that encodes and decodes to itself.
fn contents_round_trip(data: &[u8]) {
    match server::codec::decode_snapshot_file(data) {
        Ok(snapshot) => {
            let bytes = server::codec::encode_snapshot_file(&snapshot);
            let back = server::codec::decode_snapshot_file(&bytes)
                .unwrap_or_else(|e| panic!("an encoded snapshot does not decode: {e}"));
            assert_eq!(back, snapshot, "snapshot contents survive encode + decode");
        }
        Err(e) => assert!(e.to_string().starts_with("at byte "), "names where: {e}"),
    }
}

/// A snapshot file: header (magic, version, index, term, len, CRC) and data.
pub fn file_bytes(index: u64, term: u64, len: u64, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(36 + data.len());
    out.extend_from_slice(b"DSNP");
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&term.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&out);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// Files a node saves: the snapshot of an empty and of a small store, built by the server's
/// encoder; once raw, once through the header built here.
pub fn seeds() -> Vec<Vec<u8>> {
    use bytes::Bytes;
    use distributed_core::NodeId;

    let put = kv::Request::once(kv::Command::set(
        Bytes::from_static(b"k"),
        Bytes::from_static(b"v"),
    ));
    let mut out = Vec::new();
    for (index, term) in [(1u64, 1u64), (7, 3)] {
        let mut machine = kv::StateMachine::default();
        machine.apply(index, &put.encode());
        let state = machine.snapshot();
        let snapshot = raft::Snapshot {
            meta: raft::SnapshotMeta {
                index,
                term,
                membership: raft::Membership::new([1, 2, 3].map(NodeId)),
            },
            data: state,
        };
        let contents = server::codec::encode_snapshot_file(&snapshot);
        let file = file_bytes(index, term, contents.len() as u64, &contents);
        out.push(Seed::new().edgy_u64(index).u8(0).bytes(&file).take());
        let mut seed = Seed::new();
        seed.edgy_u64(index)
            .u8(1)
            .edgy_u64(term)
            .u8(0)
            .u8(0)
            .bytes(&contents);
        out.push(seed.take());
    }
    out
}
