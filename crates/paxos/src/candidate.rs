//! Phase 1, run once per leader for every open slot ("Paxos Made Simple" §3: "the leader
//! … executes phase 1 for infinitely many instances"; PMMC §3 "Scout", "adopted").
//!
//! ```text
//!   follower: no leader heard for T ticks (T random in min..=max)
//!     ballot b = (highest round seen + 1, me); promise b myself (persist)
//!     ── Prepare{ballot=b from=chosen_through+1} ──► every other node
//!     ◄─ Promise{b .. accepted=[pvalues] more?} ─── merge: per slot, the highest-ballot pvalue
//!        more=m ──► Prepare{ballot=b from=m} to that node (the next page)
//!     ◄─ Nack{b promised=p} ──────────────────────── preempted: step down
//!   complete promises from a phase-1 quorum ──► leader (leader.rs):
//!     slots through the highest promiser snapshot: learn them (CatchUp), never propose
//!     every later slot up to the highest reported: re-propose the adopted value, or a
//!     no-op for a hole, at ballot b (phase 2)
//!   no quorum within T ──► start again with a higher round
//! ```
//!
//! Why adopting the highest-ballot value is safe (§2.2, P2c): a value chosen at b' < b was
//! accepted by a phase-2 quorum, which meets the phase-1 quorum that promised b in at least one
//! acceptor; that acceptor reports it (or a value of a higher ballot, which by induction is the
//! same value); so b proposes it again. The broken variants skip exactly this: `AcceptOwnValue`
//! ignores the reports, `SmallPhase1Quorum` asks a quorum that can miss the acceptor.

use distributed_core::NodeId;

use crate::ballot::{Ballot, Slot};
use crate::message::{Nack, Prepare, Promise};
use crate::node::Paxos;
use crate::ready::{Ready, Write};
use crate::role::{Phase1, RoleState};

impl Paxos {
    /// A follower that heard no leader for its timeout runs phase 1.
    pub(crate) fn tick_follower(&mut self, out: &mut Ready) {
        self.timer_elapsed += 1;
        if self.timer_elapsed >= self.timeout {
            self.start_phase1(out);
        }
    }

    /// A candidate resends its Prepares every heartbeat, and starts over with a higher round
    /// when its timeout passes without a quorum.
    pub(crate) fn tick_candidate(&mut self, out: &mut Ready) {
        self.timer_elapsed += 1;
        if self.timer_elapsed >= self.timeout {
            return self.start_phase1(out);
        }
        let heartbeat = self.config.heartbeat_ticks;
        let RoleState::Candidate(p) = &mut self.role else {
            return;
        };
        p.resend_elapsed += 1;
        if p.resend_elapsed < heartbeat {
            return;
        }
        p.resend_elapsed = 0;
        let (ballot, me) = (p.ballot, self.config.id);
        let waiting: Vec<(NodeId, Slot)> = self
            .config
            .nodes
            .iter()
            .filter(|&&n| n != me && !p.complete.contains(&n))
            .map(|&n| (n, p.next_page.get(&n).copied().unwrap_or(p.from_slot)))
            .collect();
        for (to, from_slot) in waiting {
            out.send(me, to, Prepare { ballot, from_slot }.into());
        }
    }

    /// Phase 1a: a ballot above every round seen, promised here first, then asked of everyone.
    pub(crate) fn start_phase1(&mut self, out: &mut Ready) {
        let round = self.highest_round.max(self.promised.round) + 1;
        let ballot = Ballot::new(round, self.config.id);
        self.counters.phase1_runs += 1;
        self.highest_round = round;
        self.reset_timer();
        // Not a preemption: this node gives up its own older ballot, if it had one.
        self.role = RoleState::Follower;
        self.promised = ballot;
        out.writes.push(Write::Promise(ballot));
        self.leader_hint = None;
        let from_slot = self.chosen_through + 1;
        let me = self.config.id;
        let mut phase1 = Phase1 {
            ballot,
            from_slot,
            complete: [me].into(),
            next_page: Default::default(),
            adopted: Default::default(),
            snapshot_max: (self.snapshot_slot(), me),
            resend_elapsed: 0,
        };
        for pv in self.log.range(from_slot..).map(|(_, pv)| pv) {
            phase1.adopted.insert(pv.slot, pv.clone());
        }
        self.role = RoleState::Candidate(phase1);
        for &to in self.config.nodes.iter().filter(|&&n| n != me) {
            out.send(me, to, Prepare { ballot, from_slot }.into());
        }
        self.maybe_adopt(out);
    }

    /// Phase 1b arrives: merge the page's pvalues, ask for the next page, count the promise
    /// once it is complete.
    pub(crate) fn on_promise(&mut self, from: NodeId, msg: Promise, out: &mut Ready) {
        let me = self.config.id;
        let RoleState::Candidate(p) = &mut self.role else {
            return match self.role.ballot() {
                Some(b) if b == msg.ballot => out.note(format_args!(
                    "ignored {msg} from {from}: phase 1 at {b} is complete (a late promise)"
                )),
                _ => out.note(format_args!("ignored {msg} from {from}: not a candidate")),
            };
        };
        if p.ballot != msg.ballot {
            let mine = p.ballot;
            return out.note(format_args!("ignored {msg} from {from}: running {mine}"));
        }
        let expected = p.next_page.get(&from).copied().unwrap_or(p.from_slot);
        if p.complete.contains(&from) || msg.from_slot > expected {
            return out.note(format_args!(
                "ignored {msg} from {from}: a duplicate, or a page after a missing one (want from={expected})"
            ));
        }
        for pv in msg.accepted.into_iter().filter(|pv| pv.slot >= p.from_slot) {
            let higher = p
                .adopted
                .get(&pv.slot)
                .is_none_or(|had| had.ballot < pv.ballot);
            if higher {
                p.adopted.insert(pv.slot, pv);
            }
        }
        if msg.snapshot_slot > p.snapshot_max.0 {
            p.snapshot_max = (msg.snapshot_slot, from);
        }
        match msg.more {
            Some(next) if next > expected => {
                p.next_page.insert(from, next);
                let ballot = p.ballot;
                out.send(
                    me,
                    from,
                    Prepare {
                        ballot,
                        from_slot: next,
                    }
                    .into(),
                );
            }
            Some(next) => out.note(format_args!(
                "ignored more={next} from {from}: not past from={expected}, the page is empty"
            )),
            None => {
                p.complete.insert(from);
                self.maybe_adopt(out);
            }
        }
    }

    /// Preempted (PMMC §3): a higher ballot was promised somewhere; stop and let it lead.
    pub(crate) fn on_nack(&mut self, from: NodeId, msg: Nack, out: &mut Ready) {
        self.highest_round = self.highest_round.max(msg.promised.round);
        if self.role.ballot() != Some(msg.ballot) || msg.promised <= msg.ballot {
            return match self.role.ballot() {
                Some(now) => out.note(format_args!("ignored {msg} from {from}: running {now}")),
                None => out.note(format_args!(
                    "ignored {msg} from {from}: neither candidate nor leader (preempted already)"
                )),
            };
        }
        self.step_down(Some(msg.promised.node), out);
    }

    /// With complete promises from a phase-1 quorum (this node's own included), lead.
    fn maybe_adopt(&mut self, out: &mut Ready) {
        let quorum = self.config.effective_phase1_quorum();
        let ready = matches!(&self.role, RoleState::Candidate(p) if p.complete.len() >= quorum);
        if !ready {
            return;
        }
        if let RoleState::Candidate(p) = std::mem::replace(&mut self.role, RoleState::Follower) {
            self.become_leader(p, out);
        }
    }
}
