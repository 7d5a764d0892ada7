//! The leader writing to its own disk in parallel with its followers (thesis §10.2.1,
//! `Config::leader_writes_in_parallel`): it counts itself toward a commit only through what its
//! host reported durable (`Input::LogDurable`), so every commit is on a quorum's disks even
//! though its AppendEntries left before its own fsync.

mod common;

use bytes::Bytes;
use common::{make_leader, node_from, ok, step};
use distributed_core::Protocol;
use raft::{Disk, Input, Output, Raft, Ready, Role};

fn input(node: &mut Raft, input: Input) -> Ready {
    let mut out = Ready::new();
    node.input(input, &mut out);
    out
}

fn committed(out: &Ready) -> Vec<u64> {
    (out.outputs.iter())
        .filter_map(|o| match o {
            Output::Committed(e) => Some(e.index),
            _ => None,
        })
        .collect()
}

/// A leader of `voters` with the option on; nothing it wrote as leader is reported durable.
fn parallel_leader(voters: u64) -> Raft {
    let mut n1 = node_from(1, voters, &Disk::default(), |c| {
        c.leader_writes_in_parallel = true;
    });
    let others: Vec<u64> = (2..=voters).collect();
    make_leader(&mut n1, &others);
    n1
}

/// A single voter elects itself on its first timeout, with no messages.
fn lone_leader(parallel: bool) -> Raft {
    let mut n1 = node_from(1, 1, &Disk::default(), |c| {
        c.leader_writes_in_parallel = parallel;
    });
    let mut out = Ready::new();
    while n1.role() != Role::Leader {
        n1.tick(&mut out);
    }
    n1
}

#[test]
fn a_single_voter_writing_in_parallel_commits_only_once_its_disk_holds_the_entry() {
    let mut n1 = lone_leader(true);
    assert_eq!(n1.commit_index(), 0, "the no-op is not on disk yet");
    let term = n1.term();
    let out = input(&mut n1, Input::LogDurable { index: 1, term });
    assert_eq!(committed(&out), vec![1]);

    input(&mut n1, Input::Propose(Bytes::from_static(b"x")));
    assert_eq!(n1.commit_index(), 1, "appended is not durable: no commit");
    let out = input(&mut n1, Input::LogDurable { index: 2, term });
    assert_eq!(committed(&out), vec![2]);
}

#[test]
fn without_the_option_a_single_voter_commits_on_append_as_the_host_persists_first() {
    let mut n1 = lone_leader(false);
    input(&mut n1, Input::Propose(Bytes::from_static(b"x")));
    assert_eq!(n1.commit_index(), 2);
}

#[test]
fn one_follower_is_not_a_quorum_with_a_leader_whose_own_write_is_in_flight() {
    // Three voters: the leader's copy counts only once durable, so an entry one follower
    // acknowledged is on one disk, not two, and must wait.
    let mut n1 = parallel_leader(3);
    let term = n1.term();
    input(&mut n1, Input::LogDurable { index: 1, term });
    step(&mut n1, 2, ok(term, 1));
    assert_eq!(n1.commit_index(), 1);
    input(&mut n1, Input::Propose(Bytes::from_static(b"x")));
    step(&mut n1, 2, ok(term, 2));
    assert_eq!(n1.commit_index(), 1, "n2's disk alone is not a majority");
    let out = input(&mut n1, Input::LogDurable { index: 2, term });
    assert_eq!(committed(&out), vec![2], "n1's and n2's disks are");
}

#[test]
fn two_followers_commit_without_the_leaders_disk() {
    // Thesis §10.2.1: "the leader may even commit an entry before it has been written to its
    // own disk, if a majority of other servers have written it to their disks".
    let mut n1 = parallel_leader(3);
    let term = n1.term();
    input(&mut n1, Input::Propose(Bytes::from_static(b"x")));
    step(&mut n1, 2, ok(term, 2));
    let out = step(&mut n1, 3, ok(term, 2));
    assert_eq!(committed(&out), vec![1, 2]);
}

#[test]
fn a_parallel_leader_tells_its_host_which_messages_may_leave_before_its_writes() {
    // The host contract's step 5 (distributed_core::Protocol): the leader's replication may
    // overtake its own fsync; its votes and acknowledgements may not (§5.2, §5.3).
    let mut n1 = parallel_leader(3);
    assert!(n1.overlaps_writes());
    let term = n1.term();
    step(&mut n1, 2, ok(term, 1)); // n2 has the no-op: its pipeline is open
    let out = input(&mut n1, Input::Propose(Bytes::from_static(b"x")));
    assert!(!out.writes.is_empty() && !out.messages.is_empty());
    assert!(out.messages.iter().all(|m| n1.sends_before_durable(&m.msg)));
    let ack = ok(term, 2);
    assert!(
        !n1.sends_before_durable(&ack),
        "an acknowledgement promises a disk"
    );
    let n2 = node_from(2, 3, &Disk::default(), |_| {});
    assert!(!n2.overlaps_writes(), "off by default: persist before send");
}

#[test]
fn the_host_reports_a_durable_batch_by_the_last_entry_it_wrote() {
    let mut n1 = parallel_leader(3);
    let term = n1.term();
    let mut writes = input(&mut n1, Input::Propose(Bytes::from_static(b"x"))).writes;
    writes.extend(input(&mut n1, Input::Propose(Bytes::from_static(b"y"))).writes);
    let durable = n1.durable_input(&writes).expect("entries were written");
    assert_eq!(
        durable.to_string(),
        format!("LogDurable{{index=3 term={term}}}")
    );
    let out = input(&mut n1, durable);
    assert_eq!(
        n1.commit_index(),
        0,
        "one durable copy of three is no quorum"
    );
    assert!(out.outputs.is_empty());
}

#[test]
fn the_broken_variant_commits_on_one_follower_while_its_own_copy_is_in_flight() {
    // Variant::LeaderCountsUnsyncedWrites, the bug thesis §10.2.1 guards against: the same
    // steps as `one_follower_is_not_a_quorum_…`, but the leader counts its whole log, so the
    // entry "commits" on one disk of three (the simulator then loses it in a crash).
    let mut n1 = node_from(1, 3, &Disk::default(), |c| {
        c.leader_writes_in_parallel = true;
        c.variant = raft::Variant::LeaderCountsUnsyncedWrites;
    });
    make_leader(&mut n1, &[2, 3]);
    let term = n1.term();
    step(&mut n1, 2, ok(term, 1));
    input(&mut n1, Input::Propose(Bytes::from_static(b"x")));
    let out = step(&mut n1, 2, ok(term, 2));
    assert_eq!(
        committed(&out),
        vec![2],
        "committed with no durable copy of its own"
    );
}
