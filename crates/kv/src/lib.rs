//! # kv: the replicated keyspace, Redis' data model as a deterministic state machine
//!
//! A consensus core (Raft today; Multi-Paxos and PBFT next) agrees on a log; this crate gives
//! the log a meaning. Every replica feeds its committed entries, in order, to its own
//! [`StateMachine`], and because applying an entry is a pure function of the state, the entry
//! and its log index and log time, every replica holds the same keyspace and answers the same
//! [`Reply`] (Raft §5.3, State Machine Safety). Commands are Redis' own, as words, checked
//! against one command table that also drives the RESP front end's `COMMAND` replies.
//!
//! This crate knows no consensus protocol: it depends on `distributed-core` alone, and a core
//! drives it through the [`distributed_core::Machine`] seam (apply, read, snapshot, restore).
//! The glue that joins it to Raft lives in the `replica` crate.
//!
//! ```text
//!   client ──Request{client_id, seq, time_ms, SET k v EX 10}──► encode ──► the log ──► commit
//!                                                                                    │
//!   every replica:  StateMachine::apply(index, data) ◄───────────────────────────────┘
//!                     decode → log clock → dedup (session) → exec (table row) → Reply
//!                     snapshot() / restore() / digest()
//! ```
//!
//! ## Layout
//!
//! ```text
//! lib.rs            this map
//! command/          Command (words + table row), Body (one or MULTI/EXEC), Request
//!   table.rs        the command table: name, arity, flags, key spec, docs, function
//! exec/             what each command means, one file per family, and what they share:
//!   args.rs         argument parsing with Redis' error texts
//!   strings.rs counters.rs string_ranges.rs    the strings family (GET SET… INCR… APPEND…)
//!   keys.rs keyscan.rs expire.rs               the keyspace: DEL TYPE RENAME COPY…, KEYS
//!                   SCAN, EXPIRE… TTL… PERSIST DISTRIBUTED.EXPIRE, on every type
//!   hashes.rs lists.rs sets.rs zsets.rs zrange.rs   the container families
//!   float.rs        floats read as Redis reads them, printed as Redis 7.2 prints them
//!   typed.rs        container access: WRONGTYPE before any write, emptied keys deleted
//!   random.rs       SPOP/SRANDMEMBER/HRANDFIELD/RANDOMKEY picks seeded by the log index
//!   scan.rs glob.rs what every walk shares: MATCH (one glob), COUNT, TYPE; *SCAN cursors
//!   server.rs       DISTRIBUTED.* commands of our own
//! value.rs          Value: string, hash, list, set, sorted set (ordered containers)
//! db.rs             Db: keys → (value, expiry, version), tombstones for WATCH, lazy expiry,
//!                   the expiry and scan-order indexes
//! reply.rs          Reply (RESP3 shapes), KvError
//! session.rs        the bounded dedup table behind exactly-once (Raft dissertation §6.3)
//! machine.rs        StateMachine, Config: apply, read, the log clock; the Machine seam impl
//! codec/            the versioned, bounded binary forms of requests and cached replies
//! snapshot.rs       snapshot / restore with CRC-32, and the digest over the same bytes (§7)
//! snapshot_body.rs  what a snapshot holds, field by field (v2 written, v1 still read)
//! hash.rs           FNV-1a 64 (digest) and CRC-32 (snapshot integrity)
//! display.rs        one-line Display for commands, requests and replies
//! ```
//!
//! The byte-level vocabulary under `codec/` and `snapshot.rs` (`Sink` for writing, `Reader`
//! for untrusted input, `DecodeError`, all little-endian) is `distributed_core::wire`, the one
//! that `storage` and `server` write their formats in too.
//!
//! ## Rules this crate keeps
//!
//! Deterministic: no clock (time arrives in each request, stamped by the leader), no
//! randomness (commands that "pick at random" draw from a generator seeded by the key and
//! the log index), no `HashMap`, nothing whose order differs between replicas: replies Redis
//! calls unordered (HGETALL, SMEMBERS) come in byte order. Untrusted bytes
//! (log entries, snapshots) give errors, never panics. Invariants that would mean a host bug
//! (an index applied twice) are `assert!`s that stay on in release.

#![forbid(unsafe_code)]

mod codec;
mod command;
mod db;
mod display;
mod exec;
mod hash;
mod machine;
mod reply;
mod session;
mod snapshot;
mod snapshot_body;
mod value;

pub use codec::{Limits, REQUEST_VERSION};
pub use command::table::{self, Flags, Group, KeySpec, Spec};
pub use command::{Body, Command, Request};
/// Why bytes did not decode: the workspace's one decode error (`distributed_core::wire`),
/// re-exported so `kv::DecodeError` stays this crate's public name for it.
pub use distributed_core::wire::DecodeError;
pub use machine::{Config, ConfigError, StateMachine};
pub use reply::{KvError, Reply};
pub use snapshot::{SnapshotError, SNAPSHOT_VERSION};
pub use value::{Score, ScoreRange, Value, ZSet};
