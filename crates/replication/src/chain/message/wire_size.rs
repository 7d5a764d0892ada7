//! The size of every chain message on the wire ([`WireSize`]). No server runs chain
//! replication, so there is no encoding to measure: each message is sized field by field as
//! it would be written in the workspace's one vocabulary (`distributed_core::wire`), which is
//! what the simulator counts when it compares replication schemes by bytes.
//!
//! ```text
//!   the rule: [kind u8][the struct's fields, in declaration order]
//!     Epoch, Seq, id, tick, incarnation  u64 8      Key, Value  [len u32][utf-8 bytes]
//!     bool 1   chunk index u32 4   NodeId 8   Vec<T> [count u32] + each   Option<T> [flag] + T
//!     Entry          [key][seq][value]                      16 + key + value
//!     Configuration  [epoch][chain: count + 8 each][joining: flag + 8?]
//!
//!   Ack 17   ChunkAck 13   HeartbeatAck 25   Heartbeat 26
//!   Update 17 + 4 + key + 4 + value     VersionQuery 17 + 4 + key   VersionReply 25 + 4 + key
//!   StateChunk 26 + Σ entries           Configure 14 + 8 × members (+ 8 when one is joining)
//! ```
//!
//! As for Raft and Paxos, this counts from the kind byte on; a server would add its frame.
//! Compare an Update (one write, forwarded once per hop: n − 1 of them, plus n − 1 Acks) with
//! a Paxos Accept (one per acceptor, all from the leader): the chain sends as many messages
//! per write as a leader-based protocol with n acceptors, but each node sends only one.

use distributed_core::wire::{WireSize, KIND_BYTES, U32_BYTES, U64_BYTES, U8_BYTES};

use crate::chain::configuration::Configuration;
use crate::chain::message::{
    Ack, ChunkAck, Configure, Heartbeat, HeartbeatAck, Message, StateChunk, Update, VersionQuery,
    VersionReply,
};
use crate::chain::store::Entry;

/// A string as a byte string: its u32 length, then its UTF-8 bytes.
fn text_bytes(s: &str) -> usize {
    U32_BYTES + s.len()
}

/// The kind byte, then the message's fields.
impl WireSize for Message {
    fn wire_bytes(&self) -> usize {
        KIND_BYTES
            + match self {
                Message::Update(m) => m.wire_bytes(),
                Message::Ack(m) => m.wire_bytes(),
                Message::VersionQuery(m) => m.wire_bytes(),
                Message::VersionReply(m) => m.wire_bytes(),
                Message::Heartbeat(m) => m.wire_bytes(),
                Message::HeartbeatAck(m) => m.wire_bytes(),
                Message::Configure(m) => m.wire_bytes(),
                Message::StateChunk(m) => m.wire_bytes(),
                Message::ChunkAck(m) => m.wire_bytes(),
            }
    }
}

/// `[key][seq][value]`.
impl WireSize for Entry {
    fn wire_bytes(&self) -> usize {
        text_bytes(&self.key) + U64_BYTES + text_bytes(&self.value)
    }
}

/// `[epoch][chain][joining?]`.
impl WireSize for Configuration {
    fn wire_bytes(&self) -> usize {
        U64_BYTES + self.chain.wire_bytes() + self.joining.wire_bytes()
    }
}

/// `[epoch][seq][key][value]`.
impl WireSize for Update {
    fn wire_bytes(&self) -> usize {
        2 * U64_BYTES + text_bytes(&self.key) + text_bytes(&self.value)
    }
}

/// `[epoch][through]`.
impl WireSize for Ack {
    fn wire_bytes(&self) -> usize {
        2 * U64_BYTES
    }
}

/// `[epoch][id][key]`.
impl WireSize for VersionQuery {
    fn wire_bytes(&self) -> usize {
        2 * U64_BYTES + text_bytes(&self.key)
    }
}

/// `[epoch][id][key][version]`.
impl WireSize for VersionReply {
    fn wire_bytes(&self) -> usize {
        3 * U64_BYTES + text_bytes(&self.key)
    }
}

/// `[epoch][incarnation][tick][ready]`.
impl WireSize for Heartbeat {
    fn wire_bytes(&self) -> usize {
        3 * U64_BYTES + U8_BYTES
    }
}

/// `[epoch][incarnation][tick]`.
impl WireSize for HeartbeatAck {
    fn wire_bytes(&self) -> usize {
        3 * U64_BYTES
    }
}

/// `[configuration]`.
impl WireSize for Configure {
    fn wire_bytes(&self) -> usize {
        self.configuration.wire_bytes()
    }
}

/// `[epoch][index][through][entries][last]`.
impl WireSize for StateChunk {
    fn wire_bytes(&self) -> usize {
        U64_BYTES + U32_BYTES + U64_BYTES + self.entries.wire_bytes() + U8_BYTES
    }
}

/// `[epoch][next]`.
impl WireSize for ChunkAck {
    fn wire_bytes(&self) -> usize {
        U64_BYTES + U32_BYTES
    }
}

#[cfg(test)]
mod tests {
    use distributed_core::NodeId;

    use super::*;

    #[test]
    fn an_update_is_25_bytes_plus_its_key_and_value_bytes() {
        // kind 1 + epoch 8 + seq 8 + key (4 + 1) + value (4 + 4) = 30.
        let update = Update {
            epoch: 1,
            seq: 7,
            key: "x".into(),
            value: "c1.3".into(),
        };
        assert_eq!(Message::from(update).wire_bytes(), 30);
    }

    #[test]
    fn the_small_messages_have_fixed_sizes() {
        let ack = Ack {
            epoch: 1,
            through: 7,
        };
        assert_eq!(Message::from(ack).wire_bytes(), 17);
        let beat = Heartbeat {
            epoch: 1,
            incarnation: 1,
            tick: 4,
            ready: true,
        };
        assert_eq!(Message::from(beat).wire_bytes(), 26);
        assert_eq!(
            Message::from(ChunkAck { epoch: 1, next: 2 }).wire_bytes(),
            13
        );
    }

    #[test]
    fn a_configuration_counts_its_members_and_the_joining_mark() {
        // kind 1 + epoch 8 + count 4 + 3 × 8 + flag 1 (+ 8 with a joining node).
        let chain = vec![NodeId(1), NodeId(2), NodeId(3)];
        let plain = Configure {
            configuration: Configuration::new(2, chain.clone(), None),
        };
        assert_eq!(Message::from(plain).wire_bytes(), 38);
        let joining = Configure {
            configuration: Configuration::new(2, chain, Some(NodeId(3))),
        };
        assert_eq!(Message::from(joining).wire_bytes(), 46);
    }

    #[test]
    fn a_state_chunk_carries_each_entry() {
        // kind 1 + epoch 8 + index 4 + through 8 + count 4 + last 1 = 26, + entry
        // (key 4 + 1, seq 8, value 4 + 2 = 19).
        let chunk = StateChunk {
            epoch: 2,
            index: 0,
            through: 9,
            entries: vec![Entry {
                key: "x".into(),
                seq: 7,
                value: "ab".into(),
            }],
            last: true,
        };
        assert_eq!(Message::from(chunk).wire_bytes(), 26 + 19);
    }
}
