//! KvReplica serving reads without the log (Raft thesis §6.4, §6.4.1): ReadIndex on the leader
//! and on followers, lease reads that need no message at all, and the cases where a read must
//! not be answered (a cut-off leader, a follower that has not applied the leader's index yet).

mod cluster;

use cluster::{get, put, request, value, Cluster};
use distributed_core::NodeId;
use kv::Reply;
use replica::Outcome;
use replica::ReadPath;

fn others(c: &Cluster, id: NodeId) -> Vec<NodeId> {
    c.ids.iter().copied().filter(|&x| x != id).collect()
}

fn with_reads(seed: u64, reads: ReadPath) -> Cluster {
    Cluster::with(3, seed, |config| config.reads = reads)
}

#[test]
fn read_index_reads_on_the_leader_return_the_latest_committed_write_without_a_log_entry() {
    // Thesis §6.4: the read index covers every write committed before the read arrived.
    let mut c = with_reads(31, ReadPath::ReadIndex);
    let leader = c.elect_any();
    for (seq, v) in (1..).zip(["1", "2", "3"]) {
        assert_eq!(c.execute(request(1, seq, put("k", v))), Reply::ok());
    }
    let last = c.node(leader).raft().last_index();
    let tag = c.submit(leader, request(2, 1, get("k")));
    assert_eq!(c.outcome(tag), None, "it waits for a heartbeat round");
    assert!(!c.network.is_empty(), "the round is on the wire");
    assert_eq!(c.wait_for(tag), Outcome::Done(value("3")));
    assert_eq!(c.node(leader).raft().last_index(), last, "no log entry");
    assert_eq!(c.node(leader).pending_reads_len(), 0);
}

#[test]
fn a_lagging_follower_serves_a_read_with_the_leaders_index_once_it_has_applied_it() {
    // Thesis §6.4: a follower asks the leader for the read index and answers from its own state
    // machine only once that state includes the index, so it never answers from the lag.
    let mut c = with_reads(32, ReadPath::ReadIndex);
    let leader = c.elect_any();
    assert_eq!(c.execute(request(1, 1, put("k", "old"))), Reply::ok());
    c.run(2);
    let follower = others(&c, leader)[0];
    c.cut.insert((leader, follower)); // the follower stops hearing of new entries
    assert_eq!(c.execute(request(1, 2, put("k", "new"))), Reply::ok());
    c.heal();
    assert_eq!(
        c.node(follower).machine().get(b"k"),
        Some(&cluster::b("old")),
        "the follower lags"
    );
    let applied = c.node(follower).machine().applied_index();
    let tag = c.submit(follower, request(2, 1, get("k")));
    assert_eq!(
        c.outcome(tag),
        None,
        "nothing answered from the lagging state"
    );
    assert_eq!(c.wait_for(tag), Outcome::Done(value("new")));
    assert!(c.node(follower).machine().applied_index() > applied);
    let (served_by, _) = c.observer.replies[&tag];
    assert_eq!(served_by, follower, "the follower answered, not the leader");
}

#[test]
fn a_lease_read_on_the_leader_is_answered_in_the_same_call_without_any_message() {
    // Thesis §6.4.1: while the lease holds, no heartbeat round is needed.
    let mut c = with_reads(33, ReadPath::Lease);
    let leader = c.elect_any();
    assert_eq!(c.execute(request(1, 1, put("k", "v"))), Reply::ok());
    c.run(2); // a heartbeat round acknowledged by a quorum starts the lease
    assert!(c.network.is_empty());
    let tag = c.submit(leader, request(2, 1, get("k")));
    assert_eq!(c.outcome(tag), Some(&Outcome::Done(value("v"))));
    assert!(c.network.is_empty(), "no message was sent for the read");
}

#[test]
fn a_cut_off_lease_leader_stops_answering_at_once_within_the_lease() {
    // Thesis §6.4.1: the lease runs out before any follower could vote for a rival.
    let mut c = with_reads(34, ReadPath::Lease);
    let leader = c.elect_any();
    assert_eq!(c.execute(request(1, 1, put("k", "v"))), Reply::ok());
    c.run(2);
    let lease_ticks = c.node(leader).raft().config().lease_ticks();
    c.isolate(leader);
    let mut answered_at_once = 0;
    for seq in 1..=lease_ticks + 2 {
        let tag = c.submit(leader, request(2, seq, get("k")));
        if c.outcome(tag).is_some() {
            answered_at_once += 1;
        }
        c.tick(leader);
        c.deliver_all();
    }
    assert!(
        (1..=lease_ticks).contains(&answered_at_once),
        "{answered_at_once} reads answered at once; the lease is {lease_ticks} ticks"
    );
}

#[test]
fn a_deposed_leader_that_does_not_know_it_never_answers_a_read_index_read() {
    // Thesis §6.4: the round a read waits for cannot be confirmed by a quorum that follows a
    // newer leader, so the old leader fails the read instead of answering from stale state.
    // Only chosen clocks run here, so pre-vote and check-quorum are off (see replica_faults.rs).
    let mut c = Cluster::with(3, 35, |config| {
        config.raft.pre_vote = false;
        config.raft.check_quorum = false;
    });
    let old = c.elect_any();
    assert_eq!(c.execute(request(1, 1, put("k", "old"))), Reply::ok());
    c.run(2);
    c.isolate(old);
    let new = others(&c, old)[0];
    c.campaign_until_leader(new);
    assert_eq!(
        c.call(new, request(1, 2, put("k", "new"))),
        Outcome::Done(Reply::ok())
    );
    let tag = c.submit(old, request(2, 1, get("k")));
    assert_eq!(
        c.outcome(tag),
        None,
        "the old leader still believes it leads"
    );
    c.heal();
    let outcome = c.wait_for(tag);
    assert!(
        matches!(outcome, Outcome::NotLeader { .. } | Outcome::Retry),
        "the read fails, it is not answered from the old state: {outcome}"
    );
}

#[test]
fn reads_beyond_the_bound_get_busy_and_are_never_handed_to_raft() {
    let mut c = Cluster::with(3, 36, |config| {
        config.raft.pending_reads_max = 2;
    });
    let leader = c.elect_any();
    c.isolate(leader); // no round can be confirmed, so the reads stay pending
    let waiting: Vec<u64> = (1..=2)
        .map(|seq| c.submit(leader, request(2, seq, get("k"))))
        .collect();
    let refused = c.submit(leader, request(2, 3, get("k")));
    assert_eq!(c.outcome(refused), Some(&Outcome::Busy));
    assert_eq!(c.node(leader).pending_reads_len(), 2);
    assert!(waiting.iter().all(|&t| c.outcome(t).is_none()));
}

/// Thesis §6.4.1 at the edge of the clock assumption: the leader is cut off right after a
/// confirmed heartbeat round, then ticks twice for every three ticks of each follower (tick
/// rates 1.5x apart, exactly `clock_drift_per_mille_max = 500`). Every follower times out
/// after exactly 10 of its ticks (`election_timeout_ticks_max = 11`), a new leader commits a
/// write, and the old leader is asked for the same key. Returns its immediate answer, if any,
/// and how many ticks the old leader had counted since its last confirmed round.
fn read_from_a_slow_cut_off_leader(variant: raft::Variant) -> (Option<Outcome>, u64) {
    let mut c = Cluster::with(3, 37, |config| {
        config.reads = ReadPath::Lease;
        config.raft.variant = variant;
        config.raft.election_timeout_ticks_max = 11;
    });
    // Identical timeouts would split every vote if all clocks ran: let one node win first.
    let old = NodeId(1);
    c.campaign_until_leader(old);
    assert_eq!(c.execute(request(1, 1, put("k", "old"))), Reply::ok());
    c.run(2);
    // Tick the leader alone until it sends a heartbeat round; deliver it and the acks, which
    // confirm the round (and start the lease) at this very tick.
    for _ in 0..4 {
        c.tick(old);
        if !c.network.is_empty() {
            break;
        }
    }
    assert!(!c.network.is_empty(), "a heartbeat round went out");
    c.deliver_all();
    c.isolate(old);
    let followers = others(&c, old);
    let mut old_ticks = 0;
    let mut new = None;
    for round in 0..30 {
        if round % 3 != 2 {
            c.tick(old);
            c.deliver_all();
            old_ticks += 1;
        }
        for &f in &followers {
            c.tick(f);
            c.deliver_all();
        }
        new = c.leader().filter(|&l| l != old);
        if new.is_some() {
            break;
        }
    }
    let new = new.expect("the fast followers elect a new leader");
    let write = c.submit(new, request(1, 2, put("k", "new")));
    c.deliver_all();
    assert_eq!(
        c.outcome(write),
        Some(&Outcome::Done(Reply::ok())),
        "the write completed"
    );
    let read = c.submit(old, request(2, 1, get("k")));
    (c.outcome(read).cloned(), old_ticks)
}

#[test]
fn a_lease_that_ignores_clock_drift_serves_a_stale_read_with_clocks_at_the_drift_bound() {
    // Thesis §6.4.1: followers whose clocks run 1.5x fast vote for a rival after 10 of their
    // ticks, which the slow leader counts as fewer than 7 of its own; a lease of a full
    // election timeout of the leader's ticks is still running.
    let (answer, old_ticks) = read_from_a_slow_cut_off_leader(raft::Variant::LeaseIgnoresDrift);
    assert!(
        old_ticks < 10,
        "the broken lease (10 ticks) still runs: {old_ticks}"
    );
    assert_eq!(
        answer,
        Some(Outcome::Done(value("old"))),
        "a read that starts after `new` was acknowledged returns the value before it"
    );
}

#[test]
fn the_correct_lease_has_run_out_before_fast_followers_can_elect_a_rival() {
    // Same clocks, same cut: the lease is (10 - 1) / 1.5 = 6 ticks from the round's send, so
    // the old leader falls back to ReadIndex, whose round a cut-off leader cannot confirm.
    let (answer, old_ticks) = read_from_a_slow_cut_off_leader(raft::Variant::Correct);
    assert!(
        old_ticks >= 6,
        "{old_ticks} ticks: the correct lease is over"
    );
    assert_eq!(answer, None, "no answer from the old leader's state");
}
