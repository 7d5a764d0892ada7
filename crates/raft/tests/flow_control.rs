//! Batching, pipelining and heartbeats: the leader's message budget stays bounded.

mod common;

use common::{make_leader, node_from, ok, Cluster};
use distributed_core::{Envelope, NodeId, Protocol, SeededRng};
use raft::{AppendEntries, Bytes, Config, Disk, Input, Message, Raft, Ready};

/// A leader of a two-node cluster whose follower n2 just acknowledged the no-op, so n2 is in
/// the pipelined (replicate) state; `proposals` were made while the first probe was out.
fn leader_with_backlog(tweak: impl Fn(&mut Config), proposals: &[&[u8]]) -> (Raft, Ready) {
    let mut l = node_from(1, 2, &Disk::default(), tweak);
    make_leader(&mut l, &[2]);
    let mut out = Ready::new();
    for data in proposals {
        l.input(Input::Propose(Bytes::copy_from_slice(data)), &mut out);
    }
    assert!(
        out.messages.is_empty(),
        "nothing more goes out while the probe is unanswered"
    );
    let term = l.term();
    l.step(NodeId(2), ok(term, 1), &mut out);
    (l, out)
}

fn batch_sizes(out: &Ready) -> Vec<usize> {
    out.messages
        .iter()
        .filter_map(|e| match &e.msg {
            Message::AppendEntries(AppendEntries { entries, .. }) if !entries.is_empty() => {
                Some(entries.len())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn appends_are_batched_up_to_entries_per_append_max() {
    let data = vec![&b"v"[..]; 200];
    let (_, out) = leader_with_backlog(|_| {}, &data);
    assert_eq!(batch_sizes(&out), [64, 64, 64, 8]);
}

#[test]
fn appends_are_batched_up_to_append_bytes_max_but_hold_at_least_one_entry() {
    let small = [0u8; 30];
    let big = [0u8; 500];
    let data = [&small[..], &small, &small, &small, &big, &small];
    let (_, out) = leader_with_backlog(|c| c.append_bytes_max = 100, &data);
    assert_eq!(
        batch_sizes(&out),
        [3, 1, 1, 1],
        "3×30 ≤ 100; the 500-byte entry goes alone"
    );
}

#[test]
fn in_flight_appends_per_follower_never_exceed_inflight_appends_max() {
    let (mut l, _) = leader_with_backlog(|c| c.entries_per_append_max = 1, &[]);
    let mut out = Ready::new();
    for k in 0..10u8 {
        l.input(Input::Propose(Bytes::from(vec![k])), &mut out);
    }
    assert_eq!(batch_sizes(&out).len(), 4, "inflight_appends_max is 4");
    out.clear();
    let term = l.term();
    l.step(NodeId(2), ok(term, 3), &mut out);
    assert_eq!(
        batch_sizes(&out),
        [1, 1],
        "two acknowledged, two more may go"
    );
}

/// Messages sent by the leader `from` to `to` in one window of rounds.
fn appends_in_window(c: &mut Cluster, from: u64, rounds: u64) -> Vec<usize> {
    let before = c.sent.len();
    c.run(rounds);
    let window = &c.sent[before..];
    (1..=c.ids.len() as u64)
        .map(|to| {
            window
                .iter()
                .filter(|e| e.from == NodeId(from) && e.to == NodeId(to))
                .filter(|e| matches!(e.msg, Message::AppendEntries(_)))
                .count()
        })
        .collect()
}

#[test]
fn an_idle_leader_sends_one_heartbeat_per_follower_per_heartbeat_interval() {
    // Raft §5.2: leaders send periodic heartbeats to maintain their authority; nothing more.
    let mut c = Cluster::new(5, 6);
    c.elect(4);
    c.run(10);
    let interval = c.node(4).config().heartbeat_interval_ticks;
    let per_follower = appends_in_window(&mut c, 4, 40);
    assert_eq!(
        per_follower,
        [20, 20, 20, 0, 20],
        "40 ticks / interval {interval}"
    );
    let total = c.sent.len();
    c.run(40);
    assert_eq!(
        c.sent.len() - total,
        2 * 4 * 20,
        "one heartbeat and one answer each"
    );
}

#[test]
fn a_crashed_follower_costs_one_message_per_heartbeat_interval_not_a_storm() {
    let mut c = Cluster::new(3, 9);
    c.elect(1);
    c.run(4);
    c.crash(NodeId(3));
    let before = c.sent.len();
    for k in 0..50u8 {
        c.propose(NodeId(1), &[k]);
        c.run(1);
    }
    let to_n3 = c.sent[before..]
        .iter()
        .filter(|e| e.to == NodeId(3))
        .count();
    // The pipeline fills once (4 appends), then only heartbeats: 50 ticks / 2.
    assert_eq!(to_n3, 4 + 25);
    assert_eq!(
        c.node(1).commit_index(),
        51,
        "the majority n1+n2 commits everything"
    );
}

#[test]
fn a_follower_whose_appends_were_all_lost_catches_up_after_the_next_heartbeat() {
    // Raft §5.3: the leader retries until every follower stores every entry.
    let mut c = Cluster::with(3, 10, |cfg| cfg.entries_per_append_max = 4);
    c.elect(1);
    c.run(4);
    c.intercept = Some(Box::new(|e: &mut Envelope<Message>| {
        !(e.to == NodeId(2)
            && matches!(&e.msg, Message::AppendEntries(AppendEntries { entries, .. }) if !entries.is_empty()))
    }));
    for k in 0..30u8 {
        c.propose(NodeId(1), &[k]);
    }
    c.deliver_all();
    assert_eq!(c.node(2).last_index(), 1, "n2 got none of them");
    c.intercept = None;
    let before = c.sent.len();
    c.run(4);
    assert_eq!(c.node(2).entries(), c.node(1).entries());
    let to_n2 = c.sent[before..]
        .iter()
        .filter(|e| e.to == NodeId(2))
        .count();
    assert!(
        to_n2 <= 12,
        "a heartbeat, a probe, then 30 entries in batches of 4: {to_n2}"
    );
}

#[test]
fn raft_is_deterministic_given_a_seed() {
    let trace = |seed| {
        let mut c = Cluster::new(5, seed);
        let leader = c.elect_any();
        for k in 0..10u8 {
            c.propose(leader, &[k]);
            c.run(1);
        }
        c.sent.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(trace(11), trace(11));
    assert_ne!(trace(11), trace(12));
}

#[test]
fn persisting_writes_through_the_protocol_rebuilds_the_same_node() {
    // Raft Figure 2: a node restarted from its disk has the same term, vote and log.
    let mut c = Cluster::new(3, 13);
    let leader = c.elect_any();
    c.propose(leader, b"a");
    c.run(3);
    for (k, node) in c.nodes.iter().enumerate() {
        let again = Raft::new(node.config().clone(), &c.disks[k], SeededRng::new(0))
            .expect("the disk is sound");
        assert_eq!(
            (again.term(), again.voted_for()),
            (node.term(), node.voted_for())
        );
        assert_eq!(again.entries(), node.entries());
    }
}
