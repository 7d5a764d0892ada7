//! The knobs of one Raft node, and the checks that keep them safe.
//!
//! Every timeout is counted in ticks (see `distributed_core::Tick`), every bound names its unit
//! last. The defaults follow the paper's advice (§5.6, §9.3): a heartbeat interval an order of
//! magnitude below the election timeout, and a timeout range wide enough that split votes are rare.
//!
//! ```text
//!   0        heartbeat            election_timeout_ticks_min        ..._max
//!   |────────────|───────────────────────────|──────────────────────────|──► ticks
//!                 leader pings every interval  a follower's timeout is drawn
//!                                              uniformly from [min, max)   (§5.2)
//! ```
//!
//! Invariants `validate` enforces: `id ∈ voters`, voters non-empty and unique,
//! `0 < heartbeat < min < max`, and every batch/pipeline bound at least 1.

use std::collections::BTreeSet;
use std::fmt;

use distributed_core::{NodeId, Tick};

/// Which commit rule the leader follows. The broken one exists so the simulator and the tests
/// can show what §5.4.2 protects against; it is never the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Variant {
    /// The paper's rule: count replicas only for entries of the leader's current term (§5.4.2).
    #[default]
    Correct,
    /// Deliberately unsafe: count replicas for entries of any term. Figure 8 shows how an entry
    /// committed this way can later be overwritten.
    CommitOldTerm,
}

/// The configuration of one node. Build it with [`Config::new`] and adjust fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// This node. Must be one of `voters`, because a node that cannot vote cannot lead.
    pub id: NodeId,
    /// Every voting member, this node included. Majorities are computed over this list.
    pub voters: Vec<NodeId>,
    /// Lower end of the randomized election timeout. Must exceed the heartbeat interval, or
    /// followers would campaign against a healthy leader between two heartbeats.
    pub election_timeout_ticks_min: Tick,
    /// Upper end (exclusive) of the randomized election timeout. The spread between min and
    /// max is what makes split votes unlikely (§5.2).
    pub election_timeout_ticks_max: Tick,
    /// How often an idle leader asserts itself. Also the retry period for a lost probe.
    pub heartbeat_interval_ticks: Tick,
    /// At most this many entries in one AppendEntries: bounds message size and the work a
    /// follower does per message.
    pub entries_per_append_max: usize,
    /// At most this many data bytes in one AppendEntries (sum of `data.len()`). A single larger
    /// entry is still sent alone, or it could never be replicated.
    pub append_bytes_max: usize,
    /// At most this many AppendEntries carrying entries may be unacknowledged per follower.
    /// Pipelining hides round trips; the bound keeps a slow follower from being flooded.
    pub inflight_appends_max: usize,
    /// The commit rule (correct, or the deliberately broken teaching variant).
    pub variant: Variant,
}

impl Config {
    /// A configuration with the default timeouts and bounds.
    pub fn new(id: NodeId, voters: Vec<NodeId>) -> Config {
        Config {
            id,
            voters,
            election_timeout_ticks_min: 10,
            election_timeout_ticks_max: 20,
            heartbeat_interval_ticks: 2,
            entries_per_append_max: 64,
            append_bytes_max: 1024 * 1024,
            inflight_appends_max: 4,
            variant: Variant::Correct,
        }
    }

    /// How many votes (or replicas) make a majority of `voters`.
    pub fn quorum(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    /// Reject configurations that are unsafe or cannot make progress, saying which field and why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_voters()?;
        self.validate_timeouts()?;
        self.validate_bounds()
    }

    fn validate_voters(&self) -> Result<(), ConfigError> {
        if self.voters.is_empty() {
            return Err(ConfigError::new(
                "voters is empty: a cluster needs at least one voter",
            ));
        }
        let unique: BTreeSet<NodeId> = self.voters.iter().copied().collect();
        if unique.len() != self.voters.len() {
            return Err(ConfigError::new(format!(
                "voters {:?} lists a node twice: majorities would be miscounted",
                self.voters
            )));
        }
        if !unique.contains(&self.id) {
            return Err(ConfigError::new(format!(
                "id {} is not in voters {:?}: a node must be one of the voters",
                self.id, self.voters
            )));
        }
        Ok(())
    }

    fn validate_timeouts(&self) -> Result<(), ConfigError> {
        let (min, max) = (
            self.election_timeout_ticks_min,
            self.election_timeout_ticks_max,
        );
        if self.heartbeat_interval_ticks == 0 {
            return Err(ConfigError::new(
                "heartbeat_interval_ticks is 0: must be at least 1",
            ));
        }
        if min >= max {
            return Err(ConfigError::new(format!(
                "election_timeout_ticks_min ({min}) must be below election_timeout_ticks_max \
                 ({max}): the timeout is drawn from [min, max)"
            )));
        }
        if self.heartbeat_interval_ticks >= min {
            return Err(ConfigError::new(format!(
                "heartbeat_interval_ticks ({}) must be below election_timeout_ticks_min ({min}): \
                 otherwise followers time out between heartbeats",
                self.heartbeat_interval_ticks
            )));
        }
        Ok(())
    }

    fn validate_bounds(&self) -> Result<(), ConfigError> {
        let bounds = [
            ("entries_per_append_max", self.entries_per_append_max),
            ("append_bytes_max", self.append_bytes_max),
            ("inflight_appends_max", self.inflight_appends_max),
        ];
        for (name, value) in bounds {
            if value == 0 {
                return Err(ConfigError::new(format!(
                    "{name} is 0: must be at least 1 or nothing is ever replicated"
                )));
            }
        }
        Ok(())
    }
}

/// Why a node cannot start: a bad `Config`, or a `Disk` image that breaks Raft's invariants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> ConfigError {
        ConfigError(message.into())
    }

    /// The human-readable reason.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid raft config: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Config {
        Config::new(NodeId(1), vec![NodeId(1), NodeId(2), NodeId(3)])
    }

    fn rejected_with(config: &Config, needle: &str) -> bool {
        match config.validate() {
            Err(e) => e.to_string().contains(needle),
            Ok(()) => false,
        }
    }

    #[test]
    fn the_default_config_is_valid() {
        assert_eq!(three().validate(), Ok(()));
    }

    #[test]
    fn validate_rejects_an_id_outside_the_voters() {
        let mut c = three();
        c.id = NodeId(9);
        assert!(rejected_with(&c, "id n9 is not in voters"));
    }

    #[test]
    fn validate_rejects_empty_or_duplicated_voters() {
        let mut c = three();
        c.voters.clear();
        assert!(rejected_with(&c, "voters is empty"));
        c.voters = vec![NodeId(1), NodeId(2), NodeId(2)];
        assert!(rejected_with(&c, "lists a node twice"));
    }

    #[test]
    fn validate_rejects_an_empty_timeout_range() {
        // Raft §5.2: the timeout is drawn from a range; an empty range cannot be drawn from.
        let mut c = three();
        c.election_timeout_ticks_max = c.election_timeout_ticks_min;
        assert!(rejected_with(
            &c,
            "must be below election_timeout_ticks_max"
        ));
    }

    #[test]
    fn validate_rejects_a_heartbeat_as_slow_as_the_election_timeout() {
        // Raft §5.6: broadcastTime ≪ electionTimeout.
        let mut c = three();
        c.heartbeat_interval_ticks = c.election_timeout_ticks_min;
        assert!(rejected_with(
            &c,
            "heartbeat_interval_ticks (10) must be below"
        ));
        c.heartbeat_interval_ticks = 0;
        assert!(rejected_with(&c, "heartbeat_interval_ticks is 0"));
    }

    #[test]
    fn validate_rejects_zero_bounds() {
        for field in 0..3 {
            let mut c = three();
            match field {
                0 => c.entries_per_append_max = 0,
                1 => c.append_bytes_max = 0,
                _ => c.inflight_appends_max = 0,
            }
            assert!(rejected_with(&c, "is 0: must be at least 1"));
        }
    }

    #[test]
    fn a_majority_of_five_is_three_and_of_four_is_three() {
        let mut c = three();
        c.voters = (1..=5).map(NodeId).collect();
        assert_eq!(c.quorum(), 3);
        c.voters.pop();
        assert_eq!(c.quorum(), 3);
    }
}
