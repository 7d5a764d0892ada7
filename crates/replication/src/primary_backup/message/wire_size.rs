//! The size of every primary-backup message on the wire ([`WireSize`]). No server runs
//! primary-backup, so there is no encoding to measure: each message is sized field by field as
//! it would be written in the workspace's one vocabulary (`distributed_core::wire`), which is
//! what the simulator counts when it compares replication schemes by bytes.
//!
//! ```text
//!   the rule: [kind u8][the struct's fields, in declaration order]
//!     ViewNum, Seq, tick, incarnation, client, op seq  u64 8    Key, Value [len u32][utf-8]
//!     bool 1   chunk index u32 4   NodeId 8   Vec<T> [count u32] + each   Option<T> [flag] + T
//!     View  [num][primary][backups: count + 8 each][since]             28 + 8 × backups
//!     Item  [tag u8] + Value: key, seq, value | Logged: seq, key, value, op (16) | Session 24
//!
//!   Ping 26   PingReply 46 + 8 × backups   Forwarded 17   Probe 9   Probed 10 or 18
//!   ChunkAck 13   Forward 41 + 4 + key + 4 + value   StateChunk 34 + Σ items
//! ```
//!
//! Compare a put here (one Forward and one Forwarded per backup, all from and to the primary)
//! with chain replication (one Update and one Ack per hop): the same count of messages, but
//! the primary sends and receives all of them, where each chain replica handles two.

use distributed_core::wire::{WireSize, KIND_BYTES, U32_BYTES, U64_BYTES, U8_BYTES};

use crate::primary_backup::message::{
    ChunkAck, Forward, Forwarded, Message, Ping, PingReply, Probe, Probed, StateChunk,
};
use crate::primary_backup::store::Item;
use crate::primary_backup::view::View;

/// A string as a byte string: its u32 length, then its UTF-8 bytes.
fn text_bytes(s: &str) -> usize {
    U32_BYTES + s.len()
}

/// An `OpId`: client and seq.
const OP_BYTES: usize = 2 * U64_BYTES;

/// The kind byte, then the message's fields.
impl WireSize for Message {
    fn wire_bytes(&self) -> usize {
        KIND_BYTES
            + match self {
                Message::Ping(m) => m.wire_bytes(),
                Message::PingReply(m) => m.wire_bytes(),
                Message::Forward(m) => m.wire_bytes(),
                Message::Forwarded(m) => m.wire_bytes(),
                Message::Probe(m) => m.wire_bytes(),
                Message::Probed(m) => m.wire_bytes(),
                Message::StateChunk(m) => m.wire_bytes(),
                Message::ChunkAck(m) => m.wire_bytes(),
            }
    }
}

/// `[num][primary][backups][since]`.
impl WireSize for View {
    fn wire_bytes(&self) -> usize {
        3 * U64_BYTES + self.backups.wire_bytes()
    }
}

/// `[tag][fields]`.
impl WireSize for Item {
    fn wire_bytes(&self) -> usize {
        U8_BYTES
            + match self {
                Item::Value { key, stored } => {
                    text_bytes(key) + U64_BYTES + text_bytes(&stored.value)
                }
                Item::Logged { record, .. } => {
                    U64_BYTES + text_bytes(&record.key) + text_bytes(&record.value) + OP_BYTES
                }
                Item::Session { .. } => 3 * U64_BYTES,
            }
    }
}

/// `[view][incarnation][tick][ready]`.
impl WireSize for Ping {
    fn wire_bytes(&self) -> usize {
        3 * U64_BYTES + U8_BYTES
    }
}

/// `[view][incarnation][tick][lease]`.
impl WireSize for PingReply {
    fn wire_bytes(&self) -> usize {
        self.view.wire_bytes() + 2 * U64_BYTES + U8_BYTES
    }
}

/// `[view][seq][key][value][op][committed]`.
impl WireSize for Forward {
    fn wire_bytes(&self) -> usize {
        3 * U64_BYTES + text_bytes(&self.key) + text_bytes(&self.value) + OP_BYTES
    }
}

/// `[view][through]`.
impl WireSize for Forwarded {
    fn wire_bytes(&self) -> usize {
        2 * U64_BYTES
    }
}

/// `[view]`.
impl WireSize for Probe {
    fn wire_bytes(&self) -> usize {
        U64_BYTES
    }
}

/// `[view][through?]`.
impl WireSize for Probed {
    fn wire_bytes(&self) -> usize {
        U64_BYTES + self.through.wire_bytes()
    }
}

/// `[view][index][through][committed][items][last]`.
impl WireSize for StateChunk {
    fn wire_bytes(&self) -> usize {
        3 * U64_BYTES + U32_BYTES + self.items.wire_bytes() + U8_BYTES
    }
}

/// `[view][next]`.
impl WireSize for ChunkAck {
    fn wire_bytes(&self) -> usize {
        U64_BYTES + U32_BYTES
    }
}

#[cfg(test)]
mod tests {
    use distributed_core::NodeId;

    use super::*;
    use crate::client::OpId;
    use crate::primary_backup::store::Stored;

    #[test]
    fn a_forward_is_41_bytes_plus_its_key_and_value_strings() {
        // kind 1 + view 8 + seq 8 + key (4 + 1) + value (4 + 4) + op 16 + committed 8 = 54.
        let forward = Forward {
            view: 1,
            seq: 7,
            key: "x".into(),
            value: "c1.3".into(),
            op: OpId { client: 1, seq: 3 },
            committed: 6,
        };
        assert_eq!(Message::from(forward).wire_bytes(), 54);
    }

    #[test]
    fn the_small_messages_have_fixed_sizes() {
        let ping = Ping {
            view: 1,
            incarnation: 1,
            tick: 4,
            ready: true,
        };
        assert_eq!(Message::from(ping).wire_bytes(), 26);
        let acked = Forwarded {
            view: 1,
            through: 7,
        };
        assert_eq!(Message::from(acked).wire_bytes(), 17);
        assert_eq!(Message::from(Probe { view: 1 }).wire_bytes(), 9);
        let probed = Probed {
            view: 1,
            through: Some(3),
        };
        assert_eq!(Message::from(probed).wire_bytes(), 18);
        assert_eq!(
            Message::from(ChunkAck { view: 1, next: 2 }).wire_bytes(),
            13
        );
    }

    #[test]
    fn a_ping_reply_counts_the_backups_of_its_view() {
        // kind 1 + view (num 8 + primary 8 + count 4 + 8 × 2 + since 8) + inc 8 + tick 8 + 1.
        let reply = PingReply {
            view: View::new(3, NodeId(1), vec![NodeId(2), NodeId(3)], 1),
            incarnation: 1,
            tick: 4,
            lease: true,
        };
        assert_eq!(Message::from(reply).wire_bytes(), 1 + 44 + 17);
    }

    #[test]
    fn a_state_chunk_carries_each_item() {
        // kind 1 + view 8 + index 4 + through 8 + committed 8 + count 4 + last 1 = 34, + item
        // (tag 1, key 4 + 1, seq 8, value 4 + 2 = 20).
        let chunk = StateChunk {
            view: 2,
            index: 0,
            through: 9,
            committed: 9,
            items: vec![Item::Value {
                key: "x".into(),
                stored: Stored {
                    seq: 7,
                    value: "ab".into(),
                },
            }],
            last: true,
        };
        assert_eq!(Message::from(chunk).wire_bytes(), 34 + 20);
    }
}
