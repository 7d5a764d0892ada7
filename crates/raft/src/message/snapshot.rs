//! Snapshot transfer (§7): `InstallSnapshot`, one chunk at a time, and its answer. Both sides are
//! handled in snapshot.rs (the crate's, not this one).
//!
//! ```text
//!   leader ──── InstallSnapshot{term snap=(t,i) off n done|more round} ──► follower (§7)
//!   leader ◄─── InstallSnapshotResponse{term snap=i received=b installed? round} ─ follower
//! ```
//!
//! Chunks go one at a time, each after the answer to the previous one. An answer names the
//! snapshot (`snap=i`) and how many bytes the follower holds, so the leader resumes at the
//! right offset and drops answers about a snapshot it no longer sends.

use std::fmt;

use bytes::Bytes;

use crate::log::{Index, Term};
use crate::message::Round;
use crate::snapshot::SnapshotMeta;

/// The leader sends one chunk of its snapshot to a follower whose next entry it no longer
/// holds (§7). Chunks go one at a time, each after the answer to the previous one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallSnapshot {
    /// The leader's term.
    pub term: Term,
    /// Which snapshot: its last index and term, and the configuration there.
    pub meta: SnapshotMeta,
    /// Where `data` starts in the snapshot's bytes.
    pub offset: u64,
    /// At most `snapshot_chunk_bytes_max` bytes of the snapshot.
    pub data: Bytes,
    /// True if this is the last chunk.
    pub done: bool,
    /// The leader's heartbeat round, echoed back like an AppendEntries' (thesis §6.4).
    pub round: Round,
}

/// A follower's answer to one chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallSnapshotResponse {
    /// The follower's term, so a stale leader steps down.
    pub term: Term,
    /// The `meta.index` of the snapshot answered: lets the leader drop stale answers.
    pub index: Index,
    /// How many bytes of that snapshot the follower holds: the next offset it expects.
    pub received: u64,
    /// True once the follower has the snapshot (installed, or already committed past it).
    pub installed: bool,
    /// The `round` of the chunk answered.
    pub round: Round,
}

impl fmt::Display for InstallSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let InstallSnapshot {
            term,
            meta,
            offset,
            data,
            done,
            round,
        } = self;
        let last = if *done { "done" } else { "more" };
        write!(
            f,
            "InstallSnapshot{{term={term} snap=({},{}) off={offset} n={} {last} round={round}}}",
            meta.term,
            meta.index,
            data.len()
        )
    }
}

impl fmt::Display for InstallSnapshotResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let InstallSnapshotResponse {
            term,
            index,
            received,
            installed,
            round,
        } = self;
        let state = if *installed { " installed" } else { "" };
        write!(
            f,
            "InstallSnapshotResponse{{term={term} snap={index} received={received}{state} round={round}}}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_messages_print_as_one_compact_line() {
        let meta = SnapshotMeta {
            index: 120,
            term: 3,
            membership: crate::membership::Membership::default(),
        };
        let chunk = InstallSnapshot {
            term: 4,
            meta,
            offset: 0,
            data: Bytes::from(vec![0u8; 4096]),
            done: true,
            round: 2,
        };
        assert_eq!(
            chunk.to_string(),
            "InstallSnapshot{term=4 snap=(3,120) off=0 n=4096 done round=2}"
        );
        let reply = InstallSnapshotResponse {
            term: 4,
            index: 120,
            received: 4096,
            installed: true,
            round: 2,
        };
        assert_eq!(
            reply.to_string(),
            "InstallSnapshotResponse{term=4 snap=120 received=4096 installed round=2}"
        );
    }
}
