//! Replay over a snapshot file: what the WAL left after compaction rebuilds the same disk.

use super::*;
use crate::disk::wal_records::{encode_snapshot_marker, encode_write};
use bytes::Bytes;
use distributed_core::NodeId;
use raft::{HardState, Membership, Snapshot};

fn entry(term: u64, index: u64) -> Entry {
    Entry::normal(term, index, Bytes::from(format!("e{index}")))
}

fn entries(term: u64, range: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
    range.map(|i| entry(term, i)).collect()
}

fn meta(index: u64, term: u64) -> SnapshotMeta {
    SnapshotMeta {
        index,
        term,
        membership: Membership::new([1, 2, 3].map(NodeId)),
    }
}

fn snapshot(index: u64, term: u64) -> Snapshot {
    Snapshot {
        meta: meta(index, term),
        data: Bytes::from(format!("state at {index}")),
    }
}

/// One WAL record per item: a write, or a marker.
enum Rec {
    W(Write),
    Marker(u64, u64),
}

fn wal(recs: Vec<Rec>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for rec in recs {
        match rec {
            Rec::W(w) => encode_write(&w, 1 << 20, &mut out),
            Rec::Marker(index, term) => out.push(encode_snapshot_marker(&meta(index, term))),
        }
    }
    out
}

fn replay_over(base: Option<Snapshot>, recs: Vec<Rec>) -> Result<Replay, ReplayError> {
    let records = wal(recs);
    Replay::new(base).records(records.iter().map(Vec::as_slice))
}

fn log_of(disk: &Disk) -> Vec<(u64, u64)> {
    disk.log.iter().map(|e| (e.term, e.index)).collect()
}

fn hs(term: u64) -> Write {
    Write::HardState(HardState {
        term,
        voted_for: Some(NodeId(1)),
    })
}

#[test]
fn a_snapshot_file_plus_the_marker_and_tail_rebuild_the_disk() {
    // Raft §7: what compaction leaves (the marker's segment starts before it) replays to the
    // snapshot and the log after it.
    let recs = vec![
        Rec::W(Write::Append(entries(1, 41..=50))),
        Rec::Marker(50, 1),
        Rec::W(hs(1)),
        Rec::W(Write::Append(entries(1, 51..=53))),
        Rec::W(Write::Append(entries(1, 54..=55))),
    ];
    let disk = replay_over(Some(snapshot(50, 1)), recs).unwrap().finish();
    assert_eq!(disk.snapshot, Some(snapshot(50, 1)));
    assert_eq!(disk.hard_state.term, 1);
    assert_eq!(log_of(&disk), (51..=55).map(|i| (1, i)).collect::<Vec<_>>());
}

#[test]
fn records_below_a_newer_file_are_covered_and_its_missing_marker_loses_nothing() {
    // A crash after the file was saved but before its marker reached the WAL.
    let recs = vec![
        Rec::Marker(20, 1),
        Rec::W(hs(2)),
        Rec::W(Write::Append(entries(1, 21..=30))),
        Rec::W(Write::Append(entries(2, 31..=34))),
    ];
    let disk = replay_over(Some(snapshot(30, 1)), recs).unwrap().finish();
    assert_eq!(disk.snapshot.as_ref().unwrap().meta.index, 30);
    assert_eq!(log_of(&disk), (31..=34).map(|i| (2, i)).collect::<Vec<_>>());
    assert_eq!(disk.hard_state.term, 2);
}

#[test]
fn an_append_at_or_below_the_base_cuts_the_log_after_it() {
    // Raft §5.3: the leader replaced a suffix starting below the snapshot; stale entries past
    // the snapshot must not survive the replay.
    let recs = vec![
        Rec::W(Write::Append(entries(1, 1..=12))),
        Rec::W(Write::Append(entries(2, 8..=10))),
    ];
    let disk = replay_over(Some(snapshot(9, 2)), recs).unwrap().finish();
    assert_eq!(log_of(&disk), vec![(2, 10)], "11 and 12 of term 1 are gone");
}

#[test]
fn the_base_marker_clears_the_log_when_it_did_not_match_the_snapshot() {
    // Raft §7: a follower installing a leader's snapshot whose last entry conflicts with its
    // own log discards the whole log.
    let recs = vec![
        Rec::W(Write::Append(entries(1, 1..=12))),
        Rec::Marker(10, 3),
    ];
    let disk = replay_over(Some(snapshot(10, 3)), recs).unwrap().finish();
    assert!(disk.log.is_empty(), "{:?}", log_of(&disk));
    let matching = vec![
        Rec::W(Write::Append(entries(3, 1..=12))),
        Rec::Marker(10, 3),
    ];
    let disk = replay_over(Some(snapshot(10, 3)), matching)
        .unwrap()
        .finish();
    assert_eq!(
        log_of(&disk),
        vec![(3, 11), (3, 12)],
        "a matching tail stays"
    );
}

#[test]
fn a_marker_newer_than_every_snapshot_file_is_an_error_naming_its_index() {
    let recs = vec![
        Rec::Marker(60, 2),
        Rec::W(hs(2)),
        Rec::W(Write::Append(entries(2, 61..=62))),
    ];
    let err = replay_over(Some(snapshot(40, 1)), recs).unwrap_err();
    assert!(err.to_string().contains("snapshot at index 60"), "{err}");
    assert!(
        err.to_string()
            .contains("newest usable snapshot file is at index 40"),
        "{err}"
    );
    let err = replay_over(None, vec![Rec::Marker(5, 1)]).unwrap_err();
    assert!(
        err.to_string().contains("no snapshot file is usable"),
        "{err}"
    );
}

#[test]
fn a_marker_newer_than_the_base_is_accepted_when_the_wal_still_holds_its_entries() {
    let recs = vec![
        Rec::W(Write::Append(entries(1, 1..=8))),
        Rec::Marker(6, 1),
        Rec::W(hs(1)),
        Rec::W(Write::Append(entries(1, 7..=8))),
    ];
    let replay = replay_over(None, recs).unwrap();
    assert_eq!(replay.marker_beyond_base(), Some(6));
    let disk = replay.finish();
    assert_eq!(disk.snapshot, None);
    assert_eq!(log_of(&disk), (1..=8).map(|i| (1, i)).collect::<Vec<_>>());
}

#[test]
fn a_marker_whose_term_differs_from_the_file_and_an_append_behind_a_marker_are_errors() {
    let err = replay_over(Some(snapshot(10, 2)), vec![Rec::Marker(10, 3)]).unwrap_err();
    assert!(err.to_string().contains("its file says term 2"), "{err}");
    let recs = vec![
        Rec::W(Write::Append(entries(1, 1..=12))),
        Rec::Marker(10, 1),
        Rec::W(Write::Append(entries(1, 9..=9))),
    ];
    let err = replay_over(Some(snapshot(10, 1)), recs).unwrap_err();
    assert!(err.to_string().contains("WAL record #2"), "{err}");
    assert!(err.to_string().contains("past the snapshot at 10"), "{err}");
    let gap = vec![Rec::W(Write::Append(entries(1, 13..=14)))];
    let err = replay_over(Some(snapshot(10, 1)), gap).unwrap_err();
    assert!(err.to_string().contains("would leave a gap"), "{err}");
}

proptest::proptest! {
    #[test]
    fn arbitrary_records_over_a_base_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..96)) {
        let mut replay = Replay::new(Some(snapshot(10, 1)));
        let _ = replay.record(&bytes);
    }
}
