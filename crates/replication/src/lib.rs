//! # replication: keeping copies without a consensus log
//!
//! Raft, Paxos and PBFT agree on one order of every command, at the price of a quorum round
//! per command and a leader election when the leader goes. The schemes in this crate replicate
//! a key-value register store more cheaply, and each pays for it in a different coin: a
//! configuration authority that must itself be right (primary-backup), a fixed order of
//! replicas that must be repaired (chain, CRAQ), or weaker answers (Dynamo-style quorums).
//! Issue 16's consistency map runs one workload against all of them and says which
//! consistency models each one keeps.
//!
//! ## Layout
//!
//! ```text
//! lib.rs        this map
//! client.rs     the one client vocabulary every scheme speaks: ClientRequest (get, put) in,
//!               ClientReply (value, siblings, ok, redirect, unavailable) out
//! primary_backup/
//!               primary-backup with a view service (6.824-style): views with tenures,
//!               the primary's lease, forwards acked by every backup, state transfer in chunks
//!               to a backup outside the primary's lineage, exactly-once puts by OpId; two
//!               broken variants (no view ack, reads without the lease)
//! chain/        chain replication (OSDI '04) and CRAQ (ATC '09): head, tail, Sent list,
//!               clean/dirty versions, version queries, a master with epochs and leases
//! crdt_store/   a highly available CRDT register store: every node answers alone, at once;
//!               MV-registers (siblings, session contexts) or LWW by HLC; gossip anti-entropy
//!               with digests and put deltas; three broken variants
//! quorum/       Dynamo-style quorums (DeCandia et al. 2007): N/R/W per request, consistent
//!               hashing, sloppy quorum with hinted handoff, read repair, Merkle anti-entropy,
//!               siblings by dotted version vectors or LWW by HLC; three broken variants
//! ```
//!
//! Every scheme is a [`distributed_core::Protocol`] whose `Input` is [`ClientRequest`] and
//! whose `Output` is [`ClientReply`], so the simulator's register workload (in
//! `crates/scenarios`) drives them all through one door and checks every history against
//! every consistency model of `crates/check`.

#![forbid(unsafe_code)]

pub mod chain;
mod client;
pub mod crdt_store;
pub mod primary_backup;
pub mod quorum;

pub use client::{
    ClientReply, ClientRequest, Key, OpId, Request, Response, Value, VALUE_BYTES_MAX,
};
