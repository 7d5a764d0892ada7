//! KvReplica when leadership is lost, when a leader is overloaded, and across replays: what
//! waiting clients are told (Raft §8, dissertation §6.3) and that runs replay from a seed.

mod cluster;

use cluster::{append, get, put, request, value, Cluster};
use distributed_core::NodeId;
use kv::Reply;
use replica::Outcome;
use replica::ReadPath;

/// A cluster for scripts that let only the chosen candidate's clock run (`campaign_until_leader`):
/// the frozen followers never see the minimum election timeout pass, which Raft's pre-vote and
/// check-quorum wait for (thesis §9.6, §4.2.3), so those are off here.
fn scripted(seed: u64) -> Cluster {
    Cluster::with(3, seed, |config| {
        config.raft.pre_vote = false;
        config.raft.check_quorum = false;
    })
}

/// The two nodes other than `id`.
fn others(c: &Cluster, id: NodeId) -> Vec<NodeId> {
    c.ids.iter().copied().filter(|&x| x != id).collect()
}

#[test]
fn a_pending_request_on_a_leader_that_loses_leadership_gets_retry() {
    // Raft §5.1: a leader that sees a higher term steps down; its client cannot know whether
    // the entry survives, so the answer is Retry, never NotLeader ("not proposed").
    let mut c = scripted(11);
    let old = c.elect_any();
    c.isolate(old);
    let tag = c.submit(old, request(5, 1, put("k", "v")));
    assert_eq!(
        c.outcome(tag),
        None,
        "a correct leader waits for the commit"
    );
    assert_eq!(c.node(old).pending_len(), 1);

    let new = others(&c, old)[0];
    c.campaign_until_leader(new);
    c.heal();
    c.run(3);
    assert_eq!(c.outcome(tag), Some(&Outcome::Retry));
    assert_eq!(c.node(old).pending_len(), 0);

    // The uncommitted entry was overwritten; resending the same request applies it.
    assert_eq!(c.execute(request(5, 1, put("k", "v"))), Reply::ok());
    assert_eq!(c.execute(request(5, 2, get("k"))), value("v"));
}

/// The old leader proposes an append at `k`, is cut off once its AppendEntries are on the wire,
/// and another node wins the next term, committing the append through its no-op (§5.4.2).
/// Returns (old leader, new leader, tag of the append).
fn append_survives_its_leader(seed: u64) -> (Cluster, NodeId, NodeId, u64) {
    let mut c = scripted(seed);
    let old = c.elect_any();
    let tag = c.submit(old, request(5, 1, append("k", "x")));
    c.isolate(old); // the AppendEntries are already on the wire; the acks will be dropped
    c.deliver_all();
    let new = others(&c, old)[0];
    c.campaign_until_leader(new);
    assert_eq!(c.node(new).machine().get(b"k"), Some(&cluster::b("x")));
    assert_eq!(c.outcome(tag), None);
    (c, old, new, tag)
}

#[test]
fn a_pending_request_that_commits_under_the_next_leader_gets_retry_and_its_resend_applies_once() {
    // Dissertation §6.3: Retry means "unknown", and here the entry did survive.
    let (mut c, old, new, tag) = append_survives_its_leader(12);
    c.heal();
    c.isolate(new); // the old leader learns the higher term from the third node, with no commit
    c.run(3);
    assert_eq!(c.outcome(tag), Some(&Outcome::Retry));
    assert_eq!(c.node(old).pending_len(), 0);

    c.heal();
    assert_eq!(c.execute(request(5, 1, append("k", "x"))), Reply::Int(1));
    assert_eq!(c.execute(request(5, 2, get("k"))), value("x"));
}

#[test]
fn a_deposed_leader_that_learns_in_the_same_message_that_its_entry_committed_answers_done() {
    // The new leader's first AppendEntries both deposes the old leader (§5.1) and tells it the
    // commit index; commits are applied before pending requests are given up, so the client
    // gets the true reply instead of a Retry.
    let (mut c, old, _new, tag) = append_survives_its_leader(12);
    c.heal();
    c.run(3);
    assert_eq!(c.outcome(tag), Some(&Outcome::Done(Reply::Int(1))));
    assert_eq!(c.node(old).pending_len(), 0);
}

#[test]
fn a_leader_with_a_full_pending_table_answers_busy_and_proposes_nothing() {
    let mut c = Cluster::with(3, 13, |config| config.pending_requests_max = 2);
    let leader = c.elect_any();
    c.isolate(leader); // nothing commits, so proposals stay pending
    c.submit(leader, request(1, 1, put("a", "1")));
    c.submit(leader, request(2, 1, put("b", "1")));
    let last = c.node(leader).raft().last_index();
    let tag = c.submit(leader, request(3, 1, put("c", "1")));
    assert_eq!(c.outcome(tag), Some(&Outcome::Busy));
    assert_eq!(c.node(leader).raft().last_index(), last);
    assert_eq!(c.node(leader).pending_len(), 2);
}

#[test]
fn with_reads_through_the_log_a_follower_redirects_a_read_to_the_leader() {
    // The other read paths let followers serve reads (replica_reads.rs); the log path cannot.
    let mut c = Cluster::with(3, 14, |config| config.reads = ReadPath::Log);
    let leader = c.elect_any();
    c.execute(request(1, 1, put("k", "v")));
    let follower = others(&c, leader)[0];
    let tag = c.submit(follower, request(2, 1, get("k")));
    let hint = Outcome::NotLeader {
        leader: Some(leader),
    };
    assert_eq!(c.outcome(tag), Some(&hint));
}

/// A fixed scenario with an election, writes, a crash and a restart; returns the trace.
fn scenario(seed: u64) -> Vec<String> {
    let mut c = Cluster::new(3, seed);
    for seq in 1..=5 {
        c.execute(request(1, seq, append("k", "x")));
    }
    let leader = c.leader().expect("a leader");
    c.crash(leader);
    c.execute(request(1, 6, get("k")));
    c.restart(leader);
    c.run(5);
    std::mem::take(&mut c.observer.trace)
}

#[test]
fn a_run_replays_exactly_from_its_seed() {
    let first = scenario(15);
    assert!(first.len() > 20, "the scenario did something");
    assert_eq!(first, scenario(15));
}
