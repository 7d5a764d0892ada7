//! Anti-entropy by Merkle trees (DeCandia et al. §4.7): "two nodes exchange the root of the
//! Merkle tree corresponding to the key ranges that they host in common. Subsequently ... the
//! nodes determine if they have any differences and perform the appropriate synchronization
//! action". Handled in anti_entropy.rs; the trees are in merkle.rs.
//!
//! ```text
//!   initiator n1, every anti_entropy_interval_ticks, one (range, peer) pair in turn:
//!     n1 ── TreeQuery{range=r0 level=0 nodes=[0]} ──────► n2
//!     n1 ◄─ TreeHashes{range=r0 level=0 [0:9a3c01f2]} ──  n2     roots equal: done
//!     n1 ── TreeQuery{level=1 nodes=[0 1]} ─► ... descend only where hashes differ ...
//!     n1 ── LeafSync{range=r0 leaves=[5] answer versions=[x=..]} ──► n2: merge each
//!     n1 ◄─ LeafSync{range=r0 leaves=[5] versions=[y=..]} ─────────  n2's versions n1 lacks
//! ```
//!
//! Bounded: a query names at most the children of the nodes that differed (at most
//! `merkle::LEAVES`), and a sync carries at most `sync_keys_max` versions; keys beyond that
//! are left for the next exchange, whose trees still differ there.

use std::fmt;

use crate::client::Key;
use crate::quorum::ring::RangeId;
use crate::quorum::version::Version;

/// Send me your hashes of tree nodes `nodes` (indices within `level`) of range `range`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeQuery {
    /// The key range both nodes host.
    pub range: RangeId,
    /// The tree level, 0 for the root.
    pub level: u8,
    /// Node indices within the level.
    pub nodes: Vec<u32>,
}

/// My hashes of the nodes asked for, `(index, hash)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeHashes {
    /// The key range.
    pub range: RangeId,
    /// The tree level.
    pub level: u8,
    /// `(index, hash)` per node asked for; 0 is the hash of an empty subtree.
    pub hashes: Vec<(u32, u64)>,
}

/// My versions of the keys under `leaves` of `range`; `answer`: send me yours back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafSync {
    /// The key range.
    pub range: RangeId,
    /// The leaves whose hashes differed.
    pub leaves: Vec<u32>,
    /// `(key, version)` under those leaves, in key order, at most `sync_keys_max`.
    pub versions: Vec<(Key, Version)>,
    /// True from the initiator: the peer answers with what differs on its side.
    pub answer: bool,
}

fn list<T: fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(" ")
}

impl fmt::Display for TreeQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TreeQuery {
            range,
            level,
            nodes,
        } = self;
        let nodes = list(nodes.iter());
        write!(
            f,
            "TreeQuery{{range=r{range} level={level} nodes=[{nodes}]}}"
        )
    }
}

impl fmt::Display for TreeHashes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TreeHashes {
            range,
            level,
            hashes,
        } = self;
        let hashes = list(hashes.iter().map(|(i, h)| format!("{i}:{:08x}", h >> 32)));
        write!(f, "TreeHashes{{range=r{range} level={level} [{hashes}]}}")
    }
}

impl fmt::Display for LeafSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let LeafSync {
            range,
            leaves,
            versions,
            answer,
        } = self;
        let leaves = list(leaves.iter());
        let versions = list(versions.iter().map(|(k, v)| format!("{k}={v}")));
        let answer = if *answer { " answer" } else { "" };
        write!(
            f,
            "LeafSync{{range=r{range} leaves=[{leaves}]{answer} versions=[{versions}]}}"
        )
    }
}
