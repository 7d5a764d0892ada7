//! # raft: Raft consensus as a deterministic, sans-IO state machine
//!
//! An implementation of "In Search of an Understandable Consensus Algorithm (Extended Version)",
//! Ongaro & Ousterhout, 2014: leader election (§5.2), log replication (§5.3) and the safety
//! rules (§5.4), plus the leader's no-op (§8). It never touches a socket, a clock or a file:
//! drive it through [`distributed_core::Protocol`] and carry out each [`Ready`] in order
//! (persist → send → apply → advance). See [`Ready`] for a complete driving loop.
//!
//! ## Layout
//!
//! ```text
//! lib.rs        this map and the public re-exports
//! config.rs     Config (timeouts, batch and pipeline bounds, Variant) and Config::validate
//! log.rs        Term, Index, Entry; the in-memory log and its term searches   (§5.3)
//! message.rs    the four RPCs as messages, with their one-line Display          (Figure 2)
//! ready.rs      HardState, Disk, Write, Input, Output, Ready: the host contract
//! node.rs       the Raft struct, start/restart, accessors, Protocol dispatch    (§5.1)
//! election.rs   timeouts, campaigns, votes, the up-to-date check               (§5.2, §5.4.1)
//! leader.rs     proposals, batching, pipelining, heartbeats, the commit rule  (§5.3, §5.4.2)
//! progress.rs   per-follower flow control: probe and replicate states
//! follower.rs   AppendEntries: consistency check, truncation, conflict hint   (§5.3)
//! ```
//!
//! ## Not yet here
//!
//! Snapshots, membership changes, pre-vote, check-quorum, ReadIndex and leader transfer are
//! later issues. Without check-quorum, a leader cut off from its followers keeps believing it
//! leads until it hears a higher term; clients it accepts proposals from just never see them
//! commit.

mod config;
mod election;
mod follower;
mod leader;
mod log;
mod message;
mod node;
mod progress;
mod ready;

pub use bytes::Bytes;
pub use config::{Config, ConfigError, Variant};
pub use log::{Entry, Index, Term};
pub use message::{AppendResult, Message};
pub use node::{Raft, Role};
pub use ready::{Disk, HardState, Input, Output, Ready, Write};
