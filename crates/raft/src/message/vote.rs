//! The election RPCs: pre-votes (thesis §9.6) and votes (§5.2, §5.4.1). Handled in election.rs.
//!
//! ```text
//!   pre-candidate ── PreVote{term=T+1 last=(t,i)} ───────────► voter   (thesis §9.6; T unchanged)
//!   pre-candidate ◄─ PreVoteResponse{term=T+1 granted}          ─ voter
//!                 ◄─ PreVoteResponse{term=voter's rejected}
//!   candidate ── RequestVote{term last=(t,i) [transfer]} ────► voter        (§5.2, §5.4.1)
//!   candidate ◄─ RequestVoteResponse{term granted|rejected} ─ voter
//! ```
//!
//! A `PreVote`'s term is *proposed*, not adopted: no one persists or moves to it. A granted
//! `PreVoteResponse` echoes it, so the answer matches one pre-vote round; a rejection carries
//! the voter's own term, so a pre-candidate that is behind catches up.

use std::fmt;

use crate::log::{Index, Term};

/// Would you vote for me in `term` (thesis §9.6)? Sent by a pre-candidate, whose own term is
/// `term - 1`; nobody adopts `term` on seeing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreVote {
    /// The proposed term: the pre-candidate's term plus one.
    pub term: Term,
    /// Index of the pre-candidate's last entry (the §5.4.1 check, as for a real vote).
    pub last_log_index: Index,
    /// Term of the pre-candidate's last entry.
    pub last_log_term: Term,
}

/// A voter's answer to a `PreVote`. Nothing is persisted on either side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreVoteResponse {
    /// Granted: the proposed term, so the answer matches one pre-vote round. Rejected: the
    /// voter's own term, so a pre-candidate that is behind catches up.
    pub term: Term,
    /// True if the voter would grant a real vote.
    pub vote_granted: bool,
}

/// A candidate asks for a vote (§5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestVote {
    /// The candidate's term.
    pub term: Term,
    /// Index of the candidate's last entry: half of the up-to-date check (§5.4.1).
    pub last_log_index: Index,
    /// Term of the candidate's last entry: the other half, compared first.
    pub last_log_term: Term,
    /// True when the candidate campaigns because its leader sent it `TimeoutNow` (thesis
    /// §3.10): voters then answer even if they heard from that leader recently, since the
    /// leader itself asked for this election (§4.2.3 exception).
    pub leader_transfer: bool,
}

/// A voter's answer to a `RequestVote`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestVoteResponse {
    /// The voter's term, so a stale candidate steps down.
    pub term: Term,
    /// True if the vote is granted.
    pub vote_granted: bool,
}

fn verdict(granted: bool) -> &'static str {
    if granted {
        "granted"
    } else {
        "rejected"
    }
}

impl fmt::Display for PreVote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let PreVote {
            term,
            last_log_index,
            last_log_term,
        } = self;
        write!(
            f,
            "PreVote{{term={term} last=({last_log_term},{last_log_index})}}"
        )
    }
}

impl fmt::Display for PreVoteResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = verdict(self.vote_granted);
        write!(f, "PreVoteResponse{{term={} {verdict}}}", self.term)
    }
}

impl fmt::Display for RequestVote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RequestVote {
            term,
            last_log_index,
            last_log_term,
            leader_transfer,
        } = self;
        let transfer = if *leader_transfer { " transfer" } else { "" };
        write!(
            f,
            "RequestVote{{term={term} last=({last_log_term},{last_log_index}){transfer}}}"
        )
    }
}

impl fmt::Display for RequestVoteResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = verdict(self.vote_granted);
        write!(f, "RequestVoteResponse{{term={} {verdict}}}", self.term)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_messages_print_as_one_compact_line() {
        let ask = |term, leader_transfer| RequestVote {
            term,
            last_log_index: 20,
            last_log_term: 3,
            leader_transfer,
        };
        assert_eq!(ask(4, false).to_string(), "RequestVote{term=4 last=(3,20)}");
        assert_eq!(
            ask(5, true).to_string(),
            "RequestVote{term=5 last=(3,20) transfer}"
        );
        let granted = RequestVoteResponse {
            term: 4,
            vote_granted: true,
        };
        assert_eq!(granted.to_string(), "RequestVoteResponse{term=4 granted}");
    }

    #[test]
    fn pre_vote_messages_print_as_one_compact_line() {
        let ask = PreVote {
            term: 5,
            last_log_index: 20,
            last_log_term: 4,
        };
        assert_eq!(ask.to_string(), "PreVote{term=5 last=(4,20)}");
        let rejected = PreVoteResponse {
            term: 5,
            vote_granted: false,
        };
        assert_eq!(rejected.to_string(), "PreVoteResponse{term=5 rejected}");
    }
}
