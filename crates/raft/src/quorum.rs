//! Confirming leadership: heartbeat rounds, check-quorum, and the leader's lease
//! (thesis §6.4, §6.4.1, §6.2).
//!
//! ```text
//!   leader                                            followers
//!   round r at tick T ── AppendEntries{round=r} ──►   each resets its leader-contact clock
//!                     ◄── AppendEntriesResponse{round=r}
//!   a quorum (the leader included) answered rounds ≥ r  ⇒  confirmed = r:
//!     - queued reads that arrived before round r began are answered (read.rs)
//!     - Lease:             lease_until = max(lease_until, T + lease_ticks)
//!       LeaseIgnoresDrift: lease_until = now + election_timeout_ticks_min       (broken on purpose)
//!
//!   check-quorum, every leader tick: the leader plus the followers it heard from within
//!   election_timeout_ticks_min fall short of a quorum  ⇒  step down (same term), reads fail
//! ```
//!
//! When a round starts: every `heartbeat_interval_ticks`, and at once when a read is waiting
//! and no round is in flight. One round therefore confirms every read that arrived while the
//! previous round was in flight: an idle leader confirms a read after one round trip, and a
//! burst of N reads costs two rounds, not N. Appends that carry entries also carry the current
//! round, so their answers count too, but they never start one.
//!
//! Who a round goes to: the periodic round (the heartbeat) goes to every follower and learner.
//! A round started for reads goes only to as many voters as a quorum needs, those that
//! answered the latest rounds first (ties by id), plus any follower whose forwarded read waits
//! for it (the AppendEntries brings that follower the commit index it will wait for). In a
//! 3-node cluster that is one follower instead of two: half the messages per read round, and
//! the other follower stays asleep. Safety does not move: a round is confirmed only by
//! answers from a quorum, whoever was asked. Liveness: if a chosen voter is slow or gone, the
//! next heartbeat asks everyone and its answers confirm the waiting reads (their round is at
//! most the heartbeat's), so a failure costs a read at most `heartbeat_interval_ticks`. The
//! road not taken: asking everyone every time, which on one machine with three nodes cost a
//! quarter of the CPU per read (bench/README.md).
//!
//! Why the lease runs from T, the tick the round was *sent*, and not from when the acks
//! arrive: every follower in the quorum heard round r at some moment after T and then refuses
//! to vote for `election_timeout_ticks_min` of its own ticks (election.rs). T is the only moment
//! the leader knows to be no later than all of those. `Config::lease_ticks` turns the followers'
//! ticks into the leader's, allowing for drift.
//!
//! `Rounds` is leader state (role.rs `Leader`): a new leadership starts with nothing in flight
//! and no lease, numbering on from the last round this node sent (`Raft::last_round`).
//!
//! Invariants: `confirmed ≤ current`; rounds only grow; `sent_at` ascends in round and in tick,
//! and holds at most `ROUNDS_REMEMBERED_MAX` entries.

use std::collections::VecDeque;

use distributed_core::{NodeId, Tick};

use crate::config::{ReadMode, Variant};
use crate::message::Round;
use crate::node::Raft;
use crate::ready::Ready;
use crate::role::Leader;

/// How many unconfirmed rounds keep their send tick. Check-quorum deposes a leader that hears
/// no quorum for `election_timeout_ticks_min` ticks, so far fewer are in flight in practice;
/// forgetting the oldest only makes a lease start later, never earlier.
const ROUNDS_REMEMBERED_MAX: usize = 64;

/// A leader's heartbeat rounds and its lease.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rounds {
    /// The round of the latest broadcast. Every AppendEntries carries it; a new leadership
    /// continues from the last one's (`Raft::last_round`), so a round number is never reused
    /// by this node (answers of older terms are dropped anyway).
    pub(crate) current: Round,
    /// The highest round a quorum answered in this leadership: reads waiting for it or an
    /// earlier round are confirmed.
    pub(crate) confirmed: Round,
    /// Rounds sent and not yet confirmed, with the tick each was sent at, oldest first: the
    /// lease starts from the send tick of the round a quorum confirms.
    sent_at: VecDeque<(Round, Tick)>,
    /// Lease reads are answered while the leader's `ticks` is below this.
    pub(crate) lease_until: Tick,
    /// Set when this leader starts a leadership transfer (thesis §3.10): its target's forced
    /// campaign is answered by voters that promised this lease, so the lease is void for the
    /// rest of this leadership, even if the transfer is abandoned (a late TimeoutNow can still
    /// start that campaign).
    pub(crate) lease_forfeited: bool,
}

impl Rounds {
    /// A new leadership: nothing in flight, no lease. Answers to older rounds may still arrive;
    /// they cannot raise `confirmed` above rounds this leadership sent, because they are of an
    /// older term and `step` drops them.
    pub(crate) fn start_leadership(&mut self) {
        self.confirmed = self.current;
        self.sent_at.clear();
        self.lease_until = 0;
        self.lease_forfeited = false;
    }

    /// The rounds of a new leadership, numbered on from `last_round`, the last round this node
    /// sent in an earlier one (0 if none).
    pub(crate) fn after(last_round: Round) -> Rounds {
        let mut rounds = Rounds {
            current: last_round,
            ..Rounds::default()
        };
        rounds.start_leadership();
        rounds
    }

    /// True while a round has been sent and not yet confirmed by a quorum.
    pub(crate) fn in_flight(&self) -> bool {
        self.current > self.confirmed
    }

    /// Forget every remembered round up to `round`, returning the send tick of the newest of
    /// them (the one closest to `round`, so the latest safe lease start).
    fn take_sent_at(&mut self, round: Round) -> Option<Tick> {
        let mut tick = None;
        while let Some(&(r, t)) = self.sent_at.front() {
            if r > round {
                break;
            }
            tick = Some(t);
            self.sent_at.pop_front();
        }
        tick
    }
}

impl Raft {
    /// Start a heartbeat round: one AppendEntries per follower, all carrying the new round.
    /// Also serves as the periodic heartbeat, so the interval restarts.
    pub(crate) fn broadcast_round(&mut self, out: &mut Ready) {
        let Some(l) = self.role.leader_mut() else {
            return;
        };
        l.heartbeat_elapsed = 0;
        // Collected first: the body needs `&mut self`. Learners get heartbeats too.
        let peers: Vec<NodeId> = l.progress.keys().copied().collect();
        self.send_round(peers, out);
    }

    /// Start a round for waiting reads: sent to the quorum that answers fastest and to the
    /// followers whose forwarded reads wait for it (module docs). Not a heartbeat: the others
    /// still get theirs on time, so the heartbeat interval does not restart.
    pub(crate) fn broadcast_read_round(&mut self, out: &mut Ready) {
        let Some(l) = self.role.leader() else {
            return;
        };
        let me = self.config.id;
        let mut voters: Vec<(Round, NodeId)> = (l.progress.iter())
            .filter(|(&id, _)| self.membership.is_voter(id))
            .map(|(&id, pr)| (pr.acked_round, id))
            .collect();
        voters.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut to = l.reads.forwarders_waiting_for(l.rounds.current + 1);
        for (_, id) in voters {
            if self.membership.has_quorum(|v| v == me || to.contains(&v)) {
                break;
            }
            if !to.contains(&id) {
                to.push(id);
            }
        }
        to.sort_unstable(); // send in id order, as the heartbeat does
        self.send_round(to, out);
    }

    /// Open the next round and send it to `peers`, then confirm what the leader's own vote
    /// already allows (a cluster of one is its own quorum).
    fn send_round(&mut self, peers: Vec<NodeId>, out: &mut Ready) {
        let now = self.ticks;
        let Some(l) = self.role.leader_mut() else {
            return;
        };
        let rounds = &mut l.rounds;
        rounds.current += 1;
        if rounds.sent_at.len() >= ROUNDS_REMEMBERED_MAX {
            rounds.sent_at.pop_front();
        }
        rounds.sent_at.push_back((rounds.current, now));
        for peer in peers {
            self.send_heartbeat(peer, out);
        }
        self.confirm_rounds(out);
    }

    /// A follower answered (any AppendEntries of this term, or asked for a read index):
    /// it is alive for check-quorum.
    pub(crate) fn heard_from(&mut self, follower: NodeId) {
        let now = self.ticks;
        let Some(l) = self.role.leader_mut() else {
            return;
        };
        if let Some(pr) = l.progress.get_mut(&follower) {
            pr.last_heard = now;
        }
    }

    /// Record that `follower` answered a message of `round`, and confirm what that allows.
    pub(crate) fn on_round_ack(&mut self, follower: NodeId, round: Round, out: &mut Ready) {
        self.heard_from(follower);
        let Some(l) = self.role.leader_mut() else {
            return;
        };
        let current = l.rounds.current;
        let Some(pr) = l.progress.get_mut(&follower) else {
            return;
        };
        // A round above `current` was never sent: malformed, so it confirms nothing.
        if round <= current && round > pr.acked_round {
            pr.acked_round = round;
            self.confirm_rounds(out);
        }
    }

    /// The highest round answered by a quorum of the configuration (both halves while joint),
    /// the leader counting itself for `current` while it is a voter (Raft §6).
    fn quorum_round(&self, l: &Leader) -> Round {
        let me = self.config.id;
        self.membership
            .quorum_value(|id| match l.progress.get(&id) {
                Some(pr) => pr.acked_round,
                None if id == me => l.rounds.current,
                None => 0,
            })
    }

    /// Raise `confirmed` if a quorum allows it; extend the lease, answer the reads it covers,
    /// and start the next round at once if reads are waiting for one.
    fn confirm_rounds(&mut self, out: &mut Ready) {
        let Some(l) = self.role.leader() else {
            return;
        };
        let q = self.quorum_round(l);
        if q <= l.rounds.confirmed {
            return;
        }
        self.raise_confirmed(q);
        self.release_leader_reads(out);
        let Some(l) = self.role.leader() else {
            return;
        };
        if !l.rounds.in_flight() && l.reads.wait_for_round_after(l.rounds.current) {
            self.broadcast_read_round(out);
        }
    }

    /// A quorum answered rounds up to `confirmed`: record it, and extend the lease from the
    /// send tick of the newest round it covers (module docs).
    fn raise_confirmed(&mut self, confirmed: Round) {
        let (now, config) = (self.ticks, &self.config);
        let Some(l) = self.role.leader_mut() else {
            return;
        };
        let rounds = &mut l.rounds;
        rounds.confirmed = confirmed;
        let sent = rounds.take_sent_at(confirmed);
        if config.read_mode != ReadMode::Lease {
            return;
        }
        let until = match config.variant {
            // Broken on purpose: from the acks' arrival, the full timeout, no drift allowance.
            Variant::LeaseIgnoresDrift => Some(now + config.election_timeout_ticks_min),
            Variant::Correct
            | Variant::CommitOldTerm
            | Variant::OneStepMembership
            | Variant::LeaderCountsUnsyncedWrites => sent.map(|t| t + config.lease_ticks()),
        };
        if let Some(until) = until {
            rounds.lease_until = rounds.lease_until.max(until);
        }
    }

    /// True if this leader may answer a read without a round (thesis §6.4.1).
    pub(crate) fn lease_holds(&self) -> bool {
        self.role.leader().is_some_and(|l| {
            self.config.read_mode == ReadMode::Lease
                && !l.rounds.lease_forfeited
                && self.ticks < l.rounds.lease_until
        })
    }

    /// Check-quorum: keep leading only if a quorum (this node included) was heard within
    /// `election_timeout_ticks_min` ticks. Returns whether this node still leads.
    pub(crate) fn check_quorum(&mut self, out: &mut Ready) -> bool {
        if !self.config.check_quorum {
            return true;
        }
        let Some(l) = self.role.leader() else {
            return false;
        };
        let (now, window) = (self.ticks, self.config.election_timeout_ticks_min);
        let me = self.config.id;
        let heard = |id: NodeId| {
            id == me
                || (l.progress.get(&id))
                    .is_some_and(|pr| now.saturating_sub(pr.last_heard) < window)
        };
        if self.membership.has_quorum(heard) {
            return true;
        }
        self.become_follower(self.term, None, out);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmed_round_yields_the_send_tick_of_the_newest_round_it_covers() {
        let mut r = Rounds::default();
        r.sent_at.extend([(1, 10), (2, 12), (3, 14)]);
        assert_eq!(r.take_sent_at(2), Some(12));
        assert_eq!(r.take_sent_at(2), None, "already forgotten");
        assert_eq!(r.take_sent_at(9), Some(14));
    }

    #[test]
    fn a_new_leadership_starts_with_nothing_in_flight_and_no_lease() {
        let mut r = Rounds {
            current: 7,
            confirmed: 3,
            lease_until: 40,
            ..Rounds::default()
        };
        assert!(r.in_flight());
        r.start_leadership();
        assert!(!r.in_flight());
        assert_eq!((r.current, r.lease_until), (7, 0), "rounds never reused");
    }
}
