//! G-Counter: a counter that only goes up, one entry per node.
//!
//! Shapiro et al. 2011 §3.1.2, Specification 6. A single integer merged by `max` loses
//! increments (two replicas each at 1 merge to 1, not 2); merged by `+` it double-counts on
//! redelivery. So each node counts its own increments in its own entry, entries merge by
//! `max`, and the value is the sum.
//!
//! ```text
//!   n1: increment 2 ──► {n1:2}          ──┐ merge (pointwise max)
//!   n2: increment 3 ──► {n2:3}          ──┴──► {n1:2 n2:3}  value 5, however often merged
//!
//!   delta (Almeida et al. 2018, δ-mutator inc^δ): the increment returns {n1:2} alone;
//!   delta_since(version) returns the entries above a peer's version, nothing else.
//! ```
//!
//! The value is a `u128`: the sum of up to `NODES_MAX` entries of 64 bits each needs more than
//! 64, and a counter that wraps to a small number is worse than a panic. An increment that
//! would push its own entry past `u64::MAX` is refused.
//!
//! Invariants: entries never decrease (asserted in the shared `counters.rs`); at most
//! `NODES_MAX` entries (one per node that ever incremented: that is this type's metadata cost).

use std::fmt;

use distributed_core::NodeId;

use crate::counters::Counters;
use crate::crdt::{Crdt, DeltaCrdt};
use crate::error::ClockError;
use crate::vector::write_entries;
use crate::version_vector::VersionVector;

/// A grow-only counter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GCounter {
    /// Per node, the sum of the increments that node made.
    counts: Counters,
}

const WHAT: &str = "G-Counter entry";

impl GCounter {
    /// A counter at 0.
    pub fn new() -> Self {
        GCounter::default()
    }

    /// Adds `by` at `node` and returns the delta: a counter holding `node`'s new entry alone.
    pub fn increment(&mut self, node: NodeId, by: u64) -> Result<GCounter, ClockError> {
        let entry = self.counts.add(WHAT, node, by)?;
        let mut delta = GCounter::new();
        delta.counts.raise(WHAT, node, entry)?;
        Ok(delta)
    }

    /// The sum of every node's entry.
    pub fn value(&self) -> u128 {
        self.counts.iter().map(|(_, c)| u128::from(c)).sum()
    }

    /// The entry of `node`.
    pub fn get(&self, node: NodeId) -> u64 {
        self.counts.get(node)
    }

    /// How far each node's entry has got: what a peer sends so we can answer with a delta.
    pub fn version(&self) -> VersionVector {
        VersionVector::from_counters(self.counts.clone())
    }

    /// The entries above `version`: merged into a replica at `version` (or later), it gives
    /// what merging the whole state would.
    pub fn delta_since(&self, version: &VersionVector) -> GCounter {
        GCounter {
            counts: self.counts.above(version.counters()),
        }
    }

    pub(crate) fn counts(&self) -> &Counters {
        &self.counts
    }
}

impl Crdt for GCounter {
    type Value = u128;

    fn merge(&mut self, other: &Self) -> Result<(), ClockError> {
        self.counts.merge(WHAT, &other.counts)
    }

    fn value(&self) -> u128 {
        GCounter::value(self)
    }
}

impl DeltaCrdt for GCounter {}

impl fmt::Display for GCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GCounter{{value={} entries=", self.value())?;
        write_entries(f, self.counts.iter())?;
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: u64) -> NodeId {
        NodeId(id)
    }

    #[test]
    fn increments_at_two_nodes_add_up_after_a_merge() {
        // Shapiro et al. 2011 §3.1.2: value = Σ entries, merge = pointwise max.
        let mut a = GCounter::new();
        let mut b = GCounter::new();
        a.increment(n(1), 2).unwrap();
        b.increment(n(2), 3).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.value(), 5);
        a.merge(&b).unwrap();
        assert_eq!(a.value(), 5, "a repeated merge counts nothing twice");
        assert_eq!(a.to_string(), "GCounter{value=5 entries={n1:2 n2:3}}");
    }

    #[test]
    fn an_increment_returns_the_delta_that_carries_it() {
        // Almeida et al. 2018, δ-mutator: the delta holds the incremented entry only.
        let mut a = GCounter::new();
        a.increment(n(1), 1).unwrap();
        let delta = a.increment(n(1), 4).unwrap();
        assert_eq!(delta.to_string(), "GCounter{value=5 entries={n1:5}}");
        let mut b = GCounter::new();
        b.merge_delta(&delta).unwrap();
        assert_eq!(b, a);
    }

    #[test]
    fn a_delta_since_a_version_holds_only_the_entries_above_it() {
        let mut a = GCounter::new();
        a.increment(n(1), 1).unwrap();
        a.increment(n(2), 1).unwrap();
        let peer = a.clone();
        a.increment(n(2), 6).unwrap();
        let delta = a.delta_since(&peer.version());
        assert_eq!(delta.to_string(), "GCounter{value=7 entries={n2:7}}");
        let mut caught_up = peer;
        caught_up.merge_delta(&delta).unwrap();
        assert_eq!(caught_up, a);
    }

    #[test]
    fn the_value_does_not_wrap_when_entries_sum_past_u64_max() {
        let mut a = GCounter::new();
        a.increment(n(1), u64::MAX).unwrap();
        a.increment(n(2), u64::MAX).unwrap();
        assert_eq!(a.value(), 2 * u128::from(u64::MAX));
        assert!(
            a.increment(n(1), 1).is_err(),
            "one entry past u64::MAX is refused"
        );
    }
}
