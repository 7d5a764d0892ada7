//! The settings of one replica: Raft's, the state machine's, the bound on waiting clients, and
//! which variant (correct, or deliberately broken) the replica runs.
//!
//! ```text
//!   ReplicaConfig ─┬─ raft: raft::Config        validated by Raft::new
//!                  ├─ kv:   kv::Config          validated by StateMachine::new
//!                  ├─ pending_requests_max      validated here: 1..=PENDING_REQUESTS_LIMIT
//!                  └─ variant: ReplicaVariant   Correct unless a test or the simulator asks
//! ```
//!
//! Invariant: `KvReplica::new` accepts a config only if all three checks pass, and says which
//! one failed. Every replica of a cluster must run the same `kv` config (see `machine.rs`).

use std::fmt;

use crate::machine::ConfigError;

/// How the replica answers clients. The broken variants exist so the simulator's
/// linearizability checker can show it catches them; they are never the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReplicaVariant {
    /// Every command goes through the log; a reply is sent only once its entry commits.
    #[default]
    Correct,
    /// Deliberately unsafe: any node (follower, candidate or leader) answers read-only commands
    /// at once from its local state machine, which may lag the cluster or belong to a deposed
    /// leader. Breaks linearizability with stale reads (what ReadIndex, Raft §6.4, prevents).
    StaleFollowerReads,
    /// Deliberately unsafe: the leader answers `Put` and `MultiPut` (writes whose reply is `Ok`
    /// whatever the state) as soon as Raft accepts them, before they commit. A leader that loses
    /// its uncommitted suffix has then acknowledged writes no replica will ever apply.
    AckBeforeCommit,
}

impl fmt::Display for ReplicaVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ReplicaVariant::Correct => "correct",
            ReplicaVariant::StaleFollowerReads => "stale-follower-reads",
            ReplicaVariant::AckBeforeCommit => "ack-before-commit",
        };
        write!(f, "{name}")
    }
}

/// The configuration of one replica. Build it with [`ReplicaConfig::new`] and adjust fields.
#[derive(Clone, Debug)]
pub struct ReplicaConfig {
    /// The consensus layer's settings: id, voters, timeouts, replication bounds.
    pub raft: raft::Config,
    /// The state machine's settings. Must be identical on every replica, or replies diverge.
    pub kv: crate::machine::Config,
    /// Most client requests waiting for their entry to commit on this leader. Bounds the
    /// replica's memory and, without check-quorum, how much a leader cut off from its
    /// followers lets pile up in its log; past it new requests get `Outcome::Busy`.
    pub pending_requests_max: usize,
    /// Correct, or one of the deliberately broken teaching variants.
    pub variant: ReplicaVariant,
}

impl ReplicaConfig {
    /// The largest `pending_requests_max` accepted: each pending request costs a few words, but
    /// each also stands for an uncommitted log entry a deposed leader may have to throw away.
    pub const PENDING_REQUESTS_LIMIT: usize = 1 << 20;

    /// A correct replica with default state machine settings and 1024 pending requests.
    pub fn new(raft: raft::Config) -> ReplicaConfig {
        ReplicaConfig {
            raft,
            kv: crate::machine::Config::default(),
            pending_requests_max: 1024,
            variant: ReplicaVariant::Correct,
        }
    }

    /// Reject settings that could never work, saying which and why. The `raft` and `kv` parts
    /// are checked too, by the same code `Raft::new` and `StateMachine::new` run.
    pub fn validate(&self) -> Result<(), ReplicaError> {
        self.raft.validate().map_err(ReplicaError::Raft)?;
        self.kv.validate().map_err(ReplicaError::Kv)?;
        let max = self.pending_requests_max;
        if max == 0 || max > Self::PENDING_REQUESTS_LIMIT {
            return Err(ReplicaError::Replica(format!(
                "pending_requests_max {max} must be in 1..={}: 0 would refuse every request",
                Self::PENDING_REQUESTS_LIMIT
            )));
        }
        Ok(())
    }
}

/// Why a replica cannot start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaError {
    /// The Raft config is invalid, or the disk breaks Raft's invariants.
    Raft(raft::ConfigError),
    /// The state machine config is invalid.
    Kv(ConfigError),
    /// A replica setting is invalid; the message names it and says why.
    Replica(String),
}

impl fmt::Display for ReplicaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplicaError::Raft(e) => write!(f, "replica: {e}"),
            ReplicaError::Kv(e) => write!(f, "replica: {e}"),
            ReplicaError::Replica(message) => write!(f, "replica config: {message}"),
        }
    }
}

impl std::error::Error for ReplicaError {}

#[cfg(test)]
mod tests {
    use super::*;
    use distributed_core::NodeId;

    fn config() -> ReplicaConfig {
        ReplicaConfig::new(raft::Config::new(NodeId(1), vec![NodeId(1)]))
    }

    #[test]
    fn the_default_replica_config_is_valid_and_correct() {
        let c = config();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.variant, ReplicaVariant::Correct);
    }

    #[test]
    fn a_replica_that_could_hold_no_pending_request_is_rejected_with_a_reason() {
        let mut c = config();
        c.pending_requests_max = 0;
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("pending_requests_max 0 must be in 1..="),
            "{err}"
        );
    }

    #[test]
    fn invalid_raft_and_kv_settings_are_reported_as_theirs() {
        let mut c = config();
        c.raft.heartbeat_interval_ticks = 0;
        assert!(matches!(c.validate(), Err(ReplicaError::Raft(_))));
        let mut c = config();
        c.kv.sessions_max = 0;
        assert!(matches!(c.validate(), Err(ReplicaError::Kv(_))));
    }

    #[test]
    fn variants_print_in_kebab_case_for_the_cli() {
        assert_eq!(
            ReplicaVariant::AckBeforeCommit.to_string(),
            "ack-before-commit"
        );
        assert_eq!(
            ReplicaVariant::StaleFollowerReads.to_string(),
            "stale-follower-reads"
        );
    }
}
