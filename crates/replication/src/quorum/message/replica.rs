//! A coordinator and its replicas: writes, reads, and read repair (DeCandia et al. §4.5, §4.6;
//! read repair as Dynamo and Riak run it). Handled in write.rs and read.rs.
//!
//! ```text
//!   put:  coordinator ── Replicate{op key version} ──────────► home node: merge, persist
//!                     ◄─ Replicated{op key} ─────────────────   (only after the write is durable)
//!         home node silent for replica_timeout_ticks (sloppy quorum, §4.6):
//!         coordinator ── Replicate{op key version hint=n2} ──► next node on the ring: keeps it
//!                     ◄─ Replicated{op key} ─────────────────   as a hint for n2, counts for W
//!   get:  coordinator ── Fetch{op key} ─► replica ─ Fetched{op key version} ─► merge R replies
//!         after every reply (or the timeout): Repair{key version} to each stale home node
//! ```

use std::fmt;

use distributed_core::NodeId;

use crate::client::{Key, OpId};
use crate::quorum::version::Version;

/// Store `version` of `key` (merge it with what you hold) and acknowledge once durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replicate {
    /// The put this belongs to.
    pub op: OpId,
    /// The key.
    pub key: Key,
    /// The coordinator's new version.
    pub version: Version,
    /// `Some(owner)`: you are a stand-in; keep this as a hint for `owner` and hand it back.
    pub hint: Option<NodeId>,
}

/// `Replicate` for `op` is durable here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replicated {
    /// The put acknowledged.
    pub op: OpId,
    /// Its key (for the trace).
    pub key: Key,
}

/// What do you hold for `key`?
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetch {
    /// The get this belongs to.
    pub op: OpId,
    /// The key.
    pub key: Key,
}

/// What I hold for `key` (a stand-in answers with its hints for it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// The get answered.
    pub op: OpId,
    /// The key.
    pub key: Key,
    /// The version held, or `None` for a key never written here.
    pub version: Option<Version>,
}

/// Read repair: merge `version`, which covers what you answered. No answer: the next read,
/// hinted handoff or anti-entropy covers a lost repair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    /// The key.
    pub key: Key,
    /// The merge of every reply the coordinator heard.
    pub version: Version,
}

impl fmt::Display for Replicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Replicate {
            op,
            key,
            version,
            hint,
        } = self;
        write!(f, "Replicate{{op={op} key={key} version={version}")?;
        if let Some(owner) = hint {
            write!(f, " hint={owner}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Display for Replicated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Replicated{{op={} key={}}}", self.op, self.key)
    }
}

impl fmt::Display for Fetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fetch{{op={} key={}}}", self.op, self.key)
    }
}

impl fmt::Display for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Fetched { op, key, version } = self;
        match version {
            Some(v) => write!(f, "Fetched{{op={op} key={key} version={v}}}"),
            None => write!(f, "Fetched{{op={op} key={key} version=none}}"),
        }
    }
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Repair{{key={} version={}}}", self.key, self.version)
    }
}
