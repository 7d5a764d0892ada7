//! # raft: Raft consensus as a deterministic, sans-IO state machine
//!
//! An implementation of "In Search of an Understandable Consensus Algorithm (Extended Version)",
//! Ongaro & Ousterhout, 2014: leader election (§5.2), log replication (§5.3) and the safety
//! rules (§5.4), plus the leader's no-op (§8); and from Ongaro's dissertation ("Consensus:
//! Bridging Theory and Practice", 2014) pre-vote (§9.6), check-quorum and leader stickiness
//! (§4.2.3, §6.2), linearizable reads by ReadIndex, lease and follower forwarding (§6.4,
//! §6.4.1), snapshots with log compaction (§7), membership changes by joint consensus with
//! learners (paper §6, thesis §4.3) and leadership transfer (thesis §3.10). It never touches a
//! socket, a clock or a file:
//! drive it through [`distributed_core::Protocol`] and carry out each [`Ready`] in order
//! (persist → send → apply → advance). See [`Ready`] for a complete driving loop.
//!
//! ## Layout
//!
//! ```text
//! lib.rs        this map and the public re-exports
//! config.rs     Config (timeouts, bounds, pre-vote, check-quorum, ReadMode, Variant), validate
//! log.rs        Term, Index, Entry; the in-memory log after the snapshot point, its term
//!               searches and compaction                                       (§5.3, §7)
//! message.rs    the RPCs as messages, with their one-line Display  (Figure 2, thesis §9.6, §6.4)
//! ready.rs      HardState, Disk, Write, Input, Output, ReadFailure, Ready: the host contract
//! node.rs       the Raft struct, start/restart, accessors, Protocol dispatch    (§5.1)
//! election.rs   timeouts, pre-votes, campaigns, votes, disruptive-vote rule
//!                                                      (§5.2, §5.4.1, thesis §9.6, §4.2.3)
//! leader.rs     proposals, batching, pipelining, heartbeats, the commit rule  (§5.3, §5.4.2)
//! quorum.rs     heartbeat rounds, check-quorum, the lease           (thesis §6.2, §6.4, §6.4.1)
//! read.rs       ReadIndex queue, lease reads, follower reads, read failures     (thesis §6.4)
//! progress.rs   per-follower flow control: probe and replicate states
//! follower.rs   AppendEntries: consistency check, truncation, conflict hint   (§5.3)
//! membership.rs Membership (voters, learners, outgoing half while joint), MembershipChange,
//!               ChangeError, and the one quorum rule every count uses      (§6, thesis §4.3)
//! reconfig.rs   joint consensus at the leader, latest-config-wins on every node, the
//!               leader stepping down when not in C_new                      (§6)
//! transfer.rs   leadership transfer: TimeoutNow, forced campaigns, abort   (thesis §3.10)
//! snapshot.rs   Snapshot, SnapshotMeta; compaction on Input::Snapshot, InstallSnapshot in
//!               chunks (leader), assembly and install (follower)                (§7)
//! ```
//!
//! ## Not yet here
//!
//! Lease reads assume tick rates differ by at most `Config::clock_drift_per_mille_max`; nothing here can check it.

mod config;
mod election;
mod follower;
mod leader;
mod log;
mod membership;
mod message;
mod node;
mod progress;
mod quorum;
mod read;
mod ready;
mod reconfig;
mod snapshot;
mod transfer;

pub use bytes::Bytes;
pub use config::{Config, ConfigError, ReadMode, Variant};
pub use log::{Entry, EntryKind, Index, Term, INDEX_MAX};
pub use membership::{ChangeError, Membership, MembershipChange};
pub use message::{AppendResult, Message, Round};
pub use node::{Raft, Role};
pub use ready::{Disk, HardState, Input, Output, ReadFailure, Ready, Write};
pub use snapshot::{Snapshot, SnapshotMeta};
