//! The two deliberately broken replica variants do break linearizability, in the way the
//! simulator's checker must later catch (and the correct variant, in the same scenario, does not).

mod cluster;

use cluster::{append, get, put, request, value, Cluster};
use distributed_core::NodeId;
use kv::Reply;
use replica::{Outcome, ReplicaVariant};

fn others(c: &Cluster, id: NodeId) -> Vec<NodeId> {
    c.ids.iter().copied().filter(|&x| x != id).collect()
}

#[test]
fn stale_follower_reads_answers_a_get_on_a_follower_at_once_even_when_stale() {
    let mut c = Cluster::with(3, 21, |config| {
        config.variant = ReplicaVariant::StaleFollowerReads
    });
    let leader = c.elect_any();
    c.execute(request(1, 1, put("k", "old")));
    c.run(2); // the followers learn the commit and apply it
    let follower = others(&c, leader)[0];
    let last = c.node(follower).raft().last_index();
    let tag = c.submit(follower, request(2, 1, get("k")));
    assert_eq!(c.outcome(tag), Some(&Outcome::Done(value("old"))));
    assert_eq!(c.node(follower).raft().last_index(), last, "no log entry");

    // Cut off, the follower keeps answering from its old state after "new" has committed:
    // a read that starts after the write finished returns the value before it.
    c.isolate(follower);
    assert_eq!(c.execute(request(1, 2, put("k", "new"))), Reply::ok());
    let tag = c.submit(follower, request(2, 2, get("k")));
    assert_eq!(c.outcome(tag), Some(&Outcome::Done(value("old"))));
}

#[test]
fn stale_follower_reads_still_sends_writes_through_the_leader() {
    let mut c = Cluster::with(3, 22, |config| {
        config.variant = ReplicaVariant::StaleFollowerReads
    });
    let leader = c.elect_any();
    let follower = others(&c, leader)[0];
    let tag = c.submit(follower, request(1, 1, put("k", "v")));
    let hint = Outcome::NotLeader {
        leader: Some(leader),
    };
    assert_eq!(c.outcome(tag), Some(&hint));
}

#[test]
fn ack_before_commit_acknowledges_a_put_that_is_then_lost() {
    // Only the candidate's clock runs in `campaign_until_leader`, so the frozen follower never
    // sees the minimum election timeout pass that pre-vote and check-quorum wait for.
    let mut c = Cluster::with(3, 23, |config| {
        config.variant = ReplicaVariant::AckBeforeCommit;
        config.raft.pre_vote = false;
        config.raft.check_quorum = false;
    });
    let old = c.elect_any();
    c.execute(request(1, 1, put("k", "committed")));
    c.isolate(old);
    let tag = c.submit(old, request(1, 2, put("k", "acked")));
    assert_eq!(c.outcome(tag), Some(&Outcome::Done(Reply::ok())));
    let raft = c.node(old).raft();
    assert!(
        raft.commit_index() < raft.last_index(),
        "acked, not committed"
    );

    c.campaign_until_leader(others(&c, old)[0]);
    c.heal();
    c.run(3); // the old leader steps down; its entry is overwritten; no second reply (harness)
    assert_eq!(c.node(old).pending_len(), 0);
    assert_eq!(
        c.execute(request(2, 1, get("k"))),
        value("committed"),
        "the acknowledged write is gone"
    );
}

#[test]
fn ack_before_commit_drops_the_later_commit_reply_so_each_request_is_answered_once() {
    let mut c = Cluster::with(3, 24, |config| {
        config.variant = ReplicaVariant::AckBeforeCommit
    });
    let leader = c.elect_any();
    let tag = c.submit(leader, request(1, 1, put("k", "v")));
    assert_eq!(c.outcome(tag), Some(&Outcome::Done(Reply::ok())));
    c.run(3); // the entry commits; the harness panics if the tag is answered again
    assert_eq!(c.node(leader).pending_len(), 0);
    assert_eq!(c.node(leader).machine().get(b"k"), Some(&cluster::b("v")));
}

#[test]
fn ack_before_commit_still_waits_for_writes_whose_reply_depends_on_the_state() {
    // Append answers the new length, which only the commit knows.
    let mut c = Cluster::with(3, 25, |config| {
        config.variant = ReplicaVariant::AckBeforeCommit
    });
    let leader = c.elect_any();
    c.isolate(leader);
    let tag = c.submit(leader, request(1, 1, append("k", "x")));
    assert_eq!(c.outcome(tag), None);
}
