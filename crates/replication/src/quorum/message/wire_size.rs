//! The size of every quorum message on the wire ([`WireSize`]). No server runs these schemes
//! yet, so each message is sized field by field as it would be written in the workspace's one
//! vocabulary (`distributed_core::wire`): what the simulator counts when the consistency map
//! compares quorums with chain replication and Raft by bytes, not only by messages.
//!
//! ```text
//!   the rule: [kind u8][the struct's fields, in declaration order]
//!     OpId [client u64][seq u64] 16     key, value   [len u32][utf-8]    4 + len
//!     node, hint id u64 8               range u32 4  level u8 1  answer bool 1
//!     Version   [kind u8] then
//!       dvv    [count u32] + per sibling [node u64][counter u64][value]  (dot 16 + value)
//!              [count u32] + per context entry [node u64][counter u64]   16 each
//!       lww    [flag u8] + if written [wall u64][logical u32][node u64][value]
//!     Response  [kind u8] + ok 0 | unavailable why | value option | siblings list | node 8
//!
//!   Replicated, Fetch 21 + key    Replicate 22 + key + version (+ 8 hinted)
//!   HandedOff 13 + key            TreeQuery 10 + 4 per node   TreeHashes 10 + 12 per hash
//! ```
//!
//! Like Raft's and Paxos's sizes, this counts from the kind byte on; the sender is the
//! envelope's, and a server would add its frame around it. What the numbers show: a DVV
//! version costs 16 bytes per node that ever coordinated a put to the key, on every message
//! that carries it, where an LWW version costs a flat 20.

use clocks::{DvvSet, LwwRegister};
use distributed_core::wire::{WireSize, KIND_BYTES, U32_BYTES, U64_BYTES, U8_BYTES};

use super::*;
use crate::client::{Response, Value};
use crate::quorum::version::Version;

/// Bytes of a string: its u32 length, then its UTF-8.
fn text(s: &str) -> usize {
    U32_BYTES + s.len()
}

/// Bytes of an `OpId`: client and sequence number.
const OP_BYTES: usize = 2 * U64_BYTES;

/// Bytes of a dot or a context entry: node and counter.
const DOT_BYTES: usize = 2 * U64_BYTES;

/// The kind byte, then the message's fields.
impl WireSize for Message {
    fn wire_bytes(&self) -> usize {
        KIND_BYTES
            + match self {
                Message::Forward(m) => OP_BYTES + text(&m.key) + text(&m.value),
                Message::Forwarded(m) => OP_BYTES + response_bytes(&m.response),
                Message::Replicate(m) => {
                    OP_BYTES + text(&m.key) + m.version.wire_bytes() + m.hint.wire_bytes()
                }
                Message::Replicated(m) => OP_BYTES + text(&m.key),
                Message::Fetch(m) => OP_BYTES + text(&m.key),
                Message::Fetched(m) => OP_BYTES + text(&m.key) + m.version.wire_bytes(),
                Message::Repair(m) => text(&m.key) + m.version.wire_bytes(),
                Message::HandOff(m) => U64_BYTES + text(&m.key) + m.version.wire_bytes(),
                Message::HandedOff(m) => U64_BYTES + text(&m.key),
                Message::TreeQuery(m) => U32_BYTES + U8_BYTES + m.nodes.wire_bytes(),
                Message::TreeHashes(m) => {
                    U32_BYTES + U8_BYTES + U32_BYTES + m.hashes.len() * (U32_BYTES + U64_BYTES)
                }
                Message::LeafSync(m) => {
                    let versions: usize = m
                        .versions
                        .iter()
                        .map(|(k, v)| text(k) + v.wire_bytes())
                        .sum();
                    U32_BYTES + m.leaves.wire_bytes() + U32_BYTES + versions + U8_BYTES
                }
            }
    }
}

/// `[kind]` then the siblings with their dots and the context (DVV), or the stamped value.
impl WireSize for Version {
    fn wire_bytes(&self) -> usize {
        KIND_BYTES
            + match self {
                Version::Dvv(set) => dvv_bytes(set),
                Version::Lww(register) => lww_bytes(register),
            }
    }
}

fn dvv_bytes(set: &DvvSet<Value>) -> usize {
    let siblings: usize = set.siblings().map(|(_, v)| DOT_BYTES + text(v)).sum();
    U32_BYTES + siblings + U32_BYTES + set.context().len() * DOT_BYTES
}

fn lww_bytes(register: &LwwRegister<Value>) -> usize {
    U8_BYTES
        + match (register.stamp(), register.get()) {
            (Some(_), Some(v)) => U64_BYTES + U32_BYTES + U64_BYTES + text(v),
            _ => 0,
        }
}

/// `[kind]` then the response's own field, if any.
fn response_bytes(response: &Response) -> usize {
    KIND_BYTES
        + match response {
            Response::Ok => 0,
            Response::Unavailable { why } => text(why),
            Response::Value(v) => U8_BYTES + v.as_deref().map_or(0, text),
            Response::Siblings(vs) => U32_BYTES + vs.iter().map(|v| text(v)).sum::<usize>(),
            Response::Redirect { .. } => U64_BYTES,
        }
}

#[cfg(test)]
mod tests {
    use clocks::{HlcTimestamp, LwwStamp};
    use distributed_core::NodeId;

    use super::*;
    use crate::client::OpId;

    const OP: OpId = OpId { client: 1, seq: 1 };

    #[test]
    fn small_messages_are_their_fixed_fields_and_their_key() {
        let fetch = Message::from(Fetch {
            op: OP,
            key: "x".into(),
        });
        assert_eq!(fetch.wire_bytes(), 1 + 16 + 5);
        let query = Message::from(TreeQuery {
            range: 0,
            level: 1,
            nodes: vec![0, 1],
        });
        assert_eq!(query.wire_bytes(), 1 + 4 + 1 + 4 + 8);
    }

    #[test]
    fn a_dvv_version_grows_with_its_siblings_and_its_context() {
        let a = Version::dvv_put(None, "ab".into(), NodeId(1)).unwrap();
        assert_eq!(a.wire_bytes(), 1 + 4 + (16 + 6) + 4 + 16);
        let mut ab = a.clone();
        let b = Version::dvv_put(None, "cd".into(), NodeId(2)).unwrap();
        ab.merge(&b, crate::quorum::version::MergeRule::Dvv)
            .unwrap();
        assert_eq!(ab.wire_bytes(), 1 + 4 + 2 * (16 + 6) + 4 + 2 * 16);
    }

    #[test]
    fn an_lww_version_is_a_flat_stamp_and_its_value() {
        let stamp = LwwStamp {
            time: HlcTimestamp::new(3, 0),
            node: NodeId(1),
        };
        let v = Version::lww_put("ab".into(), stamp);
        assert_eq!(v.wire_bytes(), 1 + 1 + 20 + 6);
        let replicate = Message::from(Replicate {
            op: OP,
            key: "x".into(),
            version: v,
            hint: None,
        });
        assert_eq!(replicate.wire_bytes(), 1 + 16 + 5 + 28 + 1);
    }
}
