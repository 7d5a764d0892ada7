//! Catching up: a learner that knows a slot is chosen but not its value asks, and is sent the
//! chosen values, or the snapshot that replaced them ("Paxos Made Simple" §3: "a learner …
//! can ask the leader"). Handled in learner.rs.
//!
//! ```text
//!   learner ── CatchUp{from=s} ──────────────────────────────► any node (usually the leader)
//!           ◄─ Chosen{from=s n=k [s:b:v ..]} ───────────────── chosen values s..s+k, k ≤ batch
//!           ◄─ InstallSnapshot{ballot=b slot=t bytes=n} ───── s ≤ its snapshot: values gone
//! ```

use std::fmt;

use bytes::Bytes;

use crate::ballot::{Ballot, PValue, Slot};

/// Send me the chosen values from `from_slot` on: the one after my `chosen_through`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatchUp {
    /// The first slot wanted.
    pub from_slot: Slot,
}

/// Chosen values, consecutive from the first one's slot, at most `catch_up_batch_max`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// The chosen pvalues (the ballot is one the sender learned the value at).
    pub values: Vec<PValue>,
}

/// The sender's snapshot: its state machine through `slot`, replacing the values it dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallSnapshot {
    /// The sender's promised ballot, for the trace and the leader hint.
    pub ballot: Ballot,
    /// The last slot the snapshot covers.
    pub slot: Slot,
    /// The state machine, in the host's format; opaque here.
    pub data: Bytes,
}

impl fmt::Display for CatchUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CatchUp{{from={}}}", self.from_slot)
    }
}

impl fmt::Display for Chosen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = self.values.first().map_or(0, |pv| pv.slot);
        write!(f, "Chosen{{from={from} n={} [", self.values.len())?;
        for (k, pv) in self.values.iter().enumerate() {
            let sep = if k == 0 { "" } else { " " };
            write!(f, "{sep}{pv}")?;
        }
        f.write_str("]}")
    }
}

impl fmt::Display for InstallSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "InstallSnapshot{{ballot={} slot={} bytes={}}}",
            self.ballot,
            self.slot,
            self.data.len()
        )
    }
}
