//! The knobs of one Paxos node, the flexible quorums, and the checks that keep them safe.
//!
//! ```text
//!   n nodes, every one an acceptor.   phase 1 waits for phase1_quorum promises,
//!                                     phase 2 waits for phase2_quorum accepts.
//!
//!   Flexible Paxos (Howard, Malkhi, Spiegelman 2016, §3): safety needs only that every
//!   phase-1 quorum meets every phase-2 quorum:   phase1_quorum + phase2_quorum > n
//!
//!        n=5, q1=4, q2=2:   Q1 = {1,2,3,4}       a new leader hears from 4 nodes (rare, costly)
//!                           Q2 = {4,5}           every command needs only 2 (common, cheap)
//!                           they share node 4, so whatever Q2 chose, Q1 reports
//!
//!   timeouts: a follower that hears no leader for T ticks, T drawn uniformly from
//!   leader_timeout_ticks_min..=leader_timeout_ticks_max, starts phase 1;
//!   a leader asserts itself every heartbeat_ticks (< min).
//! ```
//!
//! Invariants `validate` enforces: `id` is one of `nodes`, which are non-empty and unique;
//! `1 ≤ q1, q2 ≤ n` and `q1 + q2 > n`; `0 < heartbeat < min ≤ max`; every bound at least 1.
//! The `SmallPhase1Quorum` variant bypasses the intersection rule on purpose, at run time
//! ([`Config::effective_phase1_quorum`]), so `validate` still sees the configured quorums.

use std::collections::BTreeSet;
use std::fmt;

use distributed_core::{NodeId, Tick};

/// Correct Multi-Paxos, or one deliberately broken rule, so the simulator and the tests can
/// show what the rule protects. Never the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Variant {
    /// The papers' rules everywhere.
    #[default]
    Correct,
    /// Deliberately unsafe: a new leader ignores the values in the promises it collected and
    /// proposes no-ops in every slot it does not itself know to be chosen ("Paxos Made Simple"
    /// §2.2 requires proposing the value of the highest-numbered accepted proposal). A value
    /// that a phase-2 quorum accepted, and that was therefore chosen and maybe delivered, is
    /// overwritten by a no-op at a higher ballot: two nodes deliver different values for one
    /// slot. A simulator catches it with an agreement check after every event, as soon as a
    /// leader crashes (or its commit notices are lost) between choosing and telling everyone.
    AcceptOwnValue,
    /// Deliberately unsafe: phase 1 completes with `n − phase2_quorum` promises, one too few to
    /// meet every phase-2 quorum (Flexible Paxos §3). A new leader can then miss every acceptor
    /// of the quorum that chose a value, see nothing, and fill the slot with a no-op that a
    /// disjoint phase-2 quorum accepts. A simulator catches it like `AcceptOwnValue`, but only
    /// when the promising nodes are exactly the ones that missed the choice: it needs lost
    /// messages or a partition, which is why it takes more seeds to find.
    SmallPhase1Quorum,
}

/// The configuration of one node. Build it with [`Config::new`] and adjust fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// This node.
    pub id: NodeId,
    /// Every node of the cluster: each is an acceptor, a learner and a potential leader. Fixed
    /// (no reconfiguration here: see the crate docs, "Not here").
    pub nodes: Vec<NodeId>,
    /// Promises a candidate needs before it leads (Flexible Paxos §3: Q1).
    pub phase1_quorum: usize,
    /// Accepts a slot needs before its value is chosen (Flexible Paxos §3: Q2).
    pub phase2_quorum: usize,
    /// Lower end of the randomized wait before a node that hears no leader starts phase 1.
    pub leader_timeout_ticks_min: Tick,
    /// Upper end (inclusive): the spread makes two nodes rarely start phase 1 together and
    /// preempt each other (duelling proposers, "Paxos Made Simple" §2.4).
    pub leader_timeout_ticks_max: Tick,
    /// How often a leader sends a `Commit` heartbeat (and resends what is unacknowledged); a
    /// candidate resends its `Prepare` as often.
    pub heartbeat_ticks: Tick,
    /// At most this many slots open (proposed, not yet known chosen) at the leader from client
    /// proposals: PMMC's WINDOW. Beyond it a proposal is refused with `Output::Busy`.
    pub open_slots_max: usize,
    /// At most this many pvalues in one `Promise`; an acceptor with more says where to continue
    /// (`more=`), and the candidate asks again from there.
    pub promise_entries_max: usize,
    /// At most this many chosen values in one `Chosen` answer to a `CatchUp`.
    pub catch_up_batch_max: usize,
    /// At most this many reads waiting at the leader; beyond it a read fails with `Busy`.
    pub pending_reads_max: usize,
    /// Correct, or one deliberately broken teaching variant.
    pub variant: Variant,
}

impl Config {
    /// A configuration with majority quorums and the default timeouts and bounds.
    pub fn new(id: NodeId, nodes: Vec<NodeId>) -> Config {
        let majority = nodes.len() / 2 + 1;
        Config {
            id,
            nodes,
            phase1_quorum: majority,
            phase2_quorum: majority,
            leader_timeout_ticks_min: 10,
            leader_timeout_ticks_max: 20,
            heartbeat_ticks: 2,
            open_slots_max: 256,
            promise_entries_max: 64,
            catch_up_batch_max: 64,
            pending_reads_max: 1024,
            variant: Variant::Correct,
        }
    }

    /// The promises phase 1 waits for: `phase1_quorum`, except under `SmallPhase1Quorum`,
    /// which takes `n − phase2_quorum` (at least 1): just too few to meet every phase-2 quorum.
    pub fn effective_phase1_quorum(&self) -> usize {
        match self.variant {
            Variant::SmallPhase1Quorum => {
                (self.nodes.len().saturating_sub(self.phase2_quorum)).max(1)
            }
            _ => self.phase1_quorum,
        }
    }

    /// Acknowledgements (this node included) that confirm a leader for a read round:
    /// `n − max(q1, q2) + 1`, the smallest set that meets every phase-1 quorum or every phase-2
    /// quorum. See read.rs for why meeting either is enough; both a phase-1 and a phase-2
    /// quorum are at least this big, and with majorities it is a majority.
    pub fn read_quorum(&self) -> usize {
        let larger = self.phase1_quorum.max(self.phase2_quorum);
        (self.nodes.len() + 1).saturating_sub(larger).max(1)
    }

    /// Reject configurations that are unsafe or cannot make progress, saying which field and why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_nodes()?;
        self.validate_quorums()?;
        self.validate_timeouts()?;
        self.validate_bounds()
    }

    fn validate_nodes(&self) -> Result<(), ConfigError> {
        if self.nodes.is_empty() {
            return Err(ConfigError::new("nodes is empty: a cluster needs a node"));
        }
        let unique: BTreeSet<NodeId> = self.nodes.iter().copied().collect();
        if unique.len() != self.nodes.len() {
            return Err(ConfigError::new(format!(
                "nodes {:?} lists a node twice: quorums would be miscounted",
                self.nodes
            )));
        }
        if !unique.contains(&self.id) {
            return Err(ConfigError::new(format!(
                "id {} is not one of nodes {:?}: every node is an acceptor of its cluster",
                self.id, self.nodes
            )));
        }
        if self.id == NodeId(0) {
            return Err(ConfigError::new(
                "id n0 is reserved: Ballot::ZERO belongs to it",
            ));
        }
        Ok(())
    }

    fn validate_quorums(&self) -> Result<(), ConfigError> {
        let n = self.nodes.len();
        for (name, q) in [
            ("phase1_quorum", self.phase1_quorum),
            ("phase2_quorum", self.phase2_quorum),
        ] {
            if q == 0 {
                return Err(ConfigError::new(format!(
                    "{name} is 0: a quorum of nobody decides nothing, and meets no other quorum"
                )));
            }
            if q > n {
                return Err(ConfigError::new(format!(
                    "{name} ({q}) is above the {n} nodes: it could never be reached"
                )));
            }
        }
        let (q1, q2) = (self.phase1_quorum, self.phase2_quorum);
        if q1 + q2 <= n {
            return Err(ConfigError::new(format!(
                "phase1_quorum ({q1}) + phase2_quorum ({q2}) must exceed the {n} nodes: \
                 otherwise a phase-1 quorum can miss every acceptor of a phase-2 quorum that \
                 chose a value, and a new leader would choose another (Flexible Paxos §3, \
                 quorum intersection)"
            )));
        }
        Ok(())
    }

    fn validate_timeouts(&self) -> Result<(), ConfigError> {
        let (min, max) = (self.leader_timeout_ticks_min, self.leader_timeout_ticks_max);
        if self.heartbeat_ticks == 0 {
            return Err(ConfigError::new("heartbeat_ticks is 0: must be at least 1"));
        }
        if min > max {
            return Err(ConfigError::new(format!(
                "leader_timeout_ticks_min ({min}) is above leader_timeout_ticks_max ({max}): \
                 the timeout is drawn from min..=max"
            )));
        }
        if self.heartbeat_ticks >= min {
            return Err(ConfigError::new(format!(
                "heartbeat_ticks ({}) must be below leader_timeout_ticks_min ({min}): \
                 otherwise followers give up on a healthy leader between two heartbeats",
                self.heartbeat_ticks
            )));
        }
        Ok(())
    }

    fn validate_bounds(&self) -> Result<(), ConfigError> {
        let bounds = [
            ("open_slots_max", self.open_slots_max),
            ("promise_entries_max", self.promise_entries_max),
            ("catch_up_batch_max", self.catch_up_batch_max),
            ("pending_reads_max", self.pending_reads_max),
        ];
        for (name, value) in bounds {
            if value == 0 {
                return Err(ConfigError::new(format!(
                    "{name} is 0: must be at least 1 or nothing ever gets through"
                )));
            }
        }
        Ok(())
    }
}

/// Why a configuration was rejected: the field and the reason, in one sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The explanation, naming the field.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(reason: impl Into<String>) -> ConfigError {
        ConfigError {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid paxos config: {}", self.reason)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn five() -> Config {
        Config::new(NodeId(1), (1..=5).map(NodeId).collect())
    }

    fn rejected_with(c: &Config, words: &str) -> bool {
        match c.validate() {
            Err(e) => e.reason.contains(words),
            Ok(()) => false,
        }
    }

    #[test]
    fn the_default_is_a_majority_for_both_phases() {
        let c = five();
        assert_eq!((c.phase1_quorum, c.phase2_quorum), (3, 3));
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.read_quorum(), 3);
    }

    #[test]
    fn validate_refuses_quorums_that_do_not_intersect_and_says_why() {
        // Flexible Paxos §3: |Q1| + |Q2| > n is all that safety needs.
        let mut c = five();
        (c.phase1_quorum, c.phase2_quorum) = (3, 2);
        assert!(rejected_with(&c, "must exceed the 5 nodes"));
        assert!(rejected_with(&c, "quorum intersection"));
        (c.phase1_quorum, c.phase2_quorum) = (4, 2);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.read_quorum(), 2, "n − max(q1, q2) + 1");
    }

    #[test]
    fn validate_refuses_empty_and_oversized_quorums() {
        let mut c = five();
        c.phase1_quorum = 0;
        assert!(rejected_with(&c, "phase1_quorum is 0"));
        c.phase1_quorum = 6;
        assert!(rejected_with(&c, "phase1_quorum (6) is above the 5 nodes"));
        (c.phase1_quorum, c.phase2_quorum) = (5, 0);
        assert!(rejected_with(&c, "phase2_quorum is 0"));
    }

    #[test]
    fn validate_refuses_bad_timeouts_bounds_and_membership() {
        let mut c = five();
        c.heartbeat_ticks = 10;
        assert!(rejected_with(&c, "heartbeat_ticks (10) must be below"));
        let mut c = five();
        c.leader_timeout_ticks_max = 5;
        assert!(rejected_with(&c, "is above leader_timeout_ticks_max"));
        let mut c = five();
        c.catch_up_batch_max = 0;
        assert!(rejected_with(&c, "catch_up_batch_max is 0"));
        let mut c = five();
        c.id = NodeId(9);
        assert!(rejected_with(&c, "is not one of nodes"));
        c.nodes = vec![NodeId(9), NodeId(9)];
        assert!(rejected_with(&c, "lists a node twice"));
    }

    #[test]
    fn the_small_phase1_variant_keeps_validate_happy_but_uses_a_quorum_that_misses() {
        let mut c = five();
        c.variant = Variant::SmallPhase1Quorum;
        assert_eq!(c.validate(), Ok(()), "validate sees the configured quorums");
        assert_eq!(
            c.effective_phase1_quorum(),
            2,
            "5 − 3: meets no Q2 for sure"
        );
    }
}
