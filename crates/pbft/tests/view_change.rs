//! View changes (PBFT §4.4): a request survives a primary's crash, and a prepared request
//! keeps its seq in the new view, which `ViewChangeDropsPrepared` breaks.

mod common;

use common::*;
use distributed_core::{Envelope, NodeId};
use pbft::{Message, NewView, Variant, ViewChange};

#[test]
fn a_request_survives_a_primary_crash_through_a_view_change() {
    // §4.4: backups that see a request not executed within their timeout suspect the primary;
    // 2f+1 view changes let primary(1) = n2 start view 1 and order the request.
    let mut c = cluster(Variant::Correct, 16);
    c.crash(NodeId(1));
    let a = req(1, 1, "x=1");
    for to in 2..=4 {
        send_request(&mut c, to, &a); // the client timed out and sent to everyone
    }
    run(&mut c, 30);
    for id in 2..=4 {
        let n = NodeId(id);
        assert_eq!(c.node(n).view(), 1, "{n} is in view 1");
        assert!(!c.node(n).is_view_changing());
        assert_eq!(c.observer.seq_of(n, a.digest()), Some(1), "{n} executed it");
    }
    assert!(c.node(NodeId(2)).is_primary());
    assert_eq!(c.node(NodeId(3)).counters().view_changes, 1);
    assert!(c.observer.violations.is_empty());
}

/// n1 orders `a` at seq 1; every replica prepares it, but only n2 receives the commits and
/// executes it. n1 crashes; a client's `b` reaches the others and their timers fire.
/// Retransmission is slowed: resent, the lost commits would reach n3 and n4 before the view
/// change, and `a` would be executed everywhere before anything could go wrong.
fn prepared_then_primary_crash(variant: Variant) -> Pbfts {
    let mut c = cluster_without_retransmission(variant, 16);
    let (a, b) = (req(1, 1, "a"), req(2, 1, "b"));
    c.intercept = Some(Box::new(|e: &mut Envelope<Message>| {
        !matches!(e.msg, Message::Commit(_)) || e.to == NodeId(2)
    }));
    send_request(&mut c, 1, &a);
    settle(&mut c);
    c.intercept = None;
    c.crash(NodeId(1));
    for to in 2..=4 {
        send_request(&mut c, to, &b);
    }
    run(&mut c, 30);
    c
}

#[test]
fn a_prepared_request_keeps_its_seq_across_a_view_change() {
    // §4.4: n2 committed a at seq 1, so f+1 honest replicas hold a prepared certificate for
    // it; every 2f+1 view changes include one, and the new view re-proposes a at seq 1.
    let c = prepared_then_primary_crash(Variant::Correct);
    let (a, b) = (req(1, 1, "a"), req(2, 1, "b"));
    for id in 2..=4 {
        assert_eq!(c.observer.seq_of(NodeId(id), a.digest()), Some(1), "n{id}");
        assert_eq!(c.observer.seq_of(NodeId(id), b.digest()), Some(2), "n{id}");
    }
    let new_view = c.sent.iter().find_map(|e| match &e.msg {
        Message::NewView(nv) => Some(nv.clone()),
        _ => None,
    });
    let nv: NewView = new_view.expect("n2 sent a NewView");
    assert_eq!(nv.pre_prepares.len(), 1);
    assert_eq!(
        nv.pre_prepares[0].digest,
        a.digest(),
        "O re-proposes a at seq 1"
    );
    assert!(
        c.observer.violations.is_empty(),
        "{:?}",
        c.observer.violations
    );
}

#[test]
fn a_view_change_that_drops_prepared_certificates_loses_a_committed_request() {
    // The broken variant: no certificates, so O is empty and primary(1) gives seq 1 to b,
    // which n3 and n4 execute where n2 executed a.
    let c = prepared_then_primary_crash(Variant::ViewChangeDropsPrepared);
    let (a, b) = (req(1, 1, "a"), req(2, 1, "b"));
    assert_eq!(c.observer.seq_of(NodeId(2), a.digest()), Some(1));
    assert_eq!(c.observer.seq_of(NodeId(3), b.digest()), Some(1));
    assert!(
        !c.observer.violations.is_empty(),
        "the broken variant is caught"
    );
}

#[test]
fn a_new_view_whose_pre_prepares_differ_from_its_view_changes_is_refused() {
    // §4.4: backups recompute O from the view changes in NewView. n2, primary of view 1 and
    // Byzantine here, holds three valid view changes (none carries a certificate, so O must
    // be empty) but gives seq 1 to a request of its own; and then tries with only two.
    let mut c = cluster(Variant::Correct, 16);
    let s2 = faulty_signer(2);
    let vcs: Vec<ViewChange> = [1u64, 3, 4]
        .iter()
        .map(|&id| ViewChange::new(1, Default::default(), Vec::new(), &faulty_signer(id)))
        .collect();
    let evil = vec![pbft::PrePrepare::new(1, 1, Some(req(9, 9, "evil")), &s2)];
    inject(&mut c, 2, 3, NewView::new(1, vcs.clone(), evil, &s2));
    assert!(noted(
        &c,
        3,
        "its pre-prepares are not the ones its view changes determine"
    ));
    inject(
        &mut c,
        2,
        3,
        NewView::new(1, vcs[..2].to_vec(), Vec::new(), &s2),
    );
    assert!(noted(&c, 3, "2 view changes, below 2f+1"));
    assert_eq!(c.node(NodeId(3)).view(), 0, "n3 stays where it was");
    inject(&mut c, 2, 3, NewView::new(1, vcs, Vec::new(), &s2));
    assert_eq!(
        c.node(NodeId(3)).view(),
        1,
        "the honest NewView is installed"
    );
}

#[test]
fn f_plus_1_view_changes_pull_a_replica_into_the_new_view() {
    // §4.5.2: a replica that sees f+1 view changes for higher views joins the smallest, even
    // though its own timer has not fired.
    let mut c = cluster(Variant::Correct, 16);
    for from in [3u64, 4] {
        let vc = ViewChange::new(1, Default::default(), Vec::new(), &faulty_signer(from));
        inject(&mut c, from, 2, vc);
    }
    assert_eq!(c.node(NodeId(2)).view(), 1);
    assert!(
        c.node(NodeId(2)).is_primary(),
        "n2 joined, had 2f+1, and started view 1"
    );
}

#[test]
fn a_view_change_with_a_forged_prepared_certificate_is_refused() {
    // §4.4 with signatures: a certificate is checked by whoever receives it. Byzantine n4
    // claims `evil` prepared at seq 1 in view 0, backed by its own prepare twice.
    let mut c = cluster(Variant::Correct, 16);
    let s4 = faulty_signer(4);
    // It cannot get n1's signature on a pre-prepare for `evil`; it signs one itself.
    let pp = pbft::PrePrepare::new(0, 1, Some(req(9, 9, "evil")), &s4);
    let prepare = pbft::Prepare::new(0, 1, pp.digest, &s4);
    let cert = pbft::PreparedCert {
        pre_prepare: pp.clone(),
        prepares: vec![prepare.clone(), prepare.clone()],
    };
    inject(
        &mut c,
        4,
        2,
        ViewChange::new(1, Default::default(), vec![cert], &s4),
    );
    assert!(noted(&c, 2, "bad certificate"), "{:?}", c.observer.notes);
    assert!(noted(&c, 2, "not validly signed by the primary n1"));
    // With a pre-prepare n1 really signed (say n4 received it), n4's prepare twice is still
    // one signer, not the 2f distinct ones a certificate needs.
    let real = pbft::PrePrepare::new(0, 1, Some(req(9, 9, "evil")), &faulty_signer(1));
    let twice = pbft::PreparedCert {
        pre_prepare: real,
        prepares: vec![prepare.clone(), prepare],
    };
    inject(
        &mut c,
        4,
        2,
        ViewChange::new(1, Default::default(), vec![twice], &s4),
    );
    assert!(noted(&c, 2, "n4 signs twice"));
    assert_eq!(c.node(NodeId(2)).view(), 0, "n2 did not move");
}
