//! The read round: a leader confirms it still leads before answering a read without a log
//! slot. Handled in read.rs (the crate's), which also says why the quorum is what it is.
//!
//! ```text
//!   leader ── Confirm{ballot=b round=r} ──► every node
//!          ◄─ Confirmed{ballot=b round=r} ── promised ≤ b: no higher ballot passed here
//!          ◄─ Nack{ballot=b promised=p} ──── promised p > b: the leader is deposed
//! ```

use std::fmt;

use crate::ballot::Ballot;

/// Have you promised anything above `ballot`? Asked for read round `round`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirm {
    /// The leader's ballot.
    pub ballot: Ballot,
    /// The leader's read round: grows by one per round, so an answer is matched to a round
    /// sent after the reads it confirms arrived.
    pub round: u64,
}

/// No: as of this answer the acceptor had promised nothing above `ballot`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmed {
    /// The ballot confirmed.
    pub ballot: Ballot,
    /// The round answered.
    pub round: u64,
}

impl fmt::Display for Confirm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Confirm{{ballot={} round={}}}", self.ballot, self.round)
    }
}

impl fmt::Display for Confirmed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Confirmed{{ballot={} round={}}}",
            self.ballot, self.round
        )
    }
}
