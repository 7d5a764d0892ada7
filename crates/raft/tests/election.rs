//! Leader election: randomized timeouts, one vote per term, the up-to-date check, term rules.

mod common;

use std::collections::BTreeSet;

use common::{disk_with, make_leader, node_from, step, Cluster};
use distributed_core::{NodeId, Protocol, SeededRng};
use raft::{
    AppendEntries, Config, Disk, Message, PreVoteResponse, Raft, Ready, RequestVote,
    RequestVoteResponse, Role, Write,
};

fn vote_request(term: u64, last_term: u64, last_index: u64) -> Message {
    Message::RequestVote(RequestVote {
        term,
        last_log_index: last_index,
        last_log_term: last_term,
        leader_transfer: false,
    })
}

fn granted(out: &Ready) -> bool {
    matches!(
        out.messages.as_slice(),
        [env] if matches!(env.msg, Message::RequestVoteResponse(RequestVoteResponse { vote_granted: true, .. }))
    )
}

#[test]
fn a_candidate_wins_with_a_majority_of_votes() {
    // Raft §5.2: a candidate wins if it receives votes from a majority of the servers.
    let mut c = Cluster::new(5, 1);
    c.elect(3);
    assert_eq!(c.leader(), Some(NodeId(3)));
    for id in 1..=5 {
        assert_eq!(
            c.node(id).term(),
            c.node(3).term(),
            "n{id} learned the term"
        );
        assert_eq!(
            c.node(id).leader(),
            Some(NodeId(3)),
            "n{id} learned the leader"
        );
    }
}

#[test]
fn a_candidate_without_a_majority_does_not_win() {
    // Raft §5.2: two votes of five (its own and one more) are not a majority.
    let mut n = node_from(1, 5, &Disk::default(), |_| {});
    let _ = make_leader_attempt(&mut n, &[2]);
    assert_eq!(n.role(), Role::Candidate);
}

/// Time out, win the pre-vote (thesis §9.6) from every peer, then collect real votes from
/// `voters` only.
fn make_leader_attempt(n: &mut Raft, voters: &[u64]) -> Ready {
    let mut out = Ready::new();
    while n.role() == Role::Follower {
        n.tick(&mut out);
    }
    assert_eq!(n.role(), Role::PreCandidate, "pre-vote is on by default");
    let peers: Vec<NodeId> = (n.config().voters.iter().copied())
        .filter(|&p| p != n.id())
        .collect();
    for p in peers {
        let pre = Message::PreVoteResponse(PreVoteResponse {
            term: n.term() + 1,
            vote_granted: true,
        });
        n.step(p, pre, &mut out);
    }
    assert_eq!(n.role(), Role::Candidate);
    for &v in voters {
        let msg = Message::RequestVoteResponse(RequestVoteResponse {
            term: n.term(),
            vote_granted: true,
        });
        n.step(NodeId(v), msg, &mut out);
    }
    out
}

#[test]
fn a_node_grants_at_most_one_vote_per_term() {
    // Raft §5.2: each server votes for at most one candidate in a given term.
    let mut n = node_from(1, 3, &Disk::default(), |_| {});
    assert!(granted(&step(&mut n, 2, vote_request(1, 0, 0))));
    assert!(!granted(&step(&mut n, 3, vote_request(1, 0, 0))));
    assert!(
        granted(&step(&mut n, 2, vote_request(1, 0, 0))),
        "a retried request is re-granted"
    );
    assert_eq!(n.voted_for(), Some(NodeId(2)));
}

#[test]
fn a_node_refuses_a_vote_to_a_candidate_whose_log_is_less_up_to_date() {
    // Raft §5.4.1: compare the last entries' terms first, then the logs' lengths.
    let disk = disk_with(3, &[1, 2, 3]);
    let mut n = node_from(1, 3, &disk, |_| {});
    assert!(
        !granted(&step(&mut n, 2, vote_request(4, 2, 9))),
        "older last term, longer log"
    );
    assert!(
        !granted(&step(&mut n, 2, vote_request(5, 3, 2))),
        "same last term, shorter log"
    );
    assert!(
        granted(&step(&mut n, 2, vote_request(6, 3, 3))),
        "same last term, same length"
    );
    assert!(
        granted(&step(&mut n, 3, vote_request(7, 4, 1))),
        "newer last term, shorter log"
    );
}

#[test]
fn a_refused_vote_still_adopts_the_higher_term() {
    // Raft §5.1: if a server sees a larger term, it updates its current term.
    let disk = disk_with(3, &[1, 2, 3]);
    let mut n = node_from(1, 3, &disk, |_| {});
    let out = step(&mut n, 2, vote_request(8, 1, 1));
    assert_eq!(n.term(), 8);
    assert_eq!(n.voted_for(), None);
    assert!(matches!(out.writes.as_slice(), [Write::HardState(hs)] if hs.term == 8));
}

/// How many ticks until `n` next times out, shown by the PreVotes it sends (pre-vote is on).
fn ticks_until_timeout(n: &mut Raft) -> u64 {
    for ticks in 1..=n.config().election_timeout_ticks_max {
        let mut out = Ready::new();
        n.tick(&mut out);
        if (out.messages.iter()).any(|e| matches!(e.msg, Message::PreVote(_))) {
            return ticks;
        }
    }
    panic!("{} did not time out within the maximum timeout", n.id());
}

#[test]
fn a_rejected_vote_request_does_not_reset_the_election_timer() {
    // Raft §5.2 and Figure 2: a follower converts to candidate if its election timeout elapses
    // "without receiving AppendEntries from current leader or granting vote to candidate".
    // A RequestVote it rejects is neither: it adopts the higher term (§5.1) and persists it,
    // but its timer runs on. Were the timer restarted, a stale candidate that can never win
    // would keep delaying the nodes that can.
    let disk = disk_with(3, &[1, 2, 3]);
    let mut n = node_from(1, 3, &disk, |_| {});
    for _ in 0..3 {
        n.tick(&mut Ready::new());
    }
    let mut untouched = n.clone();
    let out = step(&mut n, 2, vote_request(9, 1, 1)); // higher term, stale log
    assert!(!granted(&out), "a stale log gets no vote (§5.4.1)");
    assert_eq!((n.term(), n.voted_for()), (9, None));
    assert!(matches!(out.writes.as_slice(), [Write::HardState(hs)] if hs.term == 9));
    assert_eq!(
        ticks_until_timeout(&mut n),
        ticks_until_timeout(&mut untouched),
        "the rejection moved the timeout"
    );
}

#[test]
fn a_granted_vote_resets_the_election_timer() {
    // Raft §5.2 and Figure 2: granting a vote restarts the timer, so the voter does not compete
    // with the candidate it just backed.
    let mut n = node_from(1, 3, &Disk::default(), |_| {});
    let mut untouched = n.clone();
    let before = ticks_until_timeout(&mut untouched);
    for _ in 0..before - 1 {
        n.tick(&mut Ready::new());
    }
    assert!(granted(&step(&mut n, 2, vote_request(1, 0, 0))));
    let after = ticks_until_timeout(&mut n);
    assert!(
        after >= n.config().election_timeout_ticks_min,
        "timed out {after} ticks after granting a vote, below the minimum timeout"
    );
}

#[test]
fn a_leader_steps_down_when_it_sees_a_higher_term() {
    // Raft §5.1: a leader that discovers a higher term reverts to follower.
    let mut n = node_from(1, 3, &Disk::default(), |_| {});
    make_leader(&mut n, &[2]);
    let term = n.term();
    let out = step(&mut n, 3, common::ok(term + 1, 0));
    assert_eq!(n.role(), Role::Follower);
    assert_eq!(n.term(), term + 1);
    assert_eq!(n.leader(), None);
    assert!(matches!(out.writes.as_slice(), [Write::HardState(hs)] if hs.term == term + 1));
}

#[test]
fn a_candidate_steps_down_when_a_leader_of_its_term_appears() {
    // Raft §5.2: if the leader's term is at least the candidate's, the candidate steps down.
    let mut n = node_from(1, 3, &Disk::default(), |_| {});
    let _ = make_leader_attempt(&mut n, &[]);
    let heartbeat = Message::AppendEntries(AppendEntries {
        term: n.term(),
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![],
        leader_commit: 0,
        round: 0,
    });
    step(&mut n, 2, heartbeat);
    assert_eq!(n.role(), Role::Follower);
    assert_eq!(n.leader(), Some(NodeId(2)));
    assert_eq!(
        n.voted_for(),
        Some(NodeId(1)),
        "its vote in this term stands"
    );
}

#[test]
fn a_node_rejects_messages_of_a_stale_term() {
    // Raft §5.1: a request with a stale term number is rejected.
    let mut n = node_from(1, 3, &disk_with(5, &[]), |_| {});
    let out = step(&mut n, 2, vote_request(4, 9, 9));
    assert!(!granted(&out));
    assert_eq!(
        out.messages[0].msg.term(),
        5,
        "the answer carries the current term"
    );
}

#[test]
fn election_timeouts_are_randomized_within_the_configured_range() {
    // Raft §5.2: election timeouts are chosen randomly from a fixed interval.
    let mut seen = BTreeSet::new();
    for seed in 0..200 {
        let config = Config::new(NodeId(1), common::ids(3)); // timeouts in [10, 20)
        let mut n = Raft::new(config, &Disk::default(), SeededRng::new(seed)).expect("valid");
        for round in 0..2 {
            // With pre-vote the term stays put while nobody answers: a timeout shows as the
            // PreVote messages it sends.
            let mut out = Ready::new();
            let mut ticks = 0u64;
            while out.messages.is_empty() {
                n.tick(&mut out);
                ticks += 1;
                assert!(
                    ticks < 20,
                    "seed {seed} round {round}: no timeout below max"
                );
            }
            assert!(
                ticks >= 10,
                "seed {seed} round {round}: timed out after {ticks} < min"
            );
            seen.insert(ticks);
        }
    }
    assert_eq!(seen.len(), 10, "every value in [10, 20) occurs: {seen:?}");
}

#[test]
fn a_split_vote_is_resolved_by_a_later_election() {
    // Raft §5.2: randomized timeouts make repeated split votes unlikely.
    for seed in 0..20 {
        let mut c = Cluster::new(4, seed);
        let leader = c.elect_any();
        assert_eq!(c.node(leader.0).role(), Role::Leader, "seed {seed}");
    }
}

#[test]
fn a_restarted_node_recovers_term_vote_and_log_from_disk() {
    // Raft Figure 2: currentTerm, votedFor and log[] are persistent state on all servers.
    let mut c = Cluster::new(3, 7);
    c.elect(1);
    c.propose(NodeId(1), b"a");
    c.run(3);
    let (term, vote, log) = (
        c.node(2).term(),
        c.node(2).voted_for(),
        c.node(2).entries().to_vec(),
    );
    c.crash(NodeId(2));
    c.restart(NodeId(2));
    let n2 = c.node(2);
    assert_eq!((n2.term(), n2.voted_for()), (term, vote));
    assert_eq!(n2.entries(), log.as_slice());
    assert_eq!(
        (n2.role(), n2.commit_index()),
        (Role::Follower, 0),
        "volatile state starts over"
    );
    c.run(3);
    assert_eq!(
        c.observer.applied[1].len(),
        2,
        "the no-op and `a` are delivered again after restart"
    );
}

#[test]
fn a_persisted_vote_survives_a_crash_before_the_answer_is_sent() {
    // Raft §5.2 with Figure 2: the vote is durable before the response leaves, so a restarted
    // node cannot vote for a second candidate in the same term.
    let mut n = node_from(1, 3, &Disk::default(), |_| {});
    let out = step(&mut n, 2, vote_request(1, 0, 0));
    let mut disk = Disk::default();
    for w in &out.writes {
        <Raft as Protocol>::persist(&mut disk, w);
    }
    let mut restarted = node_from(1, 3, &disk, |_| {});
    assert!(!granted(&step(&mut restarted, 3, vote_request(1, 0, 0))));
}

#[test]
fn a_disk_whose_log_outruns_its_term_is_refused_at_start() {
    let disk = disk_with(1, &[1, 2]);
    let config = Config::new(NodeId(1), common::ids(3));
    let err = Raft::new(config, &disk, SeededRng::new(1)).unwrap_err();
    assert!(
        err.to_string()
            .contains("hard_state.term 1 is below the last log term 2"),
        "{err}"
    );
}
