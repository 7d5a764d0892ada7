//! `raft::Write` as WAL records: encode each write, decode each record (`replay.rs` folds them).
//!
//! ```text
//!   every integer little-endian (`distributed_core::wire`), every length a u32
//!   HardState: [version=3][kind=1][term u64][voted_for u64, 0 = none]
//!   Append:    [version=3][kind=2][n u32] n × [term u64][index u64][entry kind u8][len u32][data]
//!              entry kind 0 = Normal; 1 = Config, followed (before len) by the membership:
//!              [n u32][voter u64]… [joint u8]([n u32][outgoing voter u64]…)? [n u32][learner u64]…
//!   Snapshot:  [version=3][kind=3][index u64][term u64][membership, as above][len u32][data]
//!              (Raft §7: replay applies it like `persist`, dropping the log it covers).
//!              Not written by the node (it writes files and markers); kept for tools and
//!              tests that want a self-contained WAL.
//!   Marker:    [version=3][kind=4][index u64][term u64][membership]
//!              "the snapshot at (index, term) is durable in data_dir/snapshots": the data
//!              lives in the file, the WAL only names it (`snapshots.rs`, `disk/replay.rs`)
//!
//!   versions 1 and 2 were written big-endian by older builds (1 also lacked the entry kind):
//!   refused, naming the version and what to do, never misread
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

use distributed_core::wire::{DecodeError, Reader, Sink};
use raft::{HardState, SnapshotMeta, Write};

use crate::codec::{entry_bytes, get_entries, get_node, get_snapshot_meta, older_build};
use crate::codec::{put_entries, put_node, put_snapshot_meta};

/// The WAL record format version; a record with another is refused, not guessed at.
/// Versions 1 and 2 were big-endian (see the module docs).
pub const WAL_RECORD_VERSION: u8 = 3;

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
            r.put_bytes(&snapshot.data);
            out.push(r);
        }
    }
}

/// Decode one record as a `raft::Write`; a marker is an error here (it needs the store).
pub fn decode_write(record: &[u8]) -> Result<Write, DecodeError> {
    match decode_record(record)? {
        WalRecord::Write(w) => Ok(w),
        WalRecord::SnapshotMarker(m) => Err(DecodeError::at(
            0,
            format!(
                "a snapshot marker at ({},{}) needs the snapshot store to replay",
                m.term, m.index
            ),
        )),
    }
}

/// Decode one record.
pub fn decode_record(record: &[u8]) -> Result<WalRecord, DecodeError> {
    let mut r = Reader::new(record);
    let version = r.u8("record version")?;
    if version < WAL_RECORD_VERSION {
        let what_to_do = "keep this data dir with the build that wrote it, or start this \
                          build from an empty data dir";
        let why = older_build("WAL record", version, WAL_RECORD_VERSION, what_to_do);
        return Err(DecodeError::at(0, why));
    }
    if version != WAL_RECORD_VERSION {
        return Err(DecodeError::at(
            0,
            format!("WAL record version {version}, this build reads {WAL_RECORD_VERSION}"),
        ));
    }
    let record = match r.u8("record kind")? {
        KIND_HARD_STATE => WalRecord::Write(Write::HardState(HardState {
            term: r.u64("term")?,
            voted_for: get_node(&mut r, "voted_for")?,
        })),
        KIND_APPEND => WalRecord::Write(Write::Append(get_entries(&mut r)?)),
        KIND_SNAPSHOT => WalRecord::Write(Write::Snapshot(raft::Snapshot {
            meta: get_snapshot_meta(&mut r)?,
            data: r.bytes("snapshot data")?,
        })),
        KIND_SNAPSHOT_MARKER => WalRecord::SnapshotMarker(get_snapshot_meta(&mut r)?),
        other => return Err(r.error(format!("unknown record kind {other}"))),
    };
    r.finish("record")?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::replay::replay;
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
        assert!(decode_write(&[WAL_RECORD_VERSION, 7])
            .unwrap_err()
            .message
            .contains("unknown record kind 7"));
        assert!(decode_write(&good[..good.len() - 1]).is_err());
        let huge_count = [WAL_RECORD_VERSION, KIND_APPEND, 0xff, 0xff, 0xff, 0xff];
        assert!(decode_write(&huge_count)
            .unwrap_err()
            .message
            .contains("cannot fit"));
        let gap = records(&[Write::Append(vec![entry(1, 5, 1)])], 1 << 20);
        let err = replay(gap.iter().map(Vec::as_slice)).unwrap_err();
        assert!(err.to_string().contains("would leave a gap"), "{err}");
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
    fn records_of_older_big_endian_builds_are_refused_naming_the_version_and_what_to_do() {
        // Append{term=1 index=1 "old"} as the older builds wrote it: big-endian, version 1
        // without the entry kind byte, version 2 with it.
        let v1 = [
            &[1u8, KIND_APPEND, 0, 0, 0, 1][..],
            &[0; 7],
            &[1],
            &[0; 7],
            &[1],
        ]
        .concat();
        let v1 = [&v1[..], &[0, 0, 0, 3], b"old"].concat();
        let v2 = [
            &[2u8, KIND_APPEND, 0, 0, 0, 1][..],
            &[0; 7],
            &[1],
            &[0; 7],
            &[1],
        ]
        .concat();
        let v2 = [&v2[..], &[ENTRY_NORMAL_BYTE, 0, 0, 0, 3], b"old"].concat();
        for (version, record) in [(1, v1), (2, v2)] {
            let err = decode_write(&record).unwrap_err();
            assert_eq!(err.offset, 0);
            assert_eq!(
                err.message,
                format!(
                    "WAL record version {version} was written by an older build (big-endian); \
                     this build reads version 3 (little-endian): keep this data dir with the \
                     build that wrote it, or start this build from an empty data dir"
                )
            );
            let err = replay([record.as_slice()]).unwrap_err();
            assert!(err
                .to_string()
                .starts_with("WAL record #0: at byte 0: WAL record version"));
        }
    }

    /// The entry-kind byte of a Normal entry, as both old and new records spell it.
    const ENTRY_NORMAL_BYTE: u8 = 0;

    #[test]
    fn a_record_is_little_endian_field_by_field() {
        let hs = HardState {
            term: 0x0102,
            voted_for: Some(NodeId(3)),
        };
        let rec = records(&[Write::HardState(hs)], 1 << 20).remove(0);
        let expected = [&[3u8, KIND_HARD_STATE, 2, 1][..], &[0; 6], &[3], &[0; 7]].concat();
        assert_eq!(rec, expected);
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
        assert!(err.to_string().contains("past the snapshot at 2"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_record_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128)) {
            let _ = decode_write(&bytes);
            let _ = replay([bytes.as_slice()]);
        }
    }
}
