//! The Multi-Paxos adapter: the papers' safety properties, a proposing client, seed runners.
//!
//! ```text
//!   PaxosSimOptions { nodes, faults, variant, phase1/phase2 quorums, … }
//!        │ sim_config() (Raft's fault profiles), paxos_config(id)
//!        ▼
//!   simulation(seed) = Simulation<Paxos> + agreement + node rules + Client + leader hook
//!        │ run
//!        ▼
//!   run_seed(seed) ──► SeedReport        run_seeds(a..b, threads) ──► Summary
//! ```
//!
//! `distributed sim --protocol paxos --seeds 0..1000 --faults all` calls [`run_seeds`];
//! `--seed 42 --trace` calls [`run_seed`] with the trace on. The replicated KV store on
//! Multi-Paxos is `paxos_kv/`.
//!
//! Papers: Lamport, "Paxos Made Simple" (2001) §2.1–2.2 (what "chosen" means, P2c: the
//! property the agreement check tests directly on the acceptors' votes); van Renesse &
//! Altinbuken, "Paxos Made Moderately Complex" (2015); Howard et al., "Flexible Paxos" (2016).
//!
//! ## Layout
//!
//! ```text
//! mod.rs         this map
//! invariants.rs  agreement (chosen once, learners agree), node rules (promises only grow,
//!                in-order delivery, validity)
//! client.rs      Client: proposes unique commands to the believed leader
//! options.rs     PaxosSimOptions, parse_variant
//! runner.rs      simulation, run_seed, run_seeds, first_violation, SeedReport, Summary
//! ```

mod client;
mod invariants;
mod options;
mod runner;

pub use client::Client;
pub use invariants::{Agreement, NodeRules};
pub use options::{parse_variant, PaxosSimOptions};
pub use runner::{
    first_violation, paxos_leader, run_seed, run_seeds, run_seeds_with_progress, simulation,
    SeedReport, Summary,
};
