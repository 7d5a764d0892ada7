//! Phase 2, per slot, and the leader's commit notices ("Paxos Made Simple" §2.2 phase 2 (a),
//! (b), §2.3 learning; PMMC §3 "Commander"). Handled in acceptor.rs (Accept, Commit) and
//! leader.rs (Accepted).
//!
//! ```text
//!   leader ── Accept{ballot=b slot=s value=v commit=c} ──► acceptor: promised ≤ b: accept
//!          ◄─ Accepted{ballot=b slot=s} ──────────────────  (persisted first)
//!          ◄─ Nack{ballot=b promised=p} ──────────────────  promised p > b
//!   a phase-2 quorum of Accepted: v is chosen in s
//!   leader ── Commit{ballot=b through=t} ──► every node, each heartbeat_ticks
//! ```
//!
//! What a commit notice means (and `commit` on an Accept): every slot through `through` is
//! chosen, and in any of them the leader proposed at `ballot` the chosen value is the one it
//! proposed. A learner holding a pvalue of exactly that ballot there therefore holds the
//! chosen value; any other slot it asks for with CatchUp.

use std::fmt;

use crate::ballot::{Ballot, Slot, Value};

/// Accept `value` in `slot` at `ballot` (phase 2a), and learn that everything through `commit`
/// is chosen (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accept {
    /// The leader's ballot.
    pub ballot: Ballot,
    /// The slot.
    pub slot: Slot,
    /// The value proposed: adopted from the promises, a no-op for a hole, or a client's.
    pub value: Value,
    /// The leader's `chosen_through` when it sent this: piggybacked learning.
    pub commit: Slot,
}

/// The acceptor accepted (and persisted) the leader's value in `slot` at `ballot` (phase 2b).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The ballot accepted: a leader counts only answers to its own ballot.
    pub ballot: Ballot,
    /// The slot.
    pub slot: Slot,
}

/// The leader's heartbeat and commit notice: everything through `through_slot` is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The leader's ballot: who leads, and which pvalues the notice vouches for.
    pub ballot: Ballot,
    /// The leader's `chosen_through`.
    pub through_slot: Slot,
}

impl fmt::Display for Accept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Accept {
            ballot,
            slot,
            value,
            commit,
        } = self;
        write!(
            f,
            "Accept{{ballot={ballot} slot={slot} value={value} commit={commit}}}"
        )
    }
}

impl fmt::Display for Accepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Accepted{{ballot={} slot={}}}", self.ballot, self.slot)
    }
}

impl fmt::Display for Commit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Commit{{ballot={} through={}}}",
            self.ballot, self.through_slot
        )
    }
}
