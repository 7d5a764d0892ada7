//! Delta buffer: the deltas a replica produced, numbered, so it can answer "what since k?".
//!
//! Almeida, Shoker & Baquero 2018, Algorithm 1 (delta-interval anti-entropy, "basic"): each
//! replica numbers the deltas it joins into its state and keeps them in a buffer; a peer's
//! acknowledgement says how many it has; the replica sends the join of the deltas after that
//! (a delta-interval, Definition 4), or its whole state if the buffer no longer reaches back so
//! far. Deltas every peer acknowledged are dropped.
//!
//! ```text
//!   buffer:  seq 4: δ4   seq 5: δ5   seq 6: δ6      (1..=3 trimmed)     next = 7
//!
//!   peer acked 5 (has 1..=5) ──► since(5) = Delta(δ6)          (δ6 alone)
//!   peer acked 3             ──► since(3) = Delta(δ4 ⊔ δ5 ⊔ δ6)
//!   peer acked 1             ──► since(1) = FullState           (δ2, δ3 are gone)
//!   peer acked 7 (= next-1)  ──► UpToDate
//! ```
//!
//! This is the sans-IO core of that algorithm; who gossips to whom, and when, is the host's.
//! A host that relays (gossip over a tree) also pushes the deltas it *receives*, as the paper
//! does. Invariants: sequence numbers increase by one per push; the buffer holds at most
//! `deltas_max` deltas (oldest dropped first, after which a slow peer gets the full state).

use std::collections::VecDeque;

use crate::crdt::Crdt;
use crate::error::ClockError;

/// What a peer that has every delta up to some number needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Catchup<C> {
    /// Nothing: it has every delta.
    UpToDate,
    /// The join of the deltas it lacks (a delta-interval).
    Delta(C),
    /// The buffer no longer reaches back far enough: send the whole state.
    FullState,
}

/// A bounded, numbered log of deltas.
#[derive(Clone, Debug)]
pub struct DeltaBuffer<C> {
    /// `(seq, delta)`, oldest first, consecutive numbers.
    deltas: VecDeque<(u64, C)>,
    /// The number the next pushed delta gets; the first is 1, so "acked 0" means "has none".
    next_seq: u64,
    /// Most deltas kept: a bound on memory, at the price of full-state sends to slow peers.
    deltas_max: usize,
}

impl<C: Crdt> DeltaBuffer<C> {
    /// An empty buffer keeping at most `deltas_max` deltas (at least one).
    pub fn new(deltas_max: usize) -> Self {
        DeltaBuffer {
            deltas: VecDeque::new(),
            next_seq: 1,
            deltas_max: deltas_max.max(1),
        }
    }

    /// Records `delta` and returns its number. Drops the oldest delta if full.
    pub fn push(&mut self, delta: C) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.deltas.push_back((seq, delta));
        if self.deltas.len() > self.deltas_max {
            self.deltas.pop_front();
        }
        seq
    }

    /// The number of the latest delta pushed (0 before any).
    pub fn latest(&self) -> u64 {
        self.next_seq - 1
    }

    /// What a peer that has every delta up to `acked` needs.
    pub fn since(&self, acked: u64) -> Result<Catchup<C>, ClockError> {
        if acked >= self.latest() {
            return Ok(Catchup::UpToDate);
        }
        let oldest = self.deltas.front().map_or(self.next_seq, |&(seq, _)| seq);
        if acked + 1 < oldest {
            return Ok(Catchup::FullState);
        }
        let mut group = C::default();
        for (_, delta) in self.deltas.iter().filter(|(seq, _)| *seq > acked) {
            group.merge(delta)?;
        }
        Ok(Catchup::Delta(group))
    }

    /// Drops every delta numbered `acked_by_all` or below: every peer has them.
    pub fn trim(&mut self, acked_by_all: u64) {
        while self
            .deltas
            .front()
            .is_some_and(|&(seq, _)| seq <= acked_by_all)
        {
            self.deltas.pop_front();
        }
    }

    /// How many deltas are kept.
    pub fn len(&self) -> usize {
        self.deltas.len()
    }

    /// True if no delta is kept.
    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use distributed_core::NodeId;

    use super::*;
    use crate::crdt::or_set::OrSet;

    #[test]
    fn a_peer_gets_the_join_of_exactly_the_deltas_after_its_ack() {
        // Almeida et al. 2018, Algorithm 1: send Δ = ⊔{D(l) | acked < l}.
        let mut set = OrSet::new();
        let mut buffer = DeltaBuffer::new(16);
        let mut peer = OrSet::new();
        buffer.push(set.add("x", NodeId(1)).unwrap());
        peer.merge(&set).unwrap();
        let acked = buffer.latest();
        buffer.push(set.add("y", NodeId(1)).unwrap());
        buffer.push(set.remove(&"x").unwrap());
        let Catchup::Delta(group) = buffer.since(acked).unwrap() else {
            panic!("the buffer still holds deltas 2 and 3");
        };
        assert!(!group.contains(&"x") && group.contains(&"y"));
        peer.merge(&group).unwrap();
        assert_eq!(peer, set);
        assert_eq!(buffer.since(buffer.latest()).unwrap(), Catchup::UpToDate);
    }

    #[test]
    fn a_peer_behind_the_trimmed_deltas_is_told_to_take_the_full_state() {
        let mut set = OrSet::new();
        let mut buffer = DeltaBuffer::new(2);
        for k in 0..4u8 {
            buffer.push(set.add(k, NodeId(1)).unwrap());
        }
        assert_eq!(buffer.len(), 2);
        assert_eq!(buffer.since(1).unwrap(), Catchup::FullState);
        assert!(matches!(buffer.since(2).unwrap(), Catchup::Delta(_)));
    }

    #[test]
    fn trimming_drops_what_every_peer_acknowledged() {
        let mut buffer = DeltaBuffer::<OrSet<u8>>::new(8);
        for _ in 0..3 {
            buffer.push(OrSet::new());
        }
        buffer.trim(2);
        assert_eq!(buffer.len(), 1);
        assert_eq!(buffer.since(0).unwrap(), Catchup::FullState);
    }
}
