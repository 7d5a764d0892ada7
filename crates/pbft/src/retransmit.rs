//! Retransmission (TOCS 2002 §5.2; Castro's thesis): what keeps PBFT live when the
//! network loses, duplicates and reorders messages. Every message here is one this replica
//! signed before (or, re-signed, the very same bytes: signatures are deterministic), so a
//! resend can never contradict anything; handlers are idempotent, so a copy, an honest
//! resend and a Byzantine replay of it are all the same message.
//!
//! ```text
//!   every retransmit_ticks (a round), a replica (a slot's messages from its second round)
//!     changing views ──► its ViewChange for `view` ──► every peer
//!     in a view      ──► for each slot of this view in the log, in seq order, to each peer
//!                        that has not answered it:
//!                          PrePrepare (primary)  unless the peer's Prepare or Commit is here
//!                          Prepare    (backup)   unless the peer's Prepare or Commit is here
//!                          Commit     (prepared) unless the peer's Commit is here
//!                    ──► its latest checkpoint not yet stable, to peers whose Checkpoint for
//!                        it is not here; its stable one, to peers not known to hold it
//!                    ──► (backup) each waiting request not yet pre-prepared ──► the primary
//!
//!   a copy of a PrePrepare, Prepare or Commit already held here ─► the sender resent it: it
//!     lacks ours ─► answer with our own messages for that slot, once per (peer, seq) a round
//!   primary(v), in v, gets a ViewChange for v ─► the sender missed the NewView: resend it
//!   f+1 peers' PrePrepare/Prepare/Commit carry views above ours ─► one honest replica is in
//!     a view this one missed: join it with a ViewChange (and get the NewView as above)
//! ```
//!
//! Bounded: at most `retransmits_per_round_max` messages a round, answers included; one
//! answer per (peer, seq) a round, so two replicas answering each other's copies stop after
//! one exchange (a copy of an answer finds the pair already answered); the primary keeps
//! one NewView, a replica one view per peer.
//!
//! The road not taken: the implementation's STATUS messages (a replica multicasts what it
//! has, and peers send what it lacks) would save the resends to peers that already have a
//! message but never answered; here a peer's own message is the only receipt there is, so
//! no new message type is needed and the adversary's model is unchanged.

use std::collections::BTreeSet;

use distributed_core::NodeId;

use crate::host::Ready;
use crate::message::{Checkpoint, Commit, Message, Prepare, Seq, View, ViewChange};
use crate::node::Pbft;

impl Pbft {
    /// Count a tick; every `retransmit_ticks`, run a retransmission round.
    pub(crate) fn tick_retransmit(&mut self, out: &mut Ready) {
        self.retransmit_timer += 1;
        if self.retransmit_timer < self.config.retransmit_ticks {
            return;
        }
        self.retransmit_timer = 0;
        self.retransmitted = 0;
        self.answered.clear();
        if self.changing {
            return self.resend_view_change(out);
        }
        self.resend_slots(out);
        self.resend_checkpoints(out);
        self.resend_requests(out);
    }

    /// Send `msg` to `to` if this round's budget allows; false once it is spent.
    fn resend(&mut self, to: NodeId, msg: Message, out: &mut Ready) -> bool {
        if self.retransmitted >= self.config.retransmits_per_round_max {
            return false;
        }
        self.retransmitted += 1;
        self.send(to, msg, out);
        true
    }

    /// The peers, in the replicas' order.
    fn peers(&self) -> Vec<NodeId> {
        let me = self.config.id;
        self.config
            .replicas
            .iter()
            .copied()
            .filter(|&r| r != me)
            .collect()
    }

    /// While changing views: the ViewChange for `view`, to every peer (the new primary needs
    /// it for its 2f+1, or answers it with the NewView it already sent).
    fn resend_view_change(&mut self, out: &mut Ready) {
        let me = self.config.id;
        let own = self.view_changes.get(&self.view).and_then(|by| by.get(&me));
        let Some(vc) = own.cloned() else {
            return;
        };
        for peer in self.peers() {
            if !self.resend(peer, vc.clone().into(), out) {
                return;
            }
        }
    }

    /// This replica's own messages for `seq` in the current view, each with whether `peer`
    /// has answered it: (PrePrepare or Prepare, answered by its Prepare or Commit), (Commit,
    /// answered by its Commit). Re-signing gives the bytes signed before (after a restart the
    /// volatile copies are gone): a backup prepared every pre-prepare it accepted in a view,
    /// and committed every certificate it formed.
    fn own_messages(&self, seq: Seq, peer: NodeId) -> Vec<(Message, bool)> {
        let (view, me) = (self.view, self.config.id);
        let Some(slot) = self.log.get(seq) else {
            return Vec::new();
        };
        let Some(pp) = slot.pre_prepare.as_ref().filter(|pp| pp.view == view) else {
            return Vec::new();
        };
        let matches = |v: View, d| v == view && d == pp.digest;
        let prepared = slot
            .prepares
            .get(&peer)
            .is_some_and(|p| matches(p.view, p.digest));
        let committed = slot
            .commits
            .get(&peer)
            .is_some_and(|c| matches(c.view, c.digest));
        let mut own = Vec::with_capacity(2);
        if pp.sig.signer == me {
            own.push((pp.clone().into(), prepared || committed));
        } else {
            let prepare = Prepare::new(view, seq, pp.digest, &self.signer);
            own.push((prepare.into(), prepared || committed));
        }
        if slot.prepared_in(view) {
            let commit = Commit::new(view, seq, pp.digest, &self.signer);
            own.push((commit.into(), committed));
        }
        own
    }

    /// Each slot of this view, in seq order: its own messages to the peers that have not
    /// answered them.
    fn resend_slots(&mut self, out: &mut Ready) {
        let view = self.view;
        let mut seqs: Vec<Seq> = Vec::new();
        for (&seq, slot) in self.log.iter_mut() {
            if slot.pre_prepare.as_ref().is_some_and(|pp| pp.view == view) {
                slot.rounds = slot.rounds.saturating_add(1);
                if slot.rounds > 1 {
                    seqs.push(seq); // in the log for a whole round: not merely in flight
                }
            }
        }
        for seq in seqs {
            for peer in self.peers() {
                for (msg, answered) in self.own_messages(seq, peer) {
                    if !answered && !self.resend(peer, msg, out) {
                        return;
                    }
                }
            }
        }
    }

    /// `from` sent a PrePrepare, Prepare or Commit for `seq` that this replica already holds:
    /// a copy, or a resend because it lacks ours. Answer with ours, once per (peer, seq) a
    /// round.
    pub(crate) fn answer_copy(&mut self, from: NodeId, seq: Seq, out: &mut Ready) {
        if self.changing || !self.answered.insert((from, seq)) {
            return;
        }
        for (msg, _) in self.own_messages(seq, from) {
            if !self.resend(from, msg, out) {
                return;
            }
        }
    }

    /// The latest own checkpoint not yet stable, to the peers whose Checkpoint for it is not
    /// here; and this replica's message in the stable checkpoint's proof, to the peers not
    /// known to hold it (one may be behind, and needs 2f+1 of them to fetch the state).
    fn resend_checkpoints(&mut self, out: &mut Ready) {
        let me = self.config.id;
        let pending = self.checkpoints.iter().rev().find_map(|(_, by)| {
            let own = by.get(&me)?.clone();
            Some((own, by.keys().copied().collect::<Vec<NodeId>>()))
        });
        let stable = self.stable.cert.proof.iter().find(|c| c.sig.signer == me);
        let stable = stable.map(|own| (own.clone(), self.stable_holders.clone()));
        let pending = pending.map(|(own, by)| (own, by.into_iter().collect()));
        for (own, holders) in [pending, stable].into_iter().flatten() {
            let (own, holders): (Checkpoint, BTreeSet<NodeId>) = (own, holders);
            for peer in self.peers() {
                if !holders.contains(&peer) && !self.resend(peer, own.clone().into(), out) {
                    return;
                }
            }
        }
    }

    /// A backup's waiting requests that no pre-prepare of this view carries yet, to the
    /// primary: a forwarded request that was lost would otherwise cost a view change.
    fn resend_requests(&mut self, out: &mut Ready) {
        if self.is_primary() {
            return;
        }
        let (view, primary) = (self.view, self.primary());
        let unordered: Vec<Message> = self
            .waiting
            .iter()
            .filter(|w| {
                !self.log.iter().any(|(_, slot)| {
                    let pp = slot.pre_prepare.as_ref();
                    pp.is_some_and(|pp| pp.view == view && pp.digest == w.digest)
                })
            })
            .map(|w| w.request.clone().into())
            .collect();
        for msg in unordered {
            if !self.resend(primary, msg, out) {
                return;
            }
        }
    }

    /// primary(v), in v, got `vc` for v: the sender has not installed v, so it lost the
    /// NewView. Resend it (a copy of what every backup checks in full).
    pub(crate) fn answer_view_change(&mut self, from: NodeId, vc: &ViewChange, out: &mut Ready) {
        let nv = self.new_view.as_ref().filter(|nv| nv.view == vc.new_view);
        match nv.cloned() {
            Some(nv) => {
                out.note(format_args!(
                    "{vc} from {from}: it missed the NewView, resent"
                ));
                self.resend(from, nv.into(), out);
            }
            None => {
                out.note(format_args!(
                    "ignored {vc} from {from}: for a view this replica is past"
                ));
                self.drop_msg();
            }
        }
    }

    /// `from` sent a normal-case message of `view`. If f+1 peers are in views above ours, at
    /// least one honest replica installed such a view: join the lowest view that f+1 of them
    /// reached (§4.5.2's rule, read from normal-case messages), and the new primary answers
    /// the ViewChange with its NewView. One Byzantine replica moves no one.
    pub(crate) fn see_view(&mut self, from: NodeId, view: View, out: &mut Ready) {
        let seen = self.views_seen.entry(from).or_default();
        *seen = (*seen).max(view);
        let mut ahead: Vec<View> = self
            .views_seen
            .values()
            .copied()
            .filter(|&v| v > self.view)
            .collect();
        if ahead.len() <= self.config.f() {
            return;
        }
        ahead.sort_unstable_by(|a, b| b.cmp(a));
        let join = ahead[self.config.f()];
        if join > self.view + self.config.views_ahead_max {
            return; // as for ViewChange messages: far-future views are not followed
        }
        out.note(format_args!(
            "f+1 replicas are in views up to {join}, above {}: joining",
            self.view
        ));
        self.start_view_change(join, out);
    }
}
