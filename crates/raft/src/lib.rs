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
//! message/      one struct per RPC, each with its one-line Display, and the Message enum
//!   mod.rs      Message (a variant per struct, From impls), term(), carries_a_held_term()
//!   vote.rs     PreVote, RequestVote and their responses          (§5.2, §5.4.1, thesis §9.6)
//!   append.rs   AppendEntries, AppendEntriesResponse, AppendResult                 (§5.3)
//!   snapshot.rs InstallSnapshot, InstallSnapshotResponse                            (§7)
//!   read.rs     ReadIndexRequest, ReadIndexResponse                         (thesis §6.4)
//!   transfer.rs TimeoutNow                                                 (thesis §3.10)
//!   wire_size.rs WireSize for every message: the bytes the server's peer frames write
//! ready.rs      HardState, Disk, Write, Input, Output, ReadFailure, Ready: the host contract
//! node.rs       the Raft struct, start/restart, accessors, the §5.1 term rule, and `step`:
//!               drops (with a note) what no role handles, then one `on_x` per message
//! role.rs       Role, and RoleState: Follower{leader}, (Pre)Candidate{votes_granted},
//!               Leader{progress, rounds, transfer, heartbeat_elapsed, reads}  (§5.1, Fig. 4)
//! election.rs   timeouts, pre-votes, campaigns, votes, disruptive-vote rule
//!                                                      (§5.2, §5.4.1, thesis §9.6, §4.2.3)
//! leader.rs     proposals, batching, pipelining, heartbeats, the commit rule  (§5.3, §5.4.2)
//! quorum.rs     heartbeat rounds, check-quorum, the lease           (thesis §6.2, §6.4, §6.4.1)
//! read.rs       ReadIndex queue (the leader's), lease reads, forwarded reads, read
//!               failures                                                     (thesis §6.4)
//! progress.rs   per-follower flow control: probe and replicate states
//! follower.rs   on_append_entries: consistency check, truncation, conflict hint (§5.3)
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

#![forbid(unsafe_code)]

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
mod role;
mod snapshot;
mod transfer;

pub use bytes::Bytes;
pub use config::{Config, ConfigError, ReadMode, Variant};
pub use log::{Entry, EntryKind, Index, Term, INDEX_MAX};
pub use membership::{ChangeError, Membership, MembershipChange};
pub use message::{
    AppendEntries, AppendEntriesResponse, AppendResult, InstallSnapshot, InstallSnapshotResponse,
    Message, PreVote, PreVoteResponse, ReadIndexRequest, ReadIndexResponse, RequestVote,
    RequestVoteResponse, Round, TimeoutNow,
};
pub use node::Raft;
pub use ready::{Disk, HardState, Input, Output, ReadFailure, Ready, Write};
pub use role::Role;
pub use snapshot::{Snapshot, SnapshotMeta};
