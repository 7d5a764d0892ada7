//! Log replication: the consistency check, conflict resolution, the conflict hint, and the
//! durability of everything a message promises.

mod common;

use common::{disk_with, log_of_terms, make_leader, node_from, step, Cluster};
use distributed_core::{NodeId, Protocol};
use raft::{
    AppendEntries, AppendEntriesResponse, AppendResult, Bytes, Disk, Entry, EntryKind, Message,
    Raft, Ready, Write,
};

fn append(term: u64, prev: (u64, u64), entries: Vec<Entry>, commit: u64) -> Message {
    Message::AppendEntries(AppendEntries {
        term,
        prev_log_index: prev.1,
        prev_log_term: prev.0,
        entries,
        leader_commit: commit,
        round: 0,
    })
}

fn entry(term: u64, index: u64) -> Entry {
    Entry {
        term,
        index,
        data: Bytes::from_static(b"new"),
        kind: EntryKind::Normal,
    }
}

fn the_result(out: &Ready) -> AppendResult {
    match out.messages.as_slice() {
        [env] => match env.msg {
            Message::AppendEntriesResponse(AppendEntriesResponse { result, .. }) => result,
            ref other => panic!("expected one AppendEntriesResponse, got {other}"),
        },
        other => panic!("expected one message, got {other:?}"),
    }
}

fn terms(node: &Raft) -> Vec<u64> {
    node.entries().iter().map(|e| e.term).collect()
}

#[test]
fn a_follower_rejects_append_entries_whose_prev_entry_does_not_match() {
    // Raft §5.3: if the follower does not find an entry with the same index and term, it
    // refuses the new entries; the rejection carries the conflict hint.
    let mut f = node_from(2, 3, &disk_with(2, &[1, 1, 2, 2]), |_| {});
    let out = step(&mut f, 1, append(3, (3, 4), vec![entry(3, 5)], 0));
    let hint = AppendResult::Reject {
        prev_log_index: 4,
        conflict_term: 2,
        conflict_index: 3,
    };
    assert_eq!(the_result(&out), hint, "term 2 starts at index 3");
    assert_eq!(terms(&f), [1, 1, 2, 2], "nothing stored");
    assert_eq!(
        f.leader(),
        Some(NodeId(1)),
        "it is still the legitimate leader"
    );
}

#[test]
fn a_follower_whose_log_is_too_short_hints_its_last_index() {
    // Raft §5.3, accelerated log backtracking: a missing prev entry is a gap, not a conflict.
    let mut f = node_from(2, 3, &disk_with(2, &[1, 1]), |_| {});
    let out = step(&mut f, 1, append(3, (2, 9), vec![], 0));
    let hint = AppendResult::Reject {
        prev_log_index: 9,
        conflict_term: 0,
        conflict_index: 2,
    };
    assert_eq!(the_result(&out), hint);
}

#[test]
fn a_follower_truncates_conflicting_entries_and_appends_the_leaders() {
    // Raft §5.3: delete the conflicting entry and all that follow it, append the new ones.
    let mut f = node_from(2, 3, &disk_with(2, &[1, 1, 2, 2]), |_| {});
    let out = step(&mut f, 1, append(3, (1, 2), vec![entry(3, 3)], 0));
    assert_eq!(the_result(&out), AppendResult::Ok { match_index: 3 });
    assert_eq!(terms(&f), [1, 1, 3]);
    let appended = out.writes.iter().find_map(|w| match w {
        Write::Append(es) => Some(es.clone()),
        Write::HardState(_) | Write::Snapshot(_) => None,
    });
    assert_eq!(
        appended,
        Some(vec![entry(3, 3)]),
        "only the new suffix is written"
    );
}

#[test]
fn a_follower_keeps_its_entries_when_a_delayed_shorter_append_arrives() {
    // Raft Figure 2, AppendEntries rule 3: truncate only on a conflict, never on a match.
    let mut f = node_from(2, 3, &disk_with(1, &[1, 1, 1]), |_| {});
    let mine = f.entry(2).cloned().expect("index 2");
    let out = step(&mut f, 1, append(1, (1, 1), vec![mine], 0));
    assert_eq!(the_result(&out), AppendResult::Ok { match_index: 2 });
    assert_eq!(f.last_index(), 3, "index 3 survives");
    assert!(out.writes.is_empty(), "nothing changed, nothing to persist");
}

#[test]
fn a_follower_commits_no_further_than_the_last_entry_the_leader_vouched_for() {
    // Raft Figure 2: commitIndex = min(leaderCommit, index of last new entry).
    let mut f = node_from(2, 3, &disk_with(2, &[1, 1, 2, 2]), |_| {});
    let out = step(&mut f, 1, append(3, (1, 2), vec![], 4));
    assert_eq!(
        f.commit_index(),
        2,
        "indexes 3 and 4 were not checked against this leader"
    );
    assert_eq!(out.outputs.len(), 2, "entries 1 and 2 are delivered");
}

#[test]
fn a_follower_drops_malformed_entries_without_storing_them() {
    let mut f = node_from(2, 3, &Disk::default(), |_| {});
    let out = step(&mut f, 1, append(1, (0, 0), vec![entry(1, 2)], 0));
    assert!(out.messages.is_empty(), "no answer to a malformed message");
    assert!(!out.writes.iter().any(|w| matches!(w, Write::Append(_))));
    assert_eq!(f.last_index(), 0);
}

#[test]
fn the_leader_backs_up_next_index_quickly_using_the_conflict_hint() {
    // Raft §5.3 (accelerated log backtracking) and Figure 7: a follower with a long run of a
    // stale term costs one rejection per term, not one per entry.
    let leader_log = [1, 1, 1, 4, 4, 4, 4, 4, 4, 4];
    let stale_log = [1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3];
    let disks = vec![
        disk_with(4, &leader_log),
        disk_with(4, &stale_log),
        disk_with(4, &leader_log),
    ];
    let mut c = Cluster::with_disks(disks, 3, |_| {});
    c.campaign_until_leader(1);
    c.run(4);
    let rejections = c.count_sent(2, 1, |m| {
        matches!(
            m,
            Message::AppendEntriesResponse(AppendEntriesResponse {
                result: AppendResult::Reject { .. },
                ..
            })
        )
    });
    assert_eq!(rejections, 1, "one round trip skips all of term 2 and 3");
    assert_eq!(c.node(2).entries(), c.node(1).entries());
}

#[test]
fn the_leader_skips_to_its_own_last_entry_of_the_conflicting_term() {
    // Raft §5.3, accelerated log backtracking: when the leader holds the follower's conflicting
    // term, it retries just after its own last entry of that term.
    let mut l = node_from(1, 3, &disk_with(4, &[1, 1, 2, 2, 2, 4]), |_| {});
    make_leader(&mut l, &[2]);
    let term = l.term();
    let reject = Message::AppendEntriesResponse(AppendEntriesResponse {
        term,
        result: AppendResult::Reject {
            prev_log_index: 6,
            conflict_term: 2,
            conflict_index: 3,
        },
        round: 0,
    });
    let out = step(&mut l, 2, reject);
    let first = out.messages[0].msg.to_string();
    assert!(
        first.starts_with("AppendEntries{term=5 prev=(2,5) n=2"),
        "{first}"
    );
}

#[test]
fn a_leader_ignores_a_stale_rejection_of_an_old_probe() {
    // Raft §5.3 with pipelining: replies may be duplicated or reordered.
    let mut l = node_from(1, 3, &disk_with(1, &[1, 1, 1]), |_| {});
    make_leader(&mut l, &[2]);
    let term = l.term();
    let stale = Message::AppendEntriesResponse(AppendEntriesResponse {
        term,
        result: AppendResult::Reject {
            prev_log_index: 1,
            conflict_term: 0,
            conflict_index: 0,
        },
        round: 0,
    });
    let out = step(&mut l, 2, stale);
    assert!(
        out.messages.is_empty(),
        "the outstanding probe was at index 3, not 1"
    );
}

#[test]
fn every_message_is_sent_only_after_the_writes_it_depends_on() {
    // Raft Figure 2: update stable storage before responding to RPCs. A host that persists a
    // Ready's writes and then crashes before sending must never have promised more than it kept.
    let mut f = node_from(2, 3, &Disk::default(), |_| {});
    let out = step(&mut f, 1, append(1, (0, 0), log_of_terms(&[1, 1]), 0));
    let mut disk = Disk::default();
    for w in &out.writes {
        <Raft as Protocol>::persist(&mut disk, w);
    }
    assert_eq!(
        (disk.hard_state.term, disk.log.len()),
        (1, 2),
        "term and entries queued"
    );
    for env in &out.messages {
        common::assert_promises_are_durable(&disk, env);
    }
    // And across a whole run: the harness checks every message of every node this way.
    let mut c = Cluster::new(3, 5);
    let leader = c.elect_any();
    for k in 0..20u8 {
        c.propose(leader, &[k]);
        c.run(1);
    }
    c.run(3);
    for applied in &c.observer.applied {
        assert_eq!(applied.len(), 21, "the no-op and 20 proposals");
    }
}
