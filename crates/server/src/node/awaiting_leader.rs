//! Requests that arrive while no leader is known wait for one, briefly, instead of failing.
//!
//! ```text
//!   client ─SET─► n2: replica says NotLeader{leader=None}   (an election is in progress)
//!        deliver ──► park(waiter)        deadline = now + leader_wait_ticks
//!   every tick: leader known? ──┬─ this node ──► input again (the replica proposes it)
//!                               ├─ another, reachable ──► forward.rs (one hop, as always)
//!                               └─ none yet ──► keep waiting; past the deadline ──► TRYAGAIN
//! ```
//!
//! Why: an election takes one to two election timeouts (100–200 ms at the defaults), and a
//! loaded machine can trigger one. Answering TRYAGAIN at once hands every client the same
//! retry loop, and clients that don't retry (Redis's own test suite, most scripts) fail on a
//! blip the cluster heals by itself. etcd makes requests wait for a leader the same way.
//!
//! Safety: a parked request never entered the log (NotLeader means the replica proposed
//! nothing), so sending it on later cannot apply it twice; a retried request of a session is
//! deduplicated by the state machine anyway. Only local clients' requests park: a request a
//! follower forwarded here is answered at once (one hop; that follower's client retries).
//!
//! Bounds: at most `AWAITING_LEADER_MAX` requests wait; past it, TRYAGAIN at once. Each waits
//! `leader_wait_ticks` = `LEADER_WAIT_ELECTIONS` × the longest election timeout. The road not
//! taken: waiting without a deadline, which turns a lost quorum into clients hanging forever.

use std::collections::VecDeque;

use replica::Outcome;

use super::requests::{ReplyTo, Waiter};
use super::{status, Node};

/// Most requests waiting for a leader at once.
pub(super) const AWAITING_LEADER_MAX: usize = 4096;

/// How many of the longest election timeouts a request waits for a leader: one election
/// may split its vote and need another, and pre-vote adds a round.
const LEADER_WAIT_ELECTIONS: u64 = 5;

/// A local client's request waiting for a leader.
#[derive(Debug)]
pub(super) struct Parked {
    /// The request and its client.
    waiter: Waiter,
    /// The tick after which the client is answered TRYAGAIN.
    deadline_tick: u64,
}

/// The requests waiting for a leader, oldest first (deadlines grow with arrival).
pub(super) type AwaitingLeader = VecDeque<Parked>;

impl Node {
    /// Ticks a request waits for a leader (see the module docs).
    fn leader_wait_ticks(&self) -> u64 {
        LEADER_WAIT_ELECTIONS * self.replica.raft().config().election_timeout_ticks_max
    }

    /// Keep `waiter` until a leader is known, if it is a local client's and there is room.
    /// Gives it back when it must be answered now.
    pub(super) fn park(&mut self, waiter: Waiter) -> Option<Waiter> {
        if !matches!(waiter.reply_to, ReplyTo::Local(_))
            || self.awaiting_leader.len() >= AWAITING_LEADER_MAX
        {
            return Some(waiter);
        }
        let deadline_tick = self.ticks + self.leader_wait_ticks();
        self.awaiting_leader.push_back(Parked {
            waiter,
            deadline_tick,
        });
        self.metrics
            .awaiting_leader
            .set(self.awaiting_leader.len() as i64);
        None
    }

    /// On every tick: send the parked requests on once a leader is known, answer the ones
    /// whose wait is over. Bounded by the queue's length.
    pub(super) fn release_parked(&mut self) {
        if self.awaiting_leader.is_empty() {
            return;
        }
        let leader = self.replica.raft().leader();
        let reachable = leader.filter(|l| *l == self.config.id || self.transport.knows(*l));
        let parked = std::mem::take(&mut self.awaiting_leader);
        for Parked {
            waiter,
            deadline_tick,
        } in parked
        {
            match reachable {
                Some(l) if l == self.config.id => self.input(waiter.reply_to, waiter.request),
                Some(l) => self.forward(l, waiter),
                None if deadline_tick <= self.ticks => {
                    let outcome = Outcome::NotLeader { leader: None };
                    self.metrics.error("leader_wait_timeout");
                    self.answer(waiter.reply_to, status::outcome_frame(&outcome));
                }
                None => self.awaiting_leader.push_back(Parked {
                    waiter,
                    deadline_tick,
                }),
            }
        }
        self.metrics
            .awaiting_leader
            .set(self.awaiting_leader.len() as i64);
    }
}
