//! The learner: knowing what is chosen, delivering it in slot order, catching up on gaps, and
//! snapshots ("Paxos Made Simple" §2.3 "Learning a Chosen Value", §3 gaps; log truncation is
//! the host's, as in Raft §7).
//!
//! ```text
//!   Commit{ballot=b through=t} (or Accept{.. commit=t}) from the leader:
//!     for each held pvalue (b', v) in slots chosen_through+1..=t: b' = b ⟹ v is chosen
//!     still a gap below t ──► CatchUp{from=chosen_through+1} to the leader (on Commit only)
//!   CatchUp{from=s} at any node:  s inside its snapshot ──► InstallSnapshot{slot data}
//!                                 else ──► Chosen{values s.. (≤ catch_up_batch_max, consecutive)}
//!   chosen_through+1 known ──► Output::Committed, in slot order, each slot once
//!   Input::Snapshot{slot data} (slot ≤ chosen_through) ──► Write::Snapshot: drop ..=slot
//!   InstallSnapshot{slot data} (slot > chosen_through) ──► Write::Snapshot, RestoreSnapshot
//! ```
//!
//! Why a pvalue of the commit's ballot is the chosen value: the leader proposes one value per
//! slot per ballot, and says "chosen through t" only for slots it saw chosen (its own quorum,
//! or a value it learned that matched its own proposal, see `on_chosen`); a pvalue of another
//! ballot may be a value that lost, so the learner asks instead of guessing.
//!
//! Invariants (asserted): `chosen_through` only grows; each slot is output once per
//! incarnation, in order; a snapshot only moves forward and covers only delivered slots.

use bytes::Bytes;
use distributed_core::NodeId;

use crate::ballot::{Ballot, PValue, Slot};
use crate::message::{CatchUp, Chosen, InstallSnapshot};
use crate::node::Paxos;
use crate::ready::{Output, Ready, Snapshot, Write};
use crate::role::RoleState;

impl Paxos {
    /// A commit notice from the leader of `ballot` (see the module docs); `ask` sends a
    /// CatchUp for a remaining gap (only for a Commit: one per heartbeat is enough).
    pub(crate) fn learn_commit(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        through: Slot,
        ask: bool,
        out: &mut Ready,
    ) {
        if through <= self.chosen_through {
            return;
        }
        let vouched: Vec<PValue> = self
            .log
            .range(self.chosen_through + 1..=through)
            .filter(|(_, pv)| pv.ballot == ballot)
            .map(|(_, pv)| pv.clone())
            .collect();
        for pv in vouched {
            self.learn(pv, out);
        }
        self.deliver(out);
        if ask && self.chosen_through < through {
            let from_slot = self.chosen_through + 1;
            self.counters.catch_ups_sent += 1;
            out.send(self.id(), from, CatchUp { from_slot }.into());
        }
    }

    /// Record `pv` as chosen. A different value already known for the slot is a safety
    /// violation (only a broken variant causes one): kept out, with a note, for the
    /// simulator's agreement check to report.
    pub(crate) fn learn(&mut self, pv: PValue, out: &mut Ready) {
        if pv.slot <= self.chosen_through {
            return;
        }
        match self.chosen.get(&pv.slot) {
            Some(had) if had.value != pv.value => out.note(format_args!(
                "learned {pv} but {had} was chosen: agreement broken (a broken variant?)"
            )),
            Some(_) => {}
            None => {
                self.chosen.insert(pv.slot, pv);
            }
        }
    }

    /// Output every newly contiguous chosen slot, in order; then answer reads that waited.
    pub(crate) fn deliver(&mut self, out: &mut Ready) {
        while let Some(pv) = self.chosen.get(&(self.chosen_through + 1)) {
            assert_eq!(pv.slot, self.chosen_through + 1, "Committed in slot order");
            self.chosen_through = pv.slot;
            // A leader may hold a slot open that it learned chosen some other way (a commit
            // notice, a catch-up, or a slot it re-proposed on taking office though it knew
            // the value): delivered means closed, or a snapshot would cover an open slot.
            if let Some(leader) = self.role.leader_mut() {
                leader.proposals.remove(&pv.slot);
            }
            out.outputs.push(Output::Committed {
                slot: pv.slot,
                ballot: pv.ballot,
                value: pv.value.clone(),
            });
        }
        self.release_reads(out);
    }

    /// Any node answers a CatchUp with what it knows: chosen values from `from_slot`, or its
    /// snapshot if it dropped them.
    pub(crate) fn on_catch_up(&mut self, from: NodeId, msg: CatchUp, out: &mut Ready) {
        let me = self.config.id;
        if msg.from_slot <= self.snapshot_slot() {
            let s = self
                .snapshot
                .as_ref()
                .expect("a snapshot slot above 0 has a snapshot");
            let reply = InstallSnapshot {
                ballot: self.promised,
                slot: s.slot,
                data: s.data.clone(),
            };
            return out.send(me, from, reply.into());
        }
        let mut values = Vec::new();
        for (&slot, pv) in self.chosen.range(msg.from_slot..) {
            let next = msg.from_slot + values.len() as Slot;
            if slot != next || values.len() >= self.config.catch_up_batch_max {
                break;
            }
            values.push(pv.clone());
        }
        if values.is_empty() {
            return out.note(format_args!(
                "ignored {msg} from {from}: knows no chosen value in slot {}",
                msg.from_slot
            ));
        }
        out.send(me, from, Chosen { values }.into());
    }

    /// Chosen values from a node that knew them. A leader that learns a value other than
    /// the one it proposed in that slot is stale (a higher ballot chose it): it steps down, so
    /// its commit notices never vouch for its own losing pvalue.
    pub(crate) fn on_chosen(&mut self, from: NodeId, msg: Chosen, out: &mut Ready) {
        if msg.values.len() > self.config.catch_up_batch_max {
            let max = self.config.catch_up_batch_max;
            return out.note(format_args!(
                "ignored {msg} from {from}: over catch_up_batch_max={max}"
            ));
        }
        for pv in msg.values {
            let open = match &self.role {
                RoleState::Leader(l) => l.proposals.get(&pv.slot).map(|p| p.value == pv.value),
                _ => None,
            };
            match (open, self.role.leader_mut()) {
                (Some(false), _) => self.step_down(None, out),
                (Some(true), Some(leader)) => {
                    leader.proposals.remove(&pv.slot);
                }
                _ => {}
            }
            self.learn(pv, out);
        }
        self.deliver(out);
    }

    /// Another node's snapshot, because this node asked for slots it already dropped.
    pub(crate) fn on_install_snapshot(
        &mut self,
        from: NodeId,
        msg: InstallSnapshot,
        out: &mut Ready,
    ) {
        if msg.slot <= self.chosen_through {
            let through = self.chosen_through;
            return out.note(format_args!(
                "ignored {msg} from {from}: already chosen through {through}"
            ));
        }
        // A leader cannot check a snapshot against its own open proposals: it is stale.
        let covers_open = self
            .role
            .leader_mut()
            .is_some_and(|l| l.proposals.range(..=msg.slot).next().is_some());
        if covers_open {
            self.step_down(None, out);
        }
        let snapshot = Snapshot {
            slot: msg.slot,
            data: msg.data,
        };
        self.install(snapshot.clone(), out);
        self.chosen_through = snapshot.slot;
        self.counters.snapshots_installed += 1;
        if let Some(leader) = self.role.leader_mut() {
            leader.next_slot = leader.next_slot.max(snapshot.slot + 1);
        }
        out.outputs.push(Output::RestoreSnapshot {
            slot: snapshot.slot,
            data: snapshot.data,
        });
        self.deliver(out);
    }

    /// The host saved its state machine through `slot`: drop what it covers.
    pub(crate) fn take_snapshot(&mut self, slot: Slot, data: Bytes, out: &mut Ready) {
        let (current, through) = (self.snapshot_slot(), self.chosen_through);
        if slot <= current || slot > through {
            return out.note(format_args!(
                "ignored Snapshot{{slot={slot}}}: must lie in {}..={through} (above the \
                 snapshot, at or below the last Committed)",
                current + 1
            ));
        }
        self.install(Snapshot { slot, data }, out);
    }

    /// Persist `snapshot` and drop every pvalue and chosen value it covers.
    fn install(&mut self, snapshot: Snapshot, out: &mut Ready) {
        assert!(
            snapshot.slot > self.snapshot_slot(),
            "a snapshot only moves forward"
        );
        let keep_from = snapshot.slot + 1;
        self.log = self.log.split_off(&keep_from);
        self.chosen = self.chosen.split_off(&keep_from);
        out.writes.push(Write::Snapshot(snapshot.clone()));
        self.snapshot = Some(snapshot);
        if let RoleState::Leader(l) = &mut self.role {
            assert!(
                l.proposals.range(..keep_from).next().is_none(),
                "a leader never snapshots over its open slots"
            );
        }
    }
}
