//! PBFT's messages (OSDI '99 §4): one struct per message, each with its one-line `Display`
//! and a constructor that signs it with the sender's `Signer`, and [`Message`], the enum that
//! carries any of them between replicas.
//!
//! ```text
//!   normal.rs       Request (from a client, forwarded by a backup), PrePrepare, Prepare,
//!                   Commit                                                     (§4.2)
//!   checkpoint.rs   Checkpoint, FetchState, StateTransfer                (§4.3, TOCS §5.3)
//!   view_change.rs  CheckpointCert, PreparedCert, ViewChange, NewView            (§4.4)
//! ```
//!
//! Every message but a forwarded `Request` is signed, and its signer must be the envelope's
//! sender: `step` drops anything else with a note (node.rs). The sender's id is not a field of
//! its own; it is the signature's `signer`.

use std::fmt;

use distributed_core::NodeId;

use crate::auth::Verifier;

pub(crate) mod checkpoint;
pub(crate) mod normal;
pub(crate) mod view_change;

pub use checkpoint::{Checkpoint, FetchState, Progress, StateTransfer};
pub use normal::{Commit, PrePrepare, Prepare, Request, Seq, View};
pub use view_change::{CheckpointCert, NewView, PreparedCert, ViewChange};

/// Any message between replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A backup forwards a client's request to the primary (§4.1).
    Request(Request),
    /// The primary assigns a sequence number (§4.2).
    PrePrepare(PrePrepare),
    /// A backup accepts an assignment (§4.2).
    Prepare(Prepare),
    /// A replica is prepared (§4.2).
    Commit(Commit),
    /// A replica's state digest at a checkpoint (§4.3).
    Checkpoint(Checkpoint),
    /// A lagging replica asks for a stable checkpoint's state.
    FetchState(FetchState),
    /// The state of a stable checkpoint, with its proof.
    StateTransfer(StateTransfer),
    /// A replica moves to a new view (§4.4).
    ViewChange(ViewChange),
    /// The new primary starts its view (§4.4).
    NewView(NewView),
}

/// The message kinds, in `Message` order: the names `Counters::sent` is indexed by.
pub const KINDS: [&str; 9] = [
    "Request",
    "PrePrepare",
    "Prepare",
    "Commit",
    "Checkpoint",
    "FetchState",
    "StateTransfer",
    "ViewChange",
    "NewView",
];

impl Message {
    /// The replica that signed the message; `None` for a forwarded request (unsigned here).
    pub fn signer(&self) -> Option<NodeId> {
        let sig = match self {
            Message::Request(_) => return None,
            Message::PrePrepare(m) => &m.sig,
            Message::Prepare(m) => &m.sig,
            Message::Commit(m) => &m.sig,
            Message::Checkpoint(m) => &m.sig,
            Message::FetchState(m) => &m.sig,
            Message::StateTransfer(m) => &m.sig,
            Message::ViewChange(m) => &m.sig,
            Message::NewView(m) => &m.sig,
        };
        Some(sig.signer)
    }

    /// Is the message's own signature valid (certificates inside are checked separately)?
    pub fn verify(&self, v: &Verifier) -> bool {
        match self {
            Message::Request(_) => true,
            Message::PrePrepare(m) => m.verify(v),
            Message::Prepare(m) => m.verify(v),
            Message::Commit(m) => m.verify(v),
            Message::Checkpoint(m) => m.verify(v),
            Message::FetchState(m) => m.verify(v),
            Message::StateTransfer(m) => m.verify(v),
            Message::ViewChange(m) => m.verify(v),
            Message::NewView(m) => m.verify(v),
        }
    }

    /// The position of this message's kind in [`KINDS`].
    pub fn kind(&self) -> usize {
        match self {
            Message::Request(_) => 0,
            Message::PrePrepare(_) => 1,
            Message::Prepare(_) => 2,
            Message::Commit(_) => 3,
            Message::Checkpoint(_) => 4,
            Message::FetchState(_) => 5,
            Message::StateTransfer(_) => 6,
            Message::ViewChange(_) => 7,
            Message::NewView(_) => 8,
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
    Request,
    PrePrepare,
    Prepare,
    Commit,
    Checkpoint,
    FetchState,
    StateTransfer,
    ViewChange,
    NewView,
);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Request(m) => m.fmt(f),
            Message::PrePrepare(m) => m.fmt(f),
            Message::Prepare(m) => m.fmt(f),
            Message::Commit(m) => m.fmt(f),
            Message::Checkpoint(m) => m.fmt(f),
            Message::FetchState(m) => m.fmt(f),
            Message::StateTransfer(m) => m.fmt(f),
            Message::ViewChange(m) => m.fmt(f),
            Message::NewView(m) => m.fmt(f),
        }
    }
}
