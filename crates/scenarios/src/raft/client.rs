//! A simulated Raft client: proposes small commands to whoever it believes leads.
//!
//! ```text
//!   poll ──► target = believed leader, or a random node if none
//!            └─► Propose(8..16 bytes: a command number, then random filler)
//!
//!   NotLeader{leader=n3} ──► believe n3          Accepted from n2 ──► believe n2
//!   NotLeader{leader=none} or input lost ──► believe nobody (next target is random)
//!   no Committed from the believed leader for stall_units ──► believe nobody
//! ```
//!
//! The client learns only what a real client could: answers to its requests, the commits its
//! leader reports, and silence. It never reads node state, so a stale or partitioned leader
//! fools it exactly as long as it would fool a real client. Every command is unique (its first
//! eight bytes number it), so two different commands never compare equal in the invariants.

use distributed_core::{NodeId, Rng, SeededRng};
use raft::{Bytes, Input, Output, Raft};

use sim::config::Time;
use sim::hooks::{Workload, WorkloadStep};
use sim::view::ClusterView;

/// The longest command the client sends: small commands keep memory flat over long runs.
const COMMAND_BYTES_MAX: u64 = 16;

/// Proposes commands at a jittered interval, following leader hints.
pub struct Client {
    /// Mean time between proposals. Jittered ±50% per poll so proposals do not line up with
    /// the nodes' tick periods.
    interval_units: Time,
    /// How long the believed leader may go without reporting a commit before the client
    /// gives up on it (a leader cut off by a partition never says so itself).
    stall_units: Time,
    /// Where proposals go, if the client has a guess.
    leader: Option<NodeId>,
    /// When the believed leader last reported a commit (or when the client picked it).
    progress_at: Time,
    /// The next command's number.
    next_command: u64,
}

impl Client {
    /// A client proposing every `interval_units` on average, giving up on a silent leader after
    /// `stall_units`.
    pub fn new(interval_units: Time, stall_units: Time) -> Self {
        Client {
            interval_units: interval_units.max(2),
            stall_units,
            leader: None,
            progress_at: 0,
            next_command: 1,
        }
    }

    fn command(&mut self, rng: &mut SeededRng) -> Bytes {
        let len = rng.range(8, COMMAND_BYTES_MAX + 1) as usize;
        let mut data = Vec::with_capacity(len);
        data.extend_from_slice(&self.next_command.to_le_bytes());
        data.extend_from_slice(&rng.next_u64().to_le_bytes()[..len - 8]);
        self.next_command += 1;
        Bytes::from(data)
    }

    fn believe(&mut self, leader: Option<NodeId>, now: Time) {
        if leader != self.leader {
            self.leader = leader;
            self.progress_at = now;
        }
    }
}

impl Workload<Raft> for Client {
    fn poll(&mut self, view: &ClusterView<Raft>, rng: &mut SeededRng) -> WorkloadStep<Input> {
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
            Output::Accepted { .. } => self.believe(Some(node), now),
            Output::Committed(_) => {
                if self.leader == Some(node) {
                    self.progress_at = now;
                }
            }
            // This client only proposes; it never sends `Input::Read` or membership changes.
            // Snapshots are the host's business (snapshots.rs), not the client's.
            Output::ReadReady { .. }
            | Output::ReadFailed { .. }
            | Output::ChangeRejected { .. }
            | Output::RestoreSnapshot(_) => {}
        }
    }

    fn on_input_dropped(&mut self, node: NodeId, now: Time) {
        if self.leader == Some(node) {
            self.believe(None, now);
        }
    }
}
