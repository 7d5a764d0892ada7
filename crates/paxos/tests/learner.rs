//! Learning ("Paxos Made Simple" §2.3, §3): a lagging learner catches up from the leader in
//! bounded batches; a learner whose slots were truncated gets a snapshot; a new leader whose
//! promisers truncated learns those slots instead of filling them with no-ops.

mod common;

use common::{cmd, Cluster};
use distributed_core::NodeId;
use paxos::{Bytes, Message, Output};

fn five_commands_while_n3_is_cut_off(c: &mut Cluster) {
    c.elect(1);
    c.isolate(NodeId(3));
    for text in ["a", "b", "c", "d", "e"] {
        c.propose(1, text);
    }
    c.deliver_all();
    assert_eq!(c.applied(1).len(), 5);
}

#[test]
fn a_lagging_learner_catches_up_in_bounded_batches() {
    // PMS §3: a learner that misses values asks for them.
    let mut c = Cluster::with(3, 1, |cfg| cfg.catch_up_batch_max = 2);
    five_commands_while_n3_is_cut_off(&mut c);
    c.heal();
    c.settle(8);
    let all = [cmd("a"), cmd("b"), cmd("c"), cmd("d"), cmd("e")];
    assert_eq!(c.applied(3), all);
    let batches = c.count_sent(NodeId(1), NodeId(3), |m| matches!(m, Message::Chosen(_)));
    assert_eq!(batches, 3, "2 + 2 + 1 values");
    assert!(c.sent.iter().all(|e| match &e.msg {
        Message::Chosen(ch) => ch.values.len() <= 2,
        _ => true,
    }));
}

#[test]
fn a_learner_behind_the_leaders_snapshot_installs_it() {
    let mut c = Cluster::new(3, 2);
    five_commands_while_n3_is_cut_off(&mut c);
    c.snapshot(1);
    assert_eq!(c.paxos(1).snapshot_slot(), 5);
    assert_eq!(c.paxos(1).chosen(3), None, "truncated");
    c.heal();
    c.settle(3);
    let restored = Output::RestoreSnapshot {
        slot: 5,
        data: Bytes::from_static(b"a,b,c,d,e"),
    };
    assert!(c.outputs(3).contains(&restored));
    assert_eq!(c.paxos(3).chosen_through(), 5);
    assert_eq!(
        c.disks[2].snapshot.as_ref().map(|s| s.slot),
        Some(5),
        "persisted"
    );
    c.propose(1, "f");
    c.deliver_all();
    c.settle(2);
    assert_eq!(
        c.applied(3),
        [cmd("f")],
        "delivery goes on after the snapshot"
    );
}

#[test]
fn a_snapshot_drops_the_pvalues_it_covers_and_a_restart_delivers_only_after_it() {
    let mut c = Cluster::new(3, 3);
    c.elect(1);
    c.propose(1, "a");
    c.propose(1, "b");
    c.settle(2);
    c.snapshot(2);
    assert!(c.disks[1].accepted.is_empty());
    c.propose(1, "c");
    c.settle(2);
    c.crash(NodeId(2));
    c.restart(NodeId(2));
    c.settle(2);
    assert_eq!(c.applied(2), [cmd("c")]);
}

#[test]
fn a_snapshot_beyond_what_was_delivered_is_refused_with_a_note() {
    let mut c = Cluster::new(3, 4);
    c.elect(1);
    c.keep_notes(true);
    let data = Bytes::from_static(b"");
    c.input(NodeId(2), paxos::Input::Snapshot { slot: 3, data });
    assert_eq!(c.paxos(2).snapshot_slot(), 0);
}

#[test]
fn a_new_leader_learns_slots_its_promisers_truncated_instead_of_filling_them() {
    // Filling slot 1..=5 with no-ops would overwrite chosen values: the promise's snap=5 tells
    // n3 those slots are chosen, and it catches up from the node that holds the snapshot.
    let mut c = Cluster::new(3, 5);
    five_commands_while_n3_is_cut_off(&mut c);
    c.settle(2);
    c.snapshot(1);
    c.snapshot(2);
    c.crash(NodeId(1));
    c.heal();
    c.elect(3);
    assert_eq!(c.paxos(3).chosen_through(), 5);
    c.propose(3, "f");
    c.settle(2);
    assert_eq!(c.applied(3), [cmd("f")]);
    assert_eq!(c.applied(2).last(), Some(&cmd("f")));
    assert_eq!(
        c.observer.delivered.get(&6),
        Some(&cmd("f")),
        "slot 6, after the snapshot"
    );
}

#[test]
fn a_new_leader_asks_again_when_its_catch_up_is_lost() {
    // The leader learns slots a promiser snapshotted; a lost request is retried each
    // heartbeat (the holder first, then each node in turn), or it would never deliver again.
    let mut c = Cluster::new(3, 6);
    five_commands_while_n3_is_cut_off(&mut c);
    c.settle(2);
    c.snapshot(1);
    c.snapshot(2);
    c.crash(NodeId(1));
    c.heal();
    let mut lost = false;
    c.intercept = Some(Box::new(move |e| {
        let first = matches!(e.msg, Message::CatchUp(_)) && !lost;
        lost |= first;
        !first
    }));
    c.elect(3);
    assert_eq!(c.paxos(3).chosen_through(), 0, "the first CatchUp was lost");
    c.settle(4);
    assert_eq!(c.paxos(3).chosen_through(), 5);
    assert!(c.paxos(3).counters().catch_ups_sent >= 2);
}

/// Deliver the first queued message that `pred` matches, with what it causes.
fn deliver_first(c: &mut Cluster, pred: impl Fn(&distributed_core::Envelope<Message>) -> bool) {
    let k = c
        .network
        .iter()
        .position(pred)
        .expect("a queued message matches");
    let env = c.network.remove(k).expect("in range");
    c.deliver(env);
}

#[test]
fn a_candidate_that_installs_a_snapshot_during_phase_1_proposes_only_after_it() {
    // n3 installs n1's snapshot (slots 1..5) while it runs phase 1 with n2, which still holds
    // pvalues for 1..5 and no snapshot: n3 must not propose in slots it now knows are chosen.
    let mut c = Cluster::new(3, 7);
    five_commands_while_n3_is_cut_off(&mut c);
    c.snapshot(1);
    c.heal();
    for _ in 0..c.paxos(1).config().heartbeat_ticks {
        c.tick(NodeId(1));
    }
    deliver_first(&mut c, |e| {
        e.to == NodeId(3) && matches!(e.msg, Message::Commit(_))
    });
    deliver_first(&mut c, |e| matches!(e.msg, Message::CatchUp(_)));
    let max = c.paxos(3).config().leader_timeout_ticks_max;
    for _ in 0..=max {
        c.tick(NodeId(3));
        if c.paxos(3).role() != paxos::Role::Follower {
            break;
        }
    }
    c.crash(NodeId(1)); // its snapshot is on the wire to n3; n2 alone will promise
    deliver_first(&mut c, |e| matches!(e.msg, Message::InstallSnapshot(_)));
    assert_eq!(c.paxos(3).role(), paxos::Role::Candidate);
    c.deliver_all();
    assert!(c.paxos(3).is_leader());
    assert_eq!(c.paxos(3).chosen_through(), 5);
    c.propose(3, "f");
    c.deliver_all();
    assert_eq!(c.applied(3), [cmd("f")], "slot 6, right after the snapshot");
}
