//! The Raft RPCs as one-way messages (Figure 2, thesis §9.6, §6.4, §3.10, §7): one struct per
//! message, each with its one-line `Display`, and [`Message`], the enum that carries any of them.
//!
//! ```text
//!   pre-candidate ── PreVote ─────────────► voter      vote.rs      (thesis §9.6)
//!   candidate ────── RequestVote ─────────► voter      vote.rs      (§5.2, §5.4.1)
//!   leader ───────── AppendEntries ───────► follower   append.rs    (§5.3)
//!   leader ───────── InstallSnapshot ─────► follower   snapshot.rs  (§7)
//!   follower ─────── ReadIndexRequest ────► leader     read.rs      (thesis §6.4)
//!   leader ───────── TimeoutNow ──────────► target     transfer.rs  (thesis §3.10)
//!   each request but TimeoutNow is answered by its `…Response`, in the same file
//!   wire_size.rs: each message's size on the wire, exactly what the server's peer frames write
//! ```
//!
//! Every message carries the sender's `term` (§5.1: terms act as a logical clock), except that
//! a `PreVote` and a granted `PreVoteResponse` carry a *proposed* term that nobody holds.
//!
//! The sender's id is not a field: it travels in the `Envelope` and reaches `step` as `from`,
//! so it cannot disagree with the route (the paper's `candidateId` / `leaderId`).
//!
//! Responses are not matched to requests by an id. Instead they carry enough to be judged on
//! their own: a success names the index the follower now matches through, a rejection names the
//! `prev_log_index` it failed on. That lets a pipelining leader drop stale or reordered replies.
//!
//! Why a struct per message and not struct variants: each handler takes exactly its message
//! (`on_append_entries(from, msg: AppendEntries, out)`), so its signature says what it reads,
//! and a message can be built, printed and passed around without the enum.

use std::fmt;

use crate::log::Term;

mod append;
mod read;
mod snapshot;
mod transfer;
mod vote;
mod wire_size;

pub use append::{AppendEntries, AppendEntriesResponse, AppendResult};
pub use read::{ReadIndexRequest, ReadIndexResponse};
pub use snapshot::{InstallSnapshot, InstallSnapshotResponse};
pub use transfer::TimeoutNow;
pub use vote::{PreVote, PreVoteResponse, RequestVote, RequestVoteResponse};

/// A leader's heartbeat round number; grows by one per round, never within a round.
pub type Round = u64;

/// Any Raft message: one variant per RPC, each holding that RPC's struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Would you vote for me in the next term (thesis §9.6)?
    PreVote(PreVote),
    /// A voter's answer to a `PreVote`.
    PreVoteResponse(PreVoteResponse),
    /// A candidate asks for a vote (§5.2).
    RequestVote(RequestVote),
    /// A voter's answer to a `RequestVote`.
    RequestVoteResponse(RequestVoteResponse),
    /// The leader replicates entries, or asserts itself with none (§5.3).
    AppendEntries(AppendEntries),
    /// A follower's answer to an `AppendEntries`.
    AppendEntriesResponse(AppendEntriesResponse),
    /// One chunk of the leader's snapshot (§7).
    InstallSnapshot(InstallSnapshot),
    /// A follower's answer to one chunk.
    InstallSnapshotResponse(InstallSnapshotResponse),
    /// A follower asks its leader for a read index (thesis §6.4).
    ReadIndexRequest(ReadIndexRequest),
    /// The leader's answer to a `ReadIndexRequest`.
    ReadIndexResponse(ReadIndexResponse),
    /// The leader tells its transfer target to campaign now (thesis §3.10).
    TimeoutNow(TimeoutNow),
}

impl Message {
    /// The term the message carries: the sender's, or a proposed one (see the module docs).
    pub fn term(&self) -> Term {
        match self {
            Message::PreVote(m) => m.term,
            Message::PreVoteResponse(m) => m.term,
            Message::RequestVote(m) => m.term,
            Message::RequestVoteResponse(m) => m.term,
            Message::AppendEntries(m) => m.term,
            Message::AppendEntriesResponse(m) => m.term,
            Message::InstallSnapshot(m) => m.term,
            Message::InstallSnapshotResponse(m) => m.term,
            Message::ReadIndexRequest(m) => m.term,
            Message::ReadIndexResponse(m) => m.term,
            Message::TimeoutNow(m) => m.term,
        }
    }

    /// True if `term()` is a term someone holds, which a receiver adopts when it is higher
    /// (§5.1). False for a pre-vote and a granted answer to one: their term is only proposed,
    /// and adopting it would make pre-vote bump terms exactly like a real election.
    pub fn carries_a_held_term(&self) -> bool {
        match self {
            Message::PreVote(_) => false,
            Message::PreVoteResponse(m) => !m.vote_granted,
            _ => true,
        }
    }

    /// True for the messages only a leader sends to replicate (AppendEntries and
    /// InstallSnapshot): the ones that may leave before the sender's own writes are durable
    /// when the leader writes in parallel (thesis §10.2.1). They promise nothing about the
    /// sender's disk; every other message (a vote, an acknowledgement) does.
    pub fn replicates(&self) -> bool {
        matches!(
            self,
            Message::AppendEntries(_) | Message::InstallSnapshot(_)
        )
    }
}

/// `From<X> for Message` for every message struct, so senders write `out.send(me, to, msg.into())`
/// or pass the struct where a `Message` is expected.
macro_rules! message_from {
    ($($name:ident),* $(,)?) => {
        $(
            impl From<$name> for Message {
                fn from(msg: $name) -> Message {
                    Message::$name(msg)
                }
            }
        )*
    };
}

message_from!(
    PreVote,
    PreVoteResponse,
    RequestVote,
    RequestVoteResponse,
    AppendEntries,
    AppendEntriesResponse,
    InstallSnapshot,
    InstallSnapshotResponse,
    ReadIndexRequest,
    ReadIndexResponse,
    TimeoutNow,
);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::PreVote(m) => m.fmt(f),
            Message::PreVoteResponse(m) => m.fmt(f),
            Message::RequestVote(m) => m.fmt(f),
            Message::RequestVoteResponse(m) => m.fmt(f),
            Message::AppendEntries(m) => m.fmt(f),
            Message::AppendEntriesResponse(m) => m.fmt(f),
            Message::InstallSnapshot(m) => m.fmt(f),
            Message::InstallSnapshotResponse(m) => m.fmt(f),
            Message::ReadIndexRequest(m) => m.fmt(f),
            Message::ReadIndexResponse(m) => m.fmt(f),
            Message::TimeoutNow(m) => m.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pre_vote_and_a_granted_answer_carry_a_term_nobody_holds() {
        // Raft thesis §9.6: the pre-vote's term is proposed; a rejection carries the voter's.
        let pre = |granted| -> Message {
            PreVoteResponse {
                term: 5,
                vote_granted: granted,
            }
            .into()
        };
        assert!(!pre(true).carries_a_held_term());
        assert!(pre(false).carries_a_held_term());
        let ask: Message = PreVote {
            term: 5,
            last_log_index: 0,
            last_log_term: 0,
        }
        .into();
        assert!(!ask.carries_a_held_term());
        let read: Message = ReadIndexRequest { term: 5, id: 1 }.into();
        assert!(read.carries_a_held_term());
    }

    #[test]
    fn the_enum_prints_exactly_as_the_message_it_holds() {
        let now = TimeoutNow { term: 4 };
        assert_eq!(Message::from(now.clone()).to_string(), now.to_string());
        assert_eq!(Message::from(now).term(), 4);
    }
}
