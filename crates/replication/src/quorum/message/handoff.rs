//! Hinted handoff (DeCandia et al. §4.6): "the replica sent to D will have a hint in its
//! metadata that suggests which node was the intended recipient ... Once such hinted replicas
//! are delivered to A, D may delete the object from its local store". Handled in handoff.rs.
//!
//! ```text
//!   hint holder n4, every handoff_interval_ticks, up to handoffs_per_round_max hints:
//!     n4 ── HandOff{hint=3 key=x version} ──► n2 (the owner): merge, persist
//!     n4 ◄─ HandedOff{hint=3 key=x} ───────── n2
//!     n4 drops hint 3 (persisted), unless a newer put merged into it since (a new id)
//! ```

use std::fmt;

use crate::client::Key;
use crate::quorum::version::Version;

/// A hint's version, handed back to the node it was meant for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandOff {
    /// The holder's id for this hint, renewed whenever a put merges into it.
    pub hint: u64,
    /// The key.
    pub key: Key,
    /// The version held for the owner.
    pub version: Version,
}

/// The owner stored hint `hint` durably.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandedOff {
    /// The hint id, as the holder named it.
    pub hint: u64,
    /// The key.
    pub key: Key,
}

impl fmt::Display for HandOff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let HandOff { hint, key, version } = self;
        write!(f, "HandOff{{hint={hint} key={key} version={version}}}")
    }
}

impl fmt::Display for HandedOff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HandedOff{{hint={} key={}}}", self.hint, self.key)
    }
}
