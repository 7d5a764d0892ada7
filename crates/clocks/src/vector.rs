//! Vector clocks: one counter per process, so that "happened before" can be *decided*.
//!
//! Fidge, "Timestamps in Message-Passing Systems That Preserve the Partial Ordering" (1988);
//! Mattern, "Virtual Time and Global States of Distributed Systems" (1989). Each process `i`
//! keeps a vector `V` with one entry per process:
//!
//! - before each local event or send: `V[i] += 1`; a message carries the whole `V`;
//! - on receipt of `W`: `V := max(V, W)` pointwise, then `V[i] += 1`.
//!
//! Then `V(a) < V(b)` **iff** `a → b` (a happened before b), and two events are concurrent iff
//! neither vector is ≤ the other. That "iff" is what Lamport clocks lack.
//!
//! ```text
//!   n1:  {n1:1} ── {n1:2} send ────────────────────────── {n1:3}
//!                        \
//!   n2:  {n2:1} ───────── {n1:2 n2:2} receive (merge, then n2 += 1)
//!
//!   compare({n1:3}, {n1:2 n2:2}) = Concurrent   (n1's third event never heard of n2)
//!   compare({n1:2}, {n1:2 n2:2}) = Before       (the send happened before the receive)
//! ```
//!
//! The cost: one entry per process that ever took part, in every message. The road not taken
//! for large, dynamic systems: interval tree clocks (Almeida, Baquero & Fonte 2008) split and
//! join ids instead of naming every process.
//!
//! Invariants: an entry never decreases through a merge (asserted in `counters.rs`); at most
//! `NODES_MAX` entries; `compare` is antisymmetric (`a.compare(b)` is the mirror of
//! `b.compare(a)`), which the property tests check.

use std::fmt;

use distributed_core::NodeId;

use crate::counters::Counters;
use crate::error::ClockError;

/// How two vectors (or the events they stamp) are causally related: the answer of
/// [`VectorClock::compare`]. An enum rather than `Option<Ordering>`, so a reader sees
/// `Concurrent` where `None` would hide it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Causality {
    /// `self` happened before `other`: every entry ≤, at least one <.
    Before,
    /// `self` happened after `other`: the mirror of `Before`.
    After,
    /// The same vector: the same event (or the same knowledge).
    Equal,
    /// Neither happened before the other: each has an entry the other lacks.
    Concurrent,
}

impl Causality {
    /// The relation seen from the other side: `a.compare(b).mirror() == b.compare(a)`.
    pub fn mirror(self) -> Causality {
        match self {
            Causality::Before => Causality::After,
            Causality::After => Causality::Before,
            same => same,
        }
    }
}

impl fmt::Display for Causality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self {
            Causality::Before => "before",
            Causality::After => "after",
            Causality::Equal => "equal",
            Causality::Concurrent => "concurrent",
        };
        f.write_str(word)
    }
}

/// A vector clock: per process, how many of its events this one has (transitively) seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VectorClock {
    /// The entries; a process not named counts as 0.
    counters: Counters,
}

const WHAT: &str = "vector clock";

impl VectorClock {
    /// The clock before any event: every entry 0.
    pub fn new() -> Self {
        VectorClock::default()
    }

    /// The entry of `node` (0 if absent).
    pub fn get(&self, node: NodeId) -> u64 {
        self.counters.get(node)
    }

    /// The non-zero entries in node order.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.counters.iter()
    }

    /// How many processes have a non-zero entry.
    pub fn len(&self) -> usize {
        self.counters.len()
    }

    /// True before any event.
    pub fn is_empty(&self) -> bool {
        self.counters.len() == 0
    }

    /// A local event or a send at `node`: its entry goes up by one. Returns the new entry.
    pub fn increment(&mut self, node: NodeId) -> Result<u64, ClockError> {
        self.counters.add(WHAT, node, 1)
    }

    /// Pointwise maximum: afterwards `self` has seen everything either had seen.
    pub fn merge(&mut self, other: &VectorClock) -> Result<(), ClockError> {
        self.counters.merge(WHAT, &other.counters)
    }

    /// A receive at `node` of a message stamped `received`: merge, then increment. Refused
    /// whole (nothing changed) if either step would pass a bound.
    pub fn receive(&mut self, node: NodeId, received: &VectorClock) -> Result<u64, ClockError> {
        let mut next = self.clone();
        next.merge(received)?;
        let entry = next.increment(node)?;
        *self = next;
        Ok(entry)
    }

    /// How `self` relates to `other` causally.
    pub fn compare(&self, other: &VectorClock) -> Causality {
        self.counters.compare(&other.counters)
    }

    /// True if `self` happened before `other` (strictly).
    pub fn happened_before(&self, other: &VectorClock) -> bool {
        self.compare(other) == Causality::Before
    }

    /// True if neither happened before the other.
    pub fn is_concurrent_with(&self, other: &VectorClock) -> bool {
        self.compare(other) == Causality::Concurrent
    }
}

impl fmt::Display for VectorClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_entries(f, self.iter())
    }
}

/// `{n1:3 n2:1}`: the one notation every vector in this crate prints in.
pub(crate) fn write_entries(
    f: &mut fmt::Formatter<'_>,
    entries: impl Iterator<Item = (NodeId, u64)>,
) -> fmt::Result {
    f.write_str("{")?;
    for (k, (node, count)) in entries.enumerate() {
        let sep = if k == 0 { "" } else { " " };
        write!(f, "{sep}{node}:{count}")?;
    }
    f.write_str("}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: u64) -> NodeId {
        NodeId(id)
    }

    #[test]
    fn a_send_happens_before_its_receive_and_the_receive_knows_it() {
        // Fidge 1988 / Mattern 1989: V(send) < V(receive).
        let mut a = VectorClock::new();
        let mut b = VectorClock::new();
        b.increment(n(2)).unwrap();
        a.increment(n(1)).unwrap();
        let message = a.clone();
        b.receive(n(2), &message).unwrap();
        assert_eq!(b.to_string(), "{n1:1 n2:2}");
        assert_eq!(message.compare(&b), Causality::Before);
        assert_eq!(b.compare(&message), Causality::After);
    }

    #[test]
    fn events_that_never_heard_of_each_other_are_concurrent() {
        let mut a = VectorClock::new();
        let mut b = VectorClock::new();
        a.increment(n(1)).unwrap();
        b.increment(n(2)).unwrap();
        assert_eq!(a.compare(&b), Causality::Concurrent);
        assert!(a.is_concurrent_with(&b) && b.is_concurrent_with(&a));
    }

    #[test]
    fn a_lamport_order_between_concurrent_events_is_not_causality() {
        // The converse of the Clock Condition fails for Lamport clocks, not for vectors.
        let mut fast = VectorClock::new();
        for _ in 0..5 {
            fast.increment(n(1)).unwrap();
        }
        let mut slow = VectorClock::new();
        slow.increment(n(2)).unwrap();
        assert!(
            !slow.happened_before(&fast),
            "1 < 5 as counters, yet concurrent"
        );
    }

    #[test]
    fn a_clock_compares_equal_to_itself_and_merge_is_its_upper_bound() {
        let mut a = VectorClock::new();
        a.increment(n(1)).unwrap();
        let mut b = VectorClock::new();
        b.increment(n(2)).unwrap();
        let mut m = a.clone();
        m.merge(&b).unwrap();
        assert_eq!(a.compare(&a.clone()), Causality::Equal);
        assert_eq!(a.compare(&m), Causality::Before);
        assert_eq!(b.compare(&m), Causality::Before);
    }

    #[test]
    fn a_receive_that_would_overflow_changes_nothing() {
        let mut a = VectorClock::new();
        a.increment(n(1)).unwrap();
        let mut at_max = VectorClock::new();
        at_max.counters.raise(WHAT, n(1), u64::MAX).unwrap();
        let before = a.clone();
        assert!(a.receive(n(1), &at_max).is_err());
        assert_eq!(a, before);
    }

    #[test]
    fn causality_mirrors_before_and_after_only() {
        assert_eq!(Causality::Before.mirror(), Causality::After);
        assert_eq!(Causality::Concurrent.mirror(), Causality::Concurrent);
        assert_eq!(Causality::Equal.to_string(), "equal");
    }
}
