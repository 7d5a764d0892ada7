//! Tests of `invariants.rs`, kept apart so the module stays within its size budget.

use super::*;
use distributed_core::{Effects, Protocol, SeededRng};
use raft::{Config, Disk, EntryKind};
use sim::view::Slot;

fn e(term: Term, index: Index, data: &'static str) -> Entry {
    Entry {
        term,
        index,
        data: Bytes::from_static(data.as_bytes()),
        kind: EntryKind::Normal,
    }
}

fn append(entries: Vec<Entry>) -> Write {
    Write::Append(entries)
}

#[test]
fn log_matching_flags_one_index_and_term_with_two_commands() {
    // Raft §5.3: an (index, term) pair names one command.
    let mut inv = LogMatching::new(2);
    inv.on_write(NodeId(1), &append(vec![e(1, 1, "a")]))
        .unwrap();
    let err = inv
        .on_write(NodeId(2), &append(vec![e(1, 1, "b")]))
        .unwrap_err();
    assert!(err.contains("n2 persisted (1,1)"), "{err}");
}

#[test]
fn log_matching_flags_one_index_and_term_after_different_histories() {
    // Raft §5.3: matching (index, term) implies matching logs before it.
    let mut inv = LogMatching::new(2);
    inv.on_write(NodeId(1), &append(vec![e(1, 1, "a"), e(3, 2, "c")]))
        .unwrap();
    let err = inv
        .on_write(NodeId(2), &append(vec![e(2, 1, "b"), e(3, 2, "c")]))
        .unwrap_err();
    assert!(err.contains("after term 2"), "{err}");
}

#[test]
fn log_matching_follows_a_truncation_like_persist_does() {
    let mut inv = LogMatching::new(2);
    inv.on_write(NodeId(1), &append(vec![e(1, 1, "a"), e(1, 2, "x")]))
        .unwrap();
    inv.on_write(NodeId(1), &append(vec![e(2, 2, "b"), e(2, 3, "c")]))
        .unwrap();
    inv.on_write(
        NodeId(2),
        &append(vec![e(1, 1, "a"), e(2, 2, "b"), e(2, 3, "c")]),
    )
    .unwrap();
    assert_eq!(inv.disk_terms[0], vec![1, 2, 2]);
}

#[test]
fn state_machine_safety_flags_two_commands_applied_at_one_index() {
    // Raft §5.4.3.
    let mut inv = StateMachineSafety::new(2);
    inv.on_output(NodeId(1), &Output::Committed(e(1, 1, "a")))
        .unwrap();
    let err = inv
        .on_output(NodeId(2), &Output::Committed(e(2, 1, "b")))
        .unwrap_err();
    assert!(err.contains("index 1 applied as term 2"), "{err}");
}

#[test]
fn state_machine_safety_flags_a_gap_and_allows_a_replay_after_restart() {
    let mut inv = StateMachineSafety::new(1);
    inv.on_output(NodeId(1), &Output::Committed(e(1, 1, "a")))
        .unwrap();
    inv.on_restart(NodeId(1));
    inv.on_output(NodeId(1), &Output::Committed(e(1, 1, "a")))
        .unwrap();
    let err = inv
        .on_output(NodeId(1), &Output::Committed(e(1, 3, "c")))
        .unwrap_err();
    assert!(err.contains("applied index 3 right after index 1"), "{err}");
}

#[test]
fn leader_completeness_only_counts_commits_seen_before_the_leaders_term() {
    let mut inv = LeaderCompleteness::new(1);
    inv.leader_term_max = 2;
    inv.on_output(NodeId(1), &Output::Committed(e(2, 1, "a")))
        .unwrap();
    inv.leader_term_max = 4;
    inv.on_output(NodeId(1), &Output::Committed(e(4, 2, "b")))
        .unwrap();
    assert_eq!(inv.committed_before(2), 0);
    assert_eq!(inv.committed_before(3), 1);
    assert_eq!(inv.committed_before(5), 2);
}

/// A node that is its own one-voter cluster, ticked until it leads term 1.
fn lone_leader(id: u64) -> Slot<Raft> {
    let id = NodeId(id);
    let mut node = Raft::new(
        Config::new(id, vec![id]),
        &Disk::default(),
        SeededRng::new(id.0),
    )
    .unwrap();
    let mut out = Effects::new();
    for _ in 0..100 {
        node.tick(&mut out);
        out.clear();
    }
    assert_eq!((node.role(), node.term()), (Role::Leader, 1));
    Slot::detached(id, Some(node))
}

#[test]
fn election_safety_flags_two_leaders_of_one_term() {
    // Raft §5.2: two one-node "clusters" in one view both lead term 1.
    let slots = vec![lone_leader(1), lone_leader(2)];
    let view = ClusterView::new(0, &slots, None, None);
    let err = ElectionSafety::new(2).check(&view).unwrap_err();
    assert_eq!(err, "n2 and n1 both led term 1");
}

#[test]
fn leader_completeness_flags_a_leader_missing_a_committed_entry() {
    // Raft §5.4.1: the lone leader's log holds (1,1), its no-op; claim (0,1) was committed.
    let slots = vec![lone_leader(1)];
    let view = ClusterView::new(0, &slots, None, None);
    let mut inv = LeaderCompleteness::new(1);
    inv.on_output(NodeId(1), &Output::Committed(e(0, 1, "z")))
        .unwrap();
    let err = inv.check(&view).unwrap_err();
    assert!(
        err.contains("n1 leads term 1 without committed entry (0,1)"),
        "{err}"
    );
}
