//! Follower reads (thesis §6.4): a follower asks its leader for a read index, and waits for its
//! own log to reach it. Both sides are handled in read.rs (the crate's, not this one).
//!
//! ```text
//!   follower ── ReadIndexRequest{term id} ──────────────────► leader      (thesis §6.4)
//!   follower ◄─ ReadIndexResponse{term id index=i | failed=reason} ─ leader
//! ```
//!
//! `id` is the follower's own request number, never the host's read id: a late answer matches
//! only the request it was meant for (read.rs explains why numbers differ across restarts).

use std::fmt;

use crate::log::{Index, Term};
use crate::ready::ReadFailure;

/// A follower asks its leader for a read index on behalf of a local read (thesis §6.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadIndexRequest {
    /// The follower's term; the leader serves only requests of its own term.
    pub term: Term,
    /// The follower's own number for this request, unique per incarnation (not the host's
    /// read id, which may repeat): a late answer can never match a newer read.
    pub id: u64,
}

/// The leader's answer: a confirmed read index, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadIndexResponse {
    /// The leader's term.
    pub term: Term,
    /// The `id` of the request answered.
    pub id: u64,
    /// The read index, confirmed by a heartbeat round sent after the request arrived.
    pub outcome: Result<Index, ReadFailure>,
}

impl fmt::Display for ReadIndexRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReadIndexRequest{{term={} id={}}}", self.term, self.id)
    }
}

impl fmt::Display for ReadIndexResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ReadIndexResponse { term, id, outcome } = self;
        match outcome {
            Ok(index) => write!(f, "ReadIndexResponse{{term={term} id={id} index={index}}}"),
            Err(reason) => write!(
                f,
                "ReadIndexResponse{{term={term} id={id} failed={reason}}}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_index_messages_print_as_one_compact_line() {
        let ask = ReadIndexRequest { term: 3, id: 12 };
        assert_eq!(ask.to_string(), "ReadIndexRequest{term=3 id=12}");
        let answer = |outcome| ReadIndexResponse {
            term: 3,
            id: 12,
            outcome,
        };
        assert_eq!(
            answer(Ok(42)).to_string(),
            "ReadIndexResponse{term=3 id=12 index=42}"
        );
        assert_eq!(
            answer(Err(ReadFailure::NotLeader { leader: None })).to_string(),
            "ReadIndexResponse{term=3 id=12 failed=NotLeader{leader=none}}"
        );
    }
}
