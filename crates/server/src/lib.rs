//! # server: one node of the replicated KV store, for real
//!
//! The protocol crates are sans-IO; this crate is the IO. It owns sockets, files and timers and
//! drives a [`kv::KvReplica`] through its `Ready` loop, honouring the host contract
//! (persist → send → deliver), and speaks RESP so `redis-cli` and `redis-benchmark` work.
//!
//! ```text
//!   redis-cli ──RESP──► client.rs ──Event::Client──┐
//!   peers ──TCP frames──► transport.rs ─Event::Peer─┤
//!   tokio interval ───────────────── tick ──────────┤
//!                                                   ▼
//!                         node.rs: KvReplica.step / input / tick ──► Effects
//!                           1. writes ──wal_codec──► storage::GroupCommit (one fdatasync/batch)
//!                           2. once durable: messages ──► transport.rs ──► peers
//!                           3. then outputs ──► replies to clients (or to the forwarding peer)
//! ```
//!
//! ## Layout
//!
//! ```text
//! lib.rs          this map
//! resp/           RESP2 frames: parse (partial, pipelined, inline, bounded) and encode
//! command.rs      RESP command ↔ kv::Command, kv::Reply → RESP frame
//! codec/          bounded binary codecs: WAL records (raft::Write, snapshot markers) and their
//!                 replay over a snapshot file, snapshot file contents, peer frames (len+CRC)
//! config.rs       NodeConfig and validate(): addresses, ticks, reads, check-quorum
//! runtime.rs      run_node: recover the snapshot + WAL, bind, spawn the tasks
//! node.rs         the node task: the Ready loop with a pipeline of durable batches
//! snapshots.rs    snapshot files: save + WAL marker + segment removal; recovery and fallback
//! client.rs       one RESP connection: pipelined commands, replies in order, READONLY
//! forward.rs      a follower forwards a request to the leader, once
//! transport.rs    peer connections: dial, Hello, bounded queues
//! status.rs       RESP frames for outcomes; INFO / DISTRIBUTED.STATUS
//! metrics.rs      the Prometheus registry; Raft state gauges, tracing of elections
//! http.rs         GET /metrics and /health (hyper)
//! ```

mod client;
pub mod codec;
pub mod command;
mod config;
mod forward;
mod http;
pub mod metrics;
mod node;
pub mod resp;
mod runtime;
mod snapshots;
mod status;
mod transport;

pub use config::{NodeConfig, METRICS_PORT_OFFSET};
pub use kv::replica::ReadPath;
pub use runtime::run_node;
