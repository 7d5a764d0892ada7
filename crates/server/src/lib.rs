//! # server: one node of the replicated KV store, for real
//!
//! The protocol crates are sans-IO; this crate is the IO. It owns sockets, files and timers and
//! drives a [`replica::KvReplica`] through its `Ready` loop, honouring the host contract
//! (persist → send → deliver), and speaks RESP so `redis-cli` and `redis-benchmark` work.
//!
//! ```text
//!   redis-cli ──RESP──► clients/ ──Event::Client──┐
//!   peers ──TCP frames──► peers/ ──Event::Peer────┤
//!   tokio interval ────────────── tick ───────────┤
//!                                                 ▼
//!                         node/: KvReplica.step / input / tick ──► Effects
//!                           1. writes ──disk/──► storage::GroupCommit (one fdatasync/batch)
//!                           2. once durable: messages ──► peers/ ──► other nodes
//!                           3. then outputs ──► replies to clients (or to the forwarding peer)
//!                         ops/: metrics pushed from the loop, served over HTTP
//! ```
//!
//! ## Layout: one folder per door
//!
//! Imports run one way, and no file imports one that imports it back:
//!
//! ```text
//!   runtime.rs ──► node/ ──► the doors: clients/ peers/ disk/ ops/   (no door imports node/)
//!                    │          │
//!                    ▼          ▼
//!   shared vocabulary: event.rs ──► clients/resp (Frame), peers/frames.rs (PeerFrame)
//!                      codec.rs     the raft types' binary forms (disk/ and peers/ share them),
//!                                   over distributed_core::wire (Sink, Reader, DecodeError)
//!                      config.rs ─► clients/resp (Limits)
//! ```
//!
//! The doors reach the node only by sending an `Event` down a channel; the node answers
//! through the `oneshot`s those events carry.
//!
//! ```text
//! lib.rs              this map
//! config.rs           NodeConfig and validate(): addresses, ticks, reads, check-quorum,
//!                     proto_max_bulk_len (which sizes kv's limits, WAL records, peer frames)
//! config_file.rs      the TOML node config file and the flags over it: parse, merge
//! runtime.rs          run_node: recover the snapshot + WAL, bind, spawn the tasks
//! event.rs            Event: what the doors hand the node task
//! codec.rs            the raft types' binary forms (entries, membership, snapshot meta) that
//!                     disk records and peer frames share, in distributed_core::wire's
//!                     little-endian vocabulary; the snapshot file contents
//! clients/            the clients' door (its mod.rs maps it file by file)
//!   resp/             RESP2 and RESP3 frames: parse (bounded, large bulks uncopied), encode
//!   command.rs        RESP command ↔ kv::Command or a connection op, kv::Reply → frame
//!   table.rs          the connection commands' table; with kv's, COMMAND and the README list
//!   connection.rs     one connection's state machine: normal, MULTI, subscribed; pipelining
//!   writer.rs         replies in order, pub/sub pushes between them, RESP2/RESP3
//!   transaction.rs    MULTI/EXEC/WATCH: EXEC is one log entry; pubsub.rs: the hub, mailboxes
//!   registry.rs, settings.rs, command_info.rs, glob.rs: CLIENT, CONFIG, COMMAND, patterns
//! peers/              the peers' door
//!   frames.rs         peer frames (len + CRC): Hello, Raft messages, forwards
//!   transport.rs      peer connections: dial, Hello, bounded queues
//! disk/               the disk's door
//!   lock.rs           data_dir/LOCK: one node process per data dir (flock), the holder named
//!   wal_records.rs    raft::Write as WAL records (HardState, Append, Marker)
//!   replay.rs         recovery: the newest snapshot file, then the WAL folded over it
//!   snapshots.rs      snapshot files: save + WAL marker + segment removal; fallback
//! node/               the node task, by role
//!   mod.rs            Node and the Ready loop: batches, flush, on_durable, release
//!   requests.rs       ReplyTo, Waiter: input under a tag, deliver, answer
//!   persist.rs        Storage (WAL + snapshot store): submit a batch's writes, snapshots,
//!                     segment removal behind a durable marker, stop on a WAL failure
//!   forward.rs        a follower forwards a request to the leader, once
//!   status.rs         RESP frames for outcomes; INFO / DISTRIBUTED.STATUS
//! ops/                the operators' door
//!   metrics.rs        the Prometheus registry; Raft state gauges, tracing of elections
//!   http.rs           GET /metrics and /health (hyper)
//! ```

#![forbid(unsafe_code)]

pub mod clients;
pub mod codec;
mod config;
pub mod config_file;
pub mod disk;
mod event;
mod node;
pub mod ops;
pub mod peers;
mod runtime;

pub use config::{NodeConfig, METRICS_PORT_OFFSET};
pub use replica::ReadPath;
pub use runtime::run_node;
