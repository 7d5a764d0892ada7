//! Membership changes and leadership transfer, rule by rule (Raft §6, thesis §4.3, §3.10).
//! Clusters have spare nodes outside the bootstrap voters, ready to join.

mod common;

use std::collections::BTreeSet;

use common::{ids, Cluster};
use distributed_core::NodeId;
use raft::{ChangeError, Input, Membership, MembershipChange, Output, Role};

/// `slots` nodes, of which n1..=n`voters` are the bootstrap voters.
fn cluster(slots: u64, voters: u64, seed: u64) -> Cluster {
    Cluster::with(slots, seed, move |c| c.voters = ids(voters))
}

fn change(c: &mut Cluster, leader: NodeId, change: MembershipChange) -> Vec<Output> {
    let out = c.input(leader, Input::ChangeMembership(change));
    c.run(3);
    out
}

fn set(v: &[u64]) -> BTreeSet<NodeId> {
    v.iter().copied().map(NodeId).collect()
}

fn rejected(out: &[Output]) -> Option<ChangeError> {
    out.iter().find_map(|o| match o {
        Output::ChangeRejected { reason } => Some(reason.clone()),
        _ => None,
    })
}

#[test]
fn a_learner_receives_the_log_but_never_campaigns_and_a_promotion_goes_through_joint() {
    // Thesis §4.2.1: a new server catches up as a non-voting member first; Raft §6: joint.
    let mut c = cluster(4, 3, 1);
    let leader = c.elect_any();
    c.propose(leader, b"x");
    change(&mut c, leader, MembershipChange::AddLearner(NodeId(4)));
    assert!(c.node(4).membership().is_learner(NodeId(4)));
    assert_eq!(c.node(4).commit_index(), c.node(leader.0).commit_index());
    for _ in 0..100 {
        c.tick(NodeId(4));
    }
    assert_eq!(
        c.node(4).role(),
        Role::Follower,
        "a learner never campaigns"
    );
    change(&mut c, leader, MembershipChange::Promote(NodeId(4)));
    let log = c.node(leader.0).entries();
    let configs: Vec<&Membership> = log.iter().filter_map(|e| e.membership()).collect();
    let n = configs.len();
    assert!(configs[n - 2].is_joint(), "C_old,new first");
    assert_eq!(configs[n - 1].voters, set(&[1, 2, 3, 4]), "then C_new");
    assert!(!configs[n - 1].is_joint());
    assert!(c.node(4).membership().is_voter(NodeId(4)));
}

#[test]
fn a_second_change_is_refused_while_one_is_in_flight() {
    // Raft §6 / thesis §4.3: one change at a time; a refusal, not a crash.
    let mut c = cluster(5, 3, 2);
    let leader = c.elect_any();
    c.input(
        leader,
        Input::ChangeMembership(MembershipChange::AddLearner(NodeId(4))),
    );
    let out = c.input(
        leader,
        Input::ChangeMembership(MembershipChange::AddLearner(NodeId(5))),
    );
    assert!(matches!(
        rejected(&out),
        Some(ChangeError::ChangeInProgress { .. })
    ));
    let follower = if leader == NodeId(1) {
        NodeId(2)
    } else {
        NodeId(1)
    };
    let out = c.input(
        follower,
        Input::ChangeMembership(MembershipChange::AddLearner(NodeId(5))),
    );
    assert!(matches!(
        rejected(&out),
        Some(ChangeError::NotLeader { .. })
    ));
}

#[test]
fn while_joint_commitment_needs_a_majority_of_both_configurations() {
    // Raft §6: in C_old,new, agreement requires separate majorities of C_old and C_new.
    let mut c = cluster(5, 3, 3);
    c.elect(1);
    change(&mut c, NodeId(1), MembershipChange::AddLearner(NodeId(4)));
    change(&mut c, NodeId(1), MembershipChange::AddLearner(NodeId(5)));
    // C_new = {1,4,5}: the old majority needs one of n2, n3; the new one needs n4 or n5.
    c.crash(NodeId(4));
    c.crash(NodeId(5));
    let set_voters = MembershipChange::SetVoters(set(&[1, 4, 5]));
    change(&mut c, NodeId(1), set_voters);
    assert!(c.node(1).membership().is_joint(), "stuck in C_old,new");
    let joint_at = c.node(1).membership_index();
    assert!(
        c.node(1).commit_index() < joint_at,
        "n2, n3 alone are no majority of C_new"
    );
    c.restart(NodeId(4));
    c.run(5);
    assert!(
        c.node(1).commit_index() >= joint_at,
        "n1 + n4 complete the C_new majority"
    );
}

#[test]
fn a_leader_not_in_c_new_steps_down_once_c_new_commits_and_never_campaigns() {
    // Raft §6: the leader manages the cluster without counting itself, then steps down.
    let mut c = cluster(3, 3, 4);
    c.elect(1);
    change(&mut c, NodeId(1), MembershipChange::Remove(NodeId(1)));
    c.run(3);
    assert_ne!(c.node(1).role(), Role::Leader);
    assert_eq!(c.node(1).membership().voters, set(&[2, 3]));
    let next = c.elect_any();
    assert_ne!(next, NodeId(1));
    for _ in 0..100 {
        c.tick(NodeId(1));
    }
    assert_ne!(
        c.node(1).role(),
        Role::Candidate,
        "a removed node stays out"
    );
}

#[test]
fn a_truncated_config_entry_reverts_to_the_previous_configuration() {
    // Raft §6: a server uses the latest configuration in its log, committed or not; losing
    // that entry in a conflict brings back the one before it.
    let mut c = cluster(4, 3, 5);
    c.elect(1);
    c.isolate(NodeId(1));
    c.input(
        NodeId(1),
        Input::ChangeMembership(MembershipChange::AddLearner(NodeId(4))),
    );
    assert!(
        c.node(1).membership().is_learner(NodeId(4)),
        "in force before it commits"
    );
    let mut rival = None;
    for _ in 0..200 {
        c.tick(NodeId(2));
        c.tick(NodeId(3));
        c.deliver_all();
        rival = [2, 3]
            .into_iter()
            .find(|&id| c.node(id).role() == Role::Leader);
        if rival.is_some() {
            break;
        }
    }
    let rival = NodeId(rival.expect("n2 or n3 wins without n1"));
    c.propose(rival, b"overwrites");
    c.heal();
    c.run(5);
    assert_eq!(c.node(1).membership(), &Membership::new(ids(3)));
    assert_eq!(
        c.node(1).membership_index(),
        0,
        "back to the bootstrap voters"
    );
}

#[test]
fn a_restart_rebuilds_the_configuration_from_the_durable_log() {
    let mut c = cluster(4, 3, 6);
    c.elect(1);
    change(&mut c, NodeId(1), MembershipChange::AddLearner(NodeId(4)));
    change(&mut c, NodeId(1), MembershipChange::Promote(NodeId(4)));
    let before = c.node(4).membership().clone();
    c.crash(NodeId(4));
    c.restart(NodeId(4));
    assert_eq!(c.node(4).membership(), &before);
    assert!(before.is_voter(NodeId(4)));
}

#[test]
fn leadership_moves_to_an_up_to_date_follower_at_once() {
    // Thesis §3.10: TimeoutNow makes the target campaign without waiting for a timeout, and
    // voters that just heard from the leader still answer it (the §4.2.3 exception).
    let mut c = cluster(3, 3, 7);
    c.elect(1);
    c.propose(NodeId(1), b"x");
    c.run(1);
    c.input(NodeId(1), Input::TransferLeadership { to: NodeId(3) });
    c.deliver_all();
    assert_eq!(c.leader(), Some(NodeId(3)));
    assert_ne!(c.node(1).role(), Role::Leader);
}

#[test]
fn leadership_moves_to_a_lagging_follower_once_it_has_caught_up() {
    let mut c = cluster(3, 3, 8);
    c.elect(1);
    c.crash(NodeId(3));
    for k in 0..5u8 {
        c.propose(NodeId(1), &[k]);
    }
    c.run(1);
    c.restart(NodeId(3));
    let out = c.input(NodeId(1), Input::TransferLeadership { to: NodeId(3) });
    assert!(rejected(&out).is_none());
    let refused = c.propose(NodeId(1), b"during");
    assert!(
        matches!(
            refused.as_slice(),
            [Output::NotLeader {
                leader: Some(NodeId(3))
            }]
        ),
        "no proposals while transferring: {refused:?}"
    );
    c.run(3);
    assert_eq!(c.leader(), Some(NodeId(3)));
    assert_eq!(c.node(3).last_index(), c.node(1).last_index());
}

#[test]
fn a_transfer_to_an_unreachable_target_is_abandoned_after_an_election_timeout() {
    let mut c = cluster(3, 3, 9);
    c.elect(1);
    c.crash(NodeId(3));
    c.input(NodeId(1), Input::TransferLeadership { to: NodeId(3) });
    let mut outputs = Vec::new();
    for _ in 0..30 {
        let before = c.observer.outputs[0].len();
        c.run(1);
        outputs.extend(c.observer.outputs[0][before..].iter().cloned());
    }
    assert!(
        matches!(
            rejected(&outputs),
            Some(ChangeError::TransferTimedOut { to: NodeId(3) })
        ),
        "{outputs:?}"
    );
    assert_eq!(c.leader(), Some(NodeId(1)));
    let accepted = c.propose(NodeId(1), b"again");
    assert!(matches!(accepted.as_slice(), [Output::Accepted { .. }]));
}

#[test]
fn a_leader_that_starts_a_transfer_stops_serving_lease_reads() {
    // Thesis §6.4.1 with §3.10: voters answer the target's forced campaign despite the lease,
    // so the lease cannot stand once a transfer begins.
    let mut c = Cluster::with(3, 10, |c| c.read_mode = raft::ReadMode::Lease);
    c.elect(1);
    c.run(3);
    let before = c.read(NodeId(1), 1);
    assert!(
        matches!(before.as_slice(), [Output::ReadReady { id: 1, .. }]),
        "the lease holds: {before:?}"
    );
    c.crash(NodeId(2)); // the transfer cannot finish at once
    c.input(NodeId(1), Input::TransferLeadership { to: NodeId(2) });
    let during = c.read(NodeId(1), 2);
    assert!(
        !during.iter().any(|o| matches!(o, Output::ReadReady { .. })),
        "no read from the lease once a transfer started: {during:?}"
    );
}

#[test]
fn a_node_restarting_from_a_snapshot_that_covers_the_config_entries_keeps_the_new_configuration() {
    // Raft §7 + §6: the snapshot records the configuration at its index, because the config
    // entries it replaces are gone; a restart must not fall back to the bootstrap voters.
    let mut c = cluster(5, 3, 21);
    let leader = c.elect_any();
    change(&mut c, leader, MembershipChange::AddLearner(NodeId(4)));
    change(&mut c, leader, MembershipChange::Promote(NodeId(4)));
    c.propose(leader, b"after");
    c.run(3);
    let grown = c.node(leader.0).membership().clone();
    assert_eq!(grown.voters, set(&[1, 2, 3, 4]));
    let follower = NodeId(4);
    c.snapshot(follower);
    let snapshot = c.node(4).snapshot().expect("taken").clone();
    assert!(
        c.node(4).entries().iter().all(|e| e.membership().is_none()),
        "the snapshot covers every config entry"
    );
    assert_eq!(snapshot.meta.membership, grown);
    c.crash(follower);
    c.restart(follower);
    assert_eq!(*c.node(4).membership(), grown, "not the bootstrap n1..n3");
    assert!(c.node(4).membership().is_voter(NodeId(4)));
}

#[test]
fn a_follower_installing_a_snapshot_learns_the_configuration_from_it() {
    // Raft §7: InstallSnapshot carries the configuration; a learner added after the leader
    // compacted its log gets the snapshot, and with it the membership that names it.
    let mut c = cluster(5, 3, 22);
    let leader = c.elect_any();
    for k in 0..5u8 {
        c.propose(leader, &[k]);
    }
    change(&mut c, leader, MembershipChange::AddLearner(NodeId(5)));
    c.crash(NodeId(5));
    for k in 0..5u8 {
        c.propose(leader, &[k]);
    }
    c.run(3);
    c.snapshot(leader);
    assert!(c.node(leader.0).snapshot_index() > c.node(leader.0).membership_index());
    c.restart(NodeId(5));
    c.run(10);
    let n5 = c.node(5);
    assert!(n5.snapshot_index() > 0, "caught up by InstallSnapshot");
    assert!(n5.membership().is_learner(NodeId(5)));
    assert_eq!(n5.membership(), c.node(leader.0).membership());
}
