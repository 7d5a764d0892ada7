//! The normal case ("Paxos Made Simple" §2.2 phase 2, §3): the leader proposes a command in the
//! next slot, a phase-2 quorum accepts it, it is chosen and delivered in slot order on every
//! node; flexible quorums (Flexible Paxos §3) change only how many must accept.

mod common;

use common::{cmd, Cluster};
use distributed_core::NodeId;
use paxos::{Ballot, Config, Disk, Message, Output, Paxos};

#[test]
fn a_proposal_is_chosen_and_delivered_in_slot_order_on_every_node() {
    let mut c = Cluster::new(3, 1);
    c.elect(1);
    for text in ["a", "b", "c"] {
        c.propose(1, text);
    }
    c.deliver_all();
    assert_eq!(
        c.applied(1),
        [cmd("a"), cmd("b"), cmd("c")],
        "the leader first"
    );
    c.settle(2); // a heartbeat carries the commit notice
    for id in [2, 3] {
        assert_eq!(c.applied(id), [cmd("a"), cmd("b"), cmd("c")]);
        assert_eq!(c.paxos(id).chosen_through(), 3);
    }
    let b1 = Ballot::new(1, NodeId(1));
    assert_eq!(
        c.outputs(1)[0],
        Output::Accepted {
            slot: 1,
            ballot: b1
        },
        "placed, not yet chosen"
    );
}

#[test]
fn a_follower_answers_a_proposal_with_where_the_leader_is() {
    let mut c = Cluster::new(3, 2);
    c.elect(1);
    c.propose(2, "x");
    assert_eq!(
        c.outputs(2),
        [Output::NotLeader {
            leader: Some(NodeId(1))
        }]
    );
}

#[test]
fn the_leader_refuses_proposals_beyond_its_window_of_open_slots() {
    // PMMC §3: WINDOW bounds the slots in flight.
    let mut c = Cluster::with(3, 3, |cfg| cfg.open_slots_max = 2);
    c.elect(1);
    c.isolate(NodeId(1)); // nothing gets chosen
    for text in ["a", "b", "c"] {
        c.propose(1, text);
    }
    assert_eq!(c.outputs(1)[2], Output::Busy { open_slots_max: 2 });
}

#[test]
fn lost_accepts_are_sent_again_at_the_next_heartbeat() {
    let mut c = Cluster::new(3, 4);
    c.elect(1);
    c.drop_when(|e| matches!(e.msg, Message::Accept(_)));
    c.propose(1, "x");
    c.deliver_all();
    assert!(c.applied(1).is_empty(), "no acceptor heard it");
    c.intercept = None;
    c.settle(3);
    assert_eq!(c.applied(1), [cmd("x")]);
}

#[test]
fn with_a_phase_2_quorum_of_two_of_five_a_command_is_chosen_with_three_nodes_down() {
    // Flexible Paxos §3: q1 = 4, q2 = 2 intersect (4 + 2 > 5); commands need only 2 nodes.
    let mut c = Cluster::with(5, 5, |cfg| (cfg.phase1_quorum, cfg.phase2_quorum) = (4, 2));
    c.elect(1);
    for id in [3, 4, 5] {
        c.crash(NodeId(id));
    }
    c.propose(1, "x");
    c.deliver_all();
    assert_eq!(c.applied(1), [cmd("x")]);
}

#[test]
fn with_a_phase_1_quorum_of_four_of_five_no_leader_is_elected_with_two_nodes_down() {
    // Flexible Paxos §3: the price of a small Q2 is a large Q1.
    let mut c = Cluster::with(5, 6, |cfg| (cfg.phase1_quorum, cfg.phase2_quorum) = (4, 2));
    c.crash(NodeId(4));
    c.crash(NodeId(5));
    c.settle(100);
    assert!(c.leaders().is_empty());
}

#[test]
fn a_single_node_cluster_chooses_at_once() {
    let config = Config::new(NodeId(1), vec![NodeId(1)]);
    let mut node = Paxos::new(
        config,
        &Disk::default(),
        distributed_core::SeededRng::new(1),
    )
    .expect("valid");
    let mut out = paxos::Ready::new();
    for _ in 0..=node.config().leader_timeout_ticks_max {
        distributed_core::Protocol::tick(&mut node, &mut out);
    }
    assert!(node.is_leader());
    out.clear();
    let data = paxos::Bytes::from_static(b"x");
    distributed_core::Protocol::input(&mut node, paxos::Input::Propose(data), &mut out);
    assert!(
        out.outputs.contains(&Output::Committed {
            slot: 1,
            ballot: Ballot::new(1, NodeId(1)),
            value: cmd("x")
        }),
        "{:?}",
        out.outputs
    );
}
