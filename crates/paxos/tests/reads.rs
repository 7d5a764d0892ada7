//! Linearizable reads by a read round (crate read.rs): the leader confirms, after the read
//! arrived, that `n − max(q1, q2) + 1` acceptors promised nothing above its ballot, and answers
//! once every slot it had proposed is delivered.

mod common;

use common::{cmd, Cluster};
use distributed_core::NodeId;
use paxos::{Message, Output, ReadFailure};

fn ready(c: &Cluster, id: u64) -> Vec<(u64, u64)> {
    c.outputs(id)
        .iter()
        .filter_map(|o| match o {
            Output::ReadReady { id, slot } => Some((*id, *slot)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_leader_answers_a_read_after_a_quorum_confirms_its_ballot() {
    let mut c = Cluster::new(3, 1);
    c.elect(1);
    c.propose(1, "a");
    c.deliver_all();
    c.read(1, 7);
    assert!(ready(&c, 1).is_empty(), "not before the round");
    c.deliver_all();
    assert_eq!(ready(&c, 1), [(7, 1)]);
}

#[test]
fn a_read_waits_until_every_slot_proposed_before_it_is_delivered() {
    let mut c = Cluster::new(3, 2);
    c.elect(1);
    c.drop_when(|e| matches!(e.msg, Message::Accept(_)));
    c.propose(1, "x");
    c.read(1, 1);
    c.deliver_all();
    assert!(
        ready(&c, 1).is_empty(),
        "confirmed, but slot 1 is not chosen yet"
    );
    c.intercept = None;
    c.settle(2);
    assert_eq!(ready(&c, 1), [(1, 1)]);
    assert_eq!(c.applied(1), [cmd("x")]);
}

#[test]
fn a_follower_fails_a_read_and_names_the_leader() {
    let mut c = Cluster::new(3, 3);
    c.elect(1);
    c.read(2, 4);
    let reason = ReadFailure::NotLeader {
        leader: Some(NodeId(1)),
    };
    assert_eq!(c.outputs(2), [Output::ReadFailed { id: 4, reason }]);
}

#[test]
fn a_deposed_leader_cannot_confirm_a_read_and_steps_down() {
    // The stale read a round prevents: n2 leads and commits "y" while n1 still thinks it
    // leads; n1's round is nacked instead of confirmed.
    let mut c = Cluster::new(3, 4);
    c.elect(1);
    c.isolate(NodeId(1));
    c.elect(2);
    c.propose(2, "y");
    c.deliver_all();
    c.heal();
    c.read(1, 9);
    c.deliver_all();
    assert!(ready(&c, 1).is_empty());
    let reason = ReadFailure::NotLeader {
        leader: Some(NodeId(2)),
    };
    assert!(c.outputs(1).contains(&Output::ReadFailed { id: 9, reason }));
    assert!(!c.paxos(1).is_leader());
}

#[test]
fn with_q1_four_of_five_one_other_acceptor_confirms_a_read() {
    // read_quorum = n − max(q1, q2) + 1 = 5 − 4 + 1 = 2: any new leader needs 4 promises,
    // so it must have passed through one of these two.
    let mut c = Cluster::with(5, 5, |cfg| (cfg.phase1_quorum, cfg.phase2_quorum) = (4, 2));
    c.elect(1);
    for id in [3, 4, 5] {
        c.crash(NodeId(id));
    }
    c.read(1, 1);
    c.deliver_all();
    assert_eq!(ready(&c, 1), [(1, 0)]);
}

#[test]
fn with_majorities_a_read_times_out_when_no_majority_answers() {
    let mut c = Cluster::new(5, 6);
    c.elect(1);
    for id in [3, 4, 5] {
        c.crash(NodeId(id));
    }
    c.read(1, 1);
    c.settle(c.paxos(1).config().leader_timeout_ticks_max);
    assert!(ready(&c, 1).is_empty());
    let failed = c.outputs(1).iter().any(|o| {
        matches!(
            o,
            Output::ReadFailed {
                id: 1,
                reason: ReadFailure::TimedOut { .. }
            }
        )
    });
    assert!(failed, "{:?}", c.outputs(1));
}

#[test]
fn reads_beyond_the_bound_fail_as_busy() {
    let mut c = Cluster::with(3, 7, |cfg| cfg.pending_reads_max = 1);
    c.elect(1);
    c.isolate(NodeId(1));
    c.read(1, 1);
    c.read(1, 2);
    let reason = ReadFailure::Busy {
        pending_reads_max: 1,
    };
    assert_eq!(
        c.outputs(1).last(),
        Some(&Output::ReadFailed { id: 2, reason })
    );
    assert_eq!(c.paxos(1).pending_reads(), 1);
}
