//! # distributed: the command line
//!
//! One binary for everything a user runs:
//!
//! ```text
//! distributed sim          simulate a protocol over a seed range, or replay one seed with its trace
//! distributed check        check a recorded client history: linearizable (default), sequential,
//!                          causal, session guarantees or eventual convergence (--model)
//! distributed node         run one replica of the replicated KV store (RESP + Raft + WAL)
//! distributed cluster up   start a local cluster of node processes (the quick start)
//! distributed kv           send one command to a node (get, set, del, cas, info)
//! distributed status       one line per node: role, term, leader, commit, applied (exit 1: no leader)
//! distributed bench        load-test our cluster, redis-server or etcd (throughput, latency)
//! ```
//!
//! ## Layout
//!
//! ```text
//! main.rs        argument parsing (clap) and dispatch; exit codes
//! sim_cmd.rs     `distributed sim`: seed ranges, replay, traces, summaries (raft)
//! sim_kv.rs      `sim --protocol raft-kv | paxos-kv | pbft-kv`: the KV stores, checked
//! sim_paxos.rs   `sim --protocol paxos`: Multi-Paxos alone
//! sim_pbft.rs    `sim --protocol pbft`: the PBFT core alone, with Byzantine replicas
//! sim_compare.rs `sim --compare raft-kv,paxos-kv,pbft-kv`: one table
//! sim_replication.rs `sim --protocol chain | craq | primary-backup | quorum | crdt`: a
//!                register workload on a replication scheme, judged against every model
//! check_cmd.rs   `distributed check`: a thin wrapper over the `check` crate's CLI entry point
//! node_cmd.rs    `distributed node`: flags over --config (server::config_file) → NodeConfig,
//!                tokio runtime, signals
//! cluster_cmd.rs `distributed cluster up`: spawn N nodes of this binary, forward Ctrl-C and
//!                SIGTERM
//! kv_cmd.rs      `distributed kv`: a tiny blocking RESP client
//! status_cmd.rs  `distributed status`: INFO from each node, one line each
//! progress.rs    a progress line on stderr for long runs, only when stderr is a terminal
//! ../examples/   raft_demo, paxos_demo, pbft_demo (each core in one process, one screen),
//!                e2e_replication (3 server nodes)
//! bench/         `distributed bench`: closed-loop load generator, RESP and etcd backends
//! ```
//!
//! Exit codes: 0 success; 1 the run found what it looks for (a violation); 2 bad arguments or
//! input (clap's own usage errors also exit 2); 3 the checker ran out of budget (`unknown`).

mod bench;
mod check_cmd;
mod cluster_cmd;
mod kv_cmd;
mod node_cmd;
mod progress;
mod sim_cmd;
mod sim_compare;
mod sim_kv;
mod sim_paxos;
mod sim_pbft;
mod sim_replication;
mod status_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// distributed: distributed systems, taught by shipping them for real.
#[derive(Parser, Debug)]
#[command(name = "distributed", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate a protocol under faults with its invariants checked after every event.
    Sim(sim_cmd::SimArgs),
    /// Check a JSON-lines client history against a consistency model (--model; linearizable by
    /// default): exit 0 holds, 1 violation, 3 unknown.
    Check(check_cmd::CheckArgs),
    /// Run one replica of the replicated KV store (RESP clients, Raft peers, WAL).
    Node(node_cmd::NodeArgs),
    /// Start a local cluster of nodes (`cluster up`).
    Cluster(cluster_cmd::ClusterArgs),
    /// Send one command to a node and print the reply.
    Kv(kv_cmd::KvArgs),
    /// Ask each node for its Raft state; one line per node (exit 1 if no leader is known).
    Status(status_cmd::StatusArgs),
    /// Measure throughput and latency of a RESP or etcd target under a chosen workload.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Sim(args) => sim_cmd::run(args),
        Command::Check(args) => check_cmd::run(args),
        Command::Node(args) => node_cmd::run(args),
        Command::Cluster(args) => cluster_cmd::run(args),
        Command::Kv(args) => kv_cmd::run(args),
        Command::Status(args) => status_cmd::run(args),
        Command::Bench(args) => bench::run(args),
    };
    ExitCode::from(code)
}
