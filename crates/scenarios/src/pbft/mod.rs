//! The PBFT core alone, with Byzantine replicas: honest replicas agree, execute only what
//! clients sent, and execute what a client accepted on f+1 matching replies.
//!
//! ```text
//!   PbftSimOptions { nodes (3f+1), faults, variant, byzantine: B, strategy, clients, … }
//!        │
//!   simulation(seed) = Simulation<PbftNode<BareReplica>>
//!        B nodes (chosen by the seed) ──► Byzantine(Adversary{strategy})     adversary.rs
//!        the rest ──────────────────────► Honest(BareReplica)                host.rs
//!                                          Pbft + a tally of executed ops    tally.rs
//!        invariants: honest agreement + checkpoint safety (invariants.rs), validity and the
//!                    client check (checks.rs)
//!        workload:   Clients: primary first, every replica after a timeout, f+1 replies
//!        │ run
//!        ▼
//!   run_seed(seed) ──► SeedReport        run_seeds(a..b, threads) ──► Summary
//! ```
//!
//! `distributed sim --protocol pbft --seeds 0..500 --faults all` calls [`run_seeds`];
//! `--seed 42 --trace` calls [`run_seed`] with the trace on. The KV store on PBFT is
//! `pbft_kv/`.
//!
//! What is about PBFT rather than the store lives here and `pbft_kv/` takes it from here, as
//! `paxos_kv/` takes its invariants from `paxos/`: the adversary ([`Adversary`], generic over
//! the honest host it wraps through [`PbftHost`]), the node that is honest or Byzantine
//! ([`PbftNode`]), [`HonestAgreement`], the choice of Byzantine nodes per seed
//! ([`adversaries`]), [`parse_variant`] and [`pbft_config`]. The road not taken: a
//! `pbft_common/` folder, a third place to look for what is plainly PBFT's.
//!
//! Paper: Castro & Liskov, "Practical Byzantine Fault Tolerance" (OSDI '99) §4.1 (clients,
//! f+1 replies, retransmission to all), §4.5.1 (safety); TOCS 2002 §5.3 (state transfer).
//!
//! ## Layout
//!
//! ```text
//! mod.rs         this map
//! node.rs        PbftHost (what a host shows the adversary), PbftNode, adversaries, build
//! adversary.rs   Strategy and Adversary: silent, equivocate, twins, replay, flood, lie-vc
//! invariants.rs  HonestAgreement: executed histories and stable checkpoints agree
//! host.rs        BareReplica: the core, its tally, CheckpointDue answered, state restored,
//!                retransmissions answered from the reply cache; Output, Reply
//! tally.rs       Tally: a count, a running SHA-256 of executed ops, the reply cache
//! client.rs      Clients, Ledger: requests, resends to all, f+1 matching replies
//! checks.rs      Validity, ClientAgreement, CoverageProbe
//! options.rs     PbftSimOptions, parse_variant, pbft_config
//! runner.rs      simulation, run_seed, run_seeds, first_failure
//! summary.rs     SeedReport, Summary, Latency
//! ```

mod adversary;
mod checks;
mod client;
mod host;
mod invariants;
mod node;
mod options;
mod runner;
mod summary;
mod tally;

pub use adversary::{Adversary, Strategy};
pub use checks::{ClientAgreement, Coverage, CoverageProbe, Validity};
pub use client::{Accepted, ClientSettings, Clients, Ledger, CLIENTS_MAX, TICK_UNITS};
pub use host::{BareReplica, Output, Reply};
pub use invariants::HonestAgreement;
pub use node::{adversaries, build, PbftHost, PbftNode};
pub use options::{parse_variant, pbft_config, PbftSimOptions};
pub use runner::{
    first_failure, pbft_primary, run_seed, run_seeds, run_seeds_with_progress, simulation, Node,
};
pub use summary::{Latency, SeedReport, Summary};
pub use tally::{CachedReply, Tally, REPLY_CACHE_CLIENTS_MAX};
