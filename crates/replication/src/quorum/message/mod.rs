//! The quorum messages: one struct per message, each with its one-line `Display`, and
//! [`Message`], the enum that carries any of them.
//!
//! ```text
//!   any node ────── Forward ─► first home node (coordinates) ─ Forwarded ►  client.rs   (§4.5)
//!   coordinator ─── Replicate ─► replica / stand-in ─── Replicated ─►      replica.rs  (§4.5, §4.6)
//!   coordinator ─── Fetch ─────► replica / stand-in ─── Fetched ───►       replica.rs  (§4.5)
//!   coordinator ─── Repair ────► a replica that answered a stale version   replica.rs  (read repair)
//!   hint holder ─── HandOff ───► the hint's owner ───── HandedOff ─►       handoff.rs  (§4.6)
//!   initiator ───── TreeQuery ─► peer ───────────────── TreeHashes ►       merkle.rs   (§4.7)
//!   initiator ───── LeafSync{answer} ─► peer ────────── LeafSync ──►       merkle.rs
//!   each message's size on the wire, field by field:                       wire_size.rs
//! ```
//!
//! The sender's id is not a field: it travels in the `Envelope` and reaches `step` as `from`.
//! Answers name the client operation (`op`) or the hint (`hint`) they answer, which is all a
//! coordinator or a hint holder needs to drop a stale or duplicated one; anti-entropy needs no
//! matching at all (every answer is merged, and merging is idempotent).

use std::fmt;

mod client;
mod handoff;
mod merkle;
mod replica;
mod wire_size;

pub use client::{Forward, Forwarded};
pub use handoff::{HandOff, HandedOff};
pub use merkle::{LeafSync, TreeHashes, TreeQuery};
pub use replica::{Fetch, Fetched, Repair, Replicate, Replicated};

/// Any quorum message: one variant per message struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Coordinate this put: I am not one of its key's home nodes.
    Forward(Forward),
    /// The coordinator's answer to a forwarded put.
    Forwarded(Forwarded),
    /// Store this version (for yourself, or as a stand-in holding a hint).
    Replicate(Replicate),
    /// Stored, durably.
    Replicated(Replicated),
    /// What do you hold for this key?
    Fetch(Fetch),
    /// What I hold for it.
    Fetched(Fetched),
    /// Read repair: you answered a version older than this one.
    Repair(Repair),
    /// A hint holder hands a version back to the node it was meant for.
    HandOff(HandOff),
    /// The owner stored it: the holder may drop the hint.
    HandedOff(HandedOff),
    /// Anti-entropy: your Merkle hashes of these tree nodes, please.
    TreeQuery(TreeQuery),
    /// Anti-entropy: my hashes of those nodes.
    TreeHashes(TreeHashes),
    /// Anti-entropy: my versions of the keys under these differing leaves.
    LeafSync(LeafSync),
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
        impl fmt::Display for Message {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Message::$name(m) => m.fmt(f),)*
                }
            }
        }
    };
}

message_from!(
    Forward, Forwarded, Replicate, Replicated, Fetch, Fetched, Repair, HandOff, HandedOff,
    TreeQuery, TreeHashes, LeafSync,
);

#[cfg(test)]
mod tests {
    use clocks::{HlcTimestamp, LwwStamp};
    use distributed_core::NodeId;

    use super::*;
    use crate::client::{OpId, Response};
    use crate::quorum::version::Version;

    #[test]
    fn every_message_prints_as_one_compact_line() {
        let op = OpId { client: 1, seq: 2 };
        let v = Version::dvv_put(None, "c1.2".into(), NodeId(2)).unwrap();
        let stamp = LwwStamp {
            time: HlcTimestamp::new(14, 0),
            node: NodeId(3),
        };
        let lines: Vec<String> = [
            Message::from(Forward {
                op,
                key: "x".into(),
                value: "c1.2".into(),
            }),
            Forwarded {
                op,
                response: Response::Unavailable { why: "no quorum" },
            }
            .into(),
            Replicate {
                op,
                key: "x".into(),
                version: v.clone(),
                hint: Some(NodeId(4)),
            }
            .into(),
            Fetched {
                op,
                key: "x".into(),
                version: Some(Version::lww_put("c1.2".into(), stamp)),
            }
            .into(),
            HandOff {
                hint: 7,
                key: "x".into(),
                version: v.clone(),
            }
            .into(),
            TreeHashes {
                range: 2,
                level: 1,
                hashes: vec![(0, 0xdead_beef_0000_0001), (1, 0)],
            }
            .into(),
            LeafSync {
                range: 2,
                leaves: vec![3],
                versions: vec![("x".into(), v)],
                answer: true,
            }
            .into(),
        ]
        .iter()
        .map(|m| m.to_string())
        .collect();
        assert_eq!(
            lines,
            [
                "Forward{op=c1.2 key=x value=c1.2}",
                "Forwarded{op=c1.2 unavailable: no quorum}",
                "Replicate{op=c1.2 key=x version=[c1.2@n2:1]{n2:1} hint=n4}",
                "Fetched{op=c1.2 key=x version=[c1.2@(14,0)@n3]}",
                "HandOff{hint=7 key=x version=[c1.2@n2:1]{n2:1}}",
                "TreeHashes{range=r2 level=1 [0:deadbeef 1:00000000]}",
                "LeafSync{range=r2 leaves=[3] answer versions=[x=[c1.2@n2:1]{n2:1}]}",
            ]
        );
    }
}
