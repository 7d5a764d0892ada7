//! The Raft adapter: Raft's safety properties, a client, fault profiles, and seed runners.
//!
//! ```text
//!   RaftSimOptions { nodes, faults, variant, … }
//!        │ sim_config(), raft_config(id)
//!        ▼
//!   simulation(seed) = Simulation<Raft> + 6 invariants + Compacting(Client) + leader hook
//!        │ run
//!        ▼
//!   run_seed(seed) ──► SeedReport        run_seeds(a..b, threads) ──► Summary
//! ```
//!
//! What the CLI does with it: `distributed sim --protocol raft --seeds 0..1000 --faults all`
//! calls [`run_seeds`]; `--seed 42 --trace` calls [`run_seed`] with `trace` on and prints the
//! trace lines, then the report. A violation printed by the first replays with the second.
//!
//! Paper: Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm" (2014),
//! Figure 3 (the safety properties) and §5.4.2 / Figure 8 (the commit rule the
//! `CommitOldTerm` variant breaks and these runs catch).
//!
//! ## Layout
//!
//! ```text
//! mod.rs          this map
//! invariants.rs   election safety, log matching, leader completeness, state machine safety,
//!                 monotonic commit index
//! client.rs       Client: proposes to the believed leader, follows NotLeader hints
//! options.rs      FaultProfile, RaftSimOptions and their tuned defaults; CLI parsers
//! runner.rs       simulation, run_seed, run_seeds, first_violation, SeedReport, Summary
//! reconfig.rs     MembershipDriver (random membership changes and leadership transfers on top
//!                 of a workload), ConfigAgreement (committed configurations agree)  (§6)
//! snapshots.rs    the host's compaction (Compacting workload wrapper) and snapshot safety (§7)
//! ```

mod client;
mod invariants;
mod options;
mod reconfig;
mod runner;
mod snapshots;

pub use client::Client;
pub use invariants::{
    CommitMonotonic, ElectionSafety, LeaderCompleteness, LogMatching, StateMachineSafety,
};
pub(crate) use options::apply_profile;
pub use options::{
    parse_variant, variant_needs, RaftSimOptions, APPEND_BATCHES, MEMBERSHIP_CHANGE_INTERVAL_UNITS,
    SNAPSHOT_CHUNK_BYTES, SNAPSHOT_THRESHOLDS,
};
pub use reconfig::{ConfigAgreement, MembershipDriver, Reconfigurable, SPARE_SLOTS};
pub use runner::{
    first_violation, raft_leader, run_seed, run_seeds, run_seeds_with_progress, simulation,
    SeedReport, Summary,
};
pub use snapshots::{chain_digest, snapshot_bytes, Compacting, SnapshotSafety, SNAPSHOT_BYTES};
