//! The chain's messages: one struct per message, each with its one-line `Display`, and
//! [`Message`], the enum that carries any of them.
//!
//! ```text
//!   data.rs       Update, Ack                   the write path          (OSDI '04 §2, §3)
//!                 VersionQuery, VersionReply    CRAQ's dirty reads      (ATC '09 §2.3)
//!   control.rs    Heartbeat, HeartbeatAck       failure detection, read leases    (§3)
//!                 Configure                     the master's chain, with its epoch  (§3)
//!                 StateChunk, ChunkAck          a new tail's state transfer         (§3)
//!   wire_size.rs  each message's size on the wire, field by field
//! ```
//!
//! The sender's id is not a field: it travels in the `Envelope` and reaches `step` as `from`.
//! Which sender a message is accepted from is the receiver's rule: updates only from its
//! predecessor, acks only from its successor, configurations only from the master.

use std::fmt;

mod control;
mod data;
mod wire_size;

pub use control::{ChunkAck, Configure, Heartbeat, HeartbeatAck, StateChunk};
pub use data::{Ack, Update, VersionQuery, VersionReply};

use crate::chain::configuration::Epoch;

/// Any chain message: one variant per message struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Store this update and pass it on.
    Update(Update),
    /// The tail has every update through a seq.
    Ack(Ack),
    /// CRAQ: which version of a key is committed?
    VersionQuery(VersionQuery),
    /// CRAQ: this one.
    VersionReply(VersionReply),
    /// A replica is alive.
    Heartbeat(Heartbeat),
    /// The master still counts it a member: a read lease.
    HeartbeatAck(HeartbeatAck),
    /// The master's current chain.
    Configure(Configure),
    /// Part of a joining tail's state.
    StateChunk(StateChunk),
    /// The joining tail's progress.
    ChunkAck(ChunkAck),
}

impl Message {
    /// The epoch a replica-to-replica message was sent in, which the receiver must share
    /// (None for the master's traffic, which the receiver judges on its own terms).
    pub fn chain_epoch(&self) -> Option<Epoch> {
        match self {
            Message::Update(m) => Some(m.epoch),
            Message::Ack(m) => Some(m.epoch),
            Message::VersionQuery(m) => Some(m.epoch),
            Message::VersionReply(m) => Some(m.epoch),
            Message::StateChunk(m) => Some(m.epoch),
            Message::ChunkAck(m) => Some(m.epoch),
            Message::Heartbeat(_) | Message::HeartbeatAck(_) | Message::Configure(_) => None,
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
    Update,
    Ack,
    VersionQuery,
    VersionReply,
    Heartbeat,
    HeartbeatAck,
    Configure,
    StateChunk,
    ChunkAck,
);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Update(m) => m.fmt(f),
            Message::Ack(m) => m.fmt(f),
            Message::VersionQuery(m) => m.fmt(f),
            Message::VersionReply(m) => m.fmt(f),
            Message::Heartbeat(m) => m.fmt(f),
            Message::HeartbeatAck(m) => m.fmt(f),
            Message::Configure(m) => m.fmt(f),
            Message::StateChunk(m) => m.fmt(f),
            Message::ChunkAck(m) => m.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use distributed_core::NodeId;

    use super::*;
    use crate::chain::configuration::Configuration;
    use crate::chain::store::Entry;

    #[test]
    fn every_message_prints_as_one_compact_line() {
        let chain = vec![NodeId(1), NodeId(3), NodeId(4)];
        let lines: Vec<String> = [
            Message::from(Update {
                epoch: 1,
                seq: 7,
                key: "x".into(),
                value: "c1.3".into(),
            }),
            Ack {
                epoch: 1,
                through: 7,
            }
            .into(),
            VersionQuery {
                epoch: 1,
                id: 2,
                key: "x".into(),
            }
            .into(),
            VersionReply {
                epoch: 1,
                id: 2,
                key: "x".into(),
                version: 6,
            }
            .into(),
            Heartbeat {
                epoch: 1,
                incarnation: 1,
                tick: 4,
                ready: true,
            }
            .into(),
            HeartbeatAck {
                epoch: 1,
                incarnation: 1,
                tick: 4,
            }
            .into(),
            Configure {
                configuration: Configuration::new(3, chain, Some(NodeId(4))),
            }
            .into(),
            StateChunk {
                epoch: 3,
                index: 0,
                through: 9,
                entries: vec![Entry {
                    key: "x".into(),
                    seq: 7,
                    value: "c1.3".into(),
                }],
                last: true,
            }
            .into(),
            ChunkAck { epoch: 3, next: 1 }.into(),
        ]
        .iter()
        .map(|m| m.to_string())
        .collect();
        assert_eq!(
            lines,
            [
                "Update{epoch=1 seq=7 key=x value=c1.3}",
                "Ack{epoch=1 through=7}",
                "VersionQuery{epoch=1 id=2 key=x}",
                "VersionReply{epoch=1 id=2 key=x version=6}",
                "Heartbeat{epoch=1 inc=1 tick=4 ready=true}",
                "HeartbeatAck{epoch=1 inc=1 tick=4}",
                "Configure{epoch=3 chain=[n1,n3,n4] joining=n4}",
                "StateChunk{epoch=3 index=0 through=9 last=true [x@7=c1.3]}",
                "ChunkAck{epoch=3 next=1}",
            ]
        );
    }
}
