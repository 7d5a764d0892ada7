//! # kv: the replicated key-value state machine
//!
//! A consensus core (Raft today; Multi-Paxos and PBFT next) agrees on a log; this crate gives
//! the log a meaning. Every replica feeds its committed entries, in order, to its own
//! [`StateMachine`], and because applying an entry is a pure function of the state and the
//! entry, every replica holds the same map and answers the same [`Reply`] (Raft §5.3, State
//! Machine Safety). The RESP server maps Redis commands onto [`Command`]s 1:1 (see `command.rs`
//! and `reply.rs` for the tables).
//!
//! This crate knows no consensus protocol: it depends on `distributed-core` alone, and a core
//! drives it through the [`distributed_core::Machine`] seam (apply, read, snapshot, restore).
//! The glue that joins it to Raft lives in the `replica` crate.
//!
//! ```text
//!   client ──Request{client_id, seq, Command}──► encode ──► Raft log ──► commit
//!                                                                         │
//!   every replica:  StateMachine::apply(index, data) ◄────────────────────┘
//!                     decode → dedup (session) → execute on BTreeMap → Reply
//!                     snapshot() / restore() / digest()
//! ```
//!
//! ## Layout
//!
//! ```text
//! lib.rs        this map
//! command.rs    Command, Condition, Request: what a client asks (the RESP ↔ command table)
//! reply.rs      Reply, KvError: what it gets back (the reply ↔ RESP frame table)
//! execute.rs    the meaning of each command on the ordered map (Redis semantics)
//! session.rs    the bounded dedup table behind exactly-once (Raft dissertation §6.3)
//! machine.rs    StateMachine, Config: apply, read, applied_index; the Machine seam impl
//! codec.rs      the versioned, bounded binary form of requests (and of cached replies)
//! snapshot.rs   snapshot / restore with CRC-32, and the digest over the same bytes (Raft §7)
//! hash.rs       FNV-1a 64 (digest) and CRC-32 (snapshot integrity)
//! display.rs    one-line Display for commands, requests and replies
//! ```
//!
//! The byte-level vocabulary under `codec.rs` and `snapshot.rs` (`Sink` for writing, `Reader`
//! for untrusted input, `DecodeError`, all little-endian) is `distributed_core::wire`, the one
//! that `storage` and `server` write their formats in too.
//!
//! ## Rules this crate keeps
//!
//! Deterministic: no clock, no randomness, no `HashMap`, nothing whose order differs between
//! replicas. Untrusted bytes (log entries, snapshots) give errors, never panics. Invariants that
//! would mean a host bug (an index applied twice) are `assert!`s that stay on in release.

#![forbid(unsafe_code)]

mod codec;
mod command;
mod display;
mod execute;
mod hash;
mod machine;
mod reply;
mod session;
mod snapshot;

pub use codec::{Limits, REQUEST_VERSION};
pub use command::{Command, Condition, Request};
/// Why bytes did not decode: the workspace's one decode error (`distributed_core::wire`),
/// re-exported so `kv::DecodeError` stays this crate's public name for it.
pub use distributed_core::wire::DecodeError;
pub use machine::{Config, ConfigError, StateMachine};
pub use reply::{KvError, Reply};
pub use snapshot::{SnapshotError, SNAPSHOT_VERSION};
