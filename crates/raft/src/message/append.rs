//! Log replication and heartbeats (§5.3): `AppendEntries` and its answer. The leader's side is in
//! leader.rs, the follower's in follower.rs.
//!
//! ```text
//!   leader ──── AppendEntries{term prev=(t,i) n commit round} ──► follower (§5.3)
//!   leader ◄─── AppendEntriesResponse{term ok match=m round} ──── follower
//!          ◄─── AppendEntriesResponse{term reject prev=i hint=(t,j) round}
//! ```
//!
//! `round` numbers the leader's heartbeat rounds; a follower echoes it, so an answer proves the
//! follower still accepted this leader when a message of that round reached it (ReadIndex,
//! thesis §6.4). An answer names what it answers (`match`, or the rejected `prev`), so a
//! pipelining leader can judge a stale or reordered one without a request id.

use std::fmt;

use crate::log::{Entry, Index, Term};
use crate::message::Round;

/// The leader replicates entries, or asserts itself with none (a heartbeat) (§5.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendEntries {
    /// The leader's term.
    pub term: Term,
    /// Index of the entry just before `entries`: the consistency check's position.
    pub prev_log_index: Index,
    /// Term of that entry: the consistency check's value.
    pub prev_log_term: Term,
    /// The entries to store, contiguous from `prev_log_index + 1`; empty for a heartbeat.
    pub entries: Vec<Entry>,
    /// The leader's commit index, so followers learn what to apply.
    pub leader_commit: Index,
    /// The leader's heartbeat round when it sent this: echoed back, it confirms leadership
    /// for reads registered before the round began (thesis §6.4).
    pub round: Round,
}

/// A follower's answer to an `AppendEntries`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendEntriesResponse {
    /// The follower's term, so a stale leader steps down.
    pub term: Term,
    /// Whether the consistency check passed, and what the leader should do next.
    pub result: AppendResult,
    /// The `round` of the AppendEntries answered. Any answer of the leader's term counts,
    /// a rejection included: it still shows the follower accepted this leader.
    pub round: Round,
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

impl fmt::Display for AppendEntries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let AppendEntries {
            term,
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
            round,
        } = self;
        write!(
            f,
            "AppendEntries{{term={term} prev=({prev_log_term},{prev_log_index}) n={} commit={leader_commit} round={round}}}",
            entries.len()
        )
    }
}

impl fmt::Display for AppendEntriesResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let AppendEntriesResponse {
            term,
            result,
            round,
        } = self;
        write!(
            f,
            "AppendEntriesResponse{{term={term} {result} round={round}}}"
        )
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
    use crate::log::EntryKind;
    use bytes::Bytes;

    #[test]
    fn append_messages_print_as_one_compact_line() {
        let entry = |index| Entry {
            term: 3,
            index,
            data: Bytes::new(),
            kind: EntryKind::Normal,
        };
        let append = AppendEntries {
            term: 3,
            prev_log_index: 14,
            prev_log_term: 2,
            entries: vec![entry(15), entry(16), entry(17)],
            leader_commit: 14,
            round: 9,
        };
        assert_eq!(
            append.to_string(),
            "AppendEntries{term=3 prev=(2,14) n=3 commit=14 round=9}"
        );
        let ok = AppendEntriesResponse {
            term: 3,
            result: AppendResult::Ok { match_index: 17 },
            round: 9,
        };
        assert_eq!(
            ok.to_string(),
            "AppendEntriesResponse{term=3 ok match=17 round=9}"
        );
        let reject = AppendEntriesResponse {
            term: 3,
            result: AppendResult::Reject {
                prev_log_index: 14,
                conflict_term: 2,
                conflict_index: 9,
            },
            round: 0,
        };
        assert_eq!(
            reject.to_string(),
            "AppendEntriesResponse{term=3 reject prev=14 hint=(2,9) round=0}"
        );
    }
}
