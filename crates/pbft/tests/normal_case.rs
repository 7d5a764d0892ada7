//! The normal case (PBFT §4.2) and authentication (§2, §4): requests execute in order at
//! every replica, an equivocating primary cannot get two digests committed at one seq, and
//! forged or misrouted messages are dropped with a note.

mod common;

use common::*;
use distributed_core::{Envelope, NodeId};
use pbft::{Commit, Digest, Message, PrePrepare, Prepare, Signature, Variant};

#[test]
fn a_request_executes_at_every_replica_in_a_four_node_cluster() {
    // §4.2: pre-prepare, prepare, commit, then execute in seq order everywhere.
    let mut c = cluster(Variant::Correct, 16);
    let (a, b) = (req(1, 1, "x=1"), req(2, 1, "y=2"));
    send_request(&mut c, 1, &a);
    send_request(&mut c, 1, &b);
    settle(&mut c);
    for id in 1..=4 {
        let n = NodeId(id);
        assert_eq!(
            c.observer.seq_of(n, a.digest()),
            Some(1),
            "{n} executed a first"
        );
        assert_eq!(
            c.observer.seq_of(n, b.digest()),
            Some(2),
            "{n} executed b second"
        );
        assert_eq!(c.node(n).last_executed(), 2);
        assert_eq!(c.node(n).history(), c.node(NodeId(1)).history());
        assert_eq!(c.node(n).committed(1).map(|pp| pp.digest), Some(a.digest()));
    }
    assert!(c.observer.violations.is_empty());
    let primary = c.node(NodeId(1)).counters();
    assert_eq!(
        primary.sent_of("PrePrepare"),
        6,
        "two pre-prepares to three backups"
    );
    assert_eq!(
        primary.sent_of("Prepare"),
        0,
        "the primary does not prepare"
    );
}

#[test]
fn a_backup_forwards_a_request_to_the_primary() {
    // §4.1: a client that sends to a backup is served all the same.
    let mut c = cluster(Variant::Correct, 16);
    let a = req(1, 1, "x=1");
    send_request(&mut c, 3, &a);
    settle(&mut c);
    assert_eq!(
        c.count_sent(NodeId(3), NodeId(1), |m| matches!(m, Message::Request(_))),
        1
    );
    for id in 1..=4 {
        assert_eq!(c.observer.seq_of(NodeId(id), a.digest()), Some(1));
    }
}

#[test]
fn an_equivocating_primary_cannot_get_two_digests_committed_at_one_seq() {
    // §4.2 Invariant 1: prepared quorums intersect in an honest replica, which accepts one
    // digest per (view, seq). n1 is Byzantine: it sends a to n2 and n3, b to n4, and commits
    // for both everywhere.
    let mut c = cluster(Variant::Correct, 16);
    c.crash(NodeId(1)); // its honest code does not run; the test plays it
    c.observer.faulty.push(NodeId(1));
    let s1 = faulty_signer(1);
    let (a, b) = (req(1, 1, "a"), req(2, 1, "b"));
    let pp_a = PrePrepare::new(0, 1, Some(a.clone()), &s1);
    let pp_b = PrePrepare::new(0, 1, Some(b.clone()), &s1);
    inject(&mut c, 1, 2, pp_a.clone());
    inject(&mut c, 1, 3, pp_a);
    inject(&mut c, 1, 4, pp_b.clone());
    for to in 2..=4 {
        inject(&mut c, 1, to, Commit::new(0, 1, a.digest(), &s1));
        inject(&mut c, 1, to, Commit::new(0, 1, b.digest(), &s1));
    }
    settle(&mut c);
    inject(&mut c, 1, 2, pp_b); // the other half of the lie, too late to matter
    settle(&mut c);
    assert!(noted(
        &c,
        2,
        "another digest is accepted at this view and seq"
    ));
    for id in 2..=3 {
        assert_eq!(
            c.observer.seq_of(NodeId(id), a.digest()),
            Some(1),
            "n{id} executed a"
        );
    }
    assert_eq!(
        c.observer.count(NodeId(4)),
        0,
        "n4 accepted b, which cannot prepare"
    );
    assert!(c.node(NodeId(4)).committed(1).is_none());
    assert!(
        c.observer.violations.is_empty(),
        "{:?}",
        c.observer.violations
    );
}

#[test]
fn forged_signatures_and_messages_from_another_sender_are_dropped() {
    let mut c = cluster(Variant::Correct, 16);
    let digest = req(1, 1, "a").digest();
    let by_n3 = Prepare::new(0, 1, digest, &faulty_signer(3));
    // Signed by n3, sent by n2: the sender is not the signer.
    inject(&mut c, 2, 4, by_n3.clone());
    // n2's key, relabelled as n3's: a Signer signs as its own replica only.
    let mut relabelled = Prepare::new(0, 1, digest, &faulty_signer(2));
    relabelled.sig = Signature {
        signer: NodeId(3),
        ..relabelled.sig
    };
    inject(&mut c, 3, 4, relabelled);
    // n3's prepare with its tag changed: the signature no longer verifies.
    let mut tampered = by_n3.clone();
    tampered.sig.tag = Digest([7; 32]);
    inject(&mut c, 3, 4, tampered);
    // A message from outside the replica set.
    c.deliver(Envelope {
        from: NodeId(9),
        to: NodeId(4),
        msg: Message::from(by_n3),
    });
    assert!(noted(&c, 4, "signed by another replica than the sender"));
    assert_eq!(
        c.observer
            .notes
            .iter()
            .filter(|(_, l)| l.contains("bad signature"))
            .count(),
        2
    );
    assert!(noted(&c, 4, "not a replica"));
    assert_eq!(c.node(NodeId(4)).counters().dropped, 4);
    assert!(
        c.network.is_empty() && c.disks[3].log.is_empty(),
        "nothing sent or written"
    );
}

/// The CommitQuorum2f schedule: n1 (honest) primary of view 0, n3 primary of view 1, n4
/// Byzantine. n2 prepares `a` (with n4's prepare) and gets n4's commit; n3 never sees the
/// pre-prepare. Then a client's `b` times out at n3, n4 asks for view 1 with no certificate,
/// and n2's view change is lost on its way to n3.
fn commit_with_2f_schedule(variant: Variant) -> Pbfts {
    let mut c = cluster_in_order(variant, 16, &[1, 3, 2, 4]);
    c.crash(NodeId(4));
    c.observer.faulty.push(NodeId(4));
    let s4 = faulty_signer(4);
    let (a, b) = (req(1, 1, "a"), req(2, 1, "b"));
    c.intercept = Some(Box::new(|e: &mut Envelope<Message>| {
        let pre_prepare_to_n3 = matches!(e.msg, Message::PrePrepare(_)) && e.to == NodeId(3);
        let request_to_n1 = matches!(e.msg, Message::Request(_)) && e.to == NodeId(1);
        let vc_n2_to_n3 = matches!(e.msg, Message::ViewChange(_)) && e.from == NodeId(2);
        !(pre_prepare_to_n3 || request_to_n1 || vc_n2_to_n3)
    }));
    send_request(&mut c, 1, &a);
    settle(&mut c);
    inject(&mut c, 4, 2, Prepare::new(0, 1, a.digest(), &s4));
    inject(&mut c, 4, 2, Commit::new(0, 1, a.digest(), &s4));
    settle(&mut c);
    send_request(&mut c, 3, &b);
    let lie = pbft::ViewChange::new(1, Default::default(), Vec::new(), &s4);
    inject(&mut c, 4, 1, lie.clone());
    inject(&mut c, 4, 3, lie);
    run(&mut c, 40);
    c
}

#[test]
fn commits_from_2f_replicas_let_a_byzantine_node_lose_a_committed_request() {
    // §4.2: committed-local needs 2f+1 commits so that f+1 honest replicas are prepared and
    // every view-change quorum holds one. With 2f, n2 executes a on n4's lying commit, and
    // the new primary, hearing only n1, n3 and n4, gives seq 1 to b.
    let c = commit_with_2f_schedule(Variant::CommitQuorum2f);
    let (a, b) = (req(1, 1, "a"), req(2, 1, "b"));
    assert_eq!(c.observer.seq_of(NodeId(2), a.digest()), Some(1));
    assert_eq!(c.observer.seq_of(NodeId(3), b.digest()), Some(1));
    assert!(
        !c.observer.violations.is_empty(),
        "the broken variant is caught"
    );
}

#[test]
fn with_2f_plus_1_commits_the_same_schedule_is_safe() {
    // a never committed in view 0, so view 1 may order it anew: after b, which n3 knew.
    let c = commit_with_2f_schedule(Variant::Correct);
    let (a, b) = (req(1, 1, "a"), req(2, 1, "b"));
    for id in 1..=3 {
        assert_eq!(c.observer.seq_of(NodeId(id), b.digest()), Some(1));
        assert_eq!(c.observer.seq_of(NodeId(id), a.digest()), Some(2));
    }
    assert!(
        c.observer.violations.is_empty(),
        "{:?}",
        c.observer.violations
    );
}
