//! The acceptor: promises and accepts ("Paxos Made Simple" §2.2, P1a and phase 2b; PMMC §3
//! "Acceptor"). Its two rules are all the safety Paxos has; everything else is liveness.
//!
//! ```text
//!   Prepare{ballot=b from=s}    b < promised ──► Nack{ballot=b promised}
//!                               else promised := b (persist) ──► Promise{b, pvalues from s}
//!   Accept{ballot=b slot v c}   b < promised ──► Nack{ballot=b promised}
//!                               else promised := b, accepted[slot] := (b, v) (persist both)
//!                                    ──► Accepted{ballot=b slot}; learn commit c (learner.rs)
//!   Commit{ballot=b through=t}  b < promised ──► Nack;  else learn t (learner.rs)
//! ```
//!
//! Invariants (asserted): an acceptor never accepts below its promise; the promise never
//! decreases; a Promise or Accepted is sent in the same `Ready` as, and after, the write it
//! states, so the host persists it first.

use crate::ballot::PValue;
use crate::message::{Accept, Accepted, Commit, Nack, Prepare, Promise};
use crate::node::Paxos;
use crate::ready::{Ready, Write};
use distributed_core::NodeId;

impl Paxos {
    /// Phase 1b: promise `ballot` unless a higher one was promised, and report the pvalues
    /// from `from_slot` on, one page of at most `promise_entries_max`.
    pub(crate) fn on_prepare(&mut self, from: NodeId, msg: Prepare, out: &mut Ready) {
        let Prepare { ballot, from_slot } = msg;
        if ballot < self.promised {
            let promised = self.promised;
            out.send(self.id(), from, Nack { ballot, promised }.into());
            return;
        }
        self.raise_promise(ballot, out);
        // A candidate is running: give it a whole timeout before this node runs its own.
        self.leader_hint = Some(ballot.node);
        self.timer_elapsed = 0;
        let page_max = self.config.promise_entries_max;
        let mut held = self.log.range(from_slot.max(1)..);
        let accepted: Vec<PValue> = held
            .by_ref()
            .take(page_max)
            .map(|(_, pv)| pv.clone())
            .collect();
        let more = held.next().map(|(&slot, _)| slot);
        let promise = Promise {
            ballot,
            from_slot,
            snapshot_slot: self.snapshot_slot(),
            accepted,
            more,
        };
        out.send(self.id(), from, promise.into());
    }

    /// Phase 2b: accept `value` in `slot` at `ballot` unless a higher ballot was promised.
    pub(crate) fn on_accept(&mut self, from: NodeId, msg: Accept, out: &mut Ready) {
        let Accept {
            ballot,
            slot,
            value,
            commit,
        } = msg;
        if slot == 0 {
            return out.note(format_args!(
                "ignored Accept{{ballot={ballot} slot=0}} from {from}: slots start at 1"
            ));
        }
        if !self.hear_leader(from, ballot, out) {
            return;
        }
        // A slot inside the snapshot is chosen already; by the Paxos invariant a proposal at a
        // ballot this high carries the chosen value, so acknowledging it without storing it
        // is safe, and lets the leader finish the slot.
        let held = self.log.get(&slot);
        let already = held.is_some_and(|pv| pv.ballot == ballot && pv.value == value);
        if slot > self.snapshot_slot() && !already {
            self.accept(
                PValue {
                    slot,
                    ballot,
                    value,
                },
                out,
            );
        }
        out.send(self.id(), from, Accepted { ballot, slot }.into());
        self.learn_commit(from, ballot, commit, false, out);
    }

    /// Store a pvalue: the acceptor's one durable act besides promising.
    pub(crate) fn accept(&mut self, pv: PValue, out: &mut Ready) {
        assert!(
            pv.ballot >= self.promised,
            "an acceptor never accepts below its promise: {pv} under {}",
            self.promised
        );
        assert!(
            pv.slot > self.snapshot_slot(),
            "accept inside the snapshot: {pv}"
        );
        out.writes.push(Write::Accept(pv.clone()));
        self.log.insert(pv.slot, pv);
    }

    /// A leader's heartbeat: refuse a stale one, else learn what it says is chosen, and ask
    /// for what this node lacks.
    pub(crate) fn on_commit(&mut self, from: NodeId, msg: Commit, out: &mut Ready) {
        let Commit {
            ballot,
            through_slot,
        } = msg;
        if self.hear_leader(from, ballot, out) {
            self.learn_commit(from, ballot, through_slot, true, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use distributed_core::{NodeId, Protocol, SeededRng};

    use crate::message::{Accept, Message, Prepare};
    use crate::{Ballot, Config, Disk, Paxos, Ready, Value, Write};

    fn acceptor() -> Paxos {
        let mut config = Config::new(NodeId(1), (1..=3).map(NodeId).collect());
        config.promise_entries_max = 2;
        Paxos::new(config, &Disk::default(), SeededRng::new(1)).expect("valid")
    }

    fn b(round: u64, node: u64) -> Ballot {
        Ballot::new(round, NodeId(node))
    }

    fn accept(n: &mut Paxos, ballot: Ballot, slot: u64) -> Ready {
        let mut out = Ready::new();
        let value = Value::Command(Bytes::from_static(b"v"));
        let msg = Accept {
            ballot,
            slot,
            value,
            commit: 0,
        };
        n.step(ballot.node, Message::from(msg), &mut out);
        out
    }

    #[test]
    fn an_acceptor_refuses_an_accept_below_its_promise() {
        // Paxos Made Simple §2.2, P1a: accept a proposal numbered n iff no prepare above n
        // was answered.
        let mut n = acceptor();
        let mut out = Ready::new();
        let prepare = Prepare {
            ballot: b(2, 3),
            from_slot: 1,
        };
        n.step(NodeId(3), prepare.into(), &mut out);
        assert_eq!(out.writes, [Write::Promise(b(2, 3))]);
        let out = accept(&mut n, b(1, 2), 1);
        assert!(out.writes.is_empty(), "nothing accepted");
        assert_eq!(
            out.messages[0].to_string(),
            "n1→n2 Nack{ballot=b1.n2 promised=b2.n3}"
        );
        assert_eq!(n.accepted(1), None);
    }

    #[test]
    fn a_promise_reports_accepted_values_one_page_at_a_time() {
        let mut n = acceptor();
        for slot in 1..=3 {
            accept(&mut n, b(1, 2), slot);
        }
        let mut out = Ready::new();
        let prepare = Prepare {
            ballot: b(2, 3),
            from_slot: 1,
        };
        n.step(NodeId(3), prepare.into(), &mut out);
        assert_eq!(
            out.messages[0].msg.to_string(),
            "Promise{ballot=b2.n3 from=1 snap=0 accepted=[1:b1.n2:\"v\" 2:b1.n2:\"v\"] more=3}"
        );
    }

    #[test]
    fn an_accepted_leaves_in_the_same_ready_as_its_write() {
        let mut n = acceptor();
        let out = accept(&mut n, b(1, 2), 1);
        assert_eq!(out.writes.len(), 2, "the promise of b1.n2, then the pvalue");
        assert_eq!(
            out.writes[1].to_string(),
            "Accept{slot=1 ballot=b1.n2 value=\"v\"}"
        );
        assert_eq!(
            out.messages[0].msg.to_string(),
            "Accepted{ballot=b1.n2 slot=1}"
        );
    }
}
