//! Snapshot files with a real WAL and store: save, compact, recover, fall back, refuse.

use super::*;
use bytes::Bytes;
use distributed_core::{NodeId, SeededRng};
use raft::{Config, Disk, Entry, Membership, SnapshotMeta};
use storage::{GroupCommitOptions, Wal, WalOptions};

/// Small segments, so a few records roll several of them.
fn wal_options() -> WalOptions {
    WalOptions {
        segment_bytes_max: 4096,
        record_bytes_max: 1024,
    }
}

fn entries(term: u64, range: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
    range
        .map(|i| Entry::normal(term, i, Bytes::from(vec![b'v'; 200])))
        .collect()
}

fn snapshot(index: u64, term: u64) -> raft::Snapshot {
    raft::Snapshot {
        meta: SnapshotMeta {
            index,
            term,
            membership: Membership::new([1, 2, 3].map(NodeId)),
        },
        data: Bytes::from(format!("state machine at {index}")),
    }
}

fn hard_state(term: u64) -> HardState {
    HardState {
        term,
        voted_for: Some(NodeId(2)),
    }
}

/// Write `writes` as plain records, the way the node does for a batch without a snapshot.
fn submit_plain(group: &GroupCommit, writes: &[Write]) -> storage::Lsn {
    let mut records = Vec::new();
    for w in writes {
        encode_write(w, 512, &mut records);
    }
    group.submit(records).unwrap().wait().unwrap()
}

/// Reopen the WAL in `dir/wal` and recover with the store in `dir`.
fn recover_dir(dir: &Path) -> Result<Recovered, String> {
    let (_wal, recovery) = Wal::open(dir.join("wal"), wal_options()).unwrap();
    let mut store = open_store(dir).unwrap();
    recover(&mut store, || recovery.records().map(|(_, r)| r))
}

fn wal_segments(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("wal")).unwrap().count()
}

/// A fresh WAL (behind group commit) and snapshot store in `dir`, as a node opens them.
fn storage_in(dir: &Path) -> (GroupCommit, storage::SnapshotStore) {
    let (wal, _) = Wal::open(dir.join("wal"), wal_options()).unwrap();
    let group = GroupCommit::new(wal, GroupCommitOptions::default()).unwrap();
    (group, open_store(dir).unwrap())
}

/// A Raft node standing where a node is right after a snapshot at (index, term) with `tail`.
fn raft_after(snapshot: &raft::Snapshot, tail: &[Entry], term: u64) -> Raft {
    let disk = Disk {
        hard_state: hard_state(term),
        log: tail.to_vec(),
        snapshot: Some(snapshot.clone()),
    };
    let config = Config::new(NodeId(1), [1, 2, 3].map(NodeId).to_vec());
    Raft::new(config, &disk, SeededRng::new(7)).unwrap()
}

#[test]
fn a_snapshot_batch_lets_every_segment_before_its_marker_go_and_recovery_gives_the_same_disk() {
    // Raft §7: after compaction the file plus what is left of the WAL is the whole state.
    let dir = tempfile::tempdir().unwrap();
    let (group, mut store) = storage_in(dir.path());
    submit_plain(
        &group,
        &[
            Write::HardState(hard_state(1)),
            Write::Append(entries(1, 1..=40)),
        ],
    );
    let before = wal_segments(dir.path());
    assert!(before > 2, "the log spans {before} segments");
    let snap = snapshot(38, 1);
    let tail = entries(1, 39..=42);
    let raft = raft_after(&snap, &tail, 1);
    let writes = vec![
        Write::Append(entries(1, 41..=42)),
        Write::Snapshot(snap.clone()),
    ];
    let batch = persist_with_snapshots(writes, &group, &mut store, &raft, 512).unwrap();
    assert_eq!(batch.saved.len(), 1);
    assert!(
        batch.saved[0].path.exists(),
        "the file is there before the marker is submitted"
    );
    let last = group.submit(batch.records).unwrap().wait().unwrap();
    let removed = group
        .remove_segments_before(storage::Lsn(last.0 - batch.after_marker))
        .unwrap();
    assert!(removed >= 2, "removed {removed} of {before} segments");
    drop(group);
    assert!(wal_segments(dir.path()) < before);
    let disk = recover_dir(dir.path()).unwrap().disk;
    assert_eq!(disk.snapshot, Some(snap));
    assert_eq!(disk.log, tail);
    assert_eq!(disk.hard_state, hard_state(1));
}

/// A store with snapshots at 10 and 20 and a WAL from index 1, optionally compacted after 20.
fn two_snapshots(dir: &Path, compact: bool) {
    let (group, mut store) = storage_in(dir);
    submit_plain(
        &group,
        &[
            Write::HardState(hard_state(1)),
            Write::Append(entries(1, 1..=25)),
        ],
    );
    for index in [10, 20] {
        let snap = snapshot(index, 1);
        let raft = raft_after(&snap, &entries(1, index + 1..=25), 1);
        let writes = vec![Write::Snapshot(snap)];
        let batch = persist_with_snapshots(writes, &group, &mut store, &raft, 512).unwrap();
        let last = group.submit(batch.records).unwrap().wait().unwrap();
        if compact {
            let marker = storage::Lsn(last.0 - batch.after_marker);
            group.remove_segments_before(marker).unwrap();
        }
    }
}

fn damage(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    *bytes.last_mut().unwrap() ^= 0x55;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_damaged_newest_file_falls_back_to_the_older_one_when_the_wal_covers_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    two_snapshots(dir.path(), false);
    let newest = open_store(dir.path()).unwrap().path(20);
    damage(&newest);
    let recovered = recover_dir(dir.path()).unwrap();
    assert_eq!(recovered.disk.snapshot.unwrap().meta.index, 10);
    assert_eq!(
        recovered.disk.log,
        entries(1, 11..=25),
        "the WAL fills the gap"
    );
    assert!(
        recovered.warnings.iter().any(|w| w.contains("set aside")),
        "{:?}",
        recovered.warnings
    );
    assert!(
        !newest.exists(),
        "set aside, so later saves are not refused"
    );
    assert_eq!(open_store(dir.path()).unwrap().indexes().unwrap(), vec![10]);
}

#[test]
fn a_damaged_newest_file_the_wal_no_longer_covers_refuses_to_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    two_snapshots(dir.path(), true);
    let newest = open_store(dir.path()).unwrap().path(20);
    damage(&newest);
    let err = recover_dir(dir.path()).unwrap_err();
    assert!(err.contains(&newest.display().to_string()), "{err}");
    assert!(err.contains("is not safe"), "{err}");
    assert!(newest.exists(), "left in place for the operator");
}

#[test]
fn a_wal_compacted_past_every_file_refuses_to_start_rather_than_lose_entries() {
    let dir = tempfile::tempdir().unwrap();
    two_snapshots(dir.path(), true);
    for index in [10, 20] {
        std::fs::remove_file(open_store(dir.path()).unwrap().path(index)).unwrap();
    }
    let err = recover_dir(dir.path()).unwrap_err();
    assert!(err.contains("would leave a gap"), "{err}");
    assert!(
        err.contains("no snapshot file holds the entries before it"),
        "{err}"
    );
}

#[test]
fn a_torn_snapshot_file_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    two_snapshots(dir.path(), true);
    let store = open_store(dir.path()).unwrap();
    for index in [10, 20] {
        let path = store.path(index);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    }
    let err = recover_dir(dir.path()).unwrap_err();
    assert!(err.contains(&store.path(20).display().to_string()), "{err}");
}

#[test]
fn two_snapshots_in_one_batch_are_both_saved_and_the_newer_one_is_restored() {
    // Raft §7: a compaction and an installed snapshot can land in the same batch of events.
    let dir = tempfile::tempdir().unwrap();
    let (group, mut store) = storage_in(dir.path());
    submit_plain(
        &group,
        &[
            Write::HardState(hard_state(1)),
            Write::Append(entries(1, 1..=25)),
        ],
    );
    let newer = snapshot(20, 1);
    let raft = raft_after(&newer, &entries(1, 21..=25), 1);
    let writes = vec![
        Write::Snapshot(snapshot(10, 1)),
        Write::Snapshot(newer.clone()),
    ];
    let batch = persist_with_snapshots(writes, &group, &mut store, &raft, 512).unwrap();
    let saved: Vec<u64> = batch.saved.iter().map(|s| s.index).collect();
    assert_eq!(saved, vec![10, 20]);
    let last = group.submit(batch.records).unwrap().wait().unwrap();
    group
        .remove_segments_before(storage::Lsn(last.0 - batch.after_marker))
        .unwrap();
    drop(group);
    let disk = recover_dir(dir.path()).unwrap().disk;
    assert_eq!(disk.snapshot, Some(newer));
    assert_eq!(disk.log, entries(1, 21..=25));
}
