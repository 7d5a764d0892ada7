//! Retransmission (TOCS 2002 §5.2): a lost pre-prepare, commit or NewView is resent, and a
//! replica that missed a view change joins the view its peers are in, all without a state
//! transfer or another view change.

mod common;

use common::*;
use distributed_core::{Envelope, NodeId};
use pbft::{Message, Variant};

#[test]
fn a_replica_that_lost_the_pre_prepare_gets_it_again_and_executes_without_a_state_transfer() {
    // TOCS §5.2: the primary resends its pre-prepare to a backup that has not answered it
    // with a Prepare or Commit.
    let mut c = cluster(Variant::Correct, 16);
    c.intercept = Some(Box::new(|e: &mut Envelope<Message>| {
        !(matches!(e.msg, Message::PrePrepare(_)) && e.to == NodeId(4))
    }));
    let a = req(1, 1, "x=1");
    send_request(&mut c, 1, &a);
    settle(&mut c);
    c.intercept = None;
    assert_eq!(c.observer.seq_of(NodeId(1), a.digest()), Some(1));
    assert_eq!(
        c.observer.seq_of(NodeId(4), a.digest()),
        None,
        "n4 lacks it"
    );
    run(&mut c, 10); // a slot's messages are resent from its second round
    assert_eq!(c.observer.seq_of(NodeId(4), a.digest()), Some(1));
    assert_eq!(c.node(NodeId(4)).counters().state_transfers, 0);
    assert_eq!(c.node(NodeId(4)).counters().view_changes, 0);
    assert!(c.observer.violations.is_empty());
}

#[test]
fn a_replica_that_lost_every_commit_resends_its_own_and_the_answers_let_it_execute() {
    // n4 prepared and sent its Commit, which the others hold: they owe it nothing they know
    // of. Its resent Commit is a copy to them, and they answer a copy with their own.
    let mut c = cluster(Variant::Correct, 16);
    c.intercept = Some(Box::new(|e: &mut Envelope<Message>| {
        !(matches!(e.msg, Message::Commit(_)) && e.to == NodeId(4))
    }));
    let a = req(1, 1, "x=1");
    send_request(&mut c, 1, &a);
    settle(&mut c);
    c.intercept = None;
    assert_eq!(
        c.observer.seq_of(NodeId(4), a.digest()),
        None,
        "n4 lacks commits"
    );
    run(&mut c, 10); // a slot's messages are resent from its second round
    assert_eq!(c.observer.seq_of(NodeId(4), a.digest()), Some(1));
    assert_eq!(c.node(NodeId(4)).counters().state_transfers, 0);
    assert!(c.observer.violations.is_empty());
}

#[test]
fn a_lost_new_view_is_resent_and_the_backups_install_it() {
    // §4.4 with TOCS §5.2: n3 and n4 lose view 1's NewView and keep resending their
    // ViewChange; n2, primary of view 1 and already in it, answers with its NewView.
    let mut c = cluster(Variant::Correct, 16);
    c.crash(NodeId(1));
    c.intercept = Some(Box::new(|e: &mut Envelope<Message>| {
        !matches!(e.msg, Message::NewView(_))
    }));
    let a = req(1, 1, "x=1");
    for to in 2..=4 {
        send_request(&mut c, to, &a);
    }
    for _ in 0..30 {
        if c.node(NodeId(2)).is_primary() {
            break;
        }
        run(&mut c, 1);
    }
    assert!(c.node(NodeId(2)).is_primary(), "n2 installed view 1");
    assert!(c.node(NodeId(3)).is_view_changing(), "n3 lost the NewView");
    c.intercept = None;
    run(&mut c, 10); // a round for the ViewChange, one for the pre-prepare of `a` in view 1
    for id in 3..=4 {
        let n = c.node(NodeId(id));
        assert_eq!(
            (n.view(), n.is_view_changing()),
            (1, false),
            "n{id} installed view 1"
        );
        assert_eq!(
            n.counters().view_changes,
            1,
            "n{id} never moved on to view 2"
        );
        assert_eq!(c.observer.seq_of(NodeId(id), a.digest()), Some(1));
    }
    assert!(c.observer.violations.is_empty());
}

#[test]
fn a_restarted_replica_that_missed_a_view_change_joins_the_view_its_peers_are_in() {
    // f+1 peers' prepares and commits of view 1 show that an honest replica is in it: n1,
    // back in view 0, joins view 1 (the f+1 rule of §4.5.2, read from normal-case messages),
    // n2 answers its ViewChange with the NewView, and resends what n1 lacks.
    let mut c = cluster(Variant::Correct, 16);
    c.crash(NodeId(1));
    let (a, b) = (req(1, 1, "a"), req(2, 1, "b"));
    for to in 2..=4 {
        send_request(&mut c, to, &a);
    }
    run(&mut c, 30);
    assert_eq!(c.observer.seq_of(NodeId(2), a.digest()), Some(1));
    c.restart(NodeId(1));
    send_request(&mut c, 2, &b);
    run(&mut c, 10);
    let n1 = c.node(NodeId(1));
    assert_eq!((n1.view(), n1.is_view_changing()), (1, false));
    assert_eq!(c.observer.seq_of(NodeId(1), a.digest()), Some(1));
    assert_eq!(c.observer.seq_of(NodeId(1), b.digest()), Some(2));
    assert_eq!(n1.counters().state_transfers, 0);
    assert!(noted(&c, 1, "joining"), "n1 joined by the f+1 rule");
    assert!(c.observer.violations.is_empty());
}

#[test]
fn a_replayed_commit_is_answered_once_a_round_and_changes_nothing() {
    // A copy is answered (its sender may lack ours), but once per (peer, seq) a round: a
    // Byzantine replica replaying its own commit cannot make a replica flood, and the
    // commit, already held, counts once.
    let mut c = cluster(Variant::Correct, 16);
    let a = req(1, 1, "x=1");
    send_request(&mut c, 1, &a);
    settle(&mut c);
    let sent_before = c.node(NodeId(1)).counters().sent_of("Commit");
    let replay = pbft::Commit::new(0, 1, a.digest(), &faulty_signer(4));
    for _ in 0..10 {
        inject(&mut c, 4, 1, replay.clone());
    }
    let sent = c.node(NodeId(1)).counters().sent_of("Commit") - sent_before;
    assert_eq!(sent, 1, "one answer to ten copies");
    assert_eq!(c.node(NodeId(1)).last_executed(), 1);
    assert!(c.observer.violations.is_empty());
}
