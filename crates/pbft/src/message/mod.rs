//! PBFT's messages (OSDI '99 §4): one struct per message, each with its one-line `Display`
//! and a constructor that signs it with the sender's `Signer`, and [`Message`], the enum that
//! carries any of them between replicas.
//!
//! ```text
//!   normal.rs       Request (from a client, forwarded by a backup), PrePrepare, Prepare,
//!                   Commit                                                     (§4.2)
//!   checkpoint.rs   Checkpoint, FetchState, StateTransfer                (§4.3, TOCS §5.3)
//!   view_change.rs  CheckpointCert, PreparedCert, ViewChange, NewView            (§4.4)
//!   wire_size.rs    each message's size on the wire, certificates in full
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
mod wire_size;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Digest, Keyring};
    use bytes::Bytes;

    #[test]
    fn every_message_prints_as_one_compact_line() {
        let keys = Keyring::new(1);
        let s = |id| keys.signer(NodeId(id));
        let d = Digest([0xab; 32]);
        let cp = Checkpoint::new(16, d, &s(2));
        assert_eq!(cp.to_string(), "Checkpoint{seq=16 digest=ababab}");
        assert_eq!(FetchState::new(16, &s(4)).to_string(), "FetchState{seq=16}");
        let st = StateTransfer::new(
            16,
            Bytes::from_static(b"xyz"),
            Progress::default(),
            vec![cp.clone()],
            &s(2),
        );
        assert!(
            st.to_string()
                .starts_with("StateTransfer{seq=16 bytes=3 digest="),
            "{st}"
        );
        let pp = PrePrepare::new(0, 3, Some(Request::new(1, 1, b"a".to_vec())), &s(1));
        let cert = PreparedCert {
            pre_prepare: pp.clone(),
            prepares: Vec::new(),
        };
        let vc = ViewChange::new(1, CheckpointCert::default(), vec![cert], &s(3));
        let line = format!(
            "ViewChange{{new_view=1 stable=(0,000000) prepared=[3:{}@v0]}}",
            pp.digest
        );
        assert_eq!(vc.to_string(), line);
        let null = PrePrepare::new(1, 4, None, &s(2));
        let nv = NewView::new(1, vec![vc], vec![null], &s(2));
        assert_eq!(nv.to_string(), "NewView{view=1 from=[n3] o=[4:null]}");
        let m: Message = nv.clone().into();
        assert_eq!(
            m.to_string(),
            nv.to_string(),
            "the enum prints as what it holds"
        );
        assert_eq!(KINDS[m.kind()], "NewView");
        assert_eq!(m.signer(), Some(NodeId(2)));
    }

    #[test]
    fn a_signed_message_verifies_only_unchanged() {
        let keys = Keyring::new(1);
        let mut vc = ViewChange::new(
            1,
            CheckpointCert::default(),
            Vec::new(),
            &keys.signer(NodeId(3)),
        );
        let v = keys.verifier();
        assert!(Message::from(vc.clone()).verify(&v));
        vc.new_view = 2;
        assert!(
            !Message::from(vc).verify(&v),
            "the signature covers the view"
        );
    }
}
