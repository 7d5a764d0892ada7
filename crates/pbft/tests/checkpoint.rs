//! Checkpoints (PBFT §4.3), state transfer (TOCS 2002 §5.3) and restart from disk: the log
//! is collected at stable checkpoints, the primary waits at the high watermark, a lagging
//! replica catches up from a certified state, and a restarted replica keeps its word.

mod common;

use common::*;
use distributed_core::{Envelope, NodeId};
use pbft::{Input, Message, PrePrepare, Variant};

fn requests(c: &mut Pbfts, to: u64, range: std::ops::RangeInclusive<u64>) {
    for ts in range {
        send_request(c, to, &req(1, ts, &format!("op{ts}")));
    }
}

#[test]
fn checkpoints_become_stable_and_the_log_is_collected() {
    // §4.3: every K = 2 requests each replica multicasts a checkpoint; 2f+1 matching ones
    // make it stable, with that proof, and the log through it is dropped.
    let mut c = cluster(Variant::Correct, 2);
    requests(&mut c, 1, 1..=4);
    settle(&mut c);
    for k in 0..4 {
        let node = &c.nodes[k];
        assert_eq!(node.last_executed(), 4);
        assert_eq!(node.low_watermark(), 4, "{} moved h to 4", node.id());
        assert!(node.stable_checkpoint().proof.len() >= 3);
        assert_eq!(node.log_len(), 0, "the log through 4 is collected");
        assert_eq!(c.disks[k].stable.cert.seq, 4);
        assert!(c.disks[k].log.is_empty(), "and so is the disk's");
        assert_eq!(c.disks[k].stable.state, c.observer.state[&node.id()][..]);
    }
}

#[test]
fn the_primary_waits_at_the_high_watermark_until_a_checkpoint_is_stable() {
    // §4.2: seqs beyond h + L are not assigned. With K = 2 and L = 4, six requests stop at 4
    // until the host answers the checkpoints; then the rest follow.
    let mut c = cluster(Variant::Correct, 2);
    requests(&mut c, 1, 1..=6);
    c.deliver_all(); // the host has not answered CheckpointDue yet
    assert_eq!(c.node(NodeId(1)).last_executed(), 4);
    assert_eq!(c.node(NodeId(1)).pending_requests(), 2);
    settle(&mut c);
    for id in 1..=4 {
        assert_eq!(c.node(NodeId(id)).last_executed(), 6);
    }
}

#[test]
fn a_lagging_replica_catches_up_by_state_transfer() {
    // n4 is cut off while six requests execute and checkpoints 2, 4, 6 become stable without
    // it. Back, it drops pre-prepares beyond its window, but the checkpoint at 8 is certified
    // by 2f+1 replicas: it fetches that state, checks it against the proof, restores it.
    let mut c = cluster(Variant::Correct, 2);
    c.isolate(NodeId(4));
    requests(&mut c, 1, 1..=6);
    settle(&mut c);
    c.heal();
    requests(&mut c, 1, 7..=8);
    settle(&mut c);
    let n4 = c.node(NodeId(4));
    assert_eq!(n4.last_executed(), 8);
    assert_eq!(n4.low_watermark(), 8);
    assert_eq!(n4.counters().state_transfers, 1);
    assert_eq!(
        n4.history(),
        c.node(NodeId(1)).history(),
        "the history digest is restored too"
    );
    assert_eq!(c.observer.state[&NodeId(4)], c.observer.state[&NodeId(1)]);
    assert!(noted(&c, 4, "outside the watermarks"));
    // And it takes part again: the next request executes there normally.
    requests(&mut c, 1, 9..=9);
    settle(&mut c);
    assert_eq!(c.node(NodeId(4)).last_executed(), 9);
}

#[test]
fn a_state_whose_digest_does_not_match_the_proof_is_refused() {
    let mut c = cluster(Variant::Correct, 2);
    c.isolate(NodeId(4));
    requests(&mut c, 1, 1..=2);
    settle(&mut c);
    let stable = c.nodes[0].stable_checkpoint().clone();
    let progress = c.disks[0].stable.progress.clone();
    let forged = pbft::StateTransfer::new(
        2,
        pbft::Bytes::from_static(b"not the state"),
        progress,
        stable.proof,
        &faulty_signer(1),
    );
    c.heal();
    inject(&mut c, 1, 4, forged);
    assert!(noted(&c, 4, "the proof does not certify the state"));
    assert_eq!(c.node(NodeId(4)).last_executed(), 0);
}

#[test]
fn a_restarted_replica_is_rebuilt_from_its_disk_and_keeps_its_word() {
    // Writes precede sends: n3 persisted the pre-prepare it accepted before its Prepare left.
    // Restarted from its disk alone, it refuses a conflicting pre-prepare for the same
    // (view, seq) from a Byzantine primary, and re-executes what it had committed.
    let mut c = cluster(Variant::Correct, 16);
    let a = req(1, 1, "a");
    send_request(&mut c, 1, &a);
    settle(&mut c);
    c.crash(NodeId(3));
    c.restart(NodeId(3));
    assert_eq!(
        c.node(NodeId(3)).last_executed(),
        0,
        "volatile: rebuilt from the checkpoint"
    );
    c.tick(NodeId(3));
    assert_eq!(
        c.node(NodeId(3)).last_executed(),
        1,
        "re-executed from its disk"
    );
    assert_eq!(c.observer.state[&NodeId(3)], c.observer.state[&NodeId(1)]);
    let b = req(2, 1, "b");
    let lie = PrePrepare::new(0, 1, Some(b.clone()), &faulty_signer(1));
    inject(&mut c, 1, 3, lie);
    assert!(noted(
        &c,
        3,
        "another digest is accepted at this view and seq"
    ));
    let prepared_b = |m: &Message| matches!(m, Message::Prepare(p) if p.digest == b.digest());
    assert_eq!(c.count_sent(NodeId(3), NodeId(2), prepared_b), 0);
}

#[test]
fn a_replica_restarted_mid_view_change_does_not_go_back_to_the_old_view() {
    // The view and "changing" are persisted before the ViewChange leaves: restarted, n3
    // still refuses view 0's messages.
    let mut c = cluster(Variant::Correct, 16);
    let a = req(1, 1, "a");
    c.crash(NodeId(1));
    send_request(&mut c, 3, &a);
    for _ in 0..10 {
        c.tick(NodeId(3));
    }
    assert!(c.node(NodeId(3)).is_view_changing());
    c.network.clear();
    c.crash(NodeId(3));
    c.restart(NodeId(3));
    assert_eq!(c.node(NodeId(3)).view(), 1);
    assert!(c.node(NodeId(3)).is_view_changing());
    let old = PrePrepare::new(0, 1, Some(a), &faulty_signer(1));
    c.deliver(Envelope {
        from: NodeId(1),
        to: NodeId(3),
        msg: old.into(),
    });
    assert!(noted(&c, 3, "a view change is under way"));
}

#[test]
fn a_checkpoint_the_host_was_not_asked_for_is_ignored() {
    let mut c = cluster(Variant::Correct, 2);
    let state = pbft::Bytes::from_static(b"x");
    c.input(NodeId(1), Input::Checkpoint { seq: 2, state });
    assert!(noted(&c, 1, "no checkpoint due at 2"));
    assert!(c.network.is_empty());
}
