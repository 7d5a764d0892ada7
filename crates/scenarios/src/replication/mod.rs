//! The register harness: one read/write workload, any replication scheme, every consistency
//! model (issue 16's consistency map, one row at a time).
//!
//! Every scheme of `crates/replication` stores registers and speaks `ClientRequest` /
//! `ClientReply`. This folder runs them all the same way: the same Jepsen-style clients, the
//! same fault profiles, a calm at the end, and each history judged against linearizability,
//! sequential and causal consistency, the four session guarantees and eventual convergence.
//! What differs per scheme is one [`RegisterScheme`] implementation.
//!
//! ```text
//!   RegisterScheme (chain, craq, primary-backup, quorum, crdt, raft-kv, paxos-kv)
//!        │ nodes, contacts, invariants, final states, promises
//!        ▼
//!   runner.rs: Simulation<S::Node> ── RegisterClients (client.rs, session.rs) ── history
//!        │ faults until the calm (sim's schedule_calm), then quiet; final states
//!        ▼
//!   models.rs: linearizable │ sequential │ causal │ ryw │ mono-reads │ wfr │ mono-writes │
//!              eventual ──► RegisterSeedReport: fails on a PROMISED model only
//!        ▼
//!   summary.rs: per-model passed/run, msgs/op, latency in ticks ──► `distributed sim
//!              --protocol chain|craq` prints it; the lowest failing seed replays with
//!              `--seed N --trace`
//! ```
//!
//! ## Layout
//!
//! ```text
//! mod.rs       this map
//! scheme.rs    RegisterScheme (the one trait a scheme implements), Contact, OpKind,
//!              ReplicaState
//! models.rs    Model (the eight columns), Judgement, Evidence, CheckBudget, judge
//! options.rs   RegisterOptions: clients, keys, faults (the Raft profiles), the calm, bounds
//! session.rs   one client's rules: redirects, refusals, timeouts, indeterminate puts
//! client.rs    RegisterClients: the clients as the simulator's workload; the history
//! measure.rs   OpCounts (how ops ended), Latency (exact quantiles, in ticks)
//! runner.rs    run_seed, RegisterSeedReport, RegisterFailure
//! summary.rs   run_seeds, first_failure, RegisterSummary (the per-model table)
//! chain.rs     ChainScheme: chain replication and CRAQ, correct or broken
//! primary_backup.rs  PrimaryBackupScheme: servers and a view service, leases, transfer
//! quorum.rs    QuorumScheme: Dynamo N/R/W, sloppy or strict, DVV or LWW; final states by
//!              home slot
//! crdt.rs      CrdtScheme: every node answers alone; sticky clients; MV or LWW registers
//! consensus/   raft-kv and paxos-kv as registers (KvRegister wraps a replica): the reference
//! map.rs       the consistency map: every row over the same seeds, one table
//! ```
//!
//! ## Rules
//!
//! Runs are deterministic (a seed decides everything, checker budgets are steps); a violated
//! model the scheme does not promise is a finding, never a failure; a put with no trustworthy
//! answer is indeterminate, never retried into a duplicate.

mod chain;
mod client;
mod consensus;
mod crdt;
mod map;
mod measure;
mod models;
mod options;
mod primary_backup;
mod quorum;
mod runner;
mod scheme;
mod session;
mod summary;

pub use ::replication::chain::{Mode as ChainMode, Variant as ChainVariant};
pub use ::replication::crdt_store::{Resolution as CrdtResolution, Variant as CrdtVariant};
pub use ::replication::primary_backup::Variant as PbVariant;
pub use ::replication::quorum::{Resolution as QuorumResolution, Variant as QuorumVariant};
pub use chain::{ChainScheme, CHAIN_REPLICAS_MAX};
pub use client::ClientSettings;
pub use consensus::{
    Consensus, ConsensusLog, ConsensusNode, KvRegister, PaxosRegisters, RaftRegisters,
};
pub use crdt::CrdtScheme;
pub use map::{consistency_map, map_is_clean, render_map, MapRow, MAP_QUORUM_NODES, MAP_REPLICAS};
pub use measure::{Latency, OpCounts};
pub use models::{judge, CheckBudget, Evidence, Judgement, Model};
pub use options::{
    RegisterOptions, CLIENTS_MAX, CLOCK_OFFSET_TICKS_MAX, HLC_MAX_OFFSET_TICKS, KEYS_MAX,
    OP_ATTEMPTS_LIMIT, TICK_UNITS,
};
pub use primary_backup::{PrimaryBackupScheme, SERVERS_MAX};
pub use quorum::QuorumScheme;
pub use runner::{run_seed, RegisterFailure, RegisterSeedReport};
pub use scheme::{Contact, MessageSize, OpKind, RegisterScheme, ReplicaState};
pub use summary::{first_failure, run_seeds, run_seeds_with_progress, ModelTally, RegisterSummary};
