//! The Paxos node: its state, start and restart from disk, the accessors invariant checkers
//! read, the ballot rule every message goes through, and `step`, which hands each message
//! to its `on_x` handler.
//!
//! ```text
//!   step(from, msg) ──► from a stranger or itself? note, drop
//!                   └─► on_prepare | on_promise | on_nack | on_accept | on_accepted | on_commit
//!                       | on_catch_up | on_chosen | on_install_snapshot | on_confirm | on_confirmed
//!   tick()  ──► leader: heartbeat every heartbeat_ticks      (leader.rs)
//!               candidate: resend Prepares; timeout: a new round    (candidate.rs)
//!               follower: timeout: start phase 1                    (candidate.rs)
//!               reads past their time fail                          (read.rs)
//! ```
//!
//! The ballot rule (like Raft's §5.1 term rule): a node that sees a ballot above its promise in
//! a Prepare, an Accept, a Commit or a Confirm promises it (persisted first), and if it was a
//! candidate or leader with a lower ballot it steps down. A Nack does not move the promise
//! (nobody asked this node to promise), but it does preempt.
//!
//! Invariants (asserted): the promise never decreases; a candidate's or leader's ballot equals
//! the promise; `chosen_through` never decreases and every slot through it was output once.

use std::collections::BTreeMap;

use distributed_core::{NodeId, Protocol, Rng, SeededRng, Tick};

use crate::ballot::{Ballot, PValue, Slot, Value, SLOT_MAX};
use crate::config::{Config, ConfigError};
use crate::message::Message;
use crate::ready::{self, Disk, Input, Ready, Snapshot, Write};
use crate::role::{Role, RoleState};

/// What a summary reports about one node's incarnation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Times this node completed phase 1 and became leader.
    pub leader_changes: u64,
    /// Times this node started phase 1 (each with a new ballot).
    pub phase1_runs: u64,
    /// Times this node, as candidate or leader, was preempted by a higher ballot.
    pub preemptions: u64,
    /// CatchUp requests this node sent.
    pub catch_ups_sent: u64,
    /// Snapshots installed from another node.
    pub snapshots_installed: u64,
}

/// One Multi-Paxos node: acceptor, learner and potential leader. Drive it through
/// [`Protocol`] and carry out each [`Ready`] in order (persist → send → deliver).
#[derive(Debug)]
pub struct Paxos {
    /// The knobs, validated.
    pub(crate) config: Config,
    /// Draws the leader timeouts; nothing else is random.
    rng: SeededRng,
    /// Acceptor: the highest ballot promised (durable).
    pub(crate) promised: Ballot,
    /// Acceptor: the pvalue accepted in each slot after the snapshot (durable).
    pub(crate) log: BTreeMap<Slot, PValue>,
    /// Learner: values known chosen in slots after the snapshot (volatile), kept until a
    /// snapshot covers them so this node can answer a CatchUp.
    pub(crate) chosen: BTreeMap<Slot, PValue>,
    /// Learner: every slot through here is chosen and was output (or is in the snapshot).
    pub(crate) chosen_through: Slot,
    /// The latest snapshot, taken here or installed (durable).
    pub(crate) snapshot: Option<Snapshot>,
    /// Proposer: follower, candidate or leader, with that role's state.
    pub(crate) role: RoleState,
    /// Who leads, as far as this node knows: where to send clients.
    pub(crate) leader_hint: Option<NodeId>,
    /// The highest ballot round seen in any message: a new ballot goes one above.
    pub(crate) highest_round: u64,
    /// Ticks since a leader was last heard (follower) or phase 1 started (candidate).
    pub(crate) timer_elapsed: Tick,
    /// The current randomized timeout, drawn from `leader_timeout_ticks_min..=max`.
    pub(crate) timeout: Tick,
    /// Ticks since start: the clock reads time out against.
    pub(crate) ticks: Tick,
    /// What a summary reports.
    pub(crate) counters: Counters,
}

impl Paxos {
    /// A node rebuilt from `disk` alone (a default disk: a brand new node). Chosen values are
    /// re-learned from the leader; delivery restarts after the disk's snapshot.
    pub fn new(config: Config, disk: &Disk, rng: SeededRng) -> Result<Paxos, ConfigError> {
        config.validate()?;
        let snapshot_slot = disk.snapshot.as_ref().map_or(0, |s| s.slot);
        for (&slot, pv) in &disk.accepted {
            if pv.slot != slot || slot <= snapshot_slot || pv.ballot > disk.promised {
                return Err(ConfigError::new(format!(
                    "disk: pvalue {pv} stored under slot {slot} is inconsistent with the \
                     snapshot at {snapshot_slot} or the promise {}",
                    disk.promised
                )));
            }
        }
        let mut node = Paxos {
            config,
            rng,
            promised: disk.promised,
            log: disk.accepted.clone(),
            chosen: BTreeMap::new(),
            chosen_through: snapshot_slot,
            snapshot: disk.snapshot.clone(),
            role: RoleState::Follower,
            leader_hint: None,
            highest_round: disk.promised.round,
            timer_elapsed: 0,
            timeout: 0,
            ticks: 0,
            counters: Counters::default(),
        };
        node.reset_timer();
        Ok(node)
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }
    /// Follower, candidate or leader.
    pub fn role(&self) -> Role {
        self.role.role()
    }
    /// True while this node leads (completed phase 1, not preempted since).
    pub fn is_leader(&self) -> bool {
        self.role() == Role::Leader
    }
    /// The ballot this node campaigns or leads with; `None` for a follower.
    pub fn ballot(&self) -> Option<Ballot> {
        self.role.ballot()
    }
    /// The highest ballot this node promised (as an acceptor).
    pub fn promised(&self) -> Ballot {
        self.promised
    }
    /// Who leads, as far as this node knows (itself when leading).
    pub fn leader_hint(&self) -> Option<NodeId> {
        self.leader_hint
    }
    /// The highest slot such that every slot through it is known chosen and was output as
    /// `Committed` (or lies in the snapshot).
    pub fn chosen_through(&self) -> Slot {
        self.chosen_through
    }
    /// The value known chosen in `slot`, while it is held (after the snapshot).
    pub fn chosen(&self, slot: Slot) -> Option<&Value> {
        self.chosen.get(&slot).map(|pv| &pv.value)
    }
    /// The pvalue this acceptor accepted in `slot`, while it is held (after the snapshot).
    pub fn accepted(&self, slot: Slot) -> Option<&PValue> {
        self.log.get(&slot)
    }
    /// The last slot the latest snapshot covers (0 without one).
    pub fn snapshot_slot(&self) -> Slot {
        self.snapshot.as_ref().map_or(0, |s| s.slot)
    }
    /// The latest snapshot, taken here or installed.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
    /// What a summary reports about this incarnation.
    pub fn counters(&self) -> Counters {
        self.counters
    }
    /// The configuration the node runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// Reads waiting at this leader (0 when not leading).
    pub fn pending_reads(&self) -> usize {
        match &self.role {
            RoleState::Leader(l) => l.reads.len(),
            _ => 0,
        }
    }

    /// Draw a fresh leader timeout and restart the timer.
    pub(crate) fn reset_timer(&mut self) {
        let (min, max) = (
            self.config.leader_timeout_ticks_min,
            self.config.leader_timeout_ticks_max,
        );
        self.timeout = self.rng.range(min, max + 1);
        self.timer_elapsed = 0;
    }

    /// The ballot rule (module docs): promise `ballot` if it is above the promise, persisting
    /// it first; a candidate or leader with a lower ballot steps down.
    pub(crate) fn raise_promise(&mut self, ballot: Ballot, out: &mut Ready) {
        self.highest_round = self.highest_round.max(ballot.round);
        if ballot <= self.promised {
            return;
        }
        self.promised = ballot;
        out.writes.push(Write::Promise(ballot));
        if self.role.ballot().is_some_and(|mine| mine < ballot) {
            self.step_down(Some(ballot.node), out);
        }
    }

    /// Stop campaigning or leading: back to follower, with a fresh timer so a preempted node
    /// does not at once preempt the one that preempted it. Waiting reads fail.
    pub(crate) fn step_down(&mut self, leader: Option<NodeId>, out: &mut Ready) {
        let was = std::mem::replace(&mut self.role, RoleState::Follower);
        if matches!(was, RoleState::Follower) {
            return;
        }
        self.counters.preemptions += 1;
        self.leader_hint = leader;
        self.reset_timer();
        if let RoleState::Leader(l) = was {
            self.fail_reads(l.reads, out);
        }
    }

    /// Acceptor side of a leader's message at `ballot` (Accept, Commit, Confirm): refuse it
    /// with a Nack if below the promise; otherwise promise it, note the leader, restart the
    /// timer. True if the message may be acted on.
    pub(crate) fn hear_leader(&mut self, from: NodeId, ballot: Ballot, out: &mut Ready) -> bool {
        if ballot < self.promised {
            let promised = self.promised;
            out.send(
                self.id(),
                from,
                crate::message::Nack { ballot, promised }.into(),
            );
            return false;
        }
        self.raise_promise(ballot, out);
        if self.role.ballot() != Some(ballot) {
            self.leader_hint = Some(ballot.node);
            self.timer_elapsed = 0;
        }
        true
    }
}

impl Protocol for Paxos {
    type Message = Message;
    type Input = Input;
    type Output = ready::Output;
    type Write = Write;
    type Disk = Disk;

    fn id(&self) -> NodeId {
        self.config.id
    }

    fn step(&mut self, from: NodeId, msg: Message, out: &mut Ready) {
        if from == self.config.id {
            return out.note(format_args!("ignored {msg} from {from}: sent by itself"));
        }
        if !self.config.nodes.contains(&from) {
            return out.note(format_args!(
                "ignored {msg} from {from}: not a node of this cluster"
            ));
        }
        if msg.highest_slot() > SLOT_MAX {
            return out.note(format_args!(
                "ignored {msg} from {from}: names a slot above SLOT_MAX={SLOT_MAX}"
            ));
        }
        if msg.proposer_ballot().is_some_and(|b| b.node != from) {
            return out.note(format_args!(
                "ignored {msg} from {from}: the ballot belongs to another node"
            ));
        }
        match msg {
            Message::Prepare(m) => self.on_prepare(from, m, out),
            Message::Promise(m) => self.on_promise(from, m, out),
            Message::Nack(m) => self.on_nack(from, m, out),
            Message::Accept(m) => self.on_accept(from, m, out),
            Message::Accepted(m) => self.on_accepted(from, m, out),
            Message::Commit(m) => self.on_commit(from, m, out),
            Message::CatchUp(m) => self.on_catch_up(from, m, out),
            Message::Chosen(m) => self.on_chosen(from, m, out),
            Message::InstallSnapshot(m) => self.on_install_snapshot(from, m, out),
            Message::Confirm(m) => self.on_confirm(from, m, out),
            Message::Confirmed(m) => self.on_confirmed(from, m, out),
        }
    }

    fn tick(&mut self, out: &mut Ready) {
        self.ticks += 1;
        match self.role() {
            Role::Leader => self.tick_leader(out),
            Role::Candidate => self.tick_candidate(out),
            Role::Follower => self.tick_follower(out),
        }
        self.expire_reads(out);
    }

    fn input(&mut self, input: Input, out: &mut Ready) {
        match input {
            Input::Propose(data) => self.propose(data, out),
            Input::Read { id } => self.read(id, out),
            Input::Snapshot { slot, data } => self.take_snapshot(slot, data, out),
        }
    }

    fn persist(disk: &mut Disk, write: &Write) {
        ready::persist(disk, write);
    }
}

#[cfg(test)]
mod tests {
    use distributed_core::{NodeId, Protocol, SeededRng};

    use crate::message::{Commit, Message};
    use crate::{Ballot, Config, Disk, Paxos, Ready};

    fn node(id: u64) -> Paxos {
        let config = Config::new(NodeId(id), (1..=3).map(NodeId).collect());
        Paxos::new(config, &Disk::default(), SeededRng::new(id)).expect("valid")
    }

    #[test]
    fn a_message_from_a_stranger_is_ignored_with_a_note() {
        let mut n = node(1);
        let mut out = Ready::with_notes();
        let commit = Message::from(Commit {
            ballot: Ballot::new(1, NodeId(9)),
            through_slot: 0,
        });
        n.step(NodeId(9), commit, &mut out);
        assert!(out.is_empty());
        assert_eq!(
            out.notes.lines(),
            ["ignored Commit{ballot=b1.n9 through=0} from n9: not a node of this cluster"]
        );
    }

    #[test]
    fn a_leader_message_whose_ballot_the_sender_does_not_own_is_ignored() {
        let mut n = node(1);
        let mut out = Ready::with_notes();
        let commit = Message::from(Commit {
            ballot: Ballot::new(5, NodeId(3)),
            through_slot: 0,
        });
        n.step(NodeId(2), commit, &mut out);
        assert!(out.is_empty(), "no promise of b5.n3 on n2's word");
        assert_eq!(n.promised(), Ballot::ZERO);
        assert!(out.notes.lines()[0].ends_with("the ballot belongs to another node"));
    }

    #[test]
    fn a_message_naming_an_absurd_slot_is_refused_before_any_arithmetic() {
        let mut n = node(1);
        let mut out = Ready::with_notes();
        let snapshot = crate::InstallSnapshot {
            ballot: Ballot::new(1, NodeId(2)),
            slot: u64::MAX,
            data: bytes::Bytes::new(),
        };
        n.step(NodeId(2), snapshot.into(), &mut out);
        assert!(out.is_empty());
        assert_eq!(n.snapshot_slot(), 0);
        assert!(out.notes.lines()[0].contains("above SLOT_MAX"));
    }

    #[test]
    fn a_disk_whose_pvalue_lies_above_its_promise_is_refused() {
        let mut disk = Disk::default();
        let pv = crate::PValue {
            slot: 1,
            ballot: Ballot::new(2, NodeId(2)),
            value: crate::Value::Noop,
        };
        disk.accepted.insert(1, pv);
        let config = Config::new(NodeId(1), (1..=3).map(NodeId).collect());
        let err = Paxos::new(config, &disk, SeededRng::new(1)).unwrap_err();
        assert!(err.reason.starts_with("disk: pvalue 1:b2.n2:noop"), "{err}");
    }
}
