//! The primary-backup messages: one struct per message, each with its one-line `Display`, and
//! [`Message`], the enum that carries any of them.
//!
//! ```text
//!   control.rs    Ping, PingReply                  liveness, views, the primary's lease
//!   data.rs       Forward, Forwarded               the write path
//!                 Probe, Probed                    is a backup in the primary's lineage?
//!                 StateChunk, ChunkAck             state transfer to a backup outside it
//!   wire_size.rs  each message's size on the wire, field by field
//! ```
//!
//! The sender's id is not a field: it travels in the `Envelope` and reaches `step` as `from`.
//! Who may send what is the receiver's rule: pings only to the view service, replies only from
//! it; forwards, probes and chunks only from the primary of the receiver's view, and their
//! answers only from a backup of it.

use std::fmt;

mod control;
mod data;
mod wire_size;

pub use control::{Ping, PingReply};
pub use data::{ChunkAck, Forward, Forwarded, Probe, Probed, StateChunk};

use crate::primary_backup::view::ViewNum;

/// Any primary-backup message: one variant per message struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A server is alive and knows this view.
    Ping(Ping),
    /// The current view, and maybe a lease.
    PingReply(PingReply),
    /// Store this put.
    Forward(Forward),
    /// Stored through a seq.
    Forwarded(Forwarded),
    /// Are you in my lineage?
    Probe(Probe),
    /// Yes, through a seq; or no.
    Probed(Probed),
    /// Part of the primary's state.
    StateChunk(StateChunk),
    /// The backup's progress through a transfer.
    ChunkAck(ChunkAck),
}

impl Message {
    /// The view a server-to-server message was sent in, which the receiver must share (None
    /// for the view service's traffic, which the receiver judges on its own terms).
    pub fn server_view(&self) -> Option<ViewNum> {
        match self {
            Message::Forward(m) => Some(m.view),
            Message::Forwarded(m) => Some(m.view),
            Message::Probe(m) => Some(m.view),
            Message::Probed(m) => Some(m.view),
            Message::StateChunk(m) => Some(m.view),
            Message::ChunkAck(m) => Some(m.view),
            Message::Ping(_) | Message::PingReply(_) => None,
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

message_from!(Ping, PingReply, Forward, Forwarded, Probe, Probed, StateChunk, ChunkAck);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Ping(m) => m.fmt(f),
            Message::PingReply(m) => m.fmt(f),
            Message::Forward(m) => m.fmt(f),
            Message::Forwarded(m) => m.fmt(f),
            Message::Probe(m) => m.fmt(f),
            Message::Probed(m) => m.fmt(f),
            Message::StateChunk(m) => m.fmt(f),
            Message::ChunkAck(m) => m.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use distributed_core::NodeId;

    use super::*;
    use crate::client::OpId;
    use crate::primary_backup::store::{Item, Stored};
    use crate::primary_backup::view::View;

    #[test]
    fn every_message_prints_as_one_compact_line() {
        let op = OpId { client: 1, seq: 3 };
        let view = View::new(4, NodeId(2), vec![NodeId(3)], 4);
        let stored = Stored {
            seq: 5,
            value: "a".into(),
        };
        let lines: Vec<String> = [
            Message::from(Ping {
                view: 4,
                incarnation: 1,
                tick: 8,
                ready: true,
            }),
            PingReply {
                view,
                incarnation: 1,
                tick: 8,
                lease: true,
            }
            .into(),
            Forward {
                view: 4,
                seq: 7,
                key: "x".into(),
                value: "c1.3".into(),
                op,
                committed: 6,
            }
            .into(),
            Forwarded {
                view: 4,
                through: 7,
            }
            .into(),
            Probe { view: 4 }.into(),
            Probed {
                view: 4,
                through: None,
            }
            .into(),
            StateChunk {
                view: 4,
                index: 0,
                through: 7,
                committed: 6,
                items: vec![Item::Value {
                    key: "x".into(),
                    stored,
                }],
                last: false,
            }
            .into(),
            ChunkAck { view: 4, next: 1 }.into(),
        ]
        .iter()
        .map(|m| m.to_string())
        .collect();
        assert_eq!(
            lines,
            [
                "Ping{view=4 inc=1 tick=8 ready=true}",
                "PingReply{view=4 primary=n2 backups=[n3] since=4 inc=1 tick=8 lease=true}",
                "Forward{view=4 seq=7 key=x value=c1.3 op=c1.3 committed=6}",
                "Forwarded{view=4 through=7}",
                "Probe{view=4}",
                "Probed{view=4 through=none}",
                "StateChunk{view=4 index=0 through=7 committed=6 last=false [x@5=a]}",
                "ChunkAck{view=4 next=1}",
            ]
        );
    }
}
