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
