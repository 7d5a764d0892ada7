//! The seam between a consensus core and the state machine it orders.
//!
//! Raft, Multi-Paxos and PBFT all agree on one thing: a sequence of opaque entries. What the
//! entries *mean* is a separate, deterministic state machine that every replica feeds the same
//! sequence (Schneider, "Implementing Fault-Tolerant Services Using the State Machine
//! Approach", 1990; Raft §5.3 "State Machine Safety"). This trait is that machine's side of the
//! seam, so one machine (the `kv` crate's) is driven by every consensus core without a copy:
//!
//! ```text
//!   consensus core ──committed (index, entry)──► apply ──► Reply   (each index once, in order)
//!                  ──read index confirmed───────► read  ──► Reply   (no log entry: §6.4 reads)
//!                  ──log too long──────────────► snapshot ──► bytes ──► the core compacts (§7)
//!                  ──snapshot from a leader────► check_snapshot(bytes), then restore(bytes)
//!                                                     (at start-up: restore(bytes) from disk)
//! ```
//!
//! Invariants every implementation keeps (a replica asserts the first two):
//! - `apply` takes indexes strictly above `applied_index`, and moves it to exactly that index;
//! - after `restore`, `applied_index` is the index the snapshot was taken at;
//! - `apply` and `restore` are pure functions of the state and their argument: two replicas
//!   that applied the same entries hold the same state and give the same replies;
//! - bytes are untrusted: an entry that does not decode is a `Reply` (an error the client
//!   sees), a snapshot that does not decode is a `RestoreError`, never a panic.
//!
//! The road not taken: putting the machine's command type in the trait. The consensus cores
//! only ever move bytes, so the seam speaks bytes for entries and snapshots; only `read`, which
//! never enters the log, takes the machine's own typed `Query`.
//!
//! A `Query` may carry what the host supplies besides the question: kv's (`kv::ReadQuery`)
//! carries a random seed, since a read changes no state and so may pick "at random" per call
//! (SRANDMEMBER), where `apply` must not: its randomness can only come from the entry.

use std::fmt::Display;

/// A deterministic state machine that a consensus log drives (see the module docs).
pub trait Machine {
    /// A read-only question answered from the current state, outside the log.
    type Query;
    /// What `apply` and `read` answer.
    type Reply;
    /// Why a snapshot's bytes were refused.
    type RestoreError: Display;

    /// Apply the committed entry at `index` and return its reply. Panics if `index` is not
    /// above `applied_index`: that is a host bug, not bad input.
    fn apply(&mut self, index: u64, entry: &[u8]) -> Self::Reply;

    /// Answer a read-only query from the current state. The caller makes it linearizable
    /// (a confirmed read index, a lease); this only reflects every entry up to `applied_index`.
    fn read(&self, query: &Self::Query) -> Self::Reply;

    /// The index of the last applied entry; 0 before any.
    fn applied_index(&self) -> u64;

    /// The whole state as self-checking bytes, taken at `applied_index`.
    fn snapshot(&self) -> Vec<u8>;

    /// Replace the whole state with a `snapshot`'s; on error nothing changes.
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), Self::RestoreError>;

    /// Would `restore(snapshot)` succeed? Changes nothing. A host asks before its log commits
    /// to a snapshot from elsewhere (a leader's InstallSnapshot): after that point a snapshot
    /// that does not restore leaves the node with neither its old log nor a new state.
    fn check_snapshot(&self, snapshot: &[u8]) -> Result<(), Self::RestoreError>;
}
