//! The replicated KV store on Multi-Paxos: the same `kv` machine, the same clients, the same
//! linearizability checker as `raft_kv/`, on another log.
//!
//! ```text
//!   PaxosKvOptions { run: RaftKvOptions (clients, keys, faults, bounds, checker budget),
//!                    variant, phase1/phase2 quorums, reads: log | core }
//!        │
//!   simulation(seed) = Simulation<OrderedReplica<Paxos>>
//!        factory:    OrderedReplica::new(config, Paxos::new(paxos_config(id), &disk, rng), &disk)
//!        invariants: chosen-once + promises only grow (the bare Paxos checks, on the writes),
//!                    replica agreement (state digests at one applied index agree)
//!        workload:   KvClients (raft_kv/client.rs), through the KvNode seam
//!        │ run
//!        ▼
//!   history ──► check::Checker ──► KvSeedReport ──► KvSummary (the raft-kv report shapes)
//! ```
//!
//! Sharing `RaftKvOptions` for the run's knobs is on purpose: `--compare` runs raft-kv and
//! paxos-kv from one set of options, so the two logs face the same clients, keys and faults.
//!
//! ## Layout
//!
//! ```text
//! mod.rs      this map, PaxosKvOptions
//! runner.rs   the invariants' adapter (OnCoreWrites), simulation, run_seed, run_seeds
//! ```

mod runner;

use distributed_core::NodeId;
use replica::ordered::OrderedConfig;

use crate::paxos::PaxosSimOptions;
use crate::raft_kv::RaftKvOptions;
use sim::config::ConfigError;

pub use replica::ordered::OrderedReads;
pub use runner::{
    first_failure, paxos_kv_leader, run_seed, run_seeds, run_seeds_with_progress, OnCoreWrites,
};

/// Everything a paxos-kv seed run needs besides the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaxosKvOptions {
    /// The KV run: nodes, clients, keys, faults, bounds, snapshot threshold, checker budget.
    /// Its Raft-only fields (raft variant, read path, membership) are not used.
    pub run: RaftKvOptions,
    /// Correct Paxos, or a broken variant.
    pub variant: paxos::Variant,
    /// Phase-1 quorum (`None`: a majority).
    pub phase1_quorum: Option<usize>,
    /// Phase-2 quorum (`None`: a majority).
    pub phase2_quorum: Option<usize>,
    /// How read-only commands are served: a log slot each, or a read round (`paxos` read.rs).
    pub reads: OrderedReads,
}

impl Default for PaxosKvOptions {
    fn default() -> Self {
        PaxosKvOptions {
            run: RaftKvOptions::default(),
            variant: paxos::Variant::Correct,
            phase1_quorum: None,
            phase2_quorum: None,
            reads: OrderedReads::Core,
        }
    }
}

impl PaxosKvOptions {
    /// The bare-Paxos options the cluster half stands for: the same faults and bounds.
    pub fn paxos_options(&self) -> PaxosSimOptions {
        PaxosSimOptions {
            nodes: self.run.nodes,
            faults: self.run.faults,
            variant: self.variant,
            phase1_quorum: self.phase1_quorum,
            phase2_quorum: self.phase2_quorum,
            max_time_units: self.run.max_time_units,
            max_events: self.run.max_events,
            trace: self.run.trace,
            recent_events: self.run.recent_events,
            ..PaxosSimOptions::default()
        }
    }

    /// The replica's settings for `seed`: the seed's snapshot threshold, as raft-kv picks it.
    pub fn ordered_config(&self, seed: u64) -> OrderedConfig {
        let threshold = self.run.for_seed(seed).snapshot_log_entries_max;
        OrderedConfig {
            snapshot_log_entries_max: match threshold {
                Some(0) | None => u64::MAX,
                Some(n) => n,
            },
            reads: self.reads,
            ..OrderedConfig::default()
        }
    }

    /// Node `id`'s Paxos configuration.
    pub fn paxos_config(&self, id: NodeId) -> paxos::Config {
        self.paxos_options().paxos_config(id)
    }

    /// Refuse options that cannot be simulated, saying why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.run.validate()?;
        self.paxos_options().validate()?;
        self.ordered_config(0)
            .validate::<paxos::Paxos>()
            .map_err(|e| ConfigError(e.to_string()))
    }
}
