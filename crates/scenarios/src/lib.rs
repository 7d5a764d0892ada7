//! # scenarios: what the simulator's runs mean, one folder per protocol
//!
//! The `sim` crate is a protocol-blind engine: it schedules deliveries, ticks, crashes and
//! partitions for any [`distributed_core::Protocol`] and calls hooks after every event. This
//! crate supplies the hooks. Each protocol gets one folder holding the same furniture:
//!
//! ```text
//!   scenarios/src/<protocol>/
//!     invariants.rs   the paper's safety properties, checked after every event
//!     client.rs       the workload: simulated clients and what they record
//!     options.rs      the protocol's knobs, fault profiles, --variant parsing, validate()
//!     runner.rs       simulation(seed), run_seed, run_seeds, the summary line
//!
//!   sim::Simulation<P> ◄── invariants + workload + leader hook ── <protocol>/runner.rs
//!          │ Report                                                    │
//!          └──────────────────────────────► SeedReport / Summary ◄─────┘
//!                                                   │
//!                             `distributed sim --protocol <name>` prints it
//! ```
//!
//! Adding a protocol means adding a folder here and a line in the CLI's protocol list; the
//! engine does not change (a fitness test keeps `sim` depending on `distributed-core` alone).
//!
//! ## Layout
//!
//! ```text
//! lib.rs      this map
//! compare.rs  raft-kv, paxos-kv and pbft-kv side by side: one table (`sim --compare`)
//! batch.rs    run_parallel: the worker pool every adapter's seed runners share (Tally)
//! faults.rs   FaultProfile (--faults) and parse_seeds (--seeds): shared by every adapter
//! progress.rs SeedProgress: seeds done and failing so far, read by a host while a batch runs
//! paxos/      Multi-Paxos alone: chosen-once on the acceptors' votes, learners agree,
//!             promises only grow, validity; a proposing client; seed runners
//! paxos_kv/   the KV store on Multi-Paxos (replica::OrderedReplica): raft-kv's clients and
//!             checker, Paxos's invariants on the writes, replica agreement
//! pbft/       PBFT alone with up to B Byzantine replicas (named strategies: silent,
//!             equivocate, twins, replay, flood, lie-vc, one adversary for every host), honest
//!             agreement, validity, f+1-reply clients and what they accepted; seed runners
//! pbft_kv/    the KV store on PBFT (replica::OrderedReplica) with pbft/'s adversaries and
//!             honest agreement, raft-kv's clients (f+1 matching replies) and checker
//! raft/       Raft alone: Figure 3's safety properties, a proposing client, membership changes
//!             and the host's compaction on top, seed runners
//! raft_kv/    the replicated KV store (replica::KvReplica): retrying exactly-once clients,
//!             every history checked for linearizability; replica invariants; seed runners
//! replication/ the register harness for the schemes of `crates/replication` (chain, CRAQ;
//!             one RegisterScheme each): Jepsen-style clients, a calm at the end, every
//!             history judged against every consistency model, a per-model tally
//! ```
//!
//! ## Rules this crate keeps
//!
//! Runs are deterministic: a seed decides everything, so any violation replays from its seed.
//! The only clock reads are in the seed-range runners, which time a batch for its summary.

#![forbid(unsafe_code)]

pub mod batch;
pub mod compare;
pub mod faults;
pub mod paxos;
pub mod paxos_kv;
pub mod pbft;
pub mod pbft_kv;
pub mod progress;
pub mod raft;
pub mod raft_kv;
pub mod replication;

pub use faults::{parse_seeds, FaultProfile};
pub use progress::SeedProgress;
