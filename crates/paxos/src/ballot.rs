//! The nouns of the protocol: ballots, slots, values and pvalues.
//!
//! ```text
//!   Ballot{round=3 node=n2}  prints  b3.n2      ordered by (round, node):
//!                                                b2.n9 < b3.n1 < b3.n2 < b4.n1
//!   slot 1, 2, 3, …          one Paxos instance per slot of the replicated log
//!   Value: Command(bytes) | Noop                 what a slot chooses
//!   PValue{slot ballot value}                    "accepted `value` at `ballot` in `slot`"
//! ```
//!
//! A ballot is Lamport's "proposal number" ("Paxos Made Simple" §2.2): every proposer must use
//! numbers no other proposer uses, so the number is a pair (round, node id) and two nodes can
//! never pick the same ballot. It plays the part of Raft's term, and of PMMC's ballot number
//! (van Renesse & Altinbuken §3: "a lexicographically ordered pair").
//!
//! A `PValue` is PMMC's name (§3, "pvalue ⟨b, s, c⟩") for what an acceptor remembers: the
//! triple a new leader collects in phase 1 and from which it adopts, per slot, the value of the
//! highest ballot.
//!
//! Invariants: `Ballot::ZERO` is below every ballot a node can use (rounds start at 1), so an
//! acceptor that promised nothing holds `ZERO`; slots start at 1, slot 0 means "none".

use std::fmt;

use bytes::Bytes;
use distributed_core::NodeId;

/// A position in the replicated log: one instance of single-decree Paxos. Slot 0 is "none".
pub type Slot = u64;

/// The highest slot a message may name. Far above any real log, and far enough below
/// `u64::MAX` that `slot + 1` and the like never overflow: a message naming more is refused
/// (node.rs) rather than trusted.
pub const SLOT_MAX: Slot = 1 << 62;

/// A proposal number: `(round, node)`, compared round first (the derive orders by field order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ballot {
    /// Grows by at least one each time some node starts phase 1: a candidate picks one above
    /// every round it has seen, so its ballot beats every ballot it knows of.
    pub round: u64,
    /// The node that owns the ballot: makes ballots unique, so two candidates never collide,
    /// and tells a follower who leads (`leader_hint`).
    pub node: NodeId,
}

impl Ballot {
    /// Below every real ballot: what an acceptor that never promised anything holds.
    pub const ZERO: Ballot = Ballot {
        round: 0,
        node: NodeId(0),
    };

    /// The ballot `round` owned by `node`.
    pub fn new(round: u64, node: NodeId) -> Ballot {
        Ballot { round, node }
    }
}

impl fmt::Display for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{}.n{}", self.round, self.node.0)
    }
}

/// What a slot chooses: a client's command, or a new leader's no-op for a hole (PMMC §3:
/// a leader fills slots nobody proposed for, so later slots can be delivered).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// A hole filled by a leader: the state machine skips it.
    Noop,
    /// A client's command, opaque to Paxos.
    Command(Bytes),
}

/// Commands up to this many printable bytes are shown as text in traces; longer ones by size.
const SHOWN_BYTES_MAX: usize = 16;
/// Bytes of a value that does not print shown in hex, in front.
const VALUE_PREFIX_BYTES: usize = 4;

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Noop => f.write_str("noop"),
            Value::Command(b) => {
                let printable = b.iter().all(|c| c.is_ascii_graphic());
                if printable && b.len() <= SHOWN_BYTES_MAX {
                    write!(f, "\"{}\"", String::from_utf8_lossy(b))
                } else {
                    // The first bytes tell two values of one size apart in a trace (the
                    // simulator's commands start with their number).
                    write!(f, "<{} bytes ", b.len())?;
                    for byte in b.iter().take(VALUE_PREFIX_BYTES) {
                        write!(f, "{byte:02x}")?;
                    }
                    f.write_str(if b.len() > VALUE_PREFIX_BYTES {
                        "…>"
                    } else {
                        ">"
                    })
                }
            }
        }
    }
}

/// "Accepted `value` at `ballot` in `slot`": an acceptor's vote, as it is stored on disk,
/// reported in a Promise, and sent to a learner that catches up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PValue {
    /// The log position.
    pub slot: Slot,
    /// The ballot the value was accepted (or, in a catch-up, chosen) at.
    pub ballot: Ballot,
    /// The value.
    pub value: Value,
}

impl fmt::Display for PValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.slot, self.ballot, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballots_order_by_round_then_node() {
        // Paxos Made Simple §2.2: proposal numbers are totally ordered and unique per proposer.
        let b = |r, n| Ballot::new(r, NodeId(n));
        assert!(b(2, 9) < b(3, 1));
        assert!(b(3, 1) < b(3, 2));
        assert!(Ballot::ZERO < b(1, 1));
        assert_eq!(b(3, 2).to_string(), "b3.n2");
    }

    #[test]
    fn values_print_short_text_and_size_and_first_bytes_otherwise() {
        assert_eq!(Value::Noop.to_string(), "noop");
        assert_eq!(
            Value::Command(Bytes::from_static(b"x")).to_string(),
            "\"x\""
        );
        assert_eq!(
            Value::Command(Bytes::from(vec![0u8; 300])).to_string(),
            "<300 bytes 00000000…>"
        );
        assert_eq!(
            Value::Command(Bytes::from_static(&[7, 1])).to_string(),
            "<2 bytes 0701>"
        );
        let pv = PValue {
            slot: 4,
            ballot: Ballot::new(2, NodeId(1)),
            value: Value::Noop,
        };
        assert_eq!(pv.to_string(), "4:b2.n1:noop");
    }
}
