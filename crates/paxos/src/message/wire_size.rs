//! The size of every Multi-Paxos message on the wire ([`WireSize`]). No server runs Paxos yet,
//! so there is no encoding to measure: each message is sized field by field as it would be
//! written in the workspace's one vocabulary (`distributed_core::wire`), which is what the
//! simulator counts when it compares Paxos with Raft and PBFT.
//!
//! ```text
//!   the rule: [kind u8][the struct's fields, in declaration order]
//!     Slot, round, commit   u64 8        Ballot  [round u64][node u64]   16
//!     Value                 [0 noop] | [1 command][len u32][bytes]       1 | 5 + len
//!     PValue                [slot][ballot][value]                        24 + value
//!     Vec<T>                [count u32] + each        Option<T>  [flag u8] + T if present
//!
//!   Prepare, Accepted, Commit, Confirm, Confirmed   25 = kind 1 + ballot 16 + a u64 8
//!   Nack 33   CatchUp 9   Accept 33 + value   Chosen 5 + Σ pvalue   InstallSnapshot 29 + len
//!   Promise   38 + Σ pvalue (+ 8 when a page follows)
//! ```
//!
//! The sender is not a field (it is the envelope's, as for Raft), and neither is a frame:
//! like Raft's `wire_bytes`, this counts from the kind byte on, and a server would add its
//! frame around it. Compare Raft's AppendEntries (45 + 21 + len per entry) with an Accept
//! (33 + 5 + len): one slot per message where Raft batches, and a ballot of two u64s where
//! Raft has a term.

use distributed_core::wire::{WireSize, KIND_BYTES, U64_BYTES, U8_BYTES};

use crate::ballot::{Ballot, PValue, Value};
use crate::message::{
    Accept, Accepted, CatchUp, Chosen, Commit, Confirm, Confirmed, InstallSnapshot, Message, Nack,
    Prepare, Promise,
};

/// The kind byte, then the message's fields.
impl WireSize for Message {
    fn wire_bytes(&self) -> usize {
        KIND_BYTES
            + match self {
                Message::Prepare(m) => m.wire_bytes(),
                Message::Promise(m) => m.wire_bytes(),
                Message::Nack(m) => m.wire_bytes(),
                Message::Accept(m) => m.wire_bytes(),
                Message::Accepted(m) => m.wire_bytes(),
                Message::Commit(m) => m.wire_bytes(),
                Message::CatchUp(m) => m.wire_bytes(),
                Message::Chosen(m) => m.wire_bytes(),
                Message::InstallSnapshot(m) => m.wire_bytes(),
                Message::Confirm(m) => m.wire_bytes(),
                Message::Confirmed(m) => m.wire_bytes(),
            }
    }
}

/// `[round][node]`.
impl WireSize for Ballot {
    fn wire_bytes(&self) -> usize {
        self.round.wire_bytes() + self.node.wire_bytes()
    }
}

/// `[0]` for a no-op, `[1][command bytes]` for a command.
impl WireSize for Value {
    fn wire_bytes(&self) -> usize {
        U8_BYTES
            + match self {
                Value::Noop => 0,
                Value::Command(bytes) => bytes.wire_bytes(),
            }
    }
}

/// `[slot][ballot][value]`.
impl WireSize for PValue {
    fn wire_bytes(&self) -> usize {
        U64_BYTES + self.ballot.wire_bytes() + self.value.wire_bytes()
    }
}

impl WireSize for Prepare {
    fn wire_bytes(&self) -> usize {
        self.ballot.wire_bytes() + U64_BYTES
    }
}

/// `[ballot][from_slot][snapshot_slot][accepted…][more?]`.
impl WireSize for Promise {
    fn wire_bytes(&self) -> usize {
        self.ballot.wire_bytes()
            + 2 * U64_BYTES
            + self.accepted.wire_bytes()
            + self.more.wire_bytes()
    }
}

impl WireSize for Nack {
    fn wire_bytes(&self) -> usize {
        self.ballot.wire_bytes() + self.promised.wire_bytes()
    }
}

/// `[ballot][slot][value][commit]`.
impl WireSize for Accept {
    fn wire_bytes(&self) -> usize {
        self.ballot.wire_bytes() + 2 * U64_BYTES + self.value.wire_bytes()
    }
}

impl WireSize for Accepted {
    fn wire_bytes(&self) -> usize {
        self.ballot.wire_bytes() + U64_BYTES
    }
}

impl WireSize for Commit {
    fn wire_bytes(&self) -> usize {
        self.ballot.wire_bytes() + U64_BYTES
    }
}

impl WireSize for CatchUp {
    fn wire_bytes(&self) -> usize {
        U64_BYTES
    }
}

impl WireSize for Chosen {
    fn wire_bytes(&self) -> usize {
        self.values.wire_bytes()
    }
}

/// `[ballot][slot][data]`.
impl WireSize for InstallSnapshot {
    fn wire_bytes(&self) -> usize {
        self.ballot.wire_bytes() + U64_BYTES + self.data.wire_bytes()
    }
}

impl WireSize for Confirm {
    fn wire_bytes(&self) -> usize {
        self.ballot.wire_bytes() + U64_BYTES
    }
}

impl WireSize for Confirmed {
    fn wire_bytes(&self) -> usize {
        self.ballot.wire_bytes() + U64_BYTES
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use distributed_core::NodeId;

    use super::*;

    fn b(round: u64, node: u64) -> Ballot {
        Ballot::new(round, NodeId(node))
    }

    #[test]
    fn a_prepare_is_25_bytes() {
        // kind 1 + ballot (round 8 + node 8) + from_slot 8 = 25.
        let prepare = Prepare {
            ballot: b(3, 2),
            from_slot: 14,
        };
        assert_eq!(Message::from(prepare).wire_bytes(), 25);
        let accepted = Accepted {
            ballot: b(3, 2),
            slot: 14,
        };
        assert_eq!(Message::from(accepted).wire_bytes(), 25, "same shape");
    }

    #[test]
    fn an_accept_is_33_bytes_plus_its_value() {
        // kind 1 + ballot 16 + slot 8 + commit 8 = 33; a no-op value is its tag, 1 byte;
        // a command is tag 1 + length 4 + its bytes.
        let accept = |value| -> Message {
            Accept {
                ballot: b(1, 1),
                slot: 3,
                value,
                commit: 2,
            }
            .into()
        };
        assert_eq!(accept(Value::Noop).wire_bytes(), 34);
        let put = Value::Command(Bytes::from_static(b"put k v"));
        assert_eq!(accept(put).wire_bytes(), 33 + 1 + 4 + 7);
    }

    #[test]
    fn a_promise_carries_every_pvalue_and_the_next_page() {
        // kind 1 + ballot 16 + from 8 + snap 8 + count 4 = 37, + pvalue (slot 8 + ballot 16 +
        // tag 1 + length 4 + "x" 1 = 30), + more (flag 1 + slot 8 = 9).
        let promise = Promise {
            ballot: b(3, 2),
            from_slot: 14,
            snapshot_slot: 0,
            accepted: vec![PValue {
                slot: 14,
                ballot: b(2, 1),
                value: Value::Command(Bytes::from_static(b"x")),
            }],
            more: Some(15),
        };
        assert_eq!(Message::from(promise.clone()).wire_bytes(), 37 + 30 + 9);
        let last_page = Promise {
            accepted: Vec::new(),
            more: None,
            ..promise
        };
        assert_eq!(Message::from(last_page).wire_bytes(), 38);
    }
}
