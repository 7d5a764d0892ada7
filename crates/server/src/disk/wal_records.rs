//! `raft::Write` as WAL records, and the replay that rebuilds a `raft::Disk` from them.
//!
//! ```text
//!   HardState: [version=2][kind=1][term u64][voted_for u64, 0 = none]
//!   Append:    [version=2][kind=2][n u32] n × [term u64][index u64][entry kind u8][len u32][data]
//!              entry kind 0 = Normal; 1 = Config, followed (before len) by the membership:
//!              [n u32][voter u64]… [joint u8]([n u32][outgoing voter u64]…)? [n u32][learner u64]…
//!   Snapshot:  [version=2][kind=3][index u64][term u64][membership, as above][len u32][data]
//!              (Raft §7: replay applies it like `persist`, dropping the log it covers).
//!              Written by builds before snapshot files; still read, no longer written.
//!   Marker:    [version=2][kind=4][index u64][term u64][membership]
//!              "the snapshot at (index, term) is durable in data_dir/snapshots": the data
//!              lives in the file, the WAL only names it (`snapshots.rs`, `disk/replay.rs`)
//!   version 1 records (before config entries existed) are still read: no entry kind byte,
//!   every entry Normal. They are never written.
//!
//!   restart: Wal::open ──► records in LSN order ──► decode_record ──► disk/replay.rs ──► Disk
//! ```
//!
//! An `Append` larger than one record is split into several: `Append(e[0..k])` then
//! `Append(e[k..])` leaves the same disk as `Append(e)`, because the second truncates at
//! exactly the end of the first (Raft's `persist`: truncate from the first index, then append).
//!
//! Why a marker and not the snapshot itself: a snapshot in the WAL is bounded by the WAL's record
//! limit (8 MiB) and frees nothing, since the segment holding it must stay. In its own file it
//! can be large, and every WAL segment before the marker can go (`node/` writes the marker,
//! then the hard state and the log tail, so nothing before the marker is still needed).

use std::fmt;

use bytes::BufMut;
use raft::{Disk, HardState, SnapshotMeta, Write};

use crate::codec::{entry_bytes, get_snapshot_meta, put_bytes, put_entries, put_node};
use crate::codec::{put_snapshot_meta, CodecError, Reader};

/// The WAL record format version; a record with another is refused, not guessed at.
pub const WAL_RECORD_VERSION: u8 = 2;
/// The format before config entries: read (every entry Normal), never written.
const WAL_RECORD_VERSION_NO_KINDS: u8 = 1;

const KIND_HARD_STATE: u8 = 1;
const KIND_APPEND: u8 = 2;
const KIND_SNAPSHOT: u8 = 3;
const KIND_SNAPSHOT_MARKER: u8 = 4;

/// One WAL record, decoded: a Raft write, or a marker naming a snapshot file.
#[derive(Clone, Debug)]
pub enum WalRecord {
    /// A `raft::Write` as the node persisted it (a `Snapshot` only from older builds).
    Write(Write),
    /// The snapshot with this metadata is durable in the snapshot store; its data is there.
    SnapshotMarker(SnapshotMeta),
}

impl fmt::Display for WalRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalRecord::Write(w) => write!(f, "{w}"),
            WalRecord::SnapshotMarker(m) => {
                write!(f, "SnapshotMarker{{index={} term={}}}", m.index, m.term)
            }
        }
    }
}

/// The marker record for a snapshot saved to its own file (meta only, never the data).
pub fn encode_snapshot_marker(meta: &SnapshotMeta) -> Vec<u8> {
    let mut r = vec![WAL_RECORD_VERSION, KIND_SNAPSHOT_MARKER];
    put_snapshot_meta(&mut r, meta);
    r
}

/// Encode `write` as one or more records of at most about `record_bytes_max` bytes each
/// (a single entry larger than that still goes alone; the WAL refuses it if it is too big).
pub fn encode_write(write: &Write, record_bytes_max: usize, out: &mut Vec<Vec<u8>>) {
    match write {
        Write::HardState(hs) => {
            let mut r = vec![WAL_RECORD_VERSION, KIND_HARD_STATE];
            r.put_u64(hs.term);
            put_node(&mut r, hs.voted_for);
            out.push(r);
        }
        Write::Append(entries) => {
            let mut start = 0;
            while start < entries.len() || (start == 0 && entries.is_empty()) {
                let mut end = start;
                let mut bytes = 6;
                while end < entries.len() {
                    let size = entry_bytes(&entries[end]);
                    if end > start && bytes + size > record_bytes_max {
                        break;
                    }
                    bytes += size;
                    end += 1;
                }
                let mut r = vec![WAL_RECORD_VERSION, KIND_APPEND];
                put_entries(&mut r, &entries[start..end]);
                out.push(r);
                if entries.is_empty() {
                    break;
                }
                start = end;
            }
        }
        Write::Snapshot(snapshot) => {
            // One record, whatever its size: a snapshot cannot be split and replayed in parts.
            // The WAL refuses one above its record bound, which stops the node with that error.
            // The node writes snapshots to files and a marker here instead (`snapshots.rs`);
            // this stays for tests and tools that want a self-contained WAL.
            let mut r = vec![WAL_RECORD_VERSION, KIND_SNAPSHOT];
            put_snapshot_meta(&mut r, &snapshot.meta);
            put_bytes(&mut r, &snapshot.data);
            out.push(r);
        }
    }
}

/// Decode one record as a `raft::Write`; a marker is an error here (it needs the store).
pub fn decode_write(record: &[u8]) -> Result<Write, CodecError> {
    match decode_record(record)? {
        WalRecord::Write(w) => Ok(w),
        WalRecord::SnapshotMarker(m) => Err(CodecError {
            message: format!(
                "a snapshot marker at ({},{}) needs the snapshot store to replay",
                m.term, m.index
            ),
        }),
    }
}

/// Decode one record.
pub fn decode_record(record: &[u8]) -> Result<WalRecord, CodecError> {
    let mut r = Reader::new(record);
    let version = r.u8("record version")?;
    if version != WAL_RECORD_VERSION && version != WAL_RECORD_VERSION_NO_KINDS {
        return Err(r.error(format!(
            "record version {version}, this build reads {WAL_RECORD_VERSION}"
        )));
    }
    let record = match r.u8("record kind")? {
        KIND_HARD_STATE => WalRecord::Write(Write::HardState(HardState {
            term: r.u64("term")?,
            voted_for: r.node("voted_for")?,
        })),
        KIND_APPEND => WalRecord::Write(Write::Append(r.entries(version == WAL_RECORD_VERSION)?)),
        KIND_SNAPSHOT => WalRecord::Write(Write::Snapshot(raft::Snapshot {
            meta: get_snapshot_meta(&mut r)?,
            data: r.bytes("snapshot data")?,
        })),
        KIND_SNAPSHOT_MARKER if version == WAL_RECORD_VERSION => {
            WalRecord::SnapshotMarker(get_snapshot_meta(&mut r)?)
        }
        other => return Err(r.error(format!("unknown record kind {other}"))),
    };
    r.finish("record")?;
    Ok(record)
}

/// Fold records (in LSN order) into a disk image, starting from an empty disk, checking what
/// `persist` would assert. A WAL with snapshot markers needs the store: see `disk/replay.rs`.
pub fn replay<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Result<Disk, CodecError> {
    super::replay::Replay::new(None)
        .records(records)
        .map(super::replay::Replay::finish)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use distributed_core::NodeId;
    use raft::{Entry, EntryKind, Membership};

    fn entry(term: u64, index: u64, len: usize) -> Entry {
        Entry {
            term,
            index,
            data: Bytes::from(vec![b'x'; len]),
            kind: EntryKind::Normal,
        }
    }

    fn records(writes: &[Write], max: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for w in writes {
            encode_write(w, max, &mut out);
        }
        out
    }

    #[test]
    fn replaying_the_records_of_some_writes_rebuilds_the_same_disk() {
        let hs = HardState {
            term: 3,
            voted_for: Some(NodeId(2)),
        };
        let writes = [
            Write::HardState(hs),
            Write::Append(vec![entry(1, 1, 3), entry(1, 2, 0), entry(3, 3, 5)]),
            Write::Append(vec![entry(3, 2, 1)]),
        ];
        let recs = records(&writes, 1 << 20);
        let disk = replay(recs.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(disk.hard_state, hs);
        let log: Vec<(u64, u64)> = disk.log.iter().map(|e| (e.term, e.index)).collect();
        assert_eq!(
            log,
            vec![(1, 1), (3, 2)],
            "Raft §5.3: the conflicting suffix is gone"
        );
    }

    #[test]
    fn a_large_append_is_split_into_records_that_replay_to_the_same_log() {
        let entries: Vec<Entry> = (1..=10).map(|i| entry(1, i, 100)).collect();
        let recs = records(&[Write::Append(entries.clone())], 300);
        assert!(recs.len() > 3, "split into {} records", recs.len());
        assert!(recs.iter().all(|r| r.len() <= 300));
        let disk = replay(recs.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(disk.log, entries);
    }

    #[test]
    fn bad_versions_kinds_lengths_and_gaps_are_errors_not_panics() {
        let good = records(&[Write::Append(vec![entry(1, 1, 4)])], 1 << 20).remove(0);
        let mut bad_version = good.clone();
        bad_version[0] = 9;
        assert!(decode_write(&bad_version)
            .unwrap_err()
            .message
            .contains("record version 9"));
        assert!(decode_write(&[1, 7])
            .unwrap_err()
            .message
            .contains("unknown record kind 7"));
        assert!(decode_write(&good[..good.len() - 1]).is_err());
        let huge_count = [1, 2, 0xff, 0xff, 0xff, 0xff];
        assert!(decode_write(&huge_count)
            .unwrap_err()
            .message
            .contains("cannot fit"));
        let gap = records(&[Write::Append(vec![entry(1, 5, 1)])], 1 << 20);
        let err = replay(gap.iter().map(Vec::as_slice)).unwrap_err();
        assert!(err.message.contains("would leave a gap"), "{err}");
    }

    fn config_entry(term: u64, index: u64, voters: &[u64], old: Option<&[u64]>) -> Entry {
        let set = |ids: &[u64]| ids.iter().copied().map(NodeId).collect();
        Entry {
            term,
            index,
            data: Bytes::new(),
            kind: EntryKind::Config(Membership {
                voters: set(voters),
                outgoing: old.map(set),
                learners: set(&[7]),
            }),
        }
    }

    #[test]
    fn config_entries_replay_with_their_membership() {
        // Raft §6: a restarted node rebuilds its configuration from the log it replays.
        let log = vec![
            entry(1, 1, 0),
            config_entry(1, 2, &[1, 2, 4], Some(&[1, 2, 3])),
            config_entry(1, 3, &[1, 2, 4], None),
        ];
        let recs = records(&[Write::Append(log.clone())], 60);
        assert!(recs.len() >= 2, "split by the config entries' real size");
        let disk = replay(recs.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(disk.log, log);
    }

    #[test]
    fn a_version_one_record_still_replays_as_normal_entries() {
        let mut v1 = vec![1u8, KIND_APPEND];
        v1.put_u32(1);
        v1.put_u64(1);
        v1.put_u64(1);
        crate::codec::put_bytes(&mut v1, b"old");
        let Write::Append(entries) = decode_write(&v1).unwrap() else {
            panic!("an append");
        };
        assert_eq!(
            entries,
            vec![Entry::normal(1, 1, Bytes::from_static(b"old"))]
        );
    }

    #[test]
    fn a_config_entry_with_a_bad_membership_is_an_error() {
        let good = records(
            &[Write::Append(vec![config_entry(1, 1, &[1], None)])],
            1 << 20,
        );
        let mut unknown_kind = good[0].clone();
        unknown_kind[2 + 4 + 16] = 9; // the entry-kind byte
        assert!(decode_write(&unknown_kind)
            .unwrap_err()
            .message
            .contains("unknown entry kind 9"));
        let no_voters = records(
            &[Write::Append(vec![config_entry(1, 1, &[], None)])],
            1 << 20,
        );
        assert!(decode_write(&no_voters[0])
            .unwrap_err()
            .message
            .contains("no voters"));
    }

    #[test]
    fn a_snapshot_record_replays_into_the_disk_and_drops_the_log_it_covers() {
        // Raft §7: the snapshot replaces the log through its index; the tail after it stays.
        let snapshot = raft::Snapshot {
            meta: raft::SnapshotMeta {
                index: 2,
                term: 1,
                membership: Membership::new([1, 2, 3].map(NodeId)),
            },
            data: Bytes::from_static(b"state"),
        };
        let writes = [
            Write::Append(vec![entry(1, 1, 3), entry(1, 2, 0), entry(2, 3, 5)]),
            Write::Snapshot(snapshot.clone()),
            Write::Append(vec![entry(2, 4, 1)]),
        ];
        let recs = records(&writes, 1 << 20);
        let disk = replay(recs.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(disk.snapshot, Some(snapshot));
        let log: Vec<(u64, u64)> = disk.log.iter().map(|e| (e.term, e.index)).collect();
        assert_eq!(log, vec![(2, 3), (2, 4)]);
        let below = records(&[Write::Append(vec![entry(2, 2, 1)])], 1 << 20);
        let all: Vec<&[u8]> = recs.iter().chain(&below).map(Vec::as_slice).collect();
        let err = replay(all).unwrap_err();
        assert!(err.message.contains("past the snapshot at 2"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_record_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128)) {
            let _ = decode_write(&bytes);
            let _ = replay([bytes.as_slice()]);
        }
    }
}
