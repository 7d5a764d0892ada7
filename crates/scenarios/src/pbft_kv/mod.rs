//! The replicated KV store on PBFT, with Byzantine replicas: the same `kv` machine, clients
//! and linearizability checker as `raft_kv/`, on a log that survives f lying replicas.
//!
//! ```text
//!   PbftKvOptions { run: RaftKvOptions (n = 3f+1 nodes, clients, faults, bounds),
//!                   variant, byzantine: B nodes, strategy (or one per seed) }
//!        │
//!   simulation(seed) = Simulation<PbftNode>      (= pbft::PbftNode<OrderedReplica<Pbft>>)
//!        B nodes (chosen by the seed) ──► Byzantine(Adversary{strategy})   pbft/adversary.rs
//!        the rest ──────────────────────► Honest(OrderedReplica<Pbft>)
//!        invariants: honest agreement + checkpoint safety (pbft/invariants.rs), replica
//!                    agreement on honest state digests
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
//! What is about PBFT rather than the store lives in `pbft/`, the core's own folder, as
//! `paxos_kv/` takes its invariants from `paxos/`: the adversary and its strategies, the node
//! that is honest or Byzantine, the honest-agreement check, the choice of Byzantine nodes per
//! seed, `parse_variant`. They are re-exported here under their old names.
//!
//! ## Layout
//!
//! ```text
//! mod.rs          this map, PbftKvOptions
//! node.rs         OrderedReplica<Pbft> as a PbftHost (its lie to a client), PbftNode as a KvNode
//! runner.rs       simulation, run_seed, run_seeds, first_failure
//! ```

mod node;
mod runner;

use std::collections::BTreeSet;

use distributed_core::NodeId;

use crate::faults::FaultProfile;
use crate::raft_kv::RaftKvOptions;
use sim::config::ConfigError;

pub use crate::pbft::{parse_variant, Adversary, HonestAgreement, Strategy};
pub use node::{PbftNode, Replica};
pub use runner::{first_failure, pbft_primary, run_seed, run_seeds, run_seeds_with_progress};

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

    /// Which nodes are Byzantine in `seed`'s run, and what they play (`pbft::adversaries`).
    pub fn adversaries(&self, seed: u64) -> (BTreeSet<NodeId>, Strategy) {
        crate::pbft::adversaries(seed, self.run.nodes, self.byzantine_nodes(), self.strategy)
    }

    /// Node `id`'s PBFT configuration (`pbft::pbft_config`: keys dealt from the seed).
    pub fn pbft_config(&self, id: NodeId, seed: u64) -> pbft::Config {
        crate::pbft::pbft_config(id, self.run.nodes, seed, self.variant)
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
