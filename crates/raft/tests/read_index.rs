//! Linearizable reads without log entries (thesis §6.4): the leader's ReadIndex with its
//! current-term commit and heartbeat-round confirmation, batching, failure on leadership loss,
//! bounds, and reads forwarded by followers.

mod common;

use common::{make_leader, node_from, ok_in_round, step, Cluster};
use distributed_core::{Envelope, NodeId, Protocol};
use raft::{
    AppendEntries, AppendEntriesResponse, AppendResult, Disk, Input, Message, Output, Raft,
    ReadFailure, ReadIndexRequest, Ready, Role,
};

fn read(node: &mut Raft, id: u64) -> Ready {
    let mut out = Ready::new();
    node.input(Input::Read { id }, &mut out);
    out
}

fn outputs(out: &Ready) -> Vec<String> {
    out.outputs.iter().map(|o| o.to_string()).collect()
}

/// The round carried by the AppendEntries in `out` (they all carry the same one).
fn round_sent(out: &Ready) -> u64 {
    let rounds: Vec<u64> = (out.messages.iter())
        .filter_map(|e| match e.msg {
            Message::AppendEntries(AppendEntries { round, .. }) => Some(round),
            _ => None,
        })
        .collect();
    assert!(!rounds.is_empty(), "no round went out: {:?}", out.messages);
    assert!(rounds.iter().all(|&r| r == rounds[0]));
    rounds[0]
}

/// n1, leader of three, whose no-op (index 1) n2 has stored: commit index 1, in its term.
fn committed_leader() -> Raft {
    let mut l = node_from(1, 3, &Disk::default(), |_| {});
    make_leader(&mut l, &[2]);
    let term = l.term();
    step(&mut l, 2, ok_in_round(term, 1, 0));
    assert_eq!(l.commit_index(), 1);
    l
}

#[test]
fn read_index_waits_for_an_entry_of_the_leaders_term_to_commit() {
    // Raft thesis §6.4 step 1: a new leader does not know its commit index until an entry
    // of its own term commits; until then the read waits.
    let mut l = node_from(1, 3, &Disk::default(), |_| {});
    make_leader(&mut l, &[2]);
    let term = l.term();
    let out = read(&mut l, 7);
    assert!(out.outputs.is_empty());
    let round = round_sent(&out);
    let confirmed = step(&mut l, 2, ok_in_round(term, 0, round));
    assert!(
        confirmed.outputs.is_empty(),
        "leadership confirmed, but nothing of term {term} committed"
    );
    let committed = step(&mut l, 2, ok_in_round(term, 1, round));
    assert_eq!(
        outputs(&committed),
        [
            "Committed{index=1 term=1 bytes=0}",
            "ReadReady{id=7 index=1}"
        ],
        "the entry first, then the read that needs it"
    );
}

#[test]
fn a_read_is_confirmed_only_by_a_round_sent_after_it_arrived() {
    // Raft thesis §6.4 step 3: answers to heartbeats sent before the read prove nothing about
    // leadership at the time of the read.
    let mut l = committed_leader();
    let term = l.term();
    let out = read(&mut l, 3);
    let round = round_sent(&out);
    assert!(step(&mut l, 2, ok_in_round(term, 1, round - 1))
        .outputs
        .is_empty());
    let out = step(&mut l, 2, ok_in_round(term, 1, round));
    assert_eq!(outputs(&out), ["ReadReady{id=3 index=1}"]);
}

#[test]
fn a_rejection_of_the_round_still_confirms_leadership() {
    // Raft thesis §6.4: any answer of the leader's term shows the follower accepted it.
    let mut l = committed_leader();
    let term = l.term();
    let round = round_sent(&read(&mut l, 3));
    let reject = Message::AppendEntriesResponse(AppendEntriesResponse {
        term,
        result: AppendResult::Reject {
            prev_log_index: 5,
            conflict_term: 0,
            conflict_index: 1,
        },
        round,
    });
    assert_eq!(
        outputs(&step(&mut l, 3, reject)),
        ["ReadReady{id=3 index=1}"]
    );
}

#[test]
fn one_heartbeat_round_confirms_many_batched_reads() {
    // Raft thesis §6.4: one round of heartbeats can confirm a whole batch of reads.
    let mut c = Cluster::new(3, 2);
    c.elect(1);
    c.run(3);
    let is_append = |m: &Message| matches!(m, Message::AppendEntries(_));
    let before: usize = (2..=3).map(|f| c.count_sent(1, f, is_append)).sum();
    for id in 1..=50 {
        c.read(NodeId(1), id);
    }
    let queued: usize = (2..=3).map(|f| c.count_sent(1, f, is_append)).sum();
    assert_eq!(
        queued - before,
        1,
        "read 1 started a round (one follower makes a quorum); 2..=50 wait for the next"
    );
    c.deliver_all();
    let after: usize = (2..=3).map(|f| c.count_sent(1, f, is_append)).sum();
    assert_eq!(after - before, 2, "two rounds for fifty reads");
    let ready = c.reads_ready(1);
    assert_eq!(ready.len(), 50);
    assert!(ready
        .iter()
        .all(|&(_, index)| index == c.node(1).commit_index()));
}

#[test]
fn a_deposed_leader_fails_its_pending_reads_so_clients_retry() {
    // Raft thesis §6.4: a read is served only by a leader that stays leader long enough to
    // confirm it. Local reads fail as outputs, forwarded ones by message.
    let mut l = committed_leader();
    let term = l.term();
    read(&mut l, 9);
    let forwarded = step(
        &mut l,
        3,
        Message::ReadIndexRequest(ReadIndexRequest { term, id: 4 }),
    );
    assert!(
        forwarded.messages.is_empty(),
        "a round is already in flight"
    );
    let heartbeat = Message::AppendEntries(AppendEntries {
        term: term + 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![],
        leader_commit: 0,
        round: 1,
    });
    let out = step(&mut l, 2, heartbeat);
    assert_eq!(l.role(), Role::Follower);
    assert_eq!(
        outputs(&out),
        ["ReadFailed{id=9 reason=NotLeader{leader=n2}}"]
    );
    let failures: Vec<String> = (out.messages.iter())
        .filter(|e| matches!(e.msg, Message::ReadIndexResponse(_)))
        .map(Envelope::to_string)
        .collect();
    assert_eq!(
        failures,
        [format!(
            "n1→n3 ReadIndexResponse{{term={} id=4 failed=NotLeader{{leader=n2}}}}",
            term + 1
        )]
    );
    assert_eq!(l.pending_reads(), 0);
}

#[test]
fn an_isolated_leader_fails_its_reads_when_check_quorum_deposes_it() {
    // Raft thesis §6.2 and §6.4: stepping down without a quorum also ends the reads.
    let mut c = Cluster::new(3, 7);
    c.elect(1);
    c.run(3);
    c.isolate(NodeId(1));
    assert!(c.read(NodeId(1), 5).is_empty());
    while c.node(1).role() == Role::Leader {
        c.tick(NodeId(1));
    }
    let failed = &c.observer.outputs[0];
    assert!(
        matches!(
            failed.as_slice(),
            [Output::ReadFailed {
                id: 5,
                reason: ReadFailure::NotLeader { leader: None }
            }]
        ),
        "{failed:?}"
    );
}

#[test]
fn reads_beyond_pending_reads_max_fail_as_busy_at_once() {
    // Every queue is bounded: a leader cut off from its quorum must not collect reads forever.
    let mut c = Cluster::with(3, 8, |cfg| cfg.pending_reads_max = 3);
    c.elect(1);
    c.run(3);
    c.isolate(NodeId(1));
    for id in 1..=3 {
        assert!(c.read(NodeId(1), id).is_empty());
    }
    let busy = c.read(NodeId(1), 4);
    assert!(
        matches!(
            busy.as_slice(),
            [Output::ReadFailed {
                id: 4,
                reason: ReadFailure::Busy {
                    pending_reads_max: 3
                }
            }]
        ),
        "{busy:?}"
    );
}

#[test]
fn a_read_that_cannot_be_confirmed_times_out_after_the_maximum_election_timeout() {
    // Without check-quorum the isolated leader keeps leading; the read still gets an answer.
    let mut c = Cluster::with(3, 9, |cfg| cfg.check_quorum = false);
    c.elect(1);
    c.run(3);
    c.isolate(NodeId(1));
    c.read(NodeId(1), 6);
    let max = c.node(1).config().election_timeout_ticks_max;
    for _ in 0..max - 1 {
        c.tick(NodeId(1));
    }
    assert!(c.observer.outputs[0].is_empty(), "not before the timeout");
    c.tick(NodeId(1));
    let expected = Output::ReadFailed {
        id: 6,
        reason: ReadFailure::TimedOut { ticks: max },
    };
    assert_eq!(
        c.observer.outputs[0]
            .iter()
            .map(|o| o.to_string())
            .collect::<Vec<_>>(),
        [expected.to_string()]
    );
}

#[test]
fn a_node_without_a_known_leader_fails_a_read_at_once() {
    let mut n = node_from(2, 3, &Disk::default(), |_| {});
    assert_eq!(
        outputs(&read(&mut n, 1)),
        ["ReadFailed{id=1 reason=NotLeader{leader=none}}"]
    );
}

#[test]
fn a_single_node_cluster_confirms_a_read_by_itself() {
    // A quorum of one: the round is confirmed the moment it starts.
    let mut n = node_from(1, 1, &Disk::default(), |_| {});
    let mut out = Ready::new();
    while n.role() != Role::Leader {
        n.tick(&mut out);
    }
    assert_eq!(outputs(&read(&mut n, 2)), ["ReadReady{id=2 index=1}"]);
}

/// n1 leads three and has committed `x` at index 2; n2 stores it but has not yet learned that
/// it is committed (its commit index is 1): that news rides on n1's next AppendEntries.
fn follower_behind_on_commit() -> Cluster {
    let mut c = Cluster::new(3, 10);
    c.elect(1);
    c.run(3);
    c.propose(NodeId(1), b"x");
    c.deliver_all();
    assert_eq!((c.node(1).commit_index(), c.node(2).commit_index()), (2, 1));
    c
}

#[test]
fn a_follower_read_goes_through_the_leader_and_is_ready_once_its_own_commit_catches_up() {
    // Raft thesis §6.4: a follower asks the leader for a read index, then waits until its
    // state machine has advanced at least that far.
    let mut c = follower_behind_on_commit();
    c.intercept = Some(Box::new(|e: &mut Envelope<Message>| {
        !(e.to == NodeId(2) && matches!(e.msg, Message::AppendEntries(_)))
    }));
    assert!(c.read(NodeId(2), 7).is_empty());
    c.deliver_all(); // the read round asks n2 (it waits for the round): lost
                     // The next heartbeat asks n3 too, whose answer confirms: the read index reaches n2, its
                     // commit doesn't.
    c.run(c.node(1).config().heartbeat_interval_ticks);
    assert_eq!(
        c.count_sent(2, 1, |m| matches!(m, Message::ReadIndexRequest(_))),
        1
    );
    assert_eq!(
        c.count_sent(1, 2, |m| matches!(m, Message::ReadIndexResponse(_))),
        1
    );
    assert_eq!(c.node(2).commit_index(), 1);
    assert!(
        c.reads_ready(2).is_empty(),
        "index 2 is not applied at n2 yet"
    );
    assert_eq!(c.node(2).pending_reads(), 1);

    c.intercept = None;
    c.run(c.node(1).config().heartbeat_interval_ticks);
    assert_eq!(c.reads_ready(2), [(7, 2)]);
    assert_eq!(
        c.observer.applied[1].len(),
        2,
        "n2 delivered index 2 before the read became ready"
    );
}

#[test]
fn a_follower_read_fails_when_the_term_changes_before_the_leader_answers() {
    // Raft thesis §6.4: an answer of the old term would be dropped, so the client retries now.
    let mut c = follower_behind_on_commit();
    c.isolate(NodeId(1)); // n2's request is lost; n2 and n3 go on to elect a new leader
    c.read(NodeId(2), 8);
    assert_eq!(c.node(2).pending_reads(), 1);
    while c.node(2).term() == c.node(1).term() {
        c.tick(NodeId(2));
        c.tick(NodeId(3));
        c.deliver_all();
    }
    let failed: Vec<String> = c.observer.outputs[1]
        .iter()
        .map(|o| o.to_string())
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].starts_with("ReadFailed{id=8 reason=NotLeader"),
        "{failed:?}"
    );
}

#[test]
fn a_read_index_request_to_a_node_that_does_not_lead_is_answered_with_a_failure() {
    let mut n = node_from(3, 3, &Disk::default(), |_| {});
    let out = step(
        &mut n,
        2,
        Message::ReadIndexRequest(ReadIndexRequest { term: 0, id: 11 }),
    );
    assert_eq!(
        out.messages[0].to_string(),
        "n3→n2 ReadIndexResponse{term=0 id=11 failed=NotLeader{leader=none}}"
    );
}

#[test]
fn a_read_round_asks_only_a_quorum_and_the_heartbeat_asks_everyone() {
    // Raft thesis §6.4: confirming leadership needs answers from a majority, not from all.
    let mut c = Cluster::new(5, 4);
    c.elect(1);
    c.run(3);
    let is_append = |m: &Message| matches!(m, Message::AppendEntries(_));
    let sent =
        |c: &Cluster| -> Vec<usize> { (2..=5).map(|f| c.count_sent(1, f, is_append)).collect() };
    let before = sent(&c);
    c.read(NodeId(1), 1);
    let asked: usize = (sent(&c).iter().zip(&before)).map(|(a, b)| a - b).sum();
    assert_eq!(asked, 2, "the leader and two followers are three of five");
    c.deliver_all();
    assert_eq!(c.reads_ready(1).len(), 1);
    let before = sent(&c);
    c.run(c.node(1).config().heartbeat_interval_ticks);
    let after = sent(&c);
    assert!(
        (after.iter().zip(&before)).all(|(a, b)| a > b),
        "every follower hears the heartbeat: {before:?} -> {after:?}"
    );
}

#[test]
fn a_read_round_whose_followers_are_gone_is_confirmed_by_the_next_heartbeat() {
    // Liveness of the quorum-only read round: the periodic round asks everyone, and its
    // answers confirm every read waiting for an earlier round.
    let mut c = Cluster::new(3, 4);
    c.elect(1);
    c.run(3);
    let is_append = |m: &Message| matches!(m, Message::AppendEntries(_));
    let before: Vec<usize> = (2..=3).map(|f| c.count_sent(1, f, is_append)).collect();
    c.read(NodeId(1), 1);
    let asked = (2..=3u64)
        .find(|&f| c.count_sent(1, f, is_append) > before[(f - 2) as usize])
        .expect("the read round asked one follower");
    c.crash(NodeId(asked));
    c.deliver_all();
    assert!(
        c.reads_ready(1).is_empty(),
        "the one follower asked is down"
    );
    c.run(c.node(1).config().heartbeat_interval_ticks);
    assert_eq!(
        c.reads_ready(1).len(),
        1,
        "the other follower's heartbeat answer confirms"
    );
}
