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

use std::collections::VecDeque;

use distributed_core::{NodeId, Tick};

use crate::log::Index;
use crate::message::{ReadIndexRequest, ReadIndexResponse, Round};
use crate::node::{Raft, Role};
use crate::ready::{Output, ReadFailure, Ready};

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

/// Every read waiting on one node.
#[derive(Clone, Debug, Default)]
pub(crate) struct Reads {
    /// Leader only: reads being confirmed, in arrival order.
    confirming: VecDeque<LeaderRead>,
    /// Any role: reads sent to the leader, waiting for its index, then for the local commit.
    forwarded: VecDeque<ForwardedRead>,
    /// The next ReadIndexRequest number. Never reused within an incarnation, and each
    /// incarnation starts at a random 63-bit point (`Raft::new`): a leader's answer to the
    /// previous incarnation's request can arrive after a restart, in the same term, and if
    /// numbers restarted at 0 it would hand a new read that old, stale index (the simulator
    /// found this: a duplicated ReadIndexResponse delivered after the follower restarted).
    next_request: u64,
}

impl Reads {
    /// No read waiting; forwarded reads numbered from `first_request` (see `next_request`).
    pub(crate) fn starting_at(first_request: u64) -> Reads {
        Reads {
            next_request: first_request,
            ..Reads::default()
        }
    }

    /// How many reads wait here.
    pub(crate) fn len(&self) -> usize {
        self.confirming.len() + self.forwarded.len()
    }

    /// True if a queued read needs a round later than `current`, i.e. one not yet sent.
    pub(crate) fn wait_for_round_after(&self, current: Round) -> bool {
        self.confirming.back().is_some_and(|r| r.round > current)
    }

    /// The followers whose forwarded reads wait for `round`, each once, in queue order. The
    /// reads waiting for the next round are the queue's tail, so the scan stops at the first
    /// older one; at most `pending_reads_max` reads are looked at.
    pub(crate) fn forwarders_waiting_for(&self, round: Round) -> Vec<NodeId> {
        let mut from = Vec::new();
        for r in self.confirming.iter().rev() {
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
}

impl Raft {
    /// `Input::Read`: confirm it here if leading, forward it if a leader is known, else refuse.
    pub(crate) fn read(&mut self, id: u64, out: &mut Ready) {
        match (self.role, self.leader) {
            (Role::Leader, _) => self.register_read(Origin::Local { id }, out),
            (Role::Follower, Some(leader)) => self.forward_read(id, leader, out),
            _ => {
                let reason = ReadFailure::NotLeader {
                    leader: self.leader,
                };
                out.outputs.push(Output::ReadFailed { id, reason });
            }
        }
    }

    fn forward_read(&mut self, id: u64, leader: NodeId, out: &mut Ready) {
        let max = self.config.pending_reads_max;
        if self.reads.forwarded.len() >= max {
            let reason = ReadFailure::Busy {
                pending_reads_max: max,
            };
            out.outputs.push(Output::ReadFailed { id, reason });
            return;
        }
        let request = self.reads.next_request;
        self.reads.next_request += 1; // starts below 2^63: no overflow in 2^63 reads
        self.reads.forwarded.push_back(ForwardedRead {
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
        let max = self.config.pending_reads_max;
        if self.reads.confirming.len() >= max {
            let busy = ReadFailure::Busy {
                pending_reads_max: max,
            };
            return self.answer(origin, Err(busy), out);
        }
        self.reads.confirming.push_back(LeaderRead {
            origin,
            index,
            round: self.rounds.current + 1,
            arrived_at: self.ticks,
        });
        if !self.rounds.in_flight() {
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
        if msg.term == self.term && self.role == Role::Leader {
            self.heard_from(from);
            return self.register_read(origin, out);
        }
        let reason = ReadFailure::NotLeader {
            leader: self.leader,
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
            (self.reads.forwarded.iter()).position(|r| r.request == msg.id && r.index.is_none());
        let Some(k) = waiting else {
            return out.note(format_args!(
                "ignored {msg} from {from}: no read waits on it (a duplicate, or the read already failed)"
            ));
        };
        match msg.outcome {
            Ok(index) => self.reads.forwarded[k].index = Some(index),
            Err(reason) => {
                let id = self.reads.forwarded[k].id;
                self.reads.forwarded.remove(k);
                out.outputs.push(Output::ReadFailed { id, reason });
            }
        }
        self.release_forwarded_reads(out);
    }

    /// Called after every commit: a leader's first commit of its term gives queued reads their
    /// index; any node may now have delivered far enough for forwarded reads.
    pub(crate) fn on_commit_advanced(&mut self, out: &mut Ready) {
        if self.role == Role::Leader && self.has_current_term_commit() {
            let commit = self.commit_index;
            for r in self
                .reads
                .confirming
                .iter_mut()
                .take_while(|r| r.index.is_none())
            {
                r.index = Some(commit);
            }
            self.release_leader_reads(out);
        }
        self.release_forwarded_reads(out);
    }

    /// Answer, oldest first, every queued read whose index is known and whose round a quorum
    /// confirmed. Rounds ascend along the queue, so the first one not ready stops the scan.
    pub(crate) fn release_leader_reads(&mut self, out: &mut Ready) {
        while let Some(front) = self.reads.confirming.front() {
            let Some(index) = front.index else { break };
            if front.round > self.rounds.confirmed {
                break;
            }
            let origin = front.origin;
            self.reads.confirming.pop_front();
            self.answer(origin, Ok(index), out);
        }
    }

    fn release_forwarded_reads(&mut self, out: &mut Ready) {
        let delivered = self.delivered_index;
        self.reads.forwarded.retain(|r| match r.index {
            Some(index) if index <= delivered => {
                out.outputs.push(Output::ReadReady { id: r.id, index });
                false
            }
            _ => true,
        });
    }

    /// Leadership lost: no queued read can be confirmed any more.
    pub(crate) fn fail_leader_reads(&mut self, out: &mut Ready) {
        let reason = ReadFailure::NotLeader {
            leader: self.leader,
        };
        for r in std::mem::take(&mut self.reads.confirming) {
            self.answer(r.origin, Err(reason), out);
        }
    }

    /// The term moved on: answers to forwarded requests of the old term would be dropped, so
    /// those reads fail now. Reads that already hold an index stay valid and keep waiting.
    pub(crate) fn fail_unanswered_forwards(&mut self, out: &mut Ready) {
        let reason = ReadFailure::NotLeader {
            leader: self.leader,
        };
        self.reads.forwarded.retain(|r| {
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
        let waited = |at: Tick| now.saturating_sub(at);
        while let Some(front) = self.reads.confirming.front() {
            if waited(front.arrived_at) < limit {
                break; // arrival order: the rest are younger
            }
            let (origin, ticks) = (front.origin, waited(front.arrived_at));
            self.reads.confirming.pop_front();
            self.answer(origin, Err(ReadFailure::TimedOut { ticks }), out);
        }
        self.reads.forwarded.retain(|r| {
            let ticks = waited(r.arrived_at);
            if ticks < limit {
                return true;
            }
            let reason = ReadFailure::TimedOut { ticks };
            out.outputs.push(Output::ReadFailed { id: r.id, reason });
            false
        });
    }
}
