//! The data path: updates down the chain, acks back up (OSDI '04 §2, §3), and CRAQ's version
//! query to the tail (ATC '09 §2.3). Handled in write.rs (Update, Ack) and read.rs (the query).
//!
//! ```text
//!   head ── Update{seq=7} ──► middle ── Update{seq=7} ──► tail       (each stores it first)
//!   head ◄── Ack{through=7} ── middle ◄── Ack{through=7} ── tail      (clean from here on)
//!
//!   any member ── VersionQuery{id key} ──► tail ── VersionReply{id key version} ──► member
//! ```
//!
//! Every message carries the sender's epoch; a receiver refuses one from another epoch.

use std::fmt;

use crate::chain::configuration::Epoch;
use crate::chain::store::Seq;
use crate::client::{Key, Value};

/// Store this update and pass it on: a predecessor to its successor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// The sender's epoch.
    pub epoch: Epoch,
    /// Its place in the chain's order of writes; a receiver stores only `last_seq + 1`.
    pub seq: Seq,
    /// The key written.
    pub key: Key,
    /// The value written.
    pub value: Value,
}

/// The tail has stored every update through `through`: a successor to its predecessor.
/// Cumulative, so a lost ack is repaired by any later one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// The sender's epoch.
    pub epoch: Epoch,
    /// Every update through this seq is at the tail.
    pub through: Seq,
}

/// CRAQ: which version of `key` has the tail committed? From a member whose newest version
/// of `key` is dirty, to the tail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionQuery {
    /// The sender's epoch.
    pub epoch: Epoch,
    /// The asker's number for the read waiting on the answer: an answer to an older query
    /// could predate the read, so each read waits for its own.
    pub id: u64,
    /// The key read.
    pub key: Key,
}

/// CRAQ: the tail's committed version of `key` (its newest), by seq; 0 if it has none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionReply {
    /// The tail's epoch.
    pub epoch: Epoch,
    /// The query answered.
    pub id: u64,
    /// The key.
    pub key: Key,
    /// The seq of the tail's newest version of `key`, 0 if none.
    pub version: Seq,
}

impl fmt::Display for Update {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Update {
            epoch,
            seq,
            key,
            value,
        } = self;
        write!(
            f,
            "Update{{epoch={epoch} seq={seq} key={key} value={value}}}"
        )
    }
}

impl fmt::Display for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ack{{epoch={} through={}}}", self.epoch, self.through)
    }
}

impl fmt::Display for VersionQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VersionQuery{{epoch={} id={} key={}}}",
            self.epoch, self.id, self.key
        )
    }
}

impl fmt::Display for VersionReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let VersionReply {
            epoch,
            id,
            key,
            version,
        } = self;
        write!(
            f,
            "VersionReply{{epoch={epoch} id={id} key={key} version={version}}}"
        )
    }
}
