//! The size of every Raft message on the wire ([`WireSize`]): exactly the bytes the server
//! writes for it inside a peer frame (`server/src/peers/raft_messages.rs`, `codec.rs`), so the
//! simulator's byte counts are the real server's. A server test encodes one message of every
//! kind through the real frame encoder and holds the two equal.
//!
//! ```text
//!   TCP frame   [len u32][crc u32][version u8][frame kind u8] │ [sub-kind u8][fields]
//!               └──── the frame's 10 bytes, not counted ─────┘ └── Message::wire_bytes ──┘
//!
//!   PreVote 25  PreVoteResponse 10  RequestVote 26  RequestVoteResponse 10  TimeoutNow 9
//!   ReadIndexRequest 17  ReadIndexResponse 26 (every outcome: an index, a node id 0 = none,
//!   a bound or ticks, each a u64)  InstallSnapshotResponse 34
//!   AppendEntriesResponse 26 ok | 42 reject
//!   AppendEntries     45 + Σ entry          entry = 21 + len(data) [+ membership]
//!   InstallSnapshot   46 + membership + len(chunk)
//!   membership = 4 + 8·voters + 1 [+ 4 + 8·outgoing] + 4 + 8·learners
//! ```
//!
//! What is not counted: the frame around the message (length, CRC, peer version, frame kind:
//! 10 bytes per message), which is the transport's and the same for every protocol the
//! simulator compares; msgs/op times 10 adds it back. Raft's one departure from the
//! vocabulary's defaults: an optional leader is a node id, 0 for none, not a flag and a value.

use distributed_core::wire::{WireSize, KIND_BYTES, U64_BYTES, U8_BYTES};

use crate::log::{Entry, EntryKind};
use crate::membership::Membership;
use crate::message::{
    AppendEntries, AppendEntriesResponse, AppendResult, InstallSnapshot, InstallSnapshotResponse,
    Message, PreVote, PreVoteResponse, ReadIndexRequest, ReadIndexResponse, RequestVote,
    RequestVoteResponse, TimeoutNow,
};
use crate::snapshot::SnapshotMeta;

/// The sub-kind byte, then the message's fields.
impl WireSize for Message {
    fn wire_bytes(&self) -> usize {
        KIND_BYTES
            + match self {
                Message::PreVote(m) => m.wire_bytes(),
                Message::PreVoteResponse(m) => m.wire_bytes(),
                Message::RequestVote(m) => m.wire_bytes(),
                Message::RequestVoteResponse(m) => m.wire_bytes(),
                Message::AppendEntries(m) => m.wire_bytes(),
                Message::AppendEntriesResponse(m) => m.wire_bytes(),
                Message::InstallSnapshot(m) => m.wire_bytes(),
                Message::InstallSnapshotResponse(m) => m.wire_bytes(),
                Message::ReadIndexRequest(m) => m.wire_bytes(),
                Message::ReadIndexResponse(m) => m.wire_bytes(),
                Message::TimeoutNow(m) => m.wire_bytes(),
            }
    }
}

/// Voters, a joint flag and the outgoing voters while joint, learners (codec.rs).
impl WireSize for Membership {
    fn wire_bytes(&self) -> usize {
        self.voters.wire_bytes() + self.outgoing.wire_bytes() + self.learners.wire_bytes()
    }
}

/// `[term][index][kind: 0 | 1 + membership][data]`.
impl WireSize for Entry {
    fn wire_bytes(&self) -> usize {
        let kind = U8_BYTES
            + match &self.kind {
                EntryKind::Normal => 0,
                EntryKind::Config(m) => m.wire_bytes(),
            };
        2 * U64_BYTES + kind + self.data.wire_bytes()
    }
}

/// `[index][term][membership]`.
impl WireSize for SnapshotMeta {
    fn wire_bytes(&self) -> usize {
        2 * U64_BYTES + self.membership.wire_bytes()
    }
}

impl WireSize for PreVote {
    fn wire_bytes(&self) -> usize {
        3 * U64_BYTES
    }
}

impl WireSize for PreVoteResponse {
    fn wire_bytes(&self) -> usize {
        U64_BYTES + U8_BYTES
    }
}

impl WireSize for RequestVote {
    fn wire_bytes(&self) -> usize {
        3 * U64_BYTES + U8_BYTES
    }
}

impl WireSize for RequestVoteResponse {
    fn wire_bytes(&self) -> usize {
        U64_BYTES + U8_BYTES
    }
}

/// Five u64s (term, prev index and term, commit, round), then the entries.
impl WireSize for AppendEntries {
    fn wire_bytes(&self) -> usize {
        5 * U64_BYTES + self.entries.wire_bytes()
    }
}

/// `[term][round][1 match | 2 prev conflict_term conflict_index]`.
impl WireSize for AppendEntriesResponse {
    fn wire_bytes(&self) -> usize {
        let result = match self.result {
            AppendResult::Ok { .. } => U64_BYTES,
            AppendResult::Reject { .. } => 3 * U64_BYTES,
        };
        2 * U64_BYTES + U8_BYTES + result
    }
}

/// `[term][meta][offset][chunk][done][round]`.
impl WireSize for InstallSnapshot {
    fn wire_bytes(&self) -> usize {
        3 * U64_BYTES + self.meta.wire_bytes() + self.data.wire_bytes() + U8_BYTES
    }
}

/// `[term][index][received][installed][round]`.
impl WireSize for InstallSnapshotResponse {
    fn wire_bytes(&self) -> usize {
        4 * U64_BYTES + U8_BYTES
    }
}

impl WireSize for ReadIndexRequest {
    fn wire_bytes(&self) -> usize {
        2 * U64_BYTES
    }
}

/// `[term][id][outcome u8][one u64]`: every outcome carries one u64 (an index, a leader id
/// with 0 for none, a bound, or ticks).
impl WireSize for ReadIndexResponse {
    fn wire_bytes(&self) -> usize {
        2 * U64_BYTES + U8_BYTES + U64_BYTES
    }
}

impl WireSize for TimeoutNow {
    fn wire_bytes(&self) -> usize {
        U64_BYTES
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use distributed_core::NodeId;

    use super::*;

    #[test]
    fn a_heartbeat_is_45_bytes_and_each_entry_adds_21_plus_its_command() {
        // kind 1 + term, prev index, prev term, commit, round 5 × 8 + entry count 4 = 45.
        let heartbeat = AppendEntries {
            term: 3,
            prev_log_index: 14,
            prev_log_term: 2,
            entries: Vec::new(),
            leader_commit: 14,
            round: 9,
        };
        assert_eq!(Message::from(heartbeat.clone()).wire_bytes(), 45);
        // An entry: term 8 + index 8 + kind 1 + data length 4 + the 3 bytes of "put".
        let one = AppendEntries {
            entries: vec![Entry::normal(3, 15, Bytes::from_static(b"put"))],
            ..heartbeat
        };
        assert_eq!(Message::from(one).wire_bytes(), 45 + 21 + 3);
    }

    #[test]
    fn a_config_entry_carries_its_whole_membership() {
        // Joint {1,2,4} from {1,2,3} with learner 5: voters 4 + 24, joint flag 1,
        // outgoing 4 + 24, learners 4 + 8 = 69, on top of the entry's 21.
        let joint = Membership {
            voters: [1, 2, 4].map(NodeId).into(),
            outgoing: Some([1, 2, 3].map(NodeId).into()),
            learners: [5].map(NodeId).into(),
        };
        assert_eq!(joint.wire_bytes(), 69);
        let entry = Entry {
            term: 2,
            index: 6,
            data: Bytes::new(),
            kind: EntryKind::Config(joint),
        };
        assert_eq!(entry.wire_bytes(), 21 + 69);
    }

    #[test]
    fn votes_and_answers_are_a_few_fixed_fields() {
        let vote = RequestVote {
            term: 4,
            last_log_index: 20,
            last_log_term: 3,
            leader_transfer: false,
        };
        // kind 1 + term, last index, last term 3 × 8 + transfer flag 1.
        assert_eq!(Message::from(vote).wire_bytes(), 26);
        let ok = AppendEntriesResponse {
            term: 3,
            result: AppendResult::Ok { match_index: 17 },
            round: 9,
        };
        // kind 1 + term 8 + round 8 + result tag 1 + match 8.
        assert_eq!(Message::from(ok).wire_bytes(), 26);
    }
}
