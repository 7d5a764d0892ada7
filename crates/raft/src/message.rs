//! The Raft RPCs as one-way messages (Figure 2, thesis §9.6 and §6.4), and their `Display`.
//!
//! ```text
//!   pre-candidate ── PreVote{term=T+1 last=(t,i)} ───────────► voter   (thesis §9.6; T unchanged)
//!   pre-candidate ◄─ PreVoteResponse{term=T+1 granted}          ─ voter
//!                 ◄─ PreVoteResponse{term=voter's rejected}
//!   candidate ── RequestVote{term last=(t,i)} ──────────────► voter        (§5.2, §5.4.1)
//!   candidate ◄─ RequestVoteResponse{term granted|rejected} ─ voter
//!
//!   leader ──── AppendEntries{term prev=(t,i) n commit round} ──► follower (§5.3)
//!   leader ◄─── AppendEntriesResponse{term ok match=m round} ──── follower
//!          ◄─── AppendEntriesResponse{term reject prev=i hint=(t,j) round}
//!
//!   leader ──── InstallSnapshot{term snap=(t,i) off n done|more round} ──► follower (§7)
//!   leader ◄─── InstallSnapshotResponse{term snap=i received=b installed? round} ─ follower
//!
//!   leader ──── TimeoutNow{term} ───────────────────────────► target     (thesis §3.10)
//!
//!   follower ── ReadIndexRequest{term id} ──────────────────► leader      (thesis §6.4)
//!   follower ◄─ ReadIndexResponse{term id index=i | failed=reason} ─ leader
//! ```
//!
//! `round` numbers the leader's heartbeat rounds; a follower echoes it, so an answer proves the
//! follower still accepted this leader when a message of that round reached it (ReadIndex).
//! A `PreVote`'s term is *proposed*, not adopted: no one persists or moves to it.
//!
//! The sender's id is not a field: it travels in the `Envelope` and reaches `step` as `from`,
//! so it cannot disagree with the route (the paper's `candidateId` / `leaderId`).
//!
//! Responses are not matched to requests by an id. Instead they carry enough to be judged on
//! their own: a success names the index the follower now matches through, a rejection names the
//! `prev_log_index` it failed on. That lets a pipelining leader drop stale or reordered replies.

use std::fmt;

use bytes::Bytes;

use crate::log::{Entry, Index, Term};
use crate::ready::ReadFailure;
use crate::snapshot::SnapshotMeta;

/// A leader's heartbeat round number; grows by one per round, never within a round.
pub type Round = u64;

/// A Raft message. Every variant carries the sender's `term` (§5.1: terms act as a logical clock),
/// except that a `PreVote` and a granted `PreVoteResponse` carry the proposed term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Would you vote for me in `term` (thesis §9.6)? Sent by a pre-candidate, whose own term
    /// is `term - 1`; nobody adopts `term` on seeing it.
    PreVote {
        /// The proposed term: the pre-candidate's term plus one.
        term: Term,
        /// Index of the pre-candidate's last entry (the §5.4.1 check, as for a real vote).
        last_log_index: Index,
        /// Term of the pre-candidate's last entry.
        last_log_term: Term,
    },
    /// A voter's answer to a `PreVote`. Nothing is persisted on either side.
    PreVoteResponse {
        /// Granted: the proposed term, so the answer matches one pre-vote round. Rejected: the
        /// voter's own term, so a pre-candidate that is behind catches up.
        term: Term,
        /// True if the voter would grant a real vote.
        vote_granted: bool,
    },
    /// A candidate asks for a vote (§5.2).
    RequestVote {
        /// The candidate's term.
        term: Term,
        /// Index of the candidate's last entry: half of the up-to-date check (§5.4.1).
        last_log_index: Index,
        /// Term of the candidate's last entry: the other half, compared first.
        last_log_term: Term,
        /// True when the candidate campaigns because its leader sent it `TimeoutNow` (thesis
        /// §3.10): voters then answer even if they heard from that leader recently, since the
        /// leader itself asked for this election (§4.2.3 exception).
        leader_transfer: bool,
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
        /// The leader's heartbeat round when it sent this: echoed back, it confirms leadership
        /// for reads registered before the round began (thesis §6.4).
        round: Round,
    },
    /// A follower's answer.
    AppendEntriesResponse {
        /// The follower's term, so a stale leader steps down.
        term: Term,
        /// Whether the consistency check passed, and what the leader should do next.
        result: AppendResult,
        /// The `round` of the AppendEntries answered. Any answer of the leader's term counts,
        /// a rejection included: it still shows the follower accepted this leader.
        round: Round,
    },
    /// The leader sends one chunk of its snapshot to a follower whose next entry it no longer
    /// holds (§7). Chunks go one at a time, each after the answer to the previous one.
    InstallSnapshot {
        /// The leader's term.
        term: Term,
        /// Which snapshot: its last index and term, and the configuration there.
        meta: SnapshotMeta,
        /// Where `data` starts in the snapshot's bytes.
        offset: u64,
        /// At most `snapshot_chunk_bytes_max` bytes of the snapshot.
        data: Bytes,
        /// True if this is the last chunk.
        done: bool,
        /// The leader's heartbeat round, echoed back like an AppendEntries' (thesis §6.4).
        round: Round,
    },
    /// A follower's answer to one chunk.
    InstallSnapshotResponse {
        /// The follower's term, so a stale leader steps down.
        term: Term,
        /// The `meta.index` of the snapshot answered: lets the leader drop stale answers.
        index: Index,
        /// How many bytes of that snapshot the follower holds: the next offset it expects.
        received: u64,
        /// True once the follower has the snapshot (installed, or already committed past it).
        installed: bool,
        /// The `round` of the chunk answered.
        round: Round,
    },
    /// A follower asks its leader for a read index on behalf of a local read (thesis §6.4).
    ReadIndexRequest {
        /// The follower's term; the leader serves only requests of its own term.
        term: Term,
        /// The follower's own number for this request, unique per incarnation (not the host's
        /// read id, which may repeat): a late answer can never match a newer read.
        id: u64,
    },
    /// The leader's answer: a confirmed read index, or why there is none.
    ReadIndexResponse {
        /// The leader's term.
        term: Term,
        /// The `id` of the request answered.
        id: u64,
        /// The read index, confirmed by a heartbeat round sent after the request arrived.
        outcome: Result<Index, ReadFailure>,
    },
    /// A leader transferring leadership tells its caught-up target to campaign now, without
    /// waiting for its election timeout or asking for pre-votes (thesis §3.10).
    TimeoutNow {
        /// The leader's term; the target acts only on its current leader's request.
        term: Term,
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
    /// The term the message carries: the sender's, or a proposed one (see [`Message`]).
    pub fn term(&self) -> Term {
        match self {
            Message::PreVote { term, .. }
            | Message::PreVoteResponse { term, .. }
            | Message::RequestVote { term, .. }
            | Message::RequestVoteResponse { term, .. }
            | Message::AppendEntries { term, .. }
            | Message::AppendEntriesResponse { term, .. }
            | Message::InstallSnapshot { term, .. }
            | Message::InstallSnapshotResponse { term, .. }
            | Message::ReadIndexRequest { term, .. }
            | Message::ReadIndexResponse { term, .. }
            | Message::TimeoutNow { term } => *term,
        }
    }

    /// True if `term()` is a term someone holds, which a receiver adopts when it is higher
    /// (§5.1). False for a pre-vote and a granted answer to one: their term is only proposed,
    /// and adopting it would make pre-vote bump terms exactly like a real election.
    pub fn carries_a_held_term(&self) -> bool {
        !matches!(
            self,
            Message::PreVote { .. }
                | Message::PreVoteResponse {
                    vote_granted: true,
                    ..
                }
        )
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::PreVote {
                term,
                last_log_index,
                last_log_term,
            } => write!(
                f,
                "PreVote{{term={term} last=({last_log_term},{last_log_index})}}"
            ),
            Message::PreVoteResponse { term, vote_granted } => {
                let verdict = if *vote_granted { "granted" } else { "rejected" };
                write!(f, "PreVoteResponse{{term={term} {verdict}}}")
            }
            Message::RequestVote {
                term,
                last_log_index,
                last_log_term,
                leader_transfer,
            } => write!(
                f,
                "RequestVote{{term={term} last=({last_log_term},{last_log_index}){}}}",
                if *leader_transfer { " transfer" } else { "" }
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
                round,
            } => write!(
                f,
                "AppendEntries{{term={term} prev=({prev_log_term},{prev_log_index}) n={} commit={leader_commit} round={round}}}",
                entries.len()
            ),
            Message::AppendEntriesResponse {
                term,
                result,
                round,
            } => {
                write!(
                    f,
                    "AppendEntriesResponse{{term={term} {result} round={round}}}"
                )
            }
            Message::InstallSnapshot {
                term,
                meta,
                offset,
                data,
                done,
                round,
            } => {
                let last = if *done { "done" } else { "more" };
                write!(
                    f,
                    "InstallSnapshot{{term={term} snap=({},{}) off={offset} n={} {last} round={round}}}",
                    meta.term,
                    meta.index,
                    data.len()
                )
            }
            Message::InstallSnapshotResponse {
                term,
                index,
                received,
                installed,
                round,
            } => {
                let state = if *installed { " installed" } else { "" };
                write!(
                    f,
                    "InstallSnapshotResponse{{term={term} snap={index} received={received}{state} round={round}}}"
                )
            }
            Message::ReadIndexRequest { term, id } => {
                write!(f, "ReadIndexRequest{{term={term} id={id}}}")
            }
            Message::ReadIndexResponse {
                term,
                id,
                outcome: Ok(index),
            } => write!(f, "ReadIndexResponse{{term={term} id={id} index={index}}}"),
            Message::ReadIndexResponse {
                term,
                id,
                outcome: Err(reason),
            } => write!(
                f,
                "ReadIndexResponse{{term={term} id={id} failed={reason}}}"
            ),
            Message::TimeoutNow { term } => write!(f, "TimeoutNow{{term={term}}}"),
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
    use crate::log::EntryKind;
    use bytes::Bytes;

    #[test]
    fn every_message_prints_as_one_compact_line() {
        let entry = |index| Entry {
            term: 3,
            index,
            data: Bytes::new(),
            kind: EntryKind::Normal,
        };
        let cases = [
            (
                Message::AppendEntries {
                    term: 3,
                    prev_log_index: 14,
                    prev_log_term: 2,
                    entries: vec![entry(15), entry(16), entry(17)],
                    leader_commit: 14,
                    round: 9,
                },
                "AppendEntries{term=3 prev=(2,14) n=3 commit=14 round=9}",
            ),
            (
                Message::AppendEntriesResponse {
                    term: 3,
                    result: AppendResult::Ok { match_index: 17 },
                    round: 9,
                },
                "AppendEntriesResponse{term=3 ok match=17 round=9}",
            ),
            (
                Message::AppendEntriesResponse {
                    term: 3,
                    result: AppendResult::Reject {
                        prev_log_index: 14,
                        conflict_term: 2,
                        conflict_index: 9,
                    },
                    round: 0,
                },
                "AppendEntriesResponse{term=3 reject prev=14 hint=(2,9) round=0}",
            ),
            (
                Message::RequestVote {
                    term: 4,
                    last_log_index: 20,
                    last_log_term: 3,
                    leader_transfer: false,
                },
                "RequestVote{term=4 last=(3,20)}",
            ),
            (
                Message::RequestVote {
                    term: 5,
                    last_log_index: 20,
                    last_log_term: 3,
                    leader_transfer: true,
                },
                "RequestVote{term=5 last=(3,20) transfer}",
            ),
            (Message::TimeoutNow { term: 4 }, "TimeoutNow{term=4}"),
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

    #[test]
    fn pre_vote_and_read_index_messages_print_as_one_compact_line() {
        let cases = [
            (
                Message::PreVote {
                    term: 5,
                    last_log_index: 20,
                    last_log_term: 4,
                },
                "PreVote{term=5 last=(4,20)}",
            ),
            (
                Message::PreVoteResponse {
                    term: 5,
                    vote_granted: false,
                },
                "PreVoteResponse{term=5 rejected}",
            ),
            (
                Message::ReadIndexRequest { term: 3, id: 12 },
                "ReadIndexRequest{term=3 id=12}",
            ),
            (
                Message::ReadIndexResponse {
                    term: 3,
                    id: 12,
                    outcome: Ok(42),
                },
                "ReadIndexResponse{term=3 id=12 index=42}",
            ),
            (
                Message::ReadIndexResponse {
                    term: 3,
                    id: 12,
                    outcome: Err(ReadFailure::NotLeader { leader: None }),
                },
                "ReadIndexResponse{term=3 id=12 failed=NotLeader{leader=none}}",
            ),
        ];
        for (msg, text) in cases {
            assert_eq!(msg.to_string(), text);
        }
    }

    #[test]
    fn snapshot_messages_print_as_one_compact_line() {
        let meta = SnapshotMeta {
            index: 120,
            term: 3,
            membership: crate::membership::Membership::default(),
        };
        let chunk = Message::InstallSnapshot {
            term: 4,
            meta,
            offset: 0,
            data: Bytes::from(vec![0u8; 4096]),
            done: true,
            round: 2,
        };
        assert_eq!(
            chunk.to_string(),
            "InstallSnapshot{term=4 snap=(3,120) off=0 n=4096 done round=2}"
        );
        let reply = Message::InstallSnapshotResponse {
            term: 4,
            index: 120,
            received: 4096,
            installed: true,
            round: 2,
        };
        assert_eq!(
            reply.to_string(),
            "InstallSnapshotResponse{term=4 snap=120 received=4096 installed round=2}"
        );
    }

    #[test]
    fn only_a_pre_vote_and_a_granted_answer_carry_a_term_nobody_holds() {
        // Raft thesis §9.6: the pre-vote's term is proposed; a rejection carries the voter's.
        let pre = |granted| Message::PreVoteResponse {
            term: 5,
            vote_granted: granted,
        };
        assert!(!pre(true).carries_a_held_term());
        assert!(pre(false).carries_a_held_term());
        let ask = Message::PreVote {
            term: 5,
            last_log_index: 0,
            last_log_term: 0,
        };
        assert!(!ask.carries_a_held_term());
        assert!(Message::ReadIndexRequest { term: 5, id: 1 }.carries_a_held_term());
    }
}
