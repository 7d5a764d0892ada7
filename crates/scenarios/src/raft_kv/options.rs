//! How to simulate the replicated key-value store: cluster, clients, faults, and bounds.
//!
//! The cluster half reuses the Raft adapter's tuned fault profiles unchanged: a
//! [`RaftKvOptions`] becomes a [`RaftSimOptions`] for the simulator config and each node's
//! Raft config, and adds what only a KV run has: clients, their key space and patience, the
//! replica variant, how reads are served, and the linearizability checker's budget.
//!
//! ```text
//!   RaftKvOptions ──raft_options()──► RaftSimOptions ──► sim_config()      faults, bounds
//!        │                                          └──► raft_config(id)   timeouts, variant
//!        ├──replica_config(id)──► ReplicaConfig { raft, reads, variant, … }
//!        │                          raft.clock_drift_per_mille_max = clock_drift_per_mille_max()
//!        └──clients, keys, timeouts, check_steps_max ──► the workload and the checker
//! ```
//!
//! The lease's clock assumption, stated from the simulator's clocks (thesis §6.4.1): every tick
//! period stays within `tick_period_units_min..=max` (drift moves a period by one unit at a
//! time and is clamped to that range), so one node's ticks run at most `max / min` times as
//! fast as another's. [`RaftKvOptions::clock_drift_per_mille_max`] is exactly that bound
//! (500 for the `skew` and `all` profiles' 80..120, 0 without skew), rounded up, and every
//! replica is configured with it: the correct lease is then as long as the simulated clocks
//! allow and no longer, while `LeaseIgnoresDrift` ignores the bound and is caught.
//!
//! Time scale (from the Raft profiles): a node tick is about 100 units, an election timeout
//! 1,000..2,000 units, a message 5..60 units. A client op normally completes in 50..200 units,
//! so one client does a few hundred ops in the default 100,000-unit run.
//!
//! Invariant: [`RaftKvOptions::validate`] accepts only options that `run_seed` can run, and
//! names the field and the reason otherwise.

use distributed_core::NodeId;
use replica::ReadPath;
use replica::{ReplicaConfig, ReplicaVariant};

use crate::faults::FaultProfile;
use crate::raft::RaftSimOptions;
use sim::config::{ClockSkew, ConfigError, SimConfig, Time, TraceLevel};

/// Most clients one run may simulate: each is a few words of state plus its history.
pub const CLIENTS_MAX: usize = 1024;

/// Most keys of either kind: enough for low contention, few enough that ops still collide.
pub const KEYS_MAX: usize = 64;

/// Ops per client and attempts per op are packed into a request's tag (see `client.rs`).
pub const OPS_PER_CLIENT_LIMIT: u64 = (1 << 24) - 1;

/// The most attempts one op may make before the client gives up on it (see `client.rs`).
pub const OP_ATTEMPTS_LIMIT: u32 = (1 << 16) - 1;

/// Everything `run_seed` needs besides the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftKvOptions {
    /// Cluster size (voters `n1..=nN`).
    pub nodes: usize,
    /// Simulated clients, each sequential with its own session (`client_id` 1, 2, …).
    pub clients: usize,
    /// Which faults to inject: the Raft adapter's profiles, unchanged.
    pub faults: FaultProfile,
    /// The simulated clocks, or `None` for the profile's (steady 100-unit ticks; 80..120 with
    /// drift under `skew`, `all`, `chaos`). Every replica's `clock_drift_per_mille_max` follows
    /// whatever is chosen (see the module docs), so a wider skew shortens the correct lease.
    pub clock: Option<ClockSkew>,
    /// How replicas answer clients: correct, or one of the deliberately broken variants the
    /// linearizability checker is meant to catch.
    pub variant: ReplicaVariant,
    /// Raft's rules: `CommitOldTerm` breaks the log, which the Raft invariants catch;
    /// `LeaseIgnoresDrift` (with `read_path` Lease) breaks lease reads, which only the
    /// linearizability checker can see.
    pub raft_variant: raft::Variant,
    /// How replicas serve read-only commands: through the log, by ReadIndex, or by lease.
    pub read_path: ReadPath,
    /// Odds, per million, that a client sends a read to a random node rather than to the
    /// leader it believes in, so that follower reads (thesis §6.4) are exercised. Ignored with
    /// `read_path` Log, where a follower could only redirect the read.
    pub follower_reads_per_million: u32,
    /// Simulated time bound.
    pub max_time_units: Time,
    /// Event bound, whatever the time. Client polls count as events.
    pub max_events: u64,
    /// Trace level; `run_seeds` ignores it (it keeps only the ring of recent events).
    pub trace: TraceLevel,
    /// Recent events kept for an invariant violation report.
    pub recent_events: usize,
    /// Most ops each client issues: bounds the history, hence the checker's work.
    pub ops_per_client_max: u64,
    /// Keys that only ever hold text (get, put, append, cas, delete). Few, so ops collide.
    pub string_keys: usize,
    /// Keys that only ever hold canonical integers (get, incr, put, cas, delete), so an
    /// `incr` never meets a non-integer and every reply is one the checker's model can state.
    pub counter_keys: usize,
    /// A client waits up to this long between ops, and backs off up to this long after a
    /// refusal: spreads the clients out so they do not move in lockstep.
    pub think_units_max: Time,
    /// How long a client waits for an answer before it resends elsewhere: the node may have
    /// crashed, been cut off, or be a deposed leader that will never answer.
    pub client_timeout_units: Time,
    /// Attempts per op before the client gives up on it and starts a new session; the op
    /// stays in the history with no return.
    pub op_attempts_max: u32,
    /// Clients start no new op in the last this-many units, so most ops finish and few end
    /// as "no return" (which are cheap to check only when rare).
    pub quiesce_units: Time,
    /// Raft's `entries_per_append_max`, or `None` to let each seed choose from the Raft
    /// adapter's `APPEND_BATCHES`, as Raft runs do: one entry per append lets a follower's
    /// progress stop anywhere (more interleavings), large batches test the path a real
    /// cluster takes.
    pub entries_per_append_max: Option<usize>,
    /// The replicas' `snapshot_log_entries_max` (Raft §7; 0 = never), or `None` to let each
    /// seed choose from the Raft adapter's `SNAPSHOT_THRESHOLDS`, as Raft runs do.
    pub snapshot_log_entries_max: Option<u64>,
    /// The checker's search steps per key. Steps, not time, so verdicts replay exactly.
    pub check_steps_max: u64,
    /// Reconfigure while the faults go on, as the Raft adapter does (`nodes` initial voters,
    /// spare slots ready to join).
    pub membership_changes: bool,
    /// Raft's `leader_writes_in_parallel` (thesis §10.2.1), as the real server runs by
    /// default: leaders send before their own fsync, the simulator's disk takes time, and a
    /// crash loses what was not yet durable.
    pub leader_writes_in_parallel: bool,
}

impl Default for RaftKvOptions {
    fn default() -> Self {
        RaftKvOptions {
            nodes: 5,
            clients: 5,
            faults: FaultProfile::All,
            clock: None,
            variant: ReplicaVariant::Correct,
            raft_variant: raft::Variant::Correct,
            read_path: ReadPath::ReadIndex,
            follower_reads_per_million: 500_000,
            max_time_units: 100_000,
            max_events: 1_000_000,
            trace: TraceLevel::Off,
            recent_events: 64,
            ops_per_client_max: 2_000,
            string_keys: 3,
            counter_keys: 2,
            think_units_max: 100,
            client_timeout_units: 1_500,
            op_attempts_max: 100,
            quiesce_units: 10_000,
            entries_per_append_max: None,
            snapshot_log_entries_max: None,
            check_steps_max: 5_000_000,
            membership_changes: false,
            leader_writes_in_parallel: false,
        }
    }
}

impl RaftKvOptions {
    /// The Raft adapter's options for the same cluster: its fault profiles and Raft config.
    pub fn raft_options(&self) -> RaftSimOptions {
        RaftSimOptions {
            nodes: self.nodes,
            faults: self.faults,
            variant: self.raft_variant,
            max_time_units: self.max_time_units,
            max_events: self.max_events,
            trace: self.trace,
            recent_events: self.recent_events,
            entries_per_append_max: self.entries_per_append_max,
            membership_changes: self.membership_changes,
            snapshot_log_entries_max: self.snapshot_log_entries_max,
            leader_writes_in_parallel: self.leader_writes_in_parallel,
            ..RaftSimOptions::default()
        }
    }

    /// These options with every per-seed choice made for `seed` (the append batch and the
    /// snapshot threshold, chosen exactly as the Raft adapter chooses them).
    pub fn for_seed(&self, seed: u64) -> RaftKvOptions {
        let raft = self.raft_options().for_seed(seed);
        RaftKvOptions {
            entries_per_append_max: raft.entries_per_append_max,
            snapshot_log_entries_max: raft.snapshot_log_entries_max,
            ..self.clone()
        }
    }

    /// The simulator configuration: the Raft profile's faults and these bounds, and `clock`
    /// if set.
    pub fn sim_config(&self) -> SimConfig {
        let mut c = self.raft_options().sim_config();
        if let Some(clock) = &self.clock {
            c.clock = clock.clone();
        }
        c
    }

    /// The configuration of replica `id`.
    pub fn replica_config(&self, id: NodeId) -> ReplicaConfig {
        let mut raft = self.raft_options().raft_config(id);
        raft.clock_drift_per_mille_max = self.clock_drift_per_mille_max();
        let mut c = ReplicaConfig::new(raft);
        c.variant = self.variant;
        c.reads = self.read_path;
        if let Some(entries) = self.snapshot_log_entries_max {
            c.snapshot_log_entries_max = if entries == 0 { u64::MAX } else { entries };
        }
        c
    }

    /// How much faster, in thousandths, one simulated node's ticks can run than another's:
    /// `(max − min) / min` of the tick periods, rounded up (see the module docs).
    pub fn clock_drift_per_mille_max(&self) -> u64 {
        let clock = self.sim_config().clock;
        let (min, max) = (clock.tick_period_units_min, clock.tick_period_units_max);
        // SimConfig::validate guarantees 1 ≤ min ≤ max; the multiplication cannot overflow
        // for any period below 2^54 units.
        (max.saturating_sub(min).saturating_mul(1000)).div_ceil(min.max(1))
    }

    /// The odds that a client sends a read anywhere: `follower_reads_per_million`, unless
    /// reads go through the log.
    pub fn effective_follower_reads_per_million(&self) -> u32 {
        match self.read_path {
            ReadPath::Log => 0,
            ReadPath::ReadIndex | ReadPath::Lease => self.follower_reads_per_million,
        }
    }

    /// When clients stop starting new ops.
    pub fn issue_until_units(&self) -> Time {
        self.max_time_units.saturating_sub(self.quiesce_units)
    }

    /// Reject options that cannot be simulated, saying which field and why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.sim_config().validate()?;
        self.replica_config(NodeId(1))
            .validate()
            .map_err(|e| ConfigError(e.to_string()))?;
        let fail = |m: String| Err(ConfigError(m));
        if self.clients == 0 || self.clients > CLIENTS_MAX {
            return fail(format!(
                "clients={} must be in 1..={CLIENTS_MAX}",
                self.clients
            ));
        }
        for (name, n) in [
            ("string_keys", self.string_keys),
            ("counter_keys", self.counter_keys),
        ] {
            if n == 0 || n > KEYS_MAX {
                return fail(format!("{name}={n} must be in 1..={KEYS_MAX}"));
            }
        }
        if self.ops_per_client_max == 0 || self.ops_per_client_max > OPS_PER_CLIENT_LIMIT {
            return fail(format!(
                "ops_per_client_max={} must be in 1..={OPS_PER_CLIENT_LIMIT} (it is packed \
                 into request tags)",
                self.ops_per_client_max
            ));
        }
        if self.op_attempts_max == 0 || self.op_attempts_max > OP_ATTEMPTS_LIMIT {
            return fail(format!(
                "op_attempts_max={} must be in 1..={OP_ATTEMPTS_LIMIT}",
                self.op_attempts_max
            ));
        }
        if self.follower_reads_per_million > 1_000_000 {
            return fail(format!(
                "follower_reads_per_million={} must be at most 1000000",
                self.follower_reads_per_million
            ));
        }
        self.validate_times()?;
        if self.check_steps_max == 0 {
            return fail("check_steps_max=0 would make every verdict unknown".into());
        }
        Ok(())
    }

    fn validate_times(&self) -> Result<(), ConfigError> {
        if self.client_timeout_units == 0 {
            return Err(ConfigError(
                "client_timeout_units=0 would resend before any node could answer".into(),
            ));
        }
        if self.quiesce_units >= self.max_time_units {
            return Err(ConfigError(format!(
                "quiesce_units={} leaves no time to issue ops in max_time_units={}",
                self.quiesce_units, self.max_time_units
            )));
        }
        // Bounded so `now + think` and `now + timeout` can never overflow.
        let bound = 1 << 40;
        if self.think_units_max > bound || self.client_timeout_units > bound {
            return Err(ConfigError(format!(
                "think_units_max and client_timeout_units must be at most {bound}"
            )));
        }
        Ok(())
    }
}

/// Parse a replica variant as the CLI spells it (`ReplicaVariant`'s `Display`).
pub fn parse_replica_variant(s: &str) -> Result<ReplicaVariant, String> {
    [
        ReplicaVariant::Correct,
        ReplicaVariant::StaleFollowerReads,
        ReplicaVariant::AckBeforeCommit,
    ]
    .into_iter()
    .find(|v| v.to_string() == s)
    .ok_or_else(|| {
        format!("unknown variant `{s}`: expected correct|stale-follower-reads|ack-before-commit")
    })
}

impl RaftKvOptions {
    /// Apply a `--variant` as the CLI spells it. `commit-old-term`, `one-step-membership`,
    /// `lease-ignores-drift` and `leader-counts-unsynced` break the Raft inside (the third
    /// only matters to lease reads, so it needs `read_path` Lease, set first; the last only to
    /// a leader writing in parallel, so it needs `leader_writes_in_parallel`, set first); the
    /// others break the replica around it.
    pub fn set_variant(&mut self, name: &str) -> Result<(), String> {
        match name {
            "commit-old-term" => self.raft_variant = raft::Variant::CommitOldTerm,
            "one-step-membership" => self.raft_variant = raft::Variant::OneStepMembership,
            "leader-counts-unsynced" => {
                let variant = raft::Variant::LeaderCountsUnsyncedWrites;
                crate::raft::variant_needs(variant, self.leader_writes_in_parallel)?;
                self.raft_variant = variant;
            }
            "lease-ignores-drift" => {
                if self.read_path != ReadPath::Lease {
                    return Err(format!(
                        "--variant lease-ignores-drift breaks only lease reads: add --reads lease \
                         (reads are {})",
                        self.read_path
                    ));
                }
                self.raft_variant = raft::Variant::LeaseIgnoresDrift;
            }
            other => {
                self.variant = parse_replica_variant(other).map_err(|e| {
                    format!(
                        "{e} (or commit-old-term, one-step-membership, lease-ignores-drift or \
                         leader-counts-unsynced, which break the Raft inside)"
                    )
                })?
            }
        }
        Ok(())
    }
}

/// Parse a read path as the CLI spells it (`ReadPath`'s `Display`).
pub fn parse_read_path(s: &str) -> Result<ReadPath, String> {
    ReadPath::ALL
        .into_iter()
        .find(|r| r.to_string() == s)
        .ok_or_else(|| format!("unknown read path `{s}`: expected log|read-index|lease"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variant_name_picks_the_raft_or_the_replica_variant() {
        let mut opts = RaftKvOptions::default();
        opts.set_variant("commit-old-term").unwrap();
        assert_eq!(opts.raft_variant, raft::Variant::CommitOldTerm);
        opts.set_variant("ack-before-commit").unwrap();
        assert_eq!(opts.variant, ReplicaVariant::AckBeforeCommit);
        let err = opts.set_variant("lease-ignores-drift").unwrap_err();
        assert!(err.contains("add --reads lease"), "{err}");
        opts.read_path = ReadPath::Lease;
        opts.set_variant("lease-ignores-drift").unwrap();
        assert_eq!(opts.raft_variant, raft::Variant::LeaseIgnoresDrift);
        let err = opts.set_variant("leader-counts-unsynced").unwrap_err();
        assert!(err.contains("add --leader-writes-in-parallel"), "{err}");
        opts.leader_writes_in_parallel = true;
        opts.set_variant("leader-counts-unsynced").unwrap();
        assert_eq!(opts.raft_variant, raft::Variant::LeaderCountsUnsyncedWrites);
        assert!(
            opts.replica_config(NodeId(1))
                .raft
                .leader_writes_in_parallel
        );
        assert!(opts.set_variant("nonsense").is_err());
    }

    #[test]
    fn the_default_options_are_valid() {
        assert_eq!(RaftKvOptions::default().validate(), Ok(()));
    }

    #[test]
    fn no_clients_or_no_keys_are_rejected_and_named() {
        let opts = RaftKvOptions {
            clients: 0,
            ..RaftKvOptions::default()
        };
        assert!(opts.validate().unwrap_err().0.contains("clients=0"));
        let opts = RaftKvOptions {
            counter_keys: 0,
            ..RaftKvOptions::default()
        };
        assert!(opts.validate().unwrap_err().0.contains("counter_keys=0"));
    }

    #[test]
    fn a_quiet_period_as_long_as_the_run_is_rejected() {
        let opts = RaftKvOptions {
            quiesce_units: 100_000,
            ..RaftKvOptions::default()
        };
        let err = opts.validate().unwrap_err();
        assert!(err.0.contains("leaves no time"), "{err}");
    }

    #[test]
    fn cluster_errors_come_from_the_simulator_config() {
        let opts = RaftKvOptions {
            nodes: 0,
            ..RaftKvOptions::default()
        };
        assert!(opts.validate().unwrap_err().0.contains("nodes=0"));
    }

    #[test]
    fn replica_variants_parse_as_they_print() {
        for v in [
            ReplicaVariant::Correct,
            ReplicaVariant::StaleFollowerReads,
            ReplicaVariant::AckBeforeCommit,
        ] {
            assert_eq!(parse_replica_variant(&v.to_string()), Ok(v));
        }
        assert!(parse_replica_variant("fast").unwrap_err().contains("fast"));
    }

    #[test]
    fn read_paths_parse_as_they_print() {
        for r in ReadPath::ALL {
            assert_eq!(parse_read_path(&r.to_string()), Ok(r));
        }
        let err = parse_read_path("psychic").unwrap_err();
        assert!(err.contains("`psychic`") && err.contains("log|read-index|lease"));
    }

    #[test]
    fn the_drift_bound_covers_the_skewed_clocks_and_is_zero_without_skew() {
        // Thesis §6.4.1: 80..120-unit tick periods let one clock run 1.5x as fast as another.
        let skewed = RaftKvOptions {
            faults: FaultProfile::Skew,
            read_path: ReadPath::Lease,
            ..RaftKvOptions::default()
        };
        assert_eq!(skewed.clock_drift_per_mille_max(), 500);
        let c = skewed.replica_config(NodeId(1));
        assert_eq!(c.raft.clock_drift_per_mille_max, 500);
        assert_eq!(c.raft_config().lease_ticks(), 6, "9 whole periods / 1.5");
        assert_eq!(c.raft_config().read_mode, raft::ReadMode::Lease);
        let calm = RaftKvOptions {
            faults: FaultProfile::None,
            ..skewed
        };
        assert_eq!(calm.clock_drift_per_mille_max(), 0);
    }

    #[test]
    fn the_broken_lease_needs_lease_reads_and_clients_read_anywhere_only_without_the_log() {
        let broken = RaftKvOptions {
            raft_variant: raft::Variant::LeaseIgnoresDrift,
            ..RaftKvOptions::default()
        };
        let err = broken.validate().unwrap_err();
        assert!(err.0.contains("breaks only lease reads"), "{err}");
        let broken = RaftKvOptions {
            read_path: ReadPath::Lease,
            ..broken
        };
        assert_eq!(broken.validate(), Ok(()));
        assert_eq!(broken.effective_follower_reads_per_million(), 500_000);
        let log = RaftKvOptions {
            read_path: ReadPath::Log,
            ..RaftKvOptions::default()
        };
        assert_eq!(log.effective_follower_reads_per_million(), 0);
        let bad = RaftKvOptions {
            follower_reads_per_million: 1_000_001,
            ..RaftKvOptions::default()
        };
        assert!(bad.validate().unwrap_err().0.contains("follower_reads"));
    }

    #[test]
    fn replica_configs_carry_the_variant_and_the_raft_profile() {
        let opts = RaftKvOptions {
            variant: ReplicaVariant::AckBeforeCommit,
            ..RaftKvOptions::default()
        };
        let c = opts.replica_config(NodeId(2));
        assert_eq!(c.variant, ReplicaVariant::AckBeforeCommit);
        assert_eq!(c.raft.voters.len(), 5);
    }

    #[test]
    fn each_seed_fixes_the_append_batch_unless_the_options_do() {
        let opts = RaftKvOptions::default();
        let batches: std::collections::BTreeSet<usize> = (0..64)
            .filter_map(|seed| opts.for_seed(seed).entries_per_append_max)
            .collect();
        assert!(batches.len() > 1, "seeds vary the batch: {batches:?}");
        let fixed = RaftKvOptions {
            entries_per_append_max: Some(8),
            ..RaftKvOptions::default()
        };
        assert_eq!(fixed.for_seed(3).entries_per_append_max, Some(8));
        assert_eq!(
            fixed
                .for_seed(3)
                .replica_config(NodeId(1))
                .raft
                .entries_per_append_max,
            8
        );
    }
}
