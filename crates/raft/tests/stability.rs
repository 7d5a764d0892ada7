//! Leader stability: pre-vote (thesis §9.6), check-quorum (§6.2) and ignoring disruptive
//! RequestVotes while a leader is alive (§4.2.3). Each rule is shown on, and where it teaches
//! something, off.

mod common;

use common::{disk_with, node_from, step, Cluster};
use distributed_core::{NodeId, Protocol};
use raft::{
    AppendEntries, Disk, Message, PreVote, PreVoteResponse, Raft, ReadMode, Ready, RequestVote,
    Role, Write,
};

fn heartbeat(term: u64) -> Message {
    Message::AppendEntries(AppendEntries {
        term,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![],
        leader_commit: 0,
        round: 0,
    })
}

fn pre_vote(term: u64) -> Message {
    Message::PreVote(PreVote {
        term,
        last_log_index: 0,
        last_log_term: 0,
    })
}

fn vote_request(term: u64) -> Message {
    Message::RequestVote(RequestVote {
        term,
        last_log_index: 0,
        last_log_term: 0,
        leader_transfer: false,
    })
}

/// The single answer in `out`, as text.
fn answer(out: &Ready) -> String {
    match out.messages.as_slice() {
        [env] => env.to_string(),
        other => panic!("expected one answer, got {other:?}"),
    }
}

fn tick_n(node: &mut Raft, ticks: u64) {
    let mut out = Ready::new();
    for _ in 0..ticks {
        node.tick(&mut out);
    }
}

/// Elect n1 of five, cut n3 off for `rounds` rounds while everyone's clock runs, then heal.
/// Returns the cluster and (leader term before, n3's term while cut off).
fn partition_and_rejoin(pre_vote: bool, rounds: u64) -> (Cluster, u64, u64) {
    let mut c = Cluster::with(5, 3, |cfg| cfg.pre_vote = pre_vote);
    c.elect(1);
    c.run(5);
    let term = c.node(1).term();
    c.isolate(NodeId(3));
    c.run(rounds);
    let cut_off_term = c.node(3).term();
    c.heal();
    c.run(20);
    (c, term, cut_off_term)
}

#[test]
fn pre_vote_stops_a_partitioned_node_from_bumping_terms_so_its_return_leaves_the_leader_alone() {
    // Raft thesis §9.6: a node that cannot win an election does not increase its term.
    let (c, term, cut_off_term) = partition_and_rejoin(true, 200);
    assert_eq!(
        cut_off_term, term,
        "n3 timed out ~10 times without moving its term"
    );
    assert!(c.count_sent(3, 1, |m| matches!(m, Message::PreVote(_))) >= 5);
    assert_eq!(
        c.count_sent(3, 1, |m| matches!(m, Message::RequestVote(_))),
        0
    );
    assert_eq!(c.leader(), Some(NodeId(1)), "the leader is still in office");
    for id in 1..=5 {
        assert_eq!(
            c.node(id).term(),
            term,
            "n{id} is still in the leader's term"
        );
    }
}

#[test]
fn without_pre_vote_the_same_partition_inflates_the_term_and_deposes_the_leader() {
    // Raft thesis §9.6, the problem pre-vote solves: the rejoining node's higher term reaches
    // the leader (in its answer to a heartbeat) and forces a new election.
    let (c, term, cut_off_term) = partition_and_rejoin(false, 200);
    assert!(
        cut_off_term >= term + 5,
        "n3 campaigned alone: {term} → {cut_off_term}"
    );
    let now = c.node(c.leader().expect("a leader again").0).term();
    assert!(
        now > term,
        "the healthy leader of term {term} was deposed (now {now})"
    );
}

#[test]
fn a_pre_candidate_asks_for_the_next_term_without_persisting_or_adopting_it() {
    // Raft thesis §9.6: the pre-vote proposes term+1; nothing durable changes until it wins.
    let mut n = node_from(1, 3, &disk_with(4, &[1, 4]), |_| {});
    let mut out = Ready::new();
    while n.role() == Role::Follower {
        n.tick(&mut out);
    }
    assert_eq!(n.role(), Role::PreCandidate);
    assert_eq!((n.term(), n.voted_for()), (4, None));
    assert!(out.writes.is_empty(), "a pre-vote persists nothing");
    let asks: Vec<String> = out.messages.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        asks,
        [
            "n1→n2 PreVote{term=5 last=(4,2)}",
            "n1→n3 PreVote{term=5 last=(4,2)}"
        ]
    );
    out.clear();
    let granted = Message::PreVoteResponse(PreVoteResponse {
        term: 5,
        vote_granted: true,
    });
    n.step(NodeId(3), granted, &mut out);
    assert_eq!(
        (n.role(), n.term()),
        (Role::Candidate, 5),
        "a majority: campaign"
    );
    assert!(matches!(out.writes.as_slice(), [Write::HardState(hs)] if hs.term == 5));
}

#[test]
fn a_voter_refuses_a_pre_vote_while_it_hears_from_a_leader_and_grants_it_later() {
    // Raft thesis §9.6: grant only if no heartbeat from a valid leader for a baseline
    // (minimum) election timeout, and the candidate's log is up to date.
    let mut n = node_from(2, 3, &Disk::default(), |_| {});
    step(&mut n, 1, heartbeat(1));
    let refused = step(&mut n, 3, pre_vote(2));
    assert_eq!(answer(&refused), "n2→n3 PreVoteResponse{term=1 rejected}");
    let min = n.config().election_timeout_ticks_min;
    tick_n(&mut n, min);
    let granted = step(&mut n, 3, pre_vote(2));
    assert_eq!(answer(&granted), "n2→n3 PreVoteResponse{term=2 granted}");
    assert!(
        granted.writes.is_empty(),
        "granting a pre-vote promises nothing"
    );
    assert_eq!(
        (n.term(), n.voted_for()),
        (1, None),
        "term and vote untouched"
    );
}

#[test]
fn a_pre_candidate_behind_the_cluster_adopts_the_term_a_rejection_carries() {
    // Raft §5.1 with thesis §9.6: a rejection carries the voter's real term.
    let mut n = node_from(1, 3, &Disk::default(), |_| {});
    let max = n.config().election_timeout_ticks_max;
    tick_n(&mut n, max);
    assert_eq!(n.role(), Role::PreCandidate);
    let rejected = Message::PreVoteResponse(PreVoteResponse {
        term: 7,
        vote_granted: false,
    });
    step(&mut n, 2, rejected);
    assert_eq!((n.role(), n.term()), (Role::Follower, 7));
}

#[test]
fn a_follower_that_heard_from_a_leader_recently_ignores_a_disruptive_request_vote() {
    // Raft thesis §4.2.3: within the minimum election timeout of hearing from a current
    // leader, a server neither updates its term nor grants its vote.
    let mut n = node_from(2, 3, &Disk::default(), |_| {});
    step(&mut n, 1, heartbeat(1));
    let ignored = step(&mut n, 3, vote_request(5));
    assert!(ignored.messages.is_empty() && ignored.writes.is_empty());
    assert_eq!((n.term(), n.leader()), (1, Some(NodeId(1))));
    let min = n.config().election_timeout_ticks_min;
    tick_n(&mut n, min);
    let heard = step(&mut n, 3, vote_request(5));
    assert_eq!(answer(&heard), "n2→n3 RequestVoteResponse{term=5 granted}");
}

#[test]
fn without_check_quorum_the_same_request_vote_deposes_the_followers_term() {
    // Raft §5.1, the behaviour §4.2.3 guards against.
    let mut n = node_from(2, 3, &Disk::default(), |c| c.check_quorum = false);
    step(&mut n, 1, heartbeat(1));
    let out = step(&mut n, 3, vote_request(5));
    assert_eq!(answer(&out), "n2→n3 RequestVoteResponse{term=5 granted}");
    assert_eq!((n.term(), n.leader()), (5, None));
}

#[test]
fn a_leader_under_check_quorum_ignores_request_votes() {
    // Raft thesis §4.2.3: the leader is the surest sign that a leader is alive.
    let mut c = Cluster::new(3, 4);
    c.elect(1);
    let term = c.node(1).term();
    let mut n1 = c.nodes[0].clone();
    let out = step(&mut n1, 3, vote_request(term + 1));
    assert!(out.messages.is_empty());
    assert_eq!((n1.role(), n1.term()), (Role::Leader, term));
}

#[test]
fn check_quorum_makes_an_isolated_leader_step_down_within_an_election_timeout() {
    // Raft thesis §6.2: a leader steps down if an election timeout elapses without a
    // successful round of heartbeats to a majority.
    let mut c = Cluster::new(5, 5);
    c.elect(2);
    c.run(6);
    let term = c.node(2).term();
    c.isolate(NodeId(2));
    let min = c.node(2).config().election_timeout_ticks_min;
    let mut ticks = 0;
    while c.node(2).role() == Role::Leader {
        c.tick(NodeId(2));
        ticks += 1;
        assert!(
            ticks <= min,
            "still leading after {ticks} ticks without a quorum"
        );
    }
    assert_eq!((c.node(2).role(), c.node(2).term()), (Role::Follower, term));
    assert!(ticks >= min - 1, "not before the window closed: {ticks}");
}

#[test]
fn without_check_quorum_an_isolated_leader_keeps_believing_it_leads() {
    // The paper's Raft (§5): only a higher term deposes a leader.
    let mut c = Cluster::with(3, 5, |cfg| cfg.check_quorum = false);
    c.elect(2);
    c.isolate(NodeId(2));
    for _ in 0..100 {
        c.tick(NodeId(2));
    }
    assert_eq!(c.node(2).role(), Role::Leader);
}

#[test]
fn a_leader_with_a_quorum_but_one_dead_follower_stays_in_office() {
    // Raft thesis §6.2: a majority of answers suffices; the leader counts itself.
    let mut c = Cluster::new(3, 6);
    c.elect(1);
    c.crash(NodeId(3));
    c.run(100);
    assert_eq!(c.leader(), Some(NodeId(1)));
}

#[test]
fn with_lease_reads_a_restarted_node_waits_out_the_minimum_election_timeout_before_voting() {
    // Raft thesis §6.4.1: the node may have acknowledged a heartbeat just before it crashed,
    // and the leader's lease counts on it not voting for a while after that.
    let lease = |c: &mut raft::Config| c.read_mode = ReadMode::Lease;
    let mut restarted = node_from(2, 3, &disk_with(1, &[]), lease);
    assert!(step(&mut restarted, 3, vote_request(2)).messages.is_empty());
    let min = restarted.config().election_timeout_ticks_min;
    tick_n(&mut restarted, min);
    let later = step(&mut restarted, 3, vote_request(2));
    assert!(answer(&later).ends_with("granted}"), "{}", answer(&later));
    let mut fresh = node_from(2, 3, &Disk::default(), lease);
    let out = step(&mut fresh, 3, vote_request(2));
    assert!(
        answer(&out).ends_with("granted}"),
        "a new node acknowledged nothing"
    );
}
