//! The settings of one replica: Raft's, the state machine's, the bound on waiting clients, how
//! reads are served, and which variant (correct, or deliberately broken) the replica runs.
//!
//! ```text
//!   ReplicaConfig ─┬─ raft: raft::Config        validated by Raft::new (read_mode from `reads`)
//!                  ├─ kv:   kv::Config          validated by StateMachine::new
//!                  ├─ pending_requests_max      validated here: 1..=PENDING_REQUESTS_LIMIT
//!                  ├─ reads: ReadPath           Log | ReadIndex (default) | Lease
//!                  ├─ variant: ReplicaVariant   Correct unless a test or the simulator asks
//!                  ├─ snapshot_log_entries_max,  compaction thresholds (Raft §7), each >= 1
//!                  │  snapshot_log_bytes_max
//!                  └─ expire_keys_per_entry_max  keys per active-expiry entry (expiry.rs):
//!                                                1..=kv.limits.args_per_command_max
//!
//!   reads        raft.read_mode   a read-only command costs            safe if
//!   Log          ReadIndex        a log entry, a commit round          always
//!   ReadIndex    ReadIndex        one heartbeat round per batch        always          (§6.4)
//!   Lease        Lease            nothing while the lease holds        tick rates differ by at
//!                                                                      most clock_drift (§6.4.1)
//! ```
//!
//! `reads` is the one knob: [`ReplicaConfig::raft_config`] is `raft` with its `read_mode` set
//! from it, and `validate` refuses a `raft.read_mode` of `Lease` that `reads` does not ask for
//! (it would be silently ignored), a `Lease` without `check_quorum`, and the broken
//! `LeaseIgnoresDrift` Raft variant without lease reads.
//!
//! Invariant: `KvReplica::new` accepts a config only if all these checks pass, and says which
//! one failed. Every replica of a cluster must run the same `kv` config (see `machine.rs`).

use std::fmt;

use raft::{ReadMode, Variant};

use kv::ConfigError;

/// How a replica serves read-only commands (`Get`, `MultiGet`, `Exists`, `Noop`). Writes always
/// go through the log. All three are linearizable in a correct replica; they differ in cost and
/// in what they assume (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReadPath {
    /// Through the log like a write: one entry, replicated and committed, per read. Needs no
    /// clock assumption and no Raft read machinery; the road taken before ReadIndex existed.
    Log,
    /// Raft's ReadIndex (thesis §6.4): the leader's commit index, confirmed by one heartbeat
    /// round a quorum answers, then answered from the local state machine once it has applied
    /// that far. Followers serve reads too, by asking the leader for the index.
    #[default]
    ReadIndex,
    /// Lease reads (thesis §6.4.1): while its lease holds the leader answers at once, with no
    /// messages; otherwise as ReadIndex. Safe only while tick rates differ by at most
    /// `raft.clock_drift_per_mille_max`, and only with `raft.check_quorum`.
    Lease,
}

impl ReadPath {
    /// Every read path, in the order the CLI lists them.
    pub const ALL: [ReadPath; 3] = [ReadPath::Log, ReadPath::ReadIndex, ReadPath::Lease];

    /// The Raft read mode this path needs. `Log` issues no Raft reads, so any mode would do;
    /// ReadIndex keeps the lease machinery (and its clock assumption) out of it.
    pub fn raft_read_mode(self) -> ReadMode {
        match self {
            ReadPath::Log | ReadPath::ReadIndex => ReadMode::ReadIndex,
            ReadPath::Lease => ReadMode::Lease,
        }
    }
}

impl fmt::Display for ReadPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadPath::Log => "log",
            ReadPath::ReadIndex => "read-index",
            ReadPath::Lease => "lease",
        })
    }
}

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
    pub kv: kv::Config,
    /// Most client requests waiting for their entry to commit on this leader. Bounds the
    /// replica's memory and, without check-quorum, how much a leader cut off from its
    /// followers lets pile up in its log; past it new requests get `Outcome::Busy`.
    /// Reads served without the log are bounded by `raft.pending_reads_max` instead.
    pub pending_requests_max: usize,
    /// How read-only commands are served; decides `raft.read_mode` (see `raft_config`).
    pub reads: ReadPath,
    /// Correct, or one of the deliberately broken teaching variants.
    pub variant: ReplicaVariant,
    /// Snapshot the state machine (Raft §7) once this many entries were applied since the
    /// last snapshot (or start): bounds the retained log, and so restart time and disk use.
    pub snapshot_log_entries_max: u64,
    /// ...or once the entries applied since the last snapshot carry this many data bytes,
    /// whichever comes first: a few huge entries should not wait for the entry count.
    pub snapshot_log_bytes_max: u64,
    /// Most keys one `DISTRIBUTED.EXPIRE` entry names (active expiry, `expiry.rs`). Bounds
    /// the entry's size and the work of applying it; a leader with more keys due proposes
    /// the next entry once this one is applied. Redis' active expiry looks at 20 keys per
    /// loop; an entry costs a commit round, so it carries more.
    pub expire_keys_per_entry_max: usize,
}

impl ReplicaConfig {
    /// The largest `pending_requests_max` accepted: each pending request costs a few words, but
    /// each also stands for an uncommitted log entry a deposed leader may have to throw away.
    pub const PENDING_REQUESTS_LIMIT: usize = 1 << 20;

    /// A correct replica with default state machine settings, 1024 pending requests, and reads
    /// served by ReadIndex.
    pub fn new(raft: raft::Config) -> ReplicaConfig {
        ReplicaConfig {
            raft,
            kv: kv::Config::default(),
            pending_requests_max: 1024,
            reads: ReadPath::default(),
            variant: ReplicaVariant::Correct,
            snapshot_log_entries_max: 10_000,
            snapshot_log_bytes_max: 64 << 20,
            expire_keys_per_entry_max: 64,
        }
    }

    /// The Raft config the replica runs: `raft`, with `read_mode` set from `reads`.
    pub fn raft_config(&self) -> raft::Config {
        raft::Config {
            read_mode: self.reads.raft_read_mode(),
            ..self.raft.clone()
        }
    }

    /// Reject settings that could never work, saying which and why. The `raft` and `kv` parts
    /// are checked too, by the same code `Raft::new` and `StateMachine::new` run.
    pub fn validate(&self) -> Result<(), ReplicaError> {
        self.validate_reads()?;
        self.raft_config().validate().map_err(ReplicaError::Raft)?;
        self.kv.validate().map_err(ReplicaError::Kv)?;
        let max = self.pending_requests_max;
        if max == 0 || max > Self::PENDING_REQUESTS_LIMIT {
            return Err(ReplicaError::Replica(format!(
                "pending_requests_max {max} must be in 1..={}: 0 would refuse every request",
                Self::PENDING_REQUESTS_LIMIT
            )));
        }
        self.validate_snapshots()?;
        self.validate_expiry()
    }

    /// The active-expiry bound: at least one key per entry (0 would never reclaim anything),
    /// at most what one command may carry.
    fn validate_expiry(&self) -> Result<(), ReplicaError> {
        let (keys, args) = (
            self.expire_keys_per_entry_max,
            self.kv.limits.args_per_command_max,
        );
        if keys == 0 || keys > args {
            return Err(ReplicaError::Replica(format!(
                "expire_keys_per_entry_max {keys} must be in 1..={args} \
                 (kv.limits.args_per_command_max): 0 would never reclaim an expired key"
            )));
        }
        Ok(())
    }

    /// The compaction thresholds: at least 1 each, or the replica would snapshot after every
    /// entry it applies (0) and spend its time serializing the whole map.
    fn validate_snapshots(&self) -> Result<(), ReplicaError> {
        for (name, value) in [
            ("snapshot_log_entries_max", self.snapshot_log_entries_max),
            ("snapshot_log_bytes_max", self.snapshot_log_bytes_max),
        ] {
            if value == 0 {
                return Err(ReplicaError::Replica(format!(
                    "{name} is 0: must be at least 1, or the whole state machine would be \
                     serialized after every entry"
                )));
            }
        }
        Ok(())
    }

    /// The read settings, named as a replica user sets them (Raft's own checks follow).
    fn validate_reads(&self) -> Result<(), ReplicaError> {
        let reads = self.reads;
        let fail = |m: String| Err(ReplicaError::Replica(m));
        if self.raft.read_mode == ReadMode::Lease && reads != ReadPath::Lease {
            return fail(format!(
                "raft.read_mode is Lease but reads is {reads}: the replica sets Raft's read mode \
                 from `reads`, so set reads = lease instead"
            ));
        }
        if reads == ReadPath::Lease && !self.raft.check_quorum {
            return fail(
                "reads = lease needs raft.check_quorum: without it followers vote for a new \
                 leader while the old one's lease holds, and it serves reads that miss the new \
                 leader's writes (thesis §6.4.1)"
                    .into(),
            );
        }
        if self.raft.variant == Variant::LeaseIgnoresDrift && reads != ReadPath::Lease {
            return fail(format!(
                "raft variant LeaseIgnoresDrift breaks only lease reads, but reads is {reads}: \
                 set reads = lease"
            ));
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
    /// The snapshot on disk does not restore: corrupt, or not at the index Raft says.
    Snapshot(String),
}

impl fmt::Display for ReplicaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplicaError::Raft(e) => write!(f, "replica: {e}"),
            ReplicaError::Kv(e) => write!(f, "replica: {e}"),
            ReplicaError::Replica(message) => write!(f, "replica config: {message}"),
            ReplicaError::Snapshot(message) => write!(f, "replica: disk snapshot: {message}"),
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
    fn a_zero_snapshot_threshold_is_rejected_with_a_reason() {
        let mut c = config();
        c.snapshot_log_entries_max = 0;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("snapshot_log_entries_max is 0"), "{err}");
        let mut c = config();
        c.snapshot_log_bytes_max = 0;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("snapshot_log_bytes_max is 0"), "{err}");
    }

    #[test]
    fn an_expiry_entry_bound_of_zero_or_past_a_command_s_arguments_is_rejected() {
        let mut c = config();
        c.expire_keys_per_entry_max = 0;
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("expire_keys_per_entry_max 0 must be in 1..="),
            "{err}"
        );
        c.expire_keys_per_entry_max = c.kv.limits.args_per_command_max + 1;
        assert!(c.validate().is_err());
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
    fn reads_default_to_read_index_and_decide_raft_read_mode() {
        let mut c = config();
        assert_eq!(c.reads, ReadPath::ReadIndex);
        assert_eq!(c.raft_config().read_mode, ReadMode::ReadIndex);
        c.reads = ReadPath::Lease;
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.raft_config().read_mode, ReadMode::Lease);
        assert_eq!(
            c.raft.read_mode,
            ReadMode::ReadIndex,
            "the field itself is untouched"
        );
        c.reads = ReadPath::Log;
        assert_eq!(c.raft_config().read_mode, ReadMode::ReadIndex);
    }

    #[test]
    fn lease_reads_without_check_quorum_are_rejected_and_say_why() {
        // Raft thesis §6.4.1: a lease is only as good as the followers' promise not to vote.
        let mut c = config();
        c.reads = ReadPath::Lease;
        c.raft.check_quorum = false;
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("reads = lease needs raft.check_quorum"),
            "{err}"
        );
    }

    #[test]
    fn a_raft_lease_mode_or_lease_variant_that_reads_do_not_use_is_rejected() {
        let mut c = config();
        c.raft.read_mode = ReadMode::Lease;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("set reads = lease instead"), "{err}");
        let mut c = config();
        c.raft.variant = Variant::LeaseIgnoresDrift;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("breaks only lease reads"), "{err}");
        c.reads = ReadPath::Lease;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn read_paths_print_in_kebab_case_for_the_cli() {
        let names: Vec<String> = ReadPath::ALL.iter().map(|r| r.to_string()).collect();
        assert_eq!(names, ["log", "read-index", "lease"]);
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
