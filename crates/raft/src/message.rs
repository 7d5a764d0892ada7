//! The four Raft RPCs as one-way messages (Figure 2), and their one-line `Display`.
//!
//! ```text
//!   candidate ── RequestVote{term last=(t,i)} ──────────────► voter        (§5.2, §5.4.1)
//!   candidate ◄─ RequestVoteResponse{term granted|rejected} ─ voter
//!
//!   leader ──── AppendEntries{term prev=(t,i) n commit} ───► follower     (§5.3)
//!   leader ◄─── AppendEntriesResponse{term ok match=m} ────── follower
//!          ◄─── AppendEntriesResponse{term reject prev=i hint=(t,j)}
//! ```
//!
//! The sender's id is not a field: it travels in the `Envelope` and reaches `step` as `from`,
//! so it cannot disagree with the route (the paper's `candidateId` / `leaderId`).
//!
//! Responses are not matched to requests by an id. Instead they carry enough to be judged on
//! their own: a success names the index the follower now matches through, a rejection names the
//! `prev_log_index` it failed on. That lets a pipelining leader drop stale or reordered replies.

use std::fmt;

use crate::log::{Entry, Index, Term};

/// A Raft message. Every variant carries the sender's `term` (§5.1: terms act as a logical clock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A candidate asks for a vote (§5.2).
    RequestVote {
        /// The candidate's term.
        term: Term,
        /// Index of the candidate's last entry: half of the up-to-date check (§5.4.1).
        last_log_index: Index,
        /// Term of the candidate's last entry: the other half, compared first.
        last_log_term: Term,
    },
    /// A voter's answer.
    RequestVoteResponse {
        /// The voter's term, so a stale candidate steps down.
        term: Term,
        /// True if the vote is granted.
        vote_granted: bool,
    },
    /// The leader replicates entries, or asserts itself with none (a heartbeat) (§5.3).
    AppendEntries {
        /// The leader's term.
        term: Term,
        /// Index of the entry just before `entries`: the consistency check's position.
        prev_log_index: Index,
        /// Term of that entry: the consistency check's value.
        prev_log_term: Term,
        /// The entries to store, contiguous from `prev_log_index + 1`; empty for a heartbeat.
        entries: Vec<Entry>,
        /// The leader's commit index, so followers learn what to apply.
        leader_commit: Index,
    },
    /// A follower's answer.
    AppendEntriesResponse {
        /// The follower's term, so a stale leader steps down.
        term: Term,
        /// Whether the consistency check passed, and what the leader should do next.
        result: AppendResult,
    },
}

/// The outcome of one AppendEntries at a follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendResult {
    /// The follower's log now matches the leader's through `match_index`
    /// (`prev_log_index + entries.len()` of the request).
    Ok {
        /// The highest index known to match the leader's log.
        match_index: Index,
    },
    /// The consistency check failed at `prev_log_index` (or the leader's term was stale).
    Reject {
        /// The `prev_log_index` of the rejected request; lets the leader ignore stale rejections.
        prev_log_index: Index,
        /// The follower's term at `prev_log_index`, or 0 when its log is too short.
        conflict_term: Term,
        /// The first index of `conflict_term` in the follower's log, or the follower's last
        /// index when its log is too short (§5.3, accelerated log backtracking).
        conflict_index: Index,
    },
}

impl Message {
    /// The sender's term, which every message carries.
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote { term, .. }
            | Message::RequestVoteResponse { term, .. }
            | Message::AppendEntries { term, .. }
            | Message::AppendEntriesResponse { term, .. } => *term,
        }
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => write!(
                f,
                "RequestVote{{term={term} last=({last_log_term},{last_log_index})}}"
            ),
            Message::RequestVoteResponse { term, vote_granted } => {
                let verdict = if *vote_granted { "granted" } else { "rejected" };
                write!(f, "RequestVoteResponse{{term={term} {verdict}}}")
            }
            Message::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => write!(
                f,
                "AppendEntries{{term={term} prev=({prev_log_term},{prev_log_index}) n={} commit={leader_commit}}}",
                entries.len()
            ),
            Message::AppendEntriesResponse { term, result } => {
                write!(f, "AppendEntriesResponse{{term={term} {result}}}")
            }
        }
    }
}

impl fmt::Display for AppendResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppendResult::Ok { match_index } => write!(f, "ok match={match_index}"),
            AppendResult::Reject {
                prev_log_index,
                conflict_term,
                conflict_index,
            } => write!(
                f,
                "reject prev={prev_log_index} hint=({conflict_term},{conflict_index})"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn every_message_prints_as_one_compact_line() {
        let entry = |index| Entry {
            term: 3,
            index,
            data: Bytes::new(),
        };
        let cases = [
            (
                Message::AppendEntries {
                    term: 3,
                    prev_log_index: 14,
                    prev_log_term: 2,
                    entries: vec![entry(15), entry(16), entry(17)],
                    leader_commit: 14,
                },
                "AppendEntries{term=3 prev=(2,14) n=3 commit=14}",
            ),
            (
                Message::AppendEntriesResponse {
                    term: 3,
                    result: AppendResult::Ok { match_index: 17 },
                },
                "AppendEntriesResponse{term=3 ok match=17}",
            ),
            (
                Message::AppendEntriesResponse {
                    term: 3,
                    result: AppendResult::Reject {
                        prev_log_index: 14,
                        conflict_term: 2,
                        conflict_index: 9,
                    },
                },
                "AppendEntriesResponse{term=3 reject prev=14 hint=(2,9)}",
            ),
            (
                Message::RequestVote {
                    term: 4,
                    last_log_index: 20,
                    last_log_term: 3,
                },
                "RequestVote{term=4 last=(3,20)}",
            ),
            (
                Message::RequestVoteResponse {
                    term: 4,
                    vote_granted: true,
                },
                "RequestVoteResponse{term=4 granted}",
            ),
        ];
        for (msg, text) in cases {
            assert_eq!(msg.to_string(), text);
        }
    }
}
