//! Leader change and recovery ("Paxos Made Simple" §2.2 P2c, §3; PMMC §3 "adopted"): a new
//! leader adopts, per slot, the value of the highest ballot its phase-1 quorum reports, fills
//! holes with no-ops, and re-proposes them all; a restarted node keeps its promises and
//! re-learns what was chosen. Also the two broken variants, shown breaking agreement.

mod common;

use common::{cmd, Cluster};
use distributed_core::NodeId;
use paxos::{Ballot, Message, Output, Value, Variant};

/// n1 leads and gets "x" chosen in slot 1 by itself and n2 only: n3 never hears the Accept,
/// and nobody hears a commit notice. Then n1 crashes.
fn x_chosen_by_n1_and_n2_then_n1_crashes(c: &mut Cluster) {
    c.elect(1);
    c.drop_when(|e| {
        matches!(&e.msg, Message::Accept(_) if e.to == NodeId(3))
            || matches!(e.msg, Message::Commit(_))
    });
    c.propose(1, "x");
    c.deliver_all();
    assert_eq!(c.applied(1), [cmd("x")], "chosen: n1 and n2 accepted it");
    assert_eq!(c.paxos(3).accepted(1), None, "n3 never saw it");
    c.intercept = None;
    c.crash(NodeId(1));
}

#[test]
fn a_new_leader_adopts_the_value_a_phase_2_quorum_accepted() {
    // PMS §2.2, P2c: the new leader proposes the value of the highest-numbered proposal
    // among the promises, so a chosen value stays chosen.
    let mut c = Cluster::new(3, 1);
    x_chosen_by_n1_and_n2_then_n1_crashes(&mut c);
    c.elect(3);
    assert_eq!(
        c.applied(3),
        [cmd("x")],
        "n3 re-proposed n2's report, not its own"
    );
    let pv = c.paxos(2).accepted(1).expect("n2 holds slot 1");
    assert_eq!(
        pv.ballot,
        Ballot::new(2, NodeId(3)),
        "re-accepted at the new ballot"
    );
}

#[test]
fn a_leader_that_proposes_its_own_value_breaks_agreement() {
    // The AcceptOwnValue variant skips P2c: n3 fills slot 1 with a no-op although "x" was
    // chosen there, and n2 accepts it at the higher ballot.
    let mut c = Cluster::with(3, 1, |cfg| cfg.variant = Variant::AcceptOwnValue);
    c.observer.strict = false;
    x_chosen_by_n1_and_n2_then_n1_crashes(&mut c);
    c.elect(3);
    assert_eq!(c.applied(3), [Value::Noop]);
    // Caught twice: by the delivery, and by the accessors right after the event.
    assert_eq!(
        c.observer.violations.len(),
        2,
        "{:?}",
        c.observer.violations
    );
    assert!(c.observer.violations[0].contains("delivered noop in slot 1 where \"x\""));
}

#[test]
fn a_phase_1_quorum_that_misses_the_phase_2_quorum_breaks_agreement() {
    // Flexible Paxos §3: with q1 + q2 ≤ n a new leader can hear only acceptors that missed a
    // chosen value. SmallPhase1Quorum runs phase 1 with 3 − 2 = 1 promise: its own.
    let mut c = Cluster::with(3, 1, |cfg| cfg.variant = Variant::SmallPhase1Quorum);
    c.observer.strict = false;
    x_chosen_by_n1_and_n2_then_n1_crashes(&mut c);
    c.isolate(NodeId(2)); // n3 leads on its own promise, knowing nothing of slot 1
    c.elect(3);
    c.heal();
    c.propose(3, "y"); // slot 1 again: n2 accepts at the higher ballot, "y" is chosen
    c.deliver_all();
    assert_eq!(c.applied(3), [cmd("y")]);
    assert!(c.observer.violations[0].contains("delivered \"y\" in slot 1 where \"x\""));
    // Caught twice: by the delivery, and by the accessors right after the event.
    assert_eq!(
        c.observer.violations.len(),
        2,
        "{:?}",
        c.observer.violations
    );
}

#[test]
fn holes_below_the_highest_reported_slot_are_filled_with_no_ops() {
    // PMMC §3 (and PMS §3): slot 2 was accepted by nobody but the crashed leader; the new
    // leader cannot learn it, so it proposes a no-op there, and slot 3 can be delivered.
    let mut c = Cluster::new(3, 2);
    c.elect(1);
    c.drop_when(|e| {
        matches!(&e.msg, Message::Accept(a) if a.slot == 2) || matches!(e.msg, Message::Commit(_))
    });
    for text in ["a", "b", "c"] {
        c.propose(1, text);
    }
    c.deliver_all();
    assert_eq!(c.applied(1), [cmd("a")], "slot 2 is open, so slot 3 waits");
    c.intercept = None;
    c.crash(NodeId(1));
    c.elect(2);
    assert_eq!(c.applied(2), [cmd("a"), Value::Noop, cmd("c")]);
    c.settle(2);
    assert_eq!(c.applied(3), [cmd("a"), Value::Noop, cmd("c")]);
}

#[test]
fn a_restarted_acceptor_keeps_its_promise_and_refuses_lower_ballots() {
    // PMS §2.2: an acceptor must remember its promise through a failure.
    let mut c = Cluster::new(3, 3);
    c.elect(1);
    c.isolate(NodeId(1));
    c.elect(2);
    let b2 = c.paxos(3).promised();
    assert_eq!(b2, Ballot::new(2, NodeId(2)));
    c.crash(NodeId(3));
    c.restart(NodeId(3));
    assert_eq!(c.paxos(3).promised(), b2, "rebuilt from its disk alone");
    c.heal();
    c.propose(1, "stale"); // n1 still believes it leads at b1.n1
    c.deliver_all();
    assert_eq!(c.paxos(3).accepted(1).map(|pv| pv.ballot), None);
    assert!(!c.paxos(1).is_leader(), "n2 and n3 nacked it");
}

#[test]
fn a_restarted_node_relearns_and_redelivers_every_chosen_value() {
    // Chosen values are volatile knowledge (ready.rs): the disk keeps pvalues, the leader's
    // commit notice vouches for those of its ballot.
    let mut c = Cluster::new(3, 4);
    c.elect(1);
    c.propose(1, "a");
    c.propose(1, "b");
    c.settle(2);
    assert_eq!(c.applied(2), [cmd("a"), cmd("b")]);
    c.crash(NodeId(2));
    c.restart(NodeId(2));
    assert_eq!(c.paxos(2).chosen_through(), 0);
    c.settle(2);
    assert_eq!(c.applied(2), [cmd("a"), cmd("b")], "delivered again, once");
    assert_eq!(
        c.paxos(2).counters().catch_ups_sent,
        0,
        "its pvalues matched"
    );
}

#[test]
fn a_restarted_leader_comes_back_as_a_follower_and_is_told_what_it_missed() {
    let mut c = Cluster::new(3, 5);
    c.elect(1);
    c.propose(1, "a");
    c.deliver_all();
    c.crash(NodeId(1));
    c.elect(2);
    c.propose(2, "b");
    c.deliver_all();
    c.restart(NodeId(1));
    assert!(!c.paxos(1).is_leader());
    c.settle(3);
    assert_eq!(c.applied(1), [cmd("a"), cmd("b")]);
    assert_eq!(c.leaders(), [NodeId(2)]);
}

#[test]
fn a_new_leader_reports_where_a_lost_proposal_went() {
    // The host compares values, not ballots (ready.rs, Output::Accepted): n1 placed "b" in
    // slot 2, nobody else accepted it, and it was the highest slot, so it is not even a hole
    // for the new leader: slot 2 goes to the next client, and "b" is lost.
    let mut c = Cluster::new(3, 2);
    c.elect(1);
    c.drop_when(|e| matches!(&e.msg, Message::Accept(a) if a.slot == 2));
    c.propose(1, "a");
    c.propose(1, "b");
    c.deliver_all();
    let b1 = Ballot::new(1, NodeId(1));
    assert!(c.outputs(1).contains(&Output::Accepted {
        slot: 2,
        ballot: b1
    }));
    c.intercept = None;
    c.crash(NodeId(1));
    c.elect(2);
    c.propose(2, "c");
    c.deliver_all();
    assert_eq!(
        c.applied(2),
        [cmd("a"), cmd("c")],
        "slot 2 delivers \"c\", not \"b\""
    );
}

#[test]
fn a_new_leader_collects_a_long_promise_page_by_page() {
    // Promises are bounded (promise_entries_max): an acceptor with more says `more=`, and the
    // candidate asks again from there before it counts the promise as complete.
    let mut c = Cluster::with(3, 6, |cfg| cfg.promise_entries_max = 2);
    c.elect(1);
    c.drop_when(|e| {
        matches!(&e.msg, Message::Accept(_) if e.to == NodeId(3))
            || matches!(e.msg, Message::Commit(_))
    });
    let texts = ["a", "b", "c", "d", "e"];
    for text in texts {
        c.propose(1, text);
    }
    c.deliver_all();
    c.intercept = None;
    c.crash(NodeId(1));
    c.elect(3);
    let all: Vec<Value> = texts.iter().map(|t| cmd(t)).collect();
    assert_eq!(c.applied(3), all);
    let pages = c.count_sent(NodeId(2), NodeId(3), |m| matches!(m, Message::Promise(_)));
    assert_eq!(pages, 3, "2 + 2 + 1 pvalues");
}
