//! The timers that start and advance view changes (PBFT §4.4, §4.5.2), and the one rule this
//! crate adds to them: a primary whose own pre-prepares do not commit gives up its view
//! (view_change.rs, "A primary that suspects itself").

mod common;

use common::*;
use distributed_core::NodeId;
use pbft::Variant;

#[test]
fn a_replica_alone_in_a_view_change_waits_for_2f_plus_1_instead_of_climbing_views() {
    // §4.5.2: the view-change timer starts only once 2f+1 replicas ask for the view. n4 is
    // the only one up: its request timer fires once, and then it waits (resending its
    // ViewChange) instead of moving through views 2, 3, 4, … by itself.
    let mut c = cluster(Variant::Correct, 16);
    for id in 1..=3 {
        c.crash(NodeId(id));
    }
    send_request(&mut c, 4, &req(1, 1, "x=1"));
    run(&mut c, 300);
    let n4 = c.node(NodeId(4));
    assert_eq!(n4.view(), 1, "one view change, then it waits");
    assert!(n4.is_view_changing());
    assert_eq!(n4.counters().view_changes, 1);
}

#[test]
fn a_replica_restarted_mid_view_change_offers_its_view_change_again() {
    // n4's timer fires for a request only it has seen; it crashes and restarts in the middle
    // of the view change. Its disk says "changing to view 1", and it rebuilds its
    // ViewChange from disk, so when n3's timer fires too, n2 sees f+1 = 2 replicas asking
    // for view 1, joins, and as primary(1) with 2f+1 starts it. Without the rebuilt
    // ViewChange, n2 would see one and wait forever, and so would n3 and n4.
    let mut c = cluster(Variant::Correct, 16);
    c.crash(NodeId(1));
    let a = req(1, 1, "x=1");
    send_request(&mut c, 4, &a);
    run(&mut c, 30);
    assert!(c.node(NodeId(4)).is_view_changing());
    c.crash(NodeId(4));
    c.restart(NodeId(4));
    assert!(
        c.node(NodeId(4)).is_view_changing(),
        "the disk kept the view change"
    );
    send_request(&mut c, 3, &a);
    run(&mut c, 60);
    for id in 2..=4 {
        let n = NodeId(id);
        assert_eq!(c.node(n).view(), 1, "{n} is in view 1");
        assert!(!c.node(n).is_view_changing(), "{n} installed view 1");
        assert_eq!(c.observer.seq_of(n, a.digest()), Some(1), "{n} executed it");
    }
}

#[test]
fn a_primary_whose_pre_prepares_do_not_commit_gives_up_its_view() {
    // Not in the paper (view_change.rs): n3 and n4 are down, so n1's pre-prepare can gather
    // n2's prepare but never 2f+1 commits. The request reached only the primary, so no
    // backup waits for it; n1 and n2 watch the pre-prepared seq instead, and both move on.
    let mut c = cluster(Variant::Correct, 16);
    c.crash(NodeId(3));
    c.crash(NodeId(4));
    send_request(&mut c, 1, &req(1, 1, "x=1"));
    run(&mut c, 30);
    for id in 1..=2 {
        let n = c.node(NodeId(id));
        assert_eq!(n.view(), 1, "n{id} gave up view 0");
        assert!(n.is_view_changing(), "n{id} waits for 2f+1 for view 1");
    }
}
