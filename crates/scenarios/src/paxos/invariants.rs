//! Multi-Paxos's safety properties, checked after every event of a simulated run.
//!
//! ```text
//!   on_write(n, Accept{slot, ballot, value}) ──► votes[slot][ballot] += n (value)
//!        a phase-2 quorum of votes at one ballot ──► chosen[slot] = value     (P2 of PMS §2.2)
//!        a different value chosen at that slot   ──► VIOLATION  chosen-once
//!   on_write(n, Promise(b))                    ──► b ≥ n's last promise       promise-monotonic
//!   on_output(n, Committed{slot, value})       ──► == every earlier delivery at slot
//!                                                  == chosen[slot] if known   agreement
//!                                              ──► slot == n's last + 1       in-order
//!                                              ──► a command a client sent    validity
//! ```
//!
//! Why count votes from the durable writes: an acceptor's vote is its `Write::Accept`, which
//! the host persists before the `Accepted` leaves (persist → send). So a value has been chosen
//! the moment a phase-2 quorum of acceptors has written it at one ballot, whether or not any
//! learner ever hears of it: "chosen" is a fact about the acceptors (Paxos Made Simple §2.1),
//! and `chosen-once` checks that fact directly, before any delivery. The `AcceptOwnValue`
//! variant breaks it as soon as a new leader overwrites a chosen slot at a higher ballot.
//! `agreement` checks what learners deliver, which is what a client sees; a catch-up that
//! stores a chosen value under the ballot it was chosen at adds a vote for that same value,
//! so it can never fake a choice of another one.
//!
//! State is history, not a view of the nodes: it survives crashes, and it is bounded by the
//! run's slots (at most `max_events`).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use distributed_core::NodeId;
use paxos::{Ballot, Output, Paxos, Slot, Value, Write};

use sim::hooks::Invariant;
use sim::view::ClusterView;

/// Chosen-once and agreement: one value per slot, among acceptors and among learners.
pub struct Agreement {
    /// Acceptors needed to choose (the phase-2 quorum).
    phase2_quorum: usize,
    /// Who voted for what at each (slot, ballot). A ballot proposes one value per slot, so a
    /// second value at one (slot, ballot) is itself a violation.
    votes: BTreeMap<(Slot, Ballot), (Value, BTreeSet<NodeId>)>,
    /// Values a phase-2 quorum wrote: the chosen ones, with the ballot that chose them first.
    chosen: BTreeMap<Slot, (Value, Ballot)>,
    /// What learners delivered at each slot (the first delivery).
    delivered: BTreeMap<Slot, (Value, NodeId)>,
}

impl Agreement {
    /// Checks for a cluster whose phase-2 quorum is `phase2_quorum`.
    pub fn new(phase2_quorum: usize) -> Self {
        Agreement {
            phase2_quorum,
            votes: BTreeMap::new(),
            chosen: BTreeMap::new(),
            delivered: BTreeMap::new(),
        }
    }

    fn on_vote(
        &mut self,
        node: NodeId,
        slot: Slot,
        ballot: Ballot,
        value: &Value,
    ) -> Result<(), String> {
        let entry = self
            .votes
            .entry((slot, ballot))
            .or_insert_with(|| (value.clone(), BTreeSet::new()));
        if entry.0 != *value {
            return Err(format!(
                "slot {slot}: ballot {ballot} carries two values, {} and {value} (from {node})",
                entry.0
            ));
        }
        entry.1.insert(node);
        if entry.1.len() < self.phase2_quorum {
            return Ok(());
        }
        match self.chosen.get(&slot) {
            Some((v, at)) if v != value => {
                let by: Vec<String> = entry.1.iter().map(NodeId::to_string).collect();
                Err(format!(
                    "slot {slot}: {v} was chosen at {at}, then {value} at {ballot} by {}",
                    by.join(",")
                ))
            }
            Some(_) => Ok(()),
            None => {
                self.chosen.insert(slot, (value.clone(), ballot));
                self.check_delivered(slot, value)
            }
        }
    }

    fn check_delivered(&self, slot: Slot, value: &Value) -> Result<(), String> {
        match self.delivered.get(&slot) {
            Some((v, by)) if v != value => Err(format!(
                "slot {slot}: {by} delivered {v}, but acceptors chose {value}"
            )),
            _ => Ok(()),
        }
    }

    fn on_delivery(&mut self, node: NodeId, slot: Slot, value: &Value) -> Result<(), String> {
        if let Some((v, at)) = self.chosen.get(&slot) {
            if v != value {
                return Err(format!(
                    "slot {slot}: {node} delivered {value}, but {v} was chosen at {at}"
                ));
            }
        }
        match self.delivered.get(&slot) {
            Some((v, by)) if v != value => Err(format!(
                "slot {slot}: {by} delivered {v}, {node} delivered {value}"
            )),
            Some(_) => Ok(()),
            None => {
                self.delivered.insert(slot, (value.clone(), node));
                Ok(())
            }
        }
    }
}

impl Invariant<Paxos> for Agreement {
    fn name(&self) -> &str {
        "agreement"
    }

    fn on_write(&mut self, node: NodeId, write: &Write) -> Result<(), String> {
        match write {
            Write::Accept(p) => self.on_vote(node, p.slot, p.ballot, &p.value),
            Write::Promise(_) | Write::Snapshot(_) => Ok(()),
        }
    }

    fn on_output(&mut self, node: NodeId, output: &Output) -> Result<(), String> {
        match output {
            Output::Committed { slot, value, .. } => self.on_delivery(node, *slot, value),
            _ => Ok(()),
        }
    }

    fn check(&mut self, _view: &ClusterView<Paxos>) -> Result<(), String> {
        Ok(())
    }
}

/// Promise-monotonic, in-order delivery and validity: each node's promises only grow (on its
/// disk, across crashes); it delivers slots one after another; every command delivered is one
/// a client proposed (Paxos Made Simple §2.1: "only a value that has been proposed may be
/// chosen").
pub struct NodeRules {
    /// The last promise each node wrote.
    promised: BTreeMap<NodeId, Ballot>,
    /// The last slot each node delivered (or restored) in its current incarnation.
    delivered: BTreeMap<NodeId, Slot>,
    /// Commands the clients proposed, shared with the client (`client.rs`).
    proposed: Rc<RefCell<BTreeSet<paxos::Bytes>>>,
}

impl NodeRules {
    /// Checks against the commands in `proposed`.
    pub fn new(proposed: Rc<RefCell<BTreeSet<paxos::Bytes>>>) -> Self {
        NodeRules {
            promised: BTreeMap::new(),
            delivered: BTreeMap::new(),
            proposed,
        }
    }
}

impl Invariant<Paxos> for NodeRules {
    fn name(&self) -> &str {
        "node-rules"
    }

    fn on_write(&mut self, node: NodeId, write: &Write) -> Result<(), String> {
        if let Write::Promise(b) = write {
            let last = self.promised.entry(node).or_insert(Ballot::ZERO);
            if *b < *last {
                return Err(format!("{node} promised {b} after promising {last}"));
            }
            *last = *b;
        }
        Ok(())
    }

    fn on_output(&mut self, node: NodeId, output: &Output) -> Result<(), String> {
        match output {
            Output::Committed { slot, value, .. } => {
                if let Some(last) = self.delivered.get(&node) {
                    if *slot != last + 1 {
                        return Err(format!("{node} delivered slot {slot} after slot {last}"));
                    }
                }
                self.delivered.insert(node, *slot);
                match value {
                    Value::Command(c) if !self.proposed.borrow().contains(c) => Err(format!(
                        "{node} delivered {value} at slot {slot}, which no client proposed"
                    )),
                    _ => Ok(()),
                }
            }
            Output::RestoreSnapshot { slot, .. } => {
                self.delivered.insert(node, *slot);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn on_restart(&mut self, node: NodeId) {
        // A new incarnation starts delivering after its disk's snapshot, wherever that is.
        self.delivered.remove(&node);
    }

    fn check(&mut self, _view: &ClusterView<Paxos>) -> Result<(), String> {
        Ok(())
    }
}
