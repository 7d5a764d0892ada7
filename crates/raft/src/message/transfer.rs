//! Leadership transfer (thesis §3.10): the leader's one message to its caught-up target. Both
//! sides are handled in transfer.rs (the crate's, not this one).
//!
//! ```text
//!   leader ──── TimeoutNow{term} ───────────────────────────► target     (thesis §3.10)
//!   target: campaigns at once ── RequestVote{term+1 .. transfer} ──► voters   (vote.rs)
//! ```
//!
//! No answer: the target's campaign is the answer, and the leader's transfer times out if it
//! never comes.

use std::fmt;

use crate::log::Term;

/// A leader transferring leadership tells its caught-up target to campaign now, without
/// waiting for its election timeout or asking for pre-votes (thesis §3.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeoutNow {
    /// The leader's term; the target acts only on its current leader's request.
    pub term: Term,
}

impl fmt::Display for TimeoutNow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeoutNow{{term={}}}", self.term)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_now_prints_as_one_compact_line() {
        assert_eq!(TimeoutNow { term: 4 }.to_string(), "TimeoutNow{term=4}");
    }
}
