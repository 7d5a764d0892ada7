//! Linearizable reads without a log slot: the read round.
//!
//! ```text
//!   Input::Read{id} at the leader of ballot b:
//!     pending ≥ pending_reads_max ──► ReadFailed{Busy}
//!     read slot = the highest slot proposed so far (adopted ones included)
//!     round r = last round + 1 ── Confirm{ballot=b round=r} ──► every other node
//!                              ◄─ Confirmed{ballot=b round=r} ─ promised ≤ b
//!                              ◄─ Nack{..} ──────────────────── promised > b: step down
//!     read_quorum acks of rounds ≥ r (this node included) and chosen_through ≥ slot
//!       ──► ReadReady{id slot}
//!   not leader ──► ReadFailed{NotLeader}; stepped down ──► every waiting read ReadFailed
//!   waiting leader_timeout_ticks_max ticks ──► ReadFailed{TimedOut}
//! ```
//!
//! Why it is linearizable. The read slot covers every write completed before the read arrived
//! that this leader knows of: its own chosen slots, and every value it adopted in phase 1
//! (which includes everything chosen before its ballot, by the intersection of Q1 with every
//! earlier Q2). What remains is a write completed by a *newer* leader, of ballot b' > b. That
//! leader first ran phase 1 (a phase-1 quorum promised b'), then had the write accepted by a
//! phase-2 quorum (which promised b' too). The acknowledgements of round r were given after the
//! read arrived by acceptors that had promised nothing above b. So the round proves no such
//! write completed, if the acknowledging set meets every phase-1 quorum (`> n − q1` nodes) or
//! every phase-2 quorum (`> n − q2` nodes). The cheaper of the two is the larger quorum's
//! complement: `read_quorum = n − max(q1, q2) + 1`. Hence the question "phase-1 or phase-2
//! quorum?" has the answer "either is enough, and the minimum is smaller than both":
//!   - a phase-2 quorum always works: q2 > n − q1, so it meets every phase-1 quorum. This is
//!     the intuition "I can still get my writes accepted, so nobody ran phase 1 past me".
//!   - a phase-1 quorum always works too: it meets every phase-2 quorum a newer write needed.
//!   - with the usual Flexible Paxos tuning (q1 large, q2 small) the round needs only
//!     n − q1 + 1 nodes, e.g. 2 of 5 with q1 = 4, q2 = 2; with majorities it is a majority.
//!
//! Assumption: none about clocks. Unlike a lease, a round costs a message exchange per read;
//! the road not taken is a leader lease, which would answer at once but is safe only while
//! tick rates differ by less than a bound nobody here can check.
//!
//! Invariants: every read gets exactly one answer unless the node crashes; ReadReady never
//! names a slot above `chosen_through`; at most `pending_reads_max` reads wait.

use std::collections::{BTreeMap, VecDeque};

use distributed_core::{NodeId, Tick};

use crate::ballot::Slot;
use crate::message::{Confirm, Confirmed};
use crate::node::Paxos;
use crate::ready::{Output, ReadFailure, Ready};
use crate::role::RoleState;

/// One read waiting at the leader.
#[derive(Clone, Copy, Debug)]
struct PendingRead {
    /// The host's id for it.
    id: u64,
    /// The read slot: the leader's highest proposed slot when the read arrived.
    slot: Slot,
    /// The round sent after the read arrived; its confirmation proves leadership.
    round: u64,
    /// The leader's tick at arrival, for the timeout.
    arrived_at: Tick,
}

/// The leader's reads, in arrival order (so rounds and slots ascend), and the rounds acked.
#[derive(Clone, Debug, Default)]
pub(crate) struct LeaderReads {
    /// Reads waiting, oldest first.
    queue: VecDeque<PendingRead>,
    /// The last round sent.
    round: u64,
    /// Per other node, the highest round it confirmed.
    acked: BTreeMap<NodeId, u64>,
}

impl LeaderReads {
    /// How many reads wait.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// The highest round confirmed by `quorum` nodes, this one included (which confirms
    /// every round it sends).
    fn confirmed_round(&self, quorum: usize) -> u64 {
        if quorum <= 1 {
            return self.round;
        }
        let mut rounds: Vec<u64> = self.acked.values().copied().collect();
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        rounds.get(quorum - 2).copied().unwrap_or(0)
    }
}

impl Paxos {
    /// `Input::Read`: queue it at the leader behind a new round, or fail it.
    pub(crate) fn read(&mut self, id: u64, out: &mut Ready) {
        let (me, pending_max, ticks) = (self.config.id, self.config.pending_reads_max, self.ticks);
        let hint = self.leader_hint;
        let RoleState::Leader(leader) = &mut self.role else {
            let reason = ReadFailure::NotLeader { leader: hint };
            return out.outputs.push(Output::ReadFailed { id, reason });
        };
        if leader.reads.len() >= pending_max {
            let reason = ReadFailure::Busy {
                pending_reads_max: pending_max,
            };
            return out.outputs.push(Output::ReadFailed { id, reason });
        }
        leader.reads.round += 1;
        let (round, ballot) = (leader.reads.round, leader.ballot);
        let slot = leader.next_slot - 1;
        leader.reads.queue.push_back(PendingRead {
            id,
            slot,
            round,
            arrived_at: ticks,
        });
        for &to in self.config.nodes.iter().filter(|&&n| n != me) {
            out.send(me, to, Confirm { ballot, round }.into());
        }
        self.release_reads(out);
    }

    /// A read round: confirm unless a higher ballot was promised (then Nack, deposing it).
    pub(crate) fn on_confirm(&mut self, from: NodeId, msg: Confirm, out: &mut Ready) {
        let Confirm { ballot, round } = msg;
        if self.hear_leader(from, ballot, out) {
            out.send(self.id(), from, Confirmed { ballot, round }.into());
        }
    }

    /// An acknowledgement of a read round.
    pub(crate) fn on_confirmed(&mut self, from: NodeId, msg: Confirmed, out: &mut Ready) {
        let Some(leader) = self.role.leader_mut() else {
            return out.note(format_args!("ignored {msg} from {from}: not leader"));
        };
        if leader.ballot != msg.ballot {
            let mine = leader.ballot;
            return out.note(format_args!("ignored {msg} from {from}: leading at {mine}"));
        }
        let acked = leader.reads.acked.entry(from).or_insert(0);
        *acked = (*acked).max(msg.round);
        self.release_reads(out);
    }

    /// Answer every read whose round is confirmed and whose slot is delivered, oldest first.
    pub(crate) fn release_reads(&mut self, out: &mut Ready) {
        let (quorum, through) = (self.config.read_quorum(), self.chosen_through);
        let RoleState::Leader(leader) = &mut self.role else {
            return;
        };
        let confirmed = leader.reads.confirmed_round(quorum);
        while let Some(r) = leader.reads.queue.front() {
            if r.round > confirmed || r.slot > through {
                break;
            }
            let (id, slot) = (r.id, r.slot);
            leader.reads.queue.pop_front();
            out.outputs.push(Output::ReadReady { id, slot });
        }
    }

    /// Fail reads that waited `leader_timeout_ticks_max` ticks: by then a healthy cluster has
    /// answered many rounds.
    pub(crate) fn expire_reads(&mut self, out: &mut Ready) {
        let (now, limit) = (self.ticks, self.config.leader_timeout_ticks_max);
        let RoleState::Leader(leader) = &mut self.role else {
            return;
        };
        while let Some(r) = leader.reads.queue.front() {
            let ticks = now - r.arrived_at;
            if ticks < limit {
                break;
            }
            let id = r.id;
            leader.reads.queue.pop_front();
            let reason = ReadFailure::TimedOut { ticks };
            out.outputs.push(Output::ReadFailed { id, reason });
        }
    }

    /// A leader stepped down: every read it held fails, pointing at the new leader if known.
    pub(crate) fn fail_reads(&self, reads: LeaderReads, out: &mut Ready) {
        let leader = self.leader_hint;
        for r in reads.queue {
            let reason = ReadFailure::NotLeader { leader };
            out.outputs.push(Output::ReadFailed { id: r.id, reason });
        }
    }
}
