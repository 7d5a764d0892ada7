//! The leader: phase 2 for every slot ("Paxos Made Simple" §2.2 phase 2, §3; PMMC §3
//! "Leader" once adopted, "Commander" per slot).
//!
//! ```text
//!   adopted (candidate.rs) ──► for s in start..=top: Accept{b s adopted value | noop}
//!   Input::Propose(cmd) ──► open slots ≥ open_slots_max? Output::Busy
//!                       └─► slot = next_slot++: accept it here (persist), Accept{b slot cmd
//!                           commit=chosen_through} to every other node, Output::Accepted
//!   Accepted{b slot} from a phase-2 quorum (this node included) ──► chosen: deliver in order
//!   every heartbeat_ticks: Commit{b through=chosen_through} to all, and the Accept again to
//!                          every acceptor that has not acknowledged an open slot
//!   Nack or a higher ballot anywhere ──► step down (node.rs)
//! ```
//!
//! Invariants (asserted): the leader's ballot is its promise; it proposes one value per slot
//! per ballot; it counts an acceptor once per slot.

use std::collections::BTreeSet;

use bytes::Bytes;
use distributed_core::NodeId;

use crate::ballot::{PValue, Slot, Value};
use crate::config::Variant;
use crate::message::{Accept, Accepted, CatchUp, Commit};
use crate::node::Paxos;
use crate::read::LeaderReads;
use crate::ready::{Output, Ready};
use crate::role::{Leader, Phase1, Proposal, RoleState};

/// Most slots a new leader re-proposes at once. Honest acceptors report at most what earlier
/// leaders proposed, far below this; a larger span means a corrupt report, and the node
/// refuses to lead on it rather than loop for ever.
const ADOPT_SLOTS_MAX: u64 = 1 << 20;

impl Paxos {
    /// Phase 1 is complete: lead with `p.ballot`, re-proposing every slot the promises named.
    pub(crate) fn become_leader(&mut self, p: Phase1, out: &mut Ready) {
        let me = self.config.id;
        let (snapshot_max, holder) = p.snapshot_max;
        // Propose only above what is known chosen: the promisers' snapshots, and this node's
        // own chosen_through, which a snapshot installed during phase 1 may have moved past
        // `from_slot`.
        let start = p
            .from_slot
            .max(snapshot_max + 1)
            .max(self.chosen_through + 1);
        let reported = p.adopted.keys().next_back().copied().unwrap_or(0);
        let known = self.chosen.keys().next_back().copied().unwrap_or(0);
        let top = reported.max(known).max(start - 1);
        if top - (start - 1) > ADOPT_SLOTS_MAX {
            return out.note(format_args!(
                "refused to lead at {}: promises name slots {start}..={top}, over {ADOPT_SLOTS_MAX}",
                p.ballot
            ));
        }
        self.counters.leader_changes += 1;
        self.leader_hint = Some(me);
        self.role = RoleState::Leader(Leader {
            ballot: p.ballot,
            proposals: Default::default(),
            next_slot: top + 1,
            heartbeat_elapsed: 0,
            // Slots in a promiser's snapshot are chosen: learn them, never propose in them.
            catch_up: (snapshot_max > self.chosen_through).then_some((snapshot_max, holder)),
            catch_up_attempts: 0,
            reads: LeaderReads::default(),
        });
        self.leader_catch_up(out);
        for slot in start..=top {
            let value = match self.chosen.get(&slot) {
                Some(pv) => pv.value.clone(),
                None if self.config.variant == Variant::AcceptOwnValue => Value::Noop,
                None => p
                    .adopted
                    .get(&slot)
                    .map_or(Value::Noop, |pv| pv.value.clone()),
            };
            self.propose_slot(slot, value, out);
        }
        self.broadcast_commit(out);
    }

    /// A client's command: place it in the next slot, if this node leads and has room.
    pub(crate) fn propose(&mut self, data: Bytes, out: &mut Ready) {
        let open_slots_max = self.config.open_slots_max;
        let Some(leader) = self.role.leader_mut() else {
            let leader = self.leader_hint;
            return out.outputs.push(Output::NotLeader { leader });
        };
        if leader.proposals.len() >= open_slots_max {
            return out.outputs.push(Output::Busy { open_slots_max });
        }
        let (slot, ballot) = (leader.next_slot, leader.ballot);
        leader.next_slot += 1;
        self.propose_slot(slot, Value::Command(data), out);
        out.outputs.push(Output::Accepted { slot, ballot });
    }

    /// Phase 2a for one slot: accept it here (persisted first), then ask every other node.
    fn propose_slot(&mut self, slot: Slot, value: Value, out: &mut Ready) {
        let me = self.config.id;
        let ballot = self.role.ballot().expect("only a leader proposes");
        assert_eq!(ballot, self.promised, "a leader's ballot is its promise");
        self.accept(
            PValue {
                slot,
                ballot,
                value: value.clone(),
            },
            out,
        );
        let commit = self.chosen_through;
        for &to in self.config.nodes.iter().filter(|&&n| n != me) {
            let accept = Accept {
                ballot,
                slot,
                value: value.clone(),
                commit,
            };
            out.send(me, to, accept.into());
        }
        let leader = self.role.leader_mut().expect("only a leader proposes");
        let (acks, sent_at) = (BTreeSet::from([me]), self.ticks);
        let fresh = leader.proposals.insert(
            slot,
            Proposal {
                value,
                acks,
                sent_at,
            },
        );
        assert!(
            fresh.is_none(),
            "one value per slot per ballot: slot {slot}"
        );
        self.maybe_chosen(slot, out);
    }

    /// Phase 2b arrives: count it; a phase-2 quorum chooses the slot's value.
    pub(crate) fn on_accepted(&mut self, from: NodeId, msg: Accepted, out: &mut Ready) {
        let Some(leader) = self.role.leader_mut() else {
            return out.note(format_args!("ignored {msg} from {from}: not leader"));
        };
        if leader.ballot != msg.ballot {
            let mine = leader.ballot;
            return out.note(format_args!("ignored {msg} from {from}: leading at {mine}"));
        }
        let Some(proposal) = leader.proposals.get_mut(&msg.slot) else {
            return out.note(format_args!(
                "ignored {msg} from {from}: slot not open (chosen already)"
            ));
        };
        proposal.acks.insert(from);
        self.maybe_chosen(msg.slot, out);
    }

    /// If `slot` has a phase-2 quorum of acknowledgements, it is chosen: close and deliver it.
    fn maybe_chosen(&mut self, slot: Slot, out: &mut Ready) {
        let quorum = self.config.phase2_quorum;
        let Some(leader) = self.role.leader_mut() else {
            return;
        };
        let ballot = leader.ballot;
        if leader
            .proposals
            .get(&slot)
            .is_none_or(|p| p.acks.len() < quorum)
        {
            return;
        }
        let proposal = leader.proposals.remove(&slot).expect("checked just above");
        let value = proposal.value;
        self.learn(
            PValue {
                slot,
                ballot,
                value,
            },
            out,
        );
        self.deliver(out);
    }

    /// Every heartbeat: a commit notice to all, and each open slot again to whoever has not
    /// acknowledged it (lost Accepts are retried here, not by the host).
    pub(crate) fn tick_leader(&mut self, out: &mut Ready) {
        let (heartbeat, window) = (self.config.heartbeat_ticks, self.config.open_slots_max);
        let Some(leader) = self.role.leader_mut() else {
            return;
        };
        leader.heartbeat_elapsed += 1;
        if leader.heartbeat_elapsed < heartbeat {
            return;
        }
        leader.heartbeat_elapsed = 0;
        let (me, ballot, commit) = (self.config.id, leader.ballot, self.chosen_through);
        let now = self.ticks;
        let stale = leader.proposals.iter_mut();
        let stale = stale.filter(|(_, p)| now - p.sent_at >= heartbeat);
        for (&slot, p) in stale.take(window) {
            p.sent_at = now;
            for &to in self.config.nodes.iter().filter(|n| !p.acks.contains(n)) {
                let value = p.value.clone();
                let accept = Accept {
                    ballot,
                    slot,
                    value,
                    commit,
                };
                out.send(me, to, accept.into());
            }
        }
        self.broadcast_commit(out);
        self.leader_catch_up(out);
    }

    /// While slots the leader must learn (`Leader::catch_up`) are missing, ask for them: the
    /// holder first, then every other node in turn, one request per heartbeat.
    fn leader_catch_up(&mut self, out: &mut Ready) {
        let (me, through) = (self.config.id, self.chosen_through);
        let others: Vec<NodeId> = self
            .config
            .nodes
            .iter()
            .copied()
            .filter(|&n| n != me)
            .collect();
        let Some(leader) = self.role.leader_mut() else {
            return;
        };
        let Some((slot, holder)) = leader.catch_up else {
            return;
        };
        if through >= slot {
            leader.catch_up = None;
            return;
        }
        if others.is_empty() {
            return; // a single node has nobody to learn from (and never needs to)
        }
        let attempt = leader.catch_up_attempts;
        leader.catch_up_attempts += 1;
        let to = match attempt {
            0 => holder,
            k => others[(k as usize) % others.len()],
        };
        self.counters.catch_ups_sent += 1;
        out.send(
            me,
            to,
            CatchUp {
                from_slot: through + 1,
            }
            .into(),
        );
    }

    /// `Commit{ballot through=chosen_through}` to every other node.
    fn broadcast_commit(&mut self, out: &mut Ready) {
        let me = self.config.id;
        let Some(ballot) = self.role.ballot() else {
            return;
        };
        let through_slot = self.chosen_through;
        for &to in self.config.nodes.iter().filter(|&&n| n != me) {
            let commit = Commit {
                ballot,
                through_slot,
            };
            out.send(me, to, commit.into());
        }
    }
}
