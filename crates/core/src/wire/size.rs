//! How many bytes a value takes in the wire vocabulary, computed without writing it: what the
//! simulator counts as a message's size (`sim`'s `Stats::message_bytes_sent`), so the
//! protocols can be compared by bytes on the wire, not only by messages.
//!
//! ```text
//!   u8, bool 1 │ u32 4 │ u64, i64, NodeId 8 │ bytes 4 + len
//!   Option<T>  1 + T when Some, 1 when None            (a presence flag, then the value)
//!   Vec<T>, BTreeSet<T>, BTreeMap<K, V>  4 + Σ items   (a u32 count, then each item)
//!   a struct   Σ its fields, in any order              a message enum  1 (kind) + its struct
//! ```
//!
//! Each rule is what [`Sink`](super::Sink) writes for that shape (a test below writes every
//! one and compares), so a size computed here is the length of an encoding in the same
//! vocabulary, whether that encoding exists (Raft's peer frames: the server's tests hold the
//! two equal) or not yet (Paxos and PBFT, which no server runs: their sizes say what such an
//! encoding would take). A format may spell a shape another way (Raft's frames write an
//! optional node as id 0 for none); its own `WireSize` impl then follows the format.
//!
//! Why a trait here and not a bound on `Protocol::Message`: the simulator sizes messages only
//! when a runner asks (`Simulation::with_message_size(WireSize::wire_bytes)`), so test
//! protocols with no wire form need no impl, and `sim` stays blind to every protocol. Why a
//! trait and not one inherent method per message enum: nested values (a ballot, a digest, a
//! certificate of signed messages) compose through one method, and the vocabulary's sizes sit
//! next to the writer they must agree with.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use crate::NodeId;

/// Bytes of a u8 or a bool.
pub const U8_BYTES: usize = 1;
/// Bytes of a u32 (also a length or a count).
pub const U32_BYTES: usize = 4;
/// Bytes of a u64 or an i64.
pub const U64_BYTES: usize = 8;
/// Bytes of a message's kind tag, the byte that says which message follows.
pub const KIND_BYTES: usize = U8_BYTES;

/// The bytes a value takes when written in the workspace's wire vocabulary.
pub trait WireSize {
    /// The exact number of bytes `self` takes on the wire (see the module docs for the rules).
    fn wire_bytes(&self) -> usize;
}

macro_rules! fixed_size {
    ($($ty:ty => $bytes:expr),* $(,)?) => {
        $(
            impl WireSize for $ty {
                fn wire_bytes(&self) -> usize {
                    $bytes
                }
            }
        )*
    };
}

fixed_size!(
    u8 => U8_BYTES,
    bool => U8_BYTES,
    u32 => U32_BYTES,
    u64 => U64_BYTES,
    i64 => U64_BYTES,
    NodeId => U64_BYTES,
);

/// A byte string: its u32 length, then the bytes.
impl WireSize for Bytes {
    fn wire_bytes(&self) -> usize {
        U32_BYTES + self.len()
    }
}

/// A presence flag, then the value if present.
impl<T: WireSize> WireSize for Option<T> {
    fn wire_bytes(&self) -> usize {
        U8_BYTES + self.as_ref().map_or(0, WireSize::wire_bytes)
    }
}

/// A u32 count, then each item.
impl<T: WireSize> WireSize for [T] {
    fn wire_bytes(&self) -> usize {
        U32_BYTES + self.iter().map(WireSize::wire_bytes).sum::<usize>()
    }
}

/// As a slice: a u32 count, then each item.
impl<T: WireSize> WireSize for Vec<T> {
    fn wire_bytes(&self) -> usize {
        self.as_slice().wire_bytes()
    }
}

/// A u32 count, then each item in order.
impl<T: WireSize> WireSize for BTreeSet<T> {
    fn wire_bytes(&self) -> usize {
        U32_BYTES + self.iter().map(WireSize::wire_bytes).sum::<usize>()
    }
}

/// A u32 count, then each key and its value, in key order.
impl<K: WireSize, V: WireSize> WireSize for BTreeMap<K, V> {
    fn wire_bytes(&self) -> usize {
        let items = self.iter().map(|(k, v)| k.wire_bytes() + v.wire_bytes());
        U32_BYTES + items.sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Sink;

    #[test]
    fn every_size_is_the_length_the_sink_writes() {
        let mut out = Vec::new();
        out.put_u8(7);
        assert_eq!(out.len(), 7u8.wire_bytes());
        let mut out = Vec::new();
        out.put_bool(true);
        assert_eq!(out.len(), true.wire_bytes());
        let mut out = Vec::new();
        out.put_u32(9);
        assert_eq!(out.len(), 9u32.wire_bytes());
        let mut out = Vec::new();
        out.put_u64(9);
        assert_eq!(out.len(), NodeId(9).wire_bytes());
        assert_eq!(out.len(), (-1i64).wire_bytes());
        let hello = Bytes::from_static(b"hello");
        let mut out = Vec::new();
        out.put_bytes(&hello);
        assert_eq!(out.len(), hello.wire_bytes());
    }

    #[test]
    fn collections_are_a_count_then_their_items() {
        let ids: Vec<NodeId> = [1, 2, 3].map(NodeId).into();
        let mut out = Vec::new();
        out.put_count(ids.len());
        ids.iter().for_each(|id| out.put_u64(id.0));
        assert_eq!(out.len(), ids.wire_bytes());
        assert_eq!(ids.wire_bytes(), 4 + 3 * 8);
        let set: BTreeSet<NodeId> = ids.iter().copied().collect();
        assert_eq!(set.wire_bytes(), ids.wire_bytes());
        let map: BTreeMap<u64, u64> = [(1, 10), (2, 20)].into();
        assert_eq!(map.wire_bytes(), 4 + 2 * 16);
        assert_eq!(
            Vec::<u64>::new().wire_bytes(),
            4,
            "an empty list is its count"
        );
    }

    #[test]
    fn an_option_is_a_flag_then_the_value() {
        assert_eq!(None::<u64>.wire_bytes(), 1);
        assert_eq!(Some(5u64).wire_bytes(), 1 + 8);
        let mut out = Vec::new();
        out.put_bool(true);
        out.put_bytes(b"ab");
        assert_eq!(out.len(), Some(Bytes::from_static(b"ab")).wire_bytes());
    }
}
