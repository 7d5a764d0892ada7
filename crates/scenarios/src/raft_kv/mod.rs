//! The replicated KV adapter: simulated clients against a `KvReplica` cluster, and every
//! history they record checked for linearizability.
//!
//! Raft's invariants say the log is safe; they cannot say what clients saw. A replica may keep
//! a perfect log and still answer a read from a stale copy, or acknowledge a write that never
//! commits. So each run here also records every client op as an interval (invoke at the first
//! send, return at the `Done` reply) and hands the history to the `check` crate, which asks
//! whether one single copy of the store, one op at a time, explains every answer
//! (Herlihy & Wing 1990; Raft dissertation §6.3 on exactly-once, §6.4 on reads).
//!
//! ```text
//!   RaftKvOptions { nodes, clients, faults, variant, … }
//!        │
//!        ▼
//!   simulation(seed) = Simulation<KvReplica>
//!        + Raft's invariants (reused via OnReplica) + replica-progress + replica-agreement
//!        + KvClients: N sequential clients, exactly-once sessions, retries, history
//!        │ run
//!        ▼
//!   Report (invariants) + History ──Checker(Budget::steps)──► CheckResult
//!        │
//!        ▼
//!   run_seed(seed) ──► KvSeedReport      run_seeds(a..b, threads) ──► KvSummary
//!                                        first_failure(a..b, threads) ──► lowest failing seed
//! ```
//!
//! What the CLI does with it: `distributed sim --protocol raft-kv --clients 15 --nodes 7
//! --seeds 0..500 --faults all [--reads log|read-index|lease] [--variant
//! stale-follower-reads|ack-before-commit|lease-ignores-drift|leader-counts-unsynced]
//! [--tick-periods A..B] [--leader-writes-in-parallel]` calls
//! [`run_seeds`] and prints the [`KvSummary`]; `--seed S [--trace] [--history OUT.jsonl]` calls
//! [`run_seed`] and writes [`KvSeedReport::history_json_lines`] to the file, which
//! `distributed check OUT.jsonl` re-checks on its own.
//!
//! The broken replica variants keep a perfect Raft log, so no invariant fires: only the
//! checker can catch them, which is what these runs show. So does Raft's `LeaseIgnoresDrift`
//! (with `read_path` Lease): its stale reads break no log invariant.
//!
//! With `leader_writes_in_parallel` (thesis §10.2.1, the server's default) the simulated disk
//! takes time: leaders send before their fsync, replies go out at once, crashes lose unsynced
//! writes. Raft's `LeaderCountsUnsyncedWrites` then acknowledges writes held by less than a
//! majority's disks; a Raft invariant (leader completeness) usually sees the loss before the
//! checker does.
//!
//! Reads: `read_path` picks the replicas' [`ReadPath`] (default ReadIndex). Unless reads go
//! through the log, clients send each read to a random node with odds
//! `follower_reads_per_million`, so followers serve reads too (thesis §6.4), and each
//! replica's `clock_drift_per_mille_max` is derived from the simulated clocks (`options.rs`).
//!
//! ## Layout
//!
//! ```text
//! mod.rs          this map
//! options.rs      RaftKvOptions (reusing the Raft adapter's fault profiles; read path, clocks,
//!                 the drift bound derived from them), validate, parsers
//! ops.rs          the op mix and key space as kv::Body (what runs is what is checked);
//!                 OpCounts. ops_mix.rs: the commands per key kind
//! client.rs       KvClients: the sequential, retrying, exactly-once clients; the history
//! tag.rs          Tag: (client_id, seq, attempt) packed into the u64 a reply echoes
//! client_workload.rs  KvClients as a sim Workload: poll, replies, lost inputs
//! kv_node.rs      KvNode (what a client talks to: KvReplica, OrderedReplica<Paxos|Pbft>),
//!                 ClientSettings (who answers reads, replies needed, resends to all)
//! invariants.rs   OnReplica (Raft's invariants on replicas), replica-progress,
//!                 replica-agreement (state digests), the leader hook
//! coverage.rs     Coverage: snapshots taken and installed, expiry entries proposed, so
//!                 tests can assert a mixed run really mixed them in
//! wall_clock.rs   WallClocks: each host's wall clock (request stamps, active expiry), offset
//!                 per node under the skew profiles
//! validity.rs     ClientValidity: an honest node persists only entries a client sent
//!                 (paxos-kv, pbft-kv); SentRequests, the clients' record of what they sent
//! runner.rs       simulation, KvSimulation, run_seed, KvSeedReport, KvFailure
//! summary.rs      run_seeds, first_failure, KvSummary
//! ```

mod client;
mod client_workload;
mod coverage;
mod invariants;
mod kv_node;
mod ops;
mod options;
mod runner;
mod summary;
mod tag;
mod validity;
mod wall_clock;

pub(crate) use client::KvClients;
pub use coverage::Coverage;
pub use invariants::{kv_leader, OnReplica, ReplicaAgreement, ReplicaProgress};
pub(crate) use kv_node::ClientSettings;
pub use kv_node::KvNode;
pub use ops::OpCounts;
pub use options::{
    parse_read_path, parse_replica_variant, RaftKvOptions, CLIENTS_MAX, KEYS_MAX,
    OPS_PER_CLIENT_LIMIT, OP_ATTEMPTS_LIMIT,
};
pub use replica::ReadPath;
pub(crate) use runner::{close_and_check, SharedClients};
pub use runner::{
    run_seed, simulation, KvFailure, KvSeedReport, KvSimulation, DIGEST_EVERY_ENTRIES,
};
pub use summary::{first_failure, run_seeds, run_seeds_with_progress, KvSummary};
pub(crate) use validity::ClientValidity;
pub use wall_clock::{WallClocks, WALL_CLOCK_OFFSET_MS_MAX};
