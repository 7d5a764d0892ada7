//! The Multi-Paxos messages: one struct per message, each with its one-line `Display`, and
//! [`Message`], the enum that carries any of them.
//!
//! ```text
//!   candidate ── Prepare ──► acceptor ── Promise | Nack ──►       phase1.rs  (phase 1)
//!   leader ───── Accept ───► acceptor ── Accepted | Nack ─►       phase2.rs  (phase 2)
//!   leader ───── Commit ───► everyone  (heartbeat, commit notice)  phase2.rs
//!   learner ──── CatchUp ──► anyone ──── Chosen | InstallSnapshot  learn.rs
//!   leader ───── Confirm ──► everyone ── Confirmed | Nack ──►      read.rs    (read round)
//!   each message's size on the wire, field by field in core's vocabulary:  wire_size.rs
//! ```
//!
//! The sender's id is not a field: it travels in the `Envelope` and reaches `step` as `from`.
//! Answers are not matched to requests by an id: each carries the ballot (and slot or round)
//! it answers, which is all a proposer needs to drop a stale or duplicated one.

use std::fmt;

mod learn;
mod phase1;
mod phase2;
mod read;
mod wire_size;

pub use learn::{CatchUp, Chosen, InstallSnapshot};
pub use phase1::{Nack, Prepare, Promise};
pub use phase2::{Accept, Accepted, Commit};
pub use read::{Confirm, Confirmed};

/// Any Paxos message: one variant per message struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Phase 1a: promise me this ballot.
    Prepare(Prepare),
    /// Phase 1b: promised, with what I accepted.
    Promise(Promise),
    /// A refusal: I promised a higher ballot.
    Nack(Nack),
    /// Phase 2a: accept this value in this slot.
    Accept(Accept),
    /// Phase 2b: accepted.
    Accepted(Accepted),
    /// The leader's heartbeat and commit notice.
    Commit(Commit),
    /// A learner asks for chosen values.
    CatchUp(CatchUp),
    /// Chosen values for a learner.
    Chosen(Chosen),
    /// A snapshot for a learner whose values were truncated.
    InstallSnapshot(InstallSnapshot),
    /// A read round.
    Confirm(Confirm),
    /// An answer to a read round.
    Confirmed(Confirmed),
}

impl Message {
    /// The ballot of a message only its ballot's owner sends (Prepare, Accept, Commit,
    /// Confirm): a receiver checks that the sender owns it, since the ballot's node is what
    /// it will call the leader.
    pub fn proposer_ballot(&self) -> Option<crate::ballot::Ballot> {
        match self {
            Message::Prepare(m) => Some(m.ballot),
            Message::Accept(m) => Some(m.ballot),
            Message::Commit(m) => Some(m.ballot),
            Message::Confirm(m) => Some(m.ballot),
            _ => None,
        }
    }
}

impl Message {
    /// The highest slot the message names (0 if none): a receiver refuses a message above
    /// `SLOT_MAX` instead of computing with it.
    pub fn highest_slot(&self) -> crate::ballot::Slot {
        let pvalues = |pvs: &[crate::ballot::PValue]| pvs.iter().map(|pv| pv.slot).max();
        match self {
            Message::Prepare(m) => m.from_slot,
            Message::Promise(m) => {
                let top = m.from_slot.max(m.snapshot_slot).max(m.more.unwrap_or(0));
                top.max(pvalues(&m.accepted).unwrap_or(0))
            }
            Message::Accept(m) => m.slot.max(m.commit),
            Message::Accepted(m) => m.slot,
            Message::Commit(m) => m.through_slot,
            Message::CatchUp(m) => m.from_slot,
            Message::Chosen(m) => pvalues(&m.values).unwrap_or(0),
            Message::InstallSnapshot(m) => m.slot,
            Message::Nack(_) | Message::Confirm(_) | Message::Confirmed(_) => 0,
        }
    }
}

/// `From<X> for Message` for every message struct.
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
    Prepare,
    Promise,
    Nack,
    Accept,
    Accepted,
    Commit,
    CatchUp,
    Chosen,
    InstallSnapshot,
    Confirm,
    Confirmed,
);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Prepare(m) => m.fmt(f),
            Message::Promise(m) => m.fmt(f),
            Message::Nack(m) => m.fmt(f),
            Message::Accept(m) => m.fmt(f),
            Message::Accepted(m) => m.fmt(f),
            Message::Commit(m) => m.fmt(f),
            Message::CatchUp(m) => m.fmt(f),
            Message::Chosen(m) => m.fmt(f),
            Message::InstallSnapshot(m) => m.fmt(f),
            Message::Confirm(m) => m.fmt(f),
            Message::Confirmed(m) => m.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use distributed_core::NodeId;

    use super::*;
    use crate::ballot::{Ballot, PValue, Value};

    fn b(round: u64, node: u64) -> Ballot {
        Ballot::new(round, NodeId(node))
    }

    #[test]
    fn every_message_prints_as_one_compact_line() {
        let lines: Vec<String> = [
            Message::from(Prepare {
                ballot: b(3, 2),
                from_slot: 14,
            }),
            Promise {
                ballot: b(3, 2),
                from_slot: 14,
                snapshot_slot: 0,
                accepted: vec![PValue {
                    slot: 14,
                    ballot: b(2, 1),
                    value: Value::Command(Bytes::from_static(b"x")),
                }],
                more: Some(15),
            }
            .into(),
            Nack {
                ballot: b(1, 1),
                promised: b(2, 3),
            }
            .into(),
            Accept {
                ballot: b(1, 1),
                slot: 3,
                value: Value::Noop,
                commit: 2,
            }
            .into(),
            Commit {
                ballot: b(1, 1),
                through_slot: 3,
            }
            .into(),
            Chosen { values: vec![] }.into(),
        ]
        .iter()
        .map(|m| m.to_string())
        .collect();
        assert_eq!(
            lines,
            [
                "Prepare{ballot=b3.n2 from=14}",
                "Promise{ballot=b3.n2 from=14 snap=0 accepted=[14:b2.n1:\"x\"] more=15}",
                "Nack{ballot=b1.n1 promised=b2.n3}",
                "Accept{ballot=b1.n1 slot=3 value=noop commit=2}",
                "Commit{ballot=b1.n1 through=3}",
                "Chosen{from=0 n=0 []}",
            ]
        );
    }
}
