//! Indexes at the top of the u64 range, from a disk or a peer: refused or dropped, never an
//! overflow. The first fuzzing run (`fuzz/`) reached `reload_membership`'s
//! `snapshot_index + 1` with a snapshot index of `u64::MAX` recovered from a WAL record, and a
//! peer's InstallSnapshot could put one there too. `INDEX_MAX` (half the range) is the bound:
//! no real log gets near it, and every `+ 1` in the crate keeps room below `u64::MAX`.

mod common;

use common::{node_from, step};
use distributed_core::{NodeId, Protocol, SeededRng};
use raft::INDEX_MAX;
use raft::{
    AppendEntries, Bytes, Config, Disk, Entry, HardState, InstallSnapshot, Message, Raft, Ready,
    Snapshot, SnapshotMeta,
};

fn snapshot_at(index: u64, term: u64) -> Snapshot {
    snapshot_of(index, term, &[1, 2, 3])
}

fn snapshot_of(index: u64, term: u64, voters: &[u64]) -> Snapshot {
    Snapshot {
        meta: SnapshotMeta {
            index,
            term,
            membership: raft::Membership::new(voters.iter().copied().map(NodeId)),
        },
        data: Bytes::from_static(b"state"),
    }
}

fn disk(snapshot: Option<Snapshot>, log: Vec<Entry>) -> Disk {
    Disk {
        hard_state: HardState {
            term: 1,
            voted_for: None,
        },
        log,
        snapshot,
    }
}

fn start(disk: &Disk) -> Result<Raft, raft::ConfigError> {
    let config = Config::new(NodeId(1), [1, 2, 3].map(NodeId).to_vec());
    Raft::new(config, disk, SeededRng::new(1))
}

#[test]
fn a_disk_whose_snapshot_sits_at_the_top_of_the_index_range_is_refused_not_overflowed() {
    // Fuzz finding: reload_membership computed snapshot_index + 1 = u64::MAX + 1.
    let err = start(&disk(Some(snapshot_at(u64::MAX, 1)), vec![])).unwrap_err();
    assert!(err.to_string().contains("indexes stop at"), "{err}");
}

#[test]
fn a_disk_whose_log_runs_past_index_max_is_refused() {
    let past = disk(
        Some(snapshot_at(INDEX_MAX, 1)),
        vec![Entry::normal(1, INDEX_MAX + 1, Bytes::new())],
    );
    assert!(start(&past).is_err());
    // The check once saturated instead of adding: an entry at u64::MAX "followed" a snapshot
    // at u64::MAX, and last_index overflowed.
    let saturated = disk(
        Some(snapshot_at(u64::MAX, 1)),
        vec![Entry::normal(1, u64::MAX, Bytes::new())],
    );
    assert!(start(&saturated).is_err());
}

#[test]
fn a_node_at_index_max_starts_and_elects_itself_alone() {
    // The bound is inclusive: a log ending exactly at INDEX_MAX is a valid disk.
    let config = Config::new(NodeId(1), vec![NodeId(1)]);
    let disk = disk(Some(snapshot_of(INDEX_MAX - 1, 1, &[1])), vec![]);
    let mut node = Raft::new(config, &disk, SeededRng::new(1)).expect("starts");
    let mut ready = Ready::new();
    for _ in 0..100 {
        node.tick(&mut ready);
        ready.clear();
    }
    assert_eq!(node.role(), raft::Role::Leader);
    assert_eq!(node.last_index(), INDEX_MAX, "its no-op sits at INDEX_MAX");
}

#[test]
fn an_install_snapshot_past_index_max_is_dropped_not_installed() {
    // A peer (or anyone who connects to the peer port) names a snapshot at u64::MAX: installing
    // it would overflow in reload_membership and wrap every later index.
    let mut follower = node_from(1, 3, &Disk::default(), |_| {});
    let chunk = Message::InstallSnapshot(InstallSnapshot {
        term: 1,
        meta: snapshot_at(u64::MAX, 1).meta,
        offset: 0,
        data: Bytes::from_static(b"state"),
        done: true,
        round: 0,
    });
    let ready = step(&mut follower, 2, chunk);
    let installed = ready
        .writes
        .iter()
        .any(|w| matches!(w, raft::Write::Snapshot(_)));
    assert!(!installed, "nothing installed: {:?}", ready.writes);
    assert_eq!(follower.snapshot_index(), 0);
    let mut ready = Ready::new();
    for _ in 0..100 {
        follower.tick(&mut ready);
        ready.clear();
    }
}

#[test]
fn append_entries_past_index_max_are_dropped() {
    let disk = disk(Some(snapshot_at(INDEX_MAX, 1)), vec![]);
    let mut follower = start(&disk).expect("a disk at INDEX_MAX is valid");
    let append = Message::AppendEntries(AppendEntries {
        term: 1,
        prev_log_index: INDEX_MAX,
        prev_log_term: 1,
        entries: vec![Entry::normal(1, INDEX_MAX + 1, Bytes::new())],
        leader_commit: INDEX_MAX + 1,
        round: 0,
    });
    let ready = step(&mut follower, 2, append);
    assert!(
        ready.writes.is_empty(),
        "nothing persisted: {:?}",
        ready.writes
    );
    assert_eq!(follower.last_index(), INDEX_MAX);
}

#[test]
fn an_append_that_would_overwrite_a_committed_entry_is_dropped_not_stored() {
    // Fuzz finding (peer_frame): a forged AppendEntries of a higher term replaced entry 2,
    // which this follower had already seen committed. Storing it truncated the log below
    // commit_index, and the next snapshot at the applied index found no entry there. No
    // legitimate leader lacks a committed entry (Leader Completeness, §5.4.1): drop it.
    let mut follower = node_from(1, 3, &common::disk_with(1, &[1, 1, 1]), |_| {});
    let learn_commit = Message::AppendEntries(AppendEntries {
        term: 1,
        prev_log_index: 3,
        prev_log_term: 1,
        entries: vec![],
        leader_commit: 3,
        round: 1,
    });
    step(&mut follower, 2, learn_commit);
    assert_eq!(follower.commit_index(), 3);
    let forged = Message::AppendEntries(AppendEntries {
        term: 2,
        prev_log_index: 1,
        prev_log_term: 1,
        entries: vec![Entry::normal(2, 2, Bytes::from_static(b"other"))],
        leader_commit: 1,
        round: 1,
    });
    let mut ready = Ready::with_notes();
    follower.step(NodeId(3), forged, &mut ready);
    assert!(
        !ready
            .writes
            .iter()
            .any(|w| matches!(w, raft::Write::Append(_))),
        "no entry stored"
    );
    assert_eq!((follower.last_index(), follower.commit_index()), (3, 3));
    let notes = ready.notes.lines().join("\n");
    assert!(notes.contains("which is committed"), "{notes}");
}
