//! Membership changes in the simulator: an operator that reconfigures the cluster while the
//! clients and the faults go on, and the invariant that committed configurations agree
//! (Raft §6, thesis §4.3, §3.10).
//!
//! ```text
//!   MembershipDriver<W> wraps the client workload W:
//!     every change_interval (jittered), if the highest-term leader's configuration is settled
//!     (plain and committed), send it one of, by weight:
//!       AddLearner(spare slot) │ Promote(learner) │ Replace{voter → learner}  (2 voters move)
//!       Remove(voter, ≥ 4 left) │ Remove(the leader itself) │ Remove(learner)
//!       TransferLeadership{to: another voter} │ SetVoters(+2 learners at once)
//!     every other poll goes to W
//!
//!   ConfigAgreement, after every event, on the touched node:
//!     each committed config entry (index ≤ commit_index) equals what any node committed there
//!     its membership() is the configuration of the entry at membership_index()
//! ```
//!
//! The operator peeks at node state (who leads, its configuration): it stands for an admin
//! tool, not a client, and only decides *what* to ask; Raft still decides what happens.
//! Refusals (`ChangeRejected`) are expected and ignored: the next change comes later.

use std::collections::BTreeMap;

use distributed_core::{NodeId, Protocol, Rng, SeededRng};
use raft::{Index, Membership, MembershipChange, Raft, Role};
use replica::KvReplica;

use sim::config::Time;
use sim::hooks::{Invariant, Workload, WorkloadStep};
use sim::view::ClusterView;

/// Slots beyond the initial voters when membership changes are on: room for learners.
pub const SPARE_SLOTS: usize = 4;

/// A protocol built on a Raft node that takes membership inputs.
pub trait Reconfigurable: Protocol {
    /// The Raft node inside.
    fn raft_node(&self) -> &Raft;
    /// The input asking for `change`.
    fn change_input(change: MembershipChange) -> Self::Input;
    /// The input asking for a leadership transfer to `to`.
    fn transfer_input(to: NodeId) -> Self::Input;
}

impl Reconfigurable for Raft {
    fn raft_node(&self) -> &Raft {
        self
    }
    fn change_input(change: MembershipChange) -> raft::Input {
        raft::Input::ChangeMembership(change)
    }
    fn transfer_input(to: NodeId) -> raft::Input {
        raft::Input::TransferLeadership { to }
    }
}

impl Reconfigurable for KvReplica {
    fn raft_node(&self) -> &Raft {
        self.raft()
    }
    fn change_input(change: MembershipChange) -> replica::Input {
        replica::Input::ChangeMembership(change)
    }
    fn transfer_input(to: NodeId) -> replica::Input {
        replica::Input::TransferLeadership { to }
    }
}

/// The operator: random membership changes on top of an inner workload.
pub struct MembershipDriver<W> {
    /// The clients.
    inner: W,
    /// When the inner workload wants its next poll.
    inner_next_at: Time,
    /// When the next change is due.
    change_next_at: Time,
    /// Mean time between changes.
    interval_units: Time,
    /// Changes sent (accepted or not), for tests and reports.
    sent: u64,
}

impl<W> MembershipDriver<W> {
    /// Wrap `inner`, changing membership about every `interval_units`.
    pub fn new(inner: W, interval_units: Time) -> Self {
        let interval_units = interval_units.max(2);
        MembershipDriver {
            inner,
            inner_next_at: 0,
            change_next_at: interval_units,
            interval_units,
            sent: 0,
        }
    }
}

/// The live node leading the highest term, with its Raft state.
fn leader<'a, P: Reconfigurable>(view: &ClusterView<'a, P>) -> Option<(NodeId, &'a Raft)> {
    view.live()
        .map(|(id, n)| (id, n.raft_node()))
        .filter(|(_, r)| r.role() == Role::Leader)
        .max_by_key(|(_, r)| r.term())
}

fn pick(rng: &mut SeededRng, ids: &[NodeId]) -> Option<NodeId> {
    (!ids.is_empty()).then(|| ids[rng.range(0, ids.len() as u64) as usize])
}

/// One random request against `m` (settled), from leader `me`, among `slots` slots.
fn choose<P: Reconfigurable>(
    rng: &mut SeededRng,
    m: &Membership,
    me: NodeId,
    slots: usize,
) -> Option<P::Input> {
    let voters: Vec<NodeId> = m.voters.iter().copied().collect();
    let others: Vec<NodeId> = voters.iter().copied().filter(|&v| v != me).collect();
    let learners: Vec<NodeId> = m.learners.iter().copied().collect();
    let spare: Vec<NodeId> = (1..=slots as u64)
        .map(NodeId)
        .filter(|&id| !m.members().contains(&id))
        .collect();
    let change = match rng.range(0, 10) {
        0 | 1 => MembershipChange::AddLearner(pick(rng, &spare)?),
        2 => MembershipChange::Promote(pick(rng, &learners)?),
        3 => MembershipChange::Replace {
            remove: pick(rng, &others)?,
            add: pick(rng, &learners)?,
        },
        4 if voters.len() > 3 => MembershipChange::Remove(pick(rng, &others)?),
        5 if voters.len() > 3 => MembershipChange::Remove(me),
        6 => MembershipChange::Remove(pick(rng, &learners)?),
        7 | 8 => return Some(P::transfer_input(pick(rng, &others)?)),
        9 if learners.len() >= 2 => {
            let mut next = m.voters.clone();
            next.extend(learners.iter().take(2));
            MembershipChange::SetVoters(next)
        }
        _ => return None,
    };
    Some(P::change_input(change))
}

impl<P: Reconfigurable, W: Workload<P>> Workload<P> for MembershipDriver<W> {
    fn poll(&mut self, view: &ClusterView<P>, rng: &mut SeededRng) -> WorkloadStep<P::Input> {
        let now = view.now();
        let mut input = None;
        if now >= self.change_next_at {
            let half = self.interval_units / 2;
            self.change_next_at = now + rng.range(half, self.interval_units + half + 1);
            if let Some((id, r)) = leader(view) {
                let m = r.membership();
                let settled = !m.is_joint() && r.membership_index() <= r.commit_index();
                if let Some(i) = settled
                    .then(|| choose::<P>(rng, m, id, view.len()))
                    .flatten()
                {
                    self.sent += 1;
                    input = Some((id, i));
                }
            }
        }
        if input.is_none() && now >= self.inner_next_at {
            let step = self.inner.poll(view, rng);
            input = step.input;
            match step.next_poll_units {
                Some(units) => self.inner_next_at = now + units.max(1),
                None => self.inner_next_at = Time::MAX,
            }
        }
        let next = self.inner_next_at.min(self.change_next_at);
        WorkloadStep {
            input,
            next_poll_units: Some(next.saturating_sub(now).max(1)),
        }
    }

    fn on_output(&mut self, node: NodeId, output: &P::Output, now: Time) {
        self.inner.on_output(node, output, now);
    }

    fn on_input_dropped(&mut self, node: NodeId, now: Time) {
        self.inner.on_input_dropped(node, now);
    }
}

/// Committed configurations agree across nodes, and each node follows its latest config entry.
pub struct ConfigAgreement {
    /// The configuration committed at each index by some node: the reference.
    committed: BTreeMap<Index, Membership>,
    /// Per node (index = id − 1): the highest index already compared, reset on restart
    /// (commit_index restarts at 0).
    checked_through: Vec<Index>,
}

impl ConfigAgreement {
    /// For a cluster of `slots` nodes.
    pub fn new(slots: usize) -> Self {
        ConfigAgreement {
            committed: BTreeMap::new(),
            checked_through: vec![0; slots],
        }
    }
}

impl<P: Reconfigurable> Invariant<P> for ConfigAgreement {
    fn name(&self) -> &str {
        "config-agreement"
    }

    fn on_restart(&mut self, node: NodeId) {
        if let Some(c) = self.checked_through.get_mut(node.0 as usize - 1) {
            *c = 0;
        }
    }

    fn check(&mut self, view: &ClusterView<P>) -> Result<(), String> {
        let Some(id) = view.touched() else {
            return Ok(());
        };
        let Some(r) = view.node(id).map(|n| n.raft_node()) else {
            return Ok(());
        };
        let at = r.membership_index();
        // The configuration comes from a config entry in the log or, once that entry is
        // compacted away, from the snapshot that stands in for it (§7), or from bootstrap.
        let snapshot = r.snapshot().filter(|s| at <= s.meta.index);
        let follows = match (snapshot, r.entry(at)) {
            (Some(s), _) => s.meta.membership == *r.membership(),
            (None, _) if at == 0 => {
                *r.membership() == Membership::new(r.config().voters.iter().copied())
            }
            (None, Some(e)) => e.membership() == Some(r.membership()),
            (None, None) => false,
        };
        if !follows {
            return Err(format!(
                "{id} runs {} from index {at}, which is not the config entry there",
                r.membership()
            ));
        }
        let slot = &mut self.checked_through[id.0 as usize - 1];
        let upto = r.commit_index().min(r.last_index());
        for index in (*slot + 1)..=upto {
            let Some(m) = r.entry(index).and_then(|e| e.membership()) else {
                continue;
            };
            match self.committed.get(&index) {
                Some(seen) if seen != m => {
                    return Err(format!(
                        "{id} committed config {m} at {index}, another node committed {seen}"
                    ))
                }
                Some(_) => {}
                None => {
                    self.committed.insert(index, m.clone());
                }
            }
        }
        *slot = (*slot).max(upto);
        Ok(())
    }
}
