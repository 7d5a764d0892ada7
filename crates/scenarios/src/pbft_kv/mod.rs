//! The replicated KV store on PBFT, with Byzantine replicas: the same `kv` machine, clients
//! and linearizability checker as `raft_kv/`, on a log that survives f lying replicas.
//!
//! ```text
//!   PbftKvOptions { run: RaftKvOptions (n = 3f+1 nodes, clients, faults, bounds),
//!                   variant, byzantine: B nodes, strategy (or one per seed) }
//!        │
//!   simulation(seed) = Simulation<PbftNode>
//!        B nodes (chosen by the seed) ──► Byzantine(Adversary{strategy})   adversary.rs
//!        the rest ──────────────────────► Honest(OrderedReplica<Pbft>)
//!        invariants: honest agreement + checkpoint safety (invariants.rs), replica agreement
//!                    on honest state digests
//!        workload:   KvClients, f+1 matching replies, resends to every replica
//!        │ run
//!        ▼
//!   history ──► check::Checker ──► KvSeedReport ──► KvSummary
//! ```
//!
//! `--faults byzantine` is Byzantine nodes on a perfect network; `all` adds them to loss,
//! partitions, crashes and skew. B defaults to f when the faults include Byzantine nodes.
//! With B = f + 1 the checks must fail, and do (Twins split the honest replicas in two).
//!
//! ## Layout
//!
//! ```text
//! mod.rs          this map, PbftKvOptions
//! adversary.rs    Strategy and Adversary: silent, equivocate, twins, replay, flood, lie-vc
//! node.rs         PbftNode: Honest or Byzantine, one Protocol for the simulator
//! invariants.rs   HonestAgreement: executed histories and stable checkpoints agree
//! runner.rs       simulation, run_seed, run_seeds, first_failure
//! ```

mod adversary;
mod invariants;
mod node;
mod runner;

use std::collections::BTreeSet;

use distributed_core::NodeId;

use crate::faults::FaultProfile;
use crate::raft_kv::RaftKvOptions;
use sim::config::ConfigError;

pub use adversary::{Adversary, Replica, Strategy};
pub use invariants::HonestAgreement;
pub use node::PbftNode;
pub use runner::{first_failure, pbft_primary, run_seed, run_seeds, run_seeds_with_progress};

/// Parse a PBFT variant as the CLI spells it.
pub fn parse_variant(s: &str) -> Result<pbft::Variant, String> {
    match s {
        "correct" => Ok(pbft::Variant::Correct),
        "commit-quorum-2f" => Ok(pbft::Variant::CommitQuorum2f),
        "view-change-drops-prepared" => Ok(pbft::Variant::ViewChangeDropsPrepared),
        _ => Err(format!(
            "unknown pbft variant `{s}`: expected correct|commit-quorum-2f|view-change-drops-prepared"
        )),
    }
}

/// Everything a pbft-kv seed run needs besides the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbftKvOptions {
    /// The KV run: nodes (3f+1), clients, keys, faults, bounds, checker budget.
    pub run: RaftKvOptions,
    /// Correct PBFT, or a broken variant.
    pub variant: pbft::Variant,
    /// Byzantine nodes; `None`: f if the faults include Byzantine nodes, else none.
    pub byzantine: Option<usize>,
    /// Their strategy; `None`: each seed picks one of [`Strategy::ALL`].
    pub strategy: Option<Strategy>,
}

impl Default for PbftKvOptions {
    fn default() -> Self {
        PbftKvOptions {
            run: RaftKvOptions {
                nodes: 4,
                ..RaftKvOptions::default()
            },
            variant: pbft::Variant::Correct,
            byzantine: None,
            strategy: None,
        }
    }
}

impl PbftKvOptions {
    /// f for this cluster size: the most Byzantine nodes PBFT claims to survive.
    pub fn f(&self) -> usize {
        self.run.nodes.saturating_sub(1) / 3
    }

    /// How many nodes are Byzantine.
    pub fn byzantine_nodes(&self) -> usize {
        let default = if self.run.faults.has(FaultProfile::Byzantine) {
            self.f()
        } else {
            0
        };
        self.byzantine.unwrap_or(default)
    }

    /// Which nodes are Byzantine in `seed`'s run, and what they play. A hash of the seed, not
    /// the simulation's RNG, so the choice shifts none of the run's other draws; the primary
    /// of view 0 is among them in about B/n of the seeds.
    pub fn adversaries(&self, seed: u64) -> (BTreeSet<NodeId>, Strategy) {
        let n = self.run.nodes as u64;
        let h = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let first = (h >> 32) % n;
        let ids = (0..self.byzantine_nodes() as u64)
            .map(|k| NodeId((first + k) % n + 1))
            .collect();
        let pick = (h >> 8) as usize % Strategy::ALL.len();
        (ids, self.strategy.unwrap_or(Strategy::ALL[pick]))
    }

    /// Node `id`'s PBFT configuration; every node derives keys from the seed's key seed.
    pub fn pbft_config(&self, id: NodeId, seed: u64) -> pbft::Config {
        let replicas = (1..=self.run.nodes as u64).map(NodeId).collect();
        let mut c = pbft::Config::new(id, replicas, seed ^ 0x4b45_5953); // "KEYS"
        c.variant = self.variant;
        c
    }

    /// Refuse options that cannot be simulated, saying why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.run.validate()?;
        self.pbft_config(NodeId(1), 0)
            .validate()
            .map_err(|e| ConfigError(format!("pbft: {e}")))?;
        let b = self.byzantine_nodes();
        if b >= self.run.nodes {
            return Err(ConfigError(format!(
                "--byzantine {b} of {} nodes: at least one must be honest to check anything",
                self.run.nodes
            )));
        }
        Ok(())
    }
}
