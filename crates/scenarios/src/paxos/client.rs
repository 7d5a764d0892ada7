//! A simulated Paxos client: proposes small, unique commands to whoever it believes leads.
//!
//! ```text
//!   poll ──► target = believed leader, or a random node if none
//!            └─► Propose(8..16 bytes: a command number, then random filler); remembered in
//!                `proposed`, which the validity check reads
//!
//!   NotLeader{leader=n3} ──► believe n3          Accepted from n2 ──► believe n2
//!   NotLeader{leader=none} or input lost ──► believe nobody (next target is random)
//!   Busy ──► keep the leader: it is alive, only full
//!   no Committed from the believed leader for stall_units ──► believe nobody
//! ```
//!
//! The same client as Raft's (`raft/client.rs`), speaking Paxos's outputs: it learns only
//! what a real client could, never node state. Every command is unique (its first eight bytes
//! number it), so two commands never compare equal in the agreement check.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use distributed_core::{NodeId, Rng, SeededRng};
use paxos::{Bytes, Input, Output, Paxos};

use sim::config::Time;
use sim::hooks::{Workload, WorkloadStep};
use sim::view::ClusterView;

/// The longest command the client sends.
const COMMAND_BYTES_MAX: u64 = 16;

/// Proposes commands at a jittered interval, following leader hints.
pub struct Client {
    /// Mean time between proposals, jittered ±50% per poll.
    interval_units: Time,
    /// How long the believed leader may go without a commit before the client gives up on it.
    stall_units: Time,
    /// Where proposals go, if the client has a guess.
    leader: Option<NodeId>,
    /// When the believed leader last reported a commit (or when the client picked it).
    progress_at: Time,
    /// The next command's number.
    next_command: u64,
    /// Every command sent, for the validity check. Bounded by the proposals of one run.
    proposed: Rc<RefCell<BTreeSet<Bytes>>>,
}

impl Client {
    /// A client proposing every `interval_units` on average, recording into `proposed`.
    pub fn new(
        interval_units: Time,
        stall_units: Time,
        proposed: Rc<RefCell<BTreeSet<Bytes>>>,
    ) -> Self {
        Client {
            interval_units: interval_units.max(2),
            stall_units,
            leader: None,
            progress_at: 0,
            next_command: 1,
            proposed,
        }
    }

    fn command(&mut self, rng: &mut SeededRng) -> Bytes {
        let len = rng.range(8, COMMAND_BYTES_MAX + 1) as usize;
        let mut data = Vec::with_capacity(len);
        data.extend_from_slice(&self.next_command.to_le_bytes());
        data.extend_from_slice(&rng.next_u64().to_le_bytes()[..len - 8]);
        self.next_command += 1;
        let command = Bytes::from(data);
        self.proposed.borrow_mut().insert(command.clone());
        command
    }

    fn believe(&mut self, leader: Option<NodeId>, now: Time) {
        if leader != self.leader {
            self.leader = leader;
            self.progress_at = now;
        }
    }
}

impl Workload<Paxos> for Client {
    fn poll(&mut self, view: &ClusterView<Paxos>, rng: &mut SeededRng) -> WorkloadStep<Input> {
        let now = view.now();
        if self.leader.is_some() && now.saturating_sub(self.progress_at) > self.stall_units {
            self.believe(None, now);
        }
        let target = match self.leader {
            Some(l) => l,
            None => NodeId(rng.range(1, view.len() as u64 + 1)),
        };
        let input = Input::Propose(self.command(rng));
        let half = self.interval_units / 2;
        let next = rng.range(half, self.interval_units + half + 1);
        WorkloadStep {
            input: Some((target, input)),
            next_poll_units: Some(next),
        }
    }

    fn on_output(&mut self, node: NodeId, output: &Output, now: Time) {
        match output {
            Output::NotLeader { leader } => {
                if self.leader == Some(node) || self.leader.is_none() {
                    self.believe(*leader, now);
                }
            }
            // The leader is alive, only full: keep sending to it.
            Output::Busy { .. } => {}
            Output::Accepted { .. } => self.believe(Some(node), now),
            Output::Committed { .. } => {
                if self.leader == Some(node) {
                    self.progress_at = now;
                }
            }
            // This client never reads, and snapshots are the host's business.
            Output::ReadReady { .. }
            | Output::ReadFailed { .. }
            | Output::RestoreSnapshot { .. } => {}
        }
    }

    fn on_input_dropped(&mut self, node: NodeId, now: Time) {
        if self.leader == Some(node) {
            self.believe(None, now);
        }
    }
}
