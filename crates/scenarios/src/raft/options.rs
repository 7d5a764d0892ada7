//! How to simulate a Raft cluster: fault profiles and their tuned defaults.
//!
//! Time scale: one node tick lasts about 100 time units, so with the Raft defaults an election
//! timeout is 1,000..2,000 units and a heartbeat 200 units, while a message takes 5..60 units.
//!
//! ```text
//!   profile      network faults       partitions        crashes            clock skew
//!   none         -                    -                 -                  -
//!   network      loss, dup, delays    -                 -                  -
//!   partitions   -                    all four shapes   -                  -
//!   crashes      -                    -                 minority, leaders  -
//!   skew         -                    -                 -                  ±20%, drifting
//!   all          yes                  yes               yes                yes
//!   chaos        yes                  yes               up to n-1 down     yes
//! ```
//!
//! The crash and partition profiles lean on the leader, because that is where commit-rule bugs
//! live (§5.4.2, Figure 8): an old-term entry reaches a majority, the leader dies or is cut off
//! before its own term's entry does, and a rival with a newer last term wins the next election.
//! So half of the random crashes hit the leader, and a newly elected leader is isolated (30%,
//! within 100 units) or crashed (15%, within 300 units) right after taking office, before its
//! first entries spread. Appends carry one entry each (see `entries_per_append_max`).
//!
//! When these defaults were tuned (2,000 seeds of `all`, 5 nodes): every seed commits client commands (about
//! 350 each), and `CommitOldTerm` is caught on about 3% of seeds, the first at seed 15.
//!
//! `leader_writes_in_parallel` (thesis §10.2.1) is orthogonal to the profile: it turns on the
//! simulator's disk that takes time (`sim`'s disk.rs; fsyncs of 10..200 units, `DiskTiming`'s
//! default), so crashes lose writes a leader had already sent. With it, `all` on 1,500 seeds
//! catches `LeaderCountsUnsyncedWrites` on 23 (1.5%), the first at seed 50; the KV store with
//! membership changes on 29 of 600, the first at seed 22.

use distributed_core::NodeId;
use raft::{Config, Variant};

use super::reconfig::SPARE_SLOTS;
use crate::faults::FaultProfile;
use sim::config::{
    ClockSkew, CrashFaults, NetworkFaults, PartitionFaults, ShapeWeights, SimConfig, Time,
    TraceLevel,
};

/// Parse a Raft variant as the CLI spells it: `correct`, `commit-old-term`,
/// `one-step-membership` or `leader-counts-unsynced`.
pub fn parse_variant(s: &str) -> Result<Variant, String> {
    match s {
        "correct" => Ok(Variant::Correct),
        "commit-old-term" => Ok(Variant::CommitOldTerm),
        "one-step-membership" => Ok(Variant::OneStepMembership),
        "leader-counts-unsynced" => Ok(Variant::LeaderCountsUnsyncedWrites),
        _ => Err(format!(
            "unknown variant `{s}`: expected \
             correct|commit-old-term|one-step-membership|leader-counts-unsynced"
        )),
    }
}

/// Why a variant cannot run with `leader_writes_in_parallel` as given, in the CLI's words:
/// `leader-counts-unsynced` breaks only a leader that writes in parallel (thesis §10.2.1).
pub fn variant_needs(variant: Variant, leader_writes_in_parallel: bool) -> Result<(), String> {
    if variant == Variant::LeaderCountsUnsyncedWrites && !leader_writes_in_parallel {
        return Err(
            "--variant leader-counts-unsynced breaks only a leader that writes in \
             parallel with its followers: add --leader-writes-in-parallel"
                .into(),
        );
    }
    Ok(())
}

/// Everything `run_seed` needs besides the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftSimOptions {
    /// Cluster size (voters `n1..=nN`).
    pub nodes: usize,
    /// Which faults to inject.
    pub faults: FaultProfile,
    /// The commit rule the nodes follow.
    pub variant: Variant,
    /// Simulated time bound. 100,000 units is about 1,000 ticks: dozens of elections.
    pub max_time_units: Time,
    /// Event bound, whatever the time.
    pub max_events: u64,
    /// Trace level; `run_seeds` ignores it (it keeps only the ring of recent events).
    pub trace: TraceLevel,
    /// Recent events kept for a violation report.
    pub recent_events: usize,
    /// Mean time between client proposals.
    pub propose_interval_units: Time,
    /// Raft's `entries_per_append_max`, or `None` to let the seed choose from
    /// [`APPEND_BATCHES`]. Varying it matters both ways: with one entry per append a
    /// follower's acknowledged index can stop anywhere, including between old-term entries and
    /// the new leader's no-op, which is the Figure 8 precondition (with 64, a catching-up
    /// follower gets old entries and the no-op in one batch, and the broken commit rule is
    /// almost never observable); with large batches the pipelined, batched replication path
    /// that a real cluster uses is the one under test.
    pub entries_per_append_max: Option<usize>,
    /// Reconfigure while the faults go on (reconfig.rs): `nodes` are the initial voters, and
    /// [`SPARE_SLOTS`] more slots start outside the cluster, ready to join.
    pub membership_changes: bool,
    /// The host snapshots a node once it applied this many entries past its last snapshot
    /// (Raft §7; 0 = never), or `None` to let the seed choose from [`SNAPSHOT_THRESHOLDS`].
    /// Small thresholds make compaction, InstallSnapshot and restarts from a snapshot common
    /// in every default run, not only in the snapshot scenarios.
    pub snapshot_log_entries_max: Option<u64>,
    /// Raft's `leader_writes_in_parallel` (thesis §10.2.1): a leader's AppendEntries leave
    /// before its own fsync, which the simulator then models (`sim`'s disk.rs: fsync delays,
    /// writes lost in a crash). Off, every write is durable before anything is sent.
    pub leader_writes_in_parallel: bool,
}

impl Default for RaftSimOptions {
    fn default() -> Self {
        RaftSimOptions {
            nodes: 5,
            faults: FaultProfile::All,
            variant: Variant::Correct,
            max_time_units: 100_000,
            max_events: 400_000,
            trace: TraceLevel::Off,
            recent_events: 64,
            propose_interval_units: 100,
            entries_per_append_max: None,
            membership_changes: false,
            snapshot_log_entries_max: None,
            leader_writes_in_parallel: false,
        }
    }
}

/// Mean time between membership changes: a few election timeouts, so changes, crashes and
/// partitions overlap.
pub const MEMBERSHIP_CHANGE_INTERVAL_UNITS: Time = 3_000;

/// The append batch sizes a seed chooses from when `entries_per_append_max` is `None`: half the
/// seeds send one entry per append (Figure 8 territory), the rest batch.
pub const APPEND_BATCHES: [usize; 4] = [1, 1, 8, 64];

/// The snapshot thresholds a seed chooses from when `snapshot_log_entries_max` is `None`:
/// seven in eight seeds compact (a run commits a few hundred entries), one never does.
pub const SNAPSHOT_THRESHOLDS: [u64; 8] = [3, 5, 8, 13, 21, 34, 55, 0];

/// Bytes per snapshot chunk in simulated clusters: small, so a transfer takes several chunks
/// and losing, duplicating or reordering one of them is exercised (Raft §7).
pub const SNAPSHOT_CHUNK_BYTES: usize = 24;

impl RaftSimOptions {
    /// These options with every per-seed choice made for `seed` (the append batch and the
    /// snapshot threshold).
    pub fn for_seed(&self, seed: u64) -> RaftSimOptions {
        let mut o = self.clone();
        if o.entries_per_append_max.is_none() {
            // Not the simulation's RNG: the choice must not shift the run's other draws.
            let pick = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 62;
            o.entries_per_append_max = Some(APPEND_BATCHES[pick as usize]);
        }
        if o.snapshot_log_entries_max.is_none() {
            let pick = seed.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> 61;
            o.snapshot_log_entries_max = Some(SNAPSHOT_THRESHOLDS[pick as usize]);
        }
        o
    }

    /// How many node slots the simulation has: the initial voters, plus spares when membership
    /// changes are on.
    pub fn slots(&self) -> usize {
        self.nodes
            + if self.membership_changes {
                SPARE_SLOTS
            } else {
                0
            }
    }

    /// The Raft configuration of node `id`.
    pub fn raft_config(&self, id: NodeId) -> Config {
        let voters = (1..=self.nodes as u64).map(NodeId).collect();
        let mut c = Config::new(id, voters);
        c.variant = self.variant;
        if let Some(batch) = self.entries_per_append_max {
            c.entries_per_append_max = batch;
        }
        c.snapshot_chunk_bytes_max = SNAPSHOT_CHUNK_BYTES;
        c.leader_writes_in_parallel = self.leader_writes_in_parallel;
        c
    }

    /// The simulator configuration this profile stands for.
    pub fn sim_config(&self) -> SimConfig {
        let mut c = SimConfig::quiet(self.slots());
        c.max_time_units = self.max_time_units;
        c.max_events = self.max_events;
        c.trace = self.trace;
        c.recent_events = self.recent_events;
        c.network.delay_units_min = 5;
        c.network.delay_units_max = 30;
        apply_profile(&mut c, self.faults, self.slots());
        c
    }
}

/// Turn on `profile`'s faults in `c`, a cluster of `slots` nodes, as the table in the module
/// docs says. Shared with the adapters on the same time scale (a tick of about 100 units):
/// Multi-Paxos runs under exactly Raft's faults, so their figures compare.
pub(crate) fn apply_profile(c: &mut SimConfig, profile: FaultProfile, slots: usize) {
    if profile.has(FaultProfile::Network) {
        c.network = network_faults();
    }
    if profile.has(FaultProfile::Partitions) {
        c.partitions = Some(partition_faults());
    }
    if profile.has(FaultProfile::Crashes) {
        let chaos = (profile == FaultProfile::Chaos).then(|| slots.saturating_sub(1));
        c.crashes = Some(crash_faults(chaos));
    }
    if profile.has(FaultProfile::Skew) {
        c.clock = ClockSkew {
            tick_period_units_min: 80,
            tick_period_units_max: 120,
            drift_per_million: 20_000,
        };
    }
}

fn network_faults() -> NetworkFaults {
    NetworkFaults {
        delay_units_min: 5,
        delay_units_max: 60,
        loss_per_million: 20_000,
        duplicate_per_million: 10_000,
        long_delay_per_million: 5_000,
        long_delay_units_min: 1_000,
        long_delay_units_max: 6_000,
        in_flight_max: 100_000,
    }
}

fn partition_faults() -> PartitionFaults {
    PartitionFaults {
        interval_units_min: 1_000,
        interval_units_max: 8_000,
        duration_units_min: 500,
        duration_units_max: 6_000,
        shapes: ShapeWeights {
            random: 2,
            isolate_leader: 4,
            halves: 2,
            bridge: 1,
        },
        new_leader_per_million: 300_000,
        new_leader_delay_units_min: 0,
        new_leader_delay_units_max: 100,
    }
}

fn crash_faults(down_nodes_max: Option<usize>) -> CrashFaults {
    CrashFaults {
        interval_units_min: 1_000,
        interval_units_max: 6_000,
        downtime_units_min: 200,
        downtime_units_max: 4_000,
        leader_per_million: 500_000,
        down_nodes_max,
        new_leader_per_million: 150_000,
        new_leader_delay_units_min: 0,
        new_leader_delay_units_max: 300,
    }
}
