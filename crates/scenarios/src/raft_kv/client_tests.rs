//! Tests of `client.rs`, kept apart so the module stays within its size budget.

use super::*;

#[test]
fn backoff_doubles_every_eight_attempts_and_then_stops_growing() {
    let mut op = Op {
        seq: 1,
        spec: ops::OpSpec {
            body: kv::Body::One(kv::Command::noop()),
            kind: ops::OpKind::Plain,
        },
        watching: false,
        id: HistoryBuilder::new().invoke(1, check::Command::get("k"), 0),
        attempt: 0,
        waiting: None,
        pause: 40,
        votes: Votes::default(),
    };
    let at = |op: &mut Op, a| {
        op.attempt = a;
        op.backoff()
    };
    assert_eq!(at(&mut op, 0), 80);
    assert_eq!(at(&mut op, 8), 160);
    assert_eq!(at(&mut op, 24), 640);
    assert_eq!(at(&mut op, 90), 640);
}

#[test]
fn an_answer_under_byzantine_faults_takes_f_plus_1_matching_replies_from_distinct_nodes() {
    // PBFT §4.1: a client waits for f+1 replies with the same result; at most f can lie.
    let (ok, lie) = (kv::Reply::ok(), kv::Reply::Null);
    let mut votes = Votes::default();
    assert!(!votes.add(NodeId(1), &lie, 2), "one reply is not enough");
    assert!(
        !votes.add(NodeId(2), &ok, 2),
        "two replies that differ are not an answer"
    );
    assert!(
        !votes.add(NodeId(2), &ok, 2),
        "the same node twice counts once"
    );
    assert!(votes.add(NodeId(3), &ok, 2), "two distinct nodes agree");
    assert!(
        Votes::default().add(NodeId(1), &lie, 1),
        "one reply is the answer without lies"
    );
}
