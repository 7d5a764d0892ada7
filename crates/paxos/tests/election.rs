//! A stable distinguished leader ("Paxos Made Simple" §3; PMMC §3 "preempted"): a node that
//! hears no leader runs phase 1 once, leads every slot, and keeps leading while it is heard;
//! a higher ballot preempts it.

mod common;

use common::Cluster;
use distributed_core::NodeId;
use paxos::{Ballot, Message, Role};

#[test]
fn a_node_that_hears_no_leader_runs_phase_1_and_leads() {
    // PMS §3: a single distinguished leader, chosen by a timeout; phase 1 with a ballot
    // above every round seen.
    let mut c = Cluster::new(3, 1);
    c.elect(1);
    let n1 = c.paxos(1);
    assert_eq!(n1.ballot(), Some(Ballot::new(1, NodeId(1))));
    assert_eq!(n1.counters().phase1_runs, 1);
    assert_eq!(n1.counters().leader_changes, 1);
    for id in [2, 3] {
        assert_eq!(c.paxos(id).promised(), Ballot::new(1, NodeId(1)));
        assert_eq!(c.paxos(id).leader_hint(), Some(NodeId(1)));
    }
}

#[test]
fn a_stable_leader_keeps_everyone_else_from_running_phase_1() {
    // PMS §3: phase 1 runs once per leader, not once per slot; heartbeats keep followers'
    // timers from firing.
    let mut c = Cluster::new(5, 2);
    c.elect(1);
    c.settle(300);
    assert_eq!(c.leaders(), [NodeId(1)]);
    let runs: u64 = (1..=5).map(|id| c.paxos(id).counters().phase1_runs).sum();
    assert_eq!(runs, 1, "only n1's one phase 1");
}

#[test]
fn the_cluster_elects_exactly_one_leader_from_a_cold_start() {
    let mut c = Cluster::new(5, 3);
    c.settle(100);
    assert_eq!(c.leaders().len(), 1, "randomized timeouts settle the duel");
}

#[test]
fn a_new_leader_takes_over_when_the_leader_crashes() {
    let mut c = Cluster::new(3, 4);
    c.elect(1);
    c.crash(NodeId(1));
    c.settle(60);
    let leaders = c.leaders();
    assert_eq!(leaders.len(), 1);
    let new = c.node(leaders[0]).ballot().expect("leads with a ballot");
    assert!(new > Ballot::new(1, NodeId(1)), "a higher ballot than n1's");
}

#[test]
fn a_preempted_leader_steps_down_when_nacked() {
    // PMMC §3: a leader that learns of a higher ballot (a Nack) is preempted.
    let mut c = Cluster::new(3, 5);
    c.elect(1);
    c.isolate(NodeId(1));
    c.elect(2); // n2 and n3 promise b2.n2 while n1 cannot hear it
    assert!(c.paxos(1).is_leader(), "n1 has heard nothing yet");
    c.heal();
    c.keep_notes(true);
    let ballot = c.paxos(1).ballot().expect("n1 still thinks it leads");
    for _ in 0..c.paxos(1).config().heartbeat_ticks {
        c.tick(NodeId(1));
    }
    c.deliver_all();
    assert_eq!(c.paxos(1).role(), Role::Follower);
    assert_eq!(c.paxos(1).counters().preemptions, 1);
    assert_eq!(c.paxos(1).leader_hint(), Some(NodeId(2)));
    let nacked = c.count_sent(
        NodeId(2),
        NodeId(1),
        |m| matches!(m, Message::Nack(n) if n.ballot == ballot),
    );
    assert!(nacked >= 1, "n2 refused n1's heartbeat with a Nack");
    assert!(c.paxos(2).is_leader());
}

#[test]
fn a_candidate_that_cannot_reach_a_quorum_tries_again_with_a_higher_round() {
    let mut c = Cluster::new(3, 6);
    c.isolate(NodeId(1));
    let max = c.paxos(1).config().leader_timeout_ticks_max;
    for _ in 0..3 * (max + 1) {
        c.tick(NodeId(1));
    }
    let n1 = c.paxos(1);
    assert_eq!(n1.role(), Role::Candidate);
    assert!(n1.counters().phase1_runs >= 2);
    assert_eq!(
        n1.ballot().map(|b| b.round),
        Some(n1.counters().phase1_runs)
    );
}
