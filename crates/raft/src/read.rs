//! Linearizable reads without log entries: ReadIndex, lease reads and follower reads
//! (thesis §6.4, §6.4.1).
//!
//! ```text
//!   Input::Read{id}
//!     leader:   Lease, lease holds, an entry of this term committed ──► ReadReady{id index=commit}
//!               queue full ──► ReadFailed{Busy}
//!               else queue it: index = commit_index once an entry of this term is committed
//!                    (§6.4 step 1), round = current + 1; start a round if none is in flight
//!                    (a read round asks only a quorum, see quorum.rs)
//!               its round confirmed (quorum.rs) and index known ──► ReadReady{id index}
//!     follower with a leader:
//!               ── ReadIndexRequest{term id=req} ──► leader queues it like its own read
//!               ◄─ ReadIndexResponse{term id=req index=i} ── once confirmed
//!               ReadReady{id index=i} once this node has delivered Committed through i
//!     anyone else ──► ReadFailed{NotLeader}
//!
//!   leadership lost              ──► every queued read fails NotLeader (forwarded: by message)
//!   term changes (not leading)   ──► forwarded reads still without an index fail NotLeader
//!   waiting election_timeout_ticks_max ticks ──► ReadFailed{TimedOut}
//! ```
//!
//! Why the answer is linearizable (§6.4): the index is the leader's commit index once it has
//! committed an entry of its own term, so it covers every write committed before the read arrived
//! (Leader Completeness, §5.4); the round, sent after the read arrived and answered by a
//! quorum, shows that no newer leader had been elected when it was sent, so nothing newer had
//! committed. The host answers from a state that includes everything through the index.
//! A follower's forwarded read takes the leader's index and waits for its own commits to
//! reach it; the index stays valid even if the leader changes afterwards.
//!
//! Invariants: every read gets exactly one answer (ready or failed) unless the node crashes; a
//! `ReadReady` never names an index beyond the last `Committed` this node output; each queue
//! holds at most `pending_reads_max` reads; the leader's queue is in arrival order, so its
//! rounds ascend and reads without an index form a prefix.
//!
//! Where the queues live: the leader's (`LeaderReads`) in `Leader` (role.rs), so it cannot
//! outlive the leadership (stepping down fails each of its reads first); the forwarded ones
//! (`ForwardedReads`) on `Raft`, because they outlive role and term changes (see its field).

use std::collections::VecDeque;

use distributed_core::{NodeId, Tick};

use crate::log::Index;
use crate::message::{ReadIndexRequest, ReadIndexResponse, Round};
use crate::node::Raft;
use crate::ready::{Output, ReadFailure, Ready};
use crate::role::Role;

/// Who is waiting for a read the leader is confirming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// This node's host: answer with an output.
    Local {
        /// The host's read id.
        id: u64,
    },
    /// A follower forwarded it: answer with a ReadIndexResponse.
    Forwarded {
        /// The follower.
        from: NodeId,
        /// The follower's request number.
        id: u64,
    },
}

/// A read the leader is confirming.
#[derive(Clone, Debug)]
pub(crate) struct LeaderRead {
    /// Where the answer goes.
    origin: Origin,
    /// The read index; `None` until an entry of the leader's term is committed (§6.4 step 1).
    index: Option<Index>,
    /// The first round sent after the read arrived: its confirmation proves leadership.
    round: Round,
    /// The leader's tick when the read arrived, for the timeout.
    arrived_at: Tick,
}

/// A read this node forwarded to its leader.
#[derive(Clone, Debug)]
pub(crate) struct ForwardedRead {
    /// The host's read id, for the answer.
    id: u64,
    /// The number sent in the ReadIndexRequest; answers are matched on it, not on `id`, so a
    /// late answer can never satisfy a newer read that reuses a host id.
    request: u64,
    /// The leader's confirmed read index, once it answers.
    index: Option<Index>,
    /// This node's tick when the read arrived, for the timeout.
    arrived_at: Tick,
}

/// The reads a leader is confirming, in arrival order: held by `Leader`, so they go when the
/// leadership goes (each failed with `NotLeader` first).
#[derive(Clone, Debug, Default)]
pub(crate) struct LeaderReads {
    /// At most `pending_reads_max`, in arrival order: rounds ascend along it, and reads
    /// without an index form a prefix.
    queue: VecDeque<LeaderRead>,
}

impl LeaderReads {
    /// How many reads are being confirmed.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// True if a queued read needs a round later than `current`, i.e. one not yet sent.
    pub(crate) fn wait_for_round_after(&self, current: Round) -> bool {
        self.queue.back().is_some_and(|r| r.round > current)
    }

    /// The followers whose forwarded reads wait for `round`, each once, in queue order. The
    /// reads waiting for the next round are the queue's tail, so the scan stops at the first
    /// older one; at most `pending_reads_max` reads are looked at.
    pub(crate) fn forwarders_waiting_for(&self, round: Round) -> Vec<NodeId> {
        let mut from = Vec::new();
        for r in self.queue.iter().rev() {
            if r.round != round {
                break;
            }
            if let Origin::Forwarded { from: f, .. } = r.origin {
                if !from.contains(&f) {
                    from.push(f);
                }
            }
        }
        from
    }

    /// §6.4 step 1 done: every read still without an index takes `commit`.
    fn set_index(&mut self, commit: Index) {
        for r in (self.queue.iter_mut()).take_while(|r| r.index.is_none()) {
            r.index = Some(commit);
        }
    }

    /// The oldest read, if its index is known and a quorum confirmed its round. Rounds ascend
    /// along the queue, so once the oldest is not ready, none is.
    fn pop_confirmed(&mut self, confirmed: Round) -> Option<(Origin, Index)> {
        let front = self.queue.front()?;
        let index = front.index?;
        if front.round > confirmed {
            return None;
        }
        let origin = front.origin;
        self.queue.pop_front();
        Some((origin, index))
    }

    /// The oldest read, with how long it waited, if that is `limit` ticks or more by `now`.
    /// Arrival order: once the oldest is young enough, all are.
    fn pop_expired(&mut self, now: Tick, limit: Tick) -> Option<(Origin, Tick)> {
        let front = self.queue.front()?;
        let ticks = now.saturating_sub(front.arrived_at);
        if ticks < limit {
            return None;
        }
        let origin = front.origin;
        self.queue.pop_front();
        Some((origin, ticks))
    }
}

/// The reads this node forwarded to its leader: any role (see `Raft::forwarded`).
#[derive(Clone, Debug)]
pub(crate) struct ForwardedReads {
    /// At most `pending_reads_max`, waiting for the leader's index, then for the local commit.
    queue: VecDeque<ForwardedRead>,
    /// The next ReadIndexRequest number. Never reused within an incarnation, and each
    /// incarnation starts at a random 63-bit point (`Raft::new`): a leader's answer to the
    /// previous incarnation's request can arrive after a restart, in the same term, and if
    /// numbers restarted at 0 it would hand a new read that old, stale index (the simulator
    /// found this: a duplicated ReadIndexResponse delivered after the follower restarted).
    next_request: u64,
}

impl ForwardedReads {
    /// No read waiting; requests numbered from `first_request` (see `next_request`).
    pub(crate) fn starting_at(first_request: u64) -> ForwardedReads {
        ForwardedReads {
            queue: VecDeque::new(),
            next_request: first_request,
        }
    }

    /// How many forwarded reads wait here.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}

impl Raft {
    /// `Input::Read`: confirm it here if leading, forward it if a leader is known, else refuse.
    pub(crate) fn read(&mut self, id: u64, out: &mut Ready) {
        match (self.role(), self.leader()) {
            (Role::Leader, _) => self.register_read(Origin::Local { id }, out),
            (Role::Follower, Some(leader)) => self.forward_read(id, leader, out),
            (_, leader) => {
                let reason = ReadFailure::NotLeader { leader };
                out.outputs.push(Output::ReadFailed { id, reason });
            }
        }
    }

    fn forward_read(&mut self, id: u64, leader: NodeId, out: &mut Ready) {
        let max = self.config.pending_reads_max;
        if self.forwarded.len() >= max {
            let reason = ReadFailure::Busy {
                pending_reads_max: max,
            };
            out.outputs.push(Output::ReadFailed { id, reason });
            return;
        }
        let request = self.forwarded.next_request;
        self.forwarded.next_request += 1; // starts below 2^63: no overflow in 2^63 reads
        self.forwarded.queue.push_back(ForwardedRead {
            id,
            request,
            index: None,
            arrived_at: self.ticks,
        });
        let msg = ReadIndexRequest {
            term: self.term,
            id: request,
        };
        out.send(self.config.id, leader, msg.into());
    }

    /// Leader: answer at once under a lease, else queue the read for a round.
    fn register_read(&mut self, origin: Origin, out: &mut Ready) {
        let index = self.has_current_term_commit().then_some(self.commit_index);
        if let (Some(index), true) = (index, self.lease_holds()) {
            return self.answer(origin, Ok(index), out); // §6.4.1: no round trip
        }
        let (max, now) = (self.config.pending_reads_max, self.ticks);
        let l = (self.role.leader_mut()).expect("only a leader confirms reads");
        if l.reads.len() >= max {
            let busy = ReadFailure::Busy {
                pending_reads_max: max,
            };
            return self.answer(origin, Err(busy), out);
        }
        l.reads.queue.push_back(LeaderRead {
            origin,
            index,
            round: l.rounds.current + 1,
            arrived_at: now,
        });
        if !l.rounds.in_flight() {
            self.broadcast_read_round(out);
        }
    }

    /// §6.4 step 1: has this leader committed an entry of its own term yet?
    fn has_current_term_commit(&self) -> bool {
        self.log.term_at(self.commit_index) == Some(self.term)
    }

    fn answer(&self, origin: Origin, outcome: Result<Index, ReadFailure>, out: &mut Ready) {
        match (origin, outcome) {
            (Origin::Local { id }, Ok(index)) => {
                assert!(
                    index <= self.delivered_index,
                    "ReadReady at {index} before Committed through it (delivered {})",
                    self.delivered_index
                );
                out.outputs.push(Output::ReadReady { id, index });
            }
            (Origin::Local { id }, Err(reason)) => {
                out.outputs.push(Output::ReadFailed { id, reason });
            }
            (Origin::Forwarded { from, id }, outcome) => {
                let msg = ReadIndexResponse {
                    term: self.term,
                    id,
                    outcome,
                };
                out.send(self.config.id, from, msg.into());
            }
        }
    }

    /// A follower asks for a read index. Served only by the leader of the follower's term; any
    /// other answer tells the follower to fail the read (our term brings a stale one up to date).
    pub(crate) fn on_read_index_request(
        &mut self,
        from: NodeId,
        msg: ReadIndexRequest,
        out: &mut Ready,
    ) {
        let origin = Origin::Forwarded { from, id: msg.id };
        if msg.term == self.term && self.role() == Role::Leader {
            self.heard_from(from);
            return self.register_read(origin, out);
        }
        let reason = ReadFailure::NotLeader {
            leader: self.leader(),
        };
        self.answer(origin, Err(reason), out);
    }

    /// The leader answered a forwarded read: keep the index, or fail the read. Answers of an
    /// older term are ignored: `fail_unanswered_forwards` already failed their reads.
    pub(crate) fn on_read_index_response(
        &mut self,
        from: NodeId,
        msg: ReadIndexResponse,
        out: &mut Ready,
    ) {
        if msg.term < self.term {
            let term = self.term;
            return out.note(format_args!(
                "ignored {msg} from {from}: stale term {} < {term} (§5.1)",
                msg.term
            ));
        }
        let waiting =
            (self.forwarded.queue.iter()).position(|r| r.request == msg.id && r.index.is_none());
        let Some(k) = waiting else {
            return out.note(format_args!(
                "ignored {msg} from {from}: no read waits on it (a duplicate, or the read already failed)"
            ));
        };
        match msg.outcome {
            Ok(index) => self.forwarded.queue[k].index = Some(index),
            Err(reason) => {
                let id = self.forwarded.queue[k].id;
                self.forwarded.queue.remove(k);
                out.outputs.push(Output::ReadFailed { id, reason });
            }
        }
        self.release_forwarded_reads(out);
    }

    /// Called after every commit: a leader's first commit of its term gives queued reads their
    /// index; any node may now have delivered far enough for forwarded reads.
    pub(crate) fn on_commit_advanced(&mut self, out: &mut Ready) {
        let commit = self.has_current_term_commit().then_some(self.commit_index);
        if let (Some(l), Some(commit)) = (self.role.leader_mut(), commit) {
            l.reads.set_index(commit);
            self.release_leader_reads(out);
        }
        self.release_forwarded_reads(out);
    }

    /// Answer, oldest first, every queued read whose index is known and whose round a quorum
    /// confirmed. Bounded by the queue's length.
    pub(crate) fn release_leader_reads(&mut self, out: &mut Ready) {
        while let Some(l) = self.role.leader_mut() {
            let Some((origin, index)) = l.reads.pop_confirmed(l.rounds.confirmed) else {
                break;
            };
            self.answer(origin, Ok(index), out);
        }
    }

    fn release_forwarded_reads(&mut self, out: &mut Ready) {
        let delivered = self.delivered_index;
        self.forwarded.queue.retain(|r| match r.index {
            Some(index) if index <= delivered => {
                out.outputs.push(Output::ReadReady { id: r.id, index });
                false
            }
            _ => true,
        });
    }

    /// Leadership lost: none of the reads it was confirming can be confirmed any more.
    pub(crate) fn fail_leader_reads(&self, reads: LeaderReads, out: &mut Ready) {
        let reason = ReadFailure::NotLeader {
            leader: self.leader(),
        };
        for r in reads.queue {
            self.answer(r.origin, Err(reason), out);
        }
    }

    /// The term moved on: answers to forwarded requests of the old term would be dropped, so
    /// those reads fail now. Reads that already hold an index stay valid and keep waiting.
    pub(crate) fn fail_unanswered_forwards(&mut self, out: &mut Ready) {
        let reason = ReadFailure::NotLeader {
            leader: self.leader(),
        };
        self.forwarded.queue.retain(|r| {
            if r.index.is_some() {
                return true;
            }
            out.outputs.push(Output::ReadFailed { id: r.id, reason });
            false
        });
    }

    /// Every tick: fail reads that waited `election_timeout_ticks_max` ticks (a lost request
    /// or answer, a partition). Bounded by the queues' lengths.
    pub(crate) fn expire_reads(&mut self, out: &mut Ready) {
        let (now, limit) = (self.ticks, self.config.election_timeout_ticks_max);
        while let Some(l) = self.role.leader_mut() {
            let Some((origin, ticks)) = l.reads.pop_expired(now, limit) else {
                break;
            };
            self.answer(origin, Err(ReadFailure::TimedOut { ticks }), out);
        }
        self.forwarded.queue.retain(|r| {
            let ticks = now.saturating_sub(r.arrived_at);
            if ticks < limit {
                return true;
            }
            let reason = ReadFailure::TimedOut { ticks };
            out.outputs.push(Output::ReadFailed { id: r.id, reason });
            false
        });
    }
}
