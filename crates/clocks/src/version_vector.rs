//! Version vectors and dots: what a *replica* has seen, and the name of one update.
//!
//! A version vector has the shape of a vector clock (`counters.rs`) but counts something else:
//! not every event of a process, only the **updates** each node coordinated that this replica
//! has seen (Parker et al., "Detection of Mutual Inconsistency in Distributed Systems", 1983).
//! Reads and sends do not tick it. A **dot** `(node, counter)` names one update: the
//! `counter`-th that `node` coordinated (Preguiça et al., "Dotted Version Vectors", 2010/2012).
//!
//! ```text
//!   version vector {n1:3 n2:1} = the set of dots  n1:1 n1:2 n1:3  n2:1
//!
//!   contains(n1:2) = true      contains(n1:4) = false      contains(n3:1) = false
//!   issue(n2) ──► dot n2:2, and now {n1:3 n2:2}
//! ```
//!
//! A version vector stands for a *downward-closed* set of dots: having `n1:3` means having
//! `n1:1` and `n1:2` too. That holds where dots reach a replica in order (full-state sync, a
//! client's context); where deltas may arrive out of order, use a causal context
//! (`causal_context.rs`), which also keeps dots above a gap.
//!
//! Invariants: as for every vector here, entries never decrease and at most `NODES_MAX`.

use std::fmt;

use distributed_core::NodeId;

use crate::counters::Counters;
use crate::error::ClockError;
use crate::vector::{write_entries, Causality};

/// One update's name: the `counter`-th update that `node` coordinated. Ordered by node, then
/// counter, so a set of dots iterates node by node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dot {
    /// The node that coordinated the update (a server, in Dynamo terms, not a client).
    pub node: NodeId,
    /// Its sequence number at that node, from 1.
    pub counter: u64,
}

impl Dot {
    /// The dot `node:counter`.
    pub fn new(node: NodeId, counter: u64) -> Self {
        Dot { node, counter }
    }
}

impl fmt::Display for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.node, self.counter)
    }
}

/// What a replica has seen: per node, the updates `1..=counter` it coordinated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VersionVector {
    /// The entries; a node not named has coordinated nothing this replica has seen.
    counters: Counters,
}

const WHAT: &str = "version vector";

impl VersionVector {
    /// The empty version: nothing seen.
    pub fn new() -> Self {
        VersionVector::default()
    }

    /// A version vector from `(node, counter)` pairs, e.g. decoded from a client's request.
    /// Repeated nodes keep their largest counter; more than `NODES_MAX` nodes is refused.
    pub fn from_entries(
        entries: impl IntoIterator<Item = (NodeId, u64)>,
    ) -> Result<Self, ClockError> {
        let mut vv = VersionVector::new();
        for (node, counter) in entries {
            vv.counters.raise(WHAT, node, counter)?;
        }
        Ok(vv)
    }

    /// A version vector over the same entries (a G-Counter's version is its entries).
    pub(crate) fn from_counters(counters: Counters) -> Self {
        VersionVector { counters }
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The highest counter of `node` seen (0 if none).
    pub fn get(&self, node: NodeId) -> u64 {
        self.counters.get(node)
    }

    /// The non-zero entries in node order.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.counters.iter()
    }

    /// How many nodes have a non-zero entry.
    pub fn len(&self) -> usize {
        self.counters.len()
    }

    /// True if nothing was seen.
    pub fn is_empty(&self) -> bool {
        self.counters.len() == 0
    }

    /// True if the update `dot` is among those seen.
    pub fn contains(&self, dot: Dot) -> bool {
        dot.counter <= self.get(dot.node)
    }

    /// A new update coordinated by `node`: its next dot, recorded as seen. Only `node` itself
    /// may issue its dots, or two updates would get one name.
    pub fn issue(&mut self, node: NodeId) -> Result<Dot, ClockError> {
        let counter = self.counters.add(WHAT, node, 1)?;
        Ok(Dot::new(node, counter))
    }

    /// Records `dot` and, by a version vector's meaning, every earlier dot of its node.
    pub fn include(&mut self, dot: Dot) -> Result<(), ClockError> {
        self.counters.raise(WHAT, dot.node, dot.counter)
    }

    /// Everything either has seen.
    pub fn merge(&mut self, other: &VersionVector) -> Result<(), ClockError> {
        self.counters.merge(WHAT, &other.counters)
    }

    /// How `self` relates to `other`.
    pub fn compare(&self, other: &VersionVector) -> Causality {
        self.counters.compare(&other.counters)
    }

    /// True if `self` has seen everything `other` has.
    pub fn dominates(&self, other: &VersionVector) -> bool {
        self.counters.dominates(&other.counters)
    }
}

impl fmt::Display for VersionVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_entries(f, self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_vector_contains_every_dot_up_to_its_entry() {
        let vv = VersionVector::from_entries([(NodeId(1), 3), (NodeId(2), 1)]).unwrap();
        assert!(vv.contains(Dot::new(NodeId(1), 2)));
        assert!(vv.contains(Dot::new(NodeId(1), 3)));
        assert!(!vv.contains(Dot::new(NodeId(1), 4)));
        assert!(!vv.contains(Dot::new(NodeId(3), 1)));
        assert_eq!(vv.to_string(), "{n1:3 n2:1}");
    }

    #[test]
    fn issuing_names_the_next_update_of_that_node_and_records_it() {
        let mut vv = VersionVector::from_entries([(NodeId(2), 1)]).unwrap();
        let dot = vv.issue(NodeId(2)).unwrap();
        assert_eq!(dot.to_string(), "n2:2");
        assert!(vv.contains(dot));
    }

    #[test]
    fn repeated_nodes_in_decoded_entries_keep_the_largest_counter() {
        let vv = VersionVector::from_entries([(NodeId(1), 5), (NodeId(1), 2)]).unwrap();
        assert_eq!(vv.get(NodeId(1)), 5);
    }

    #[test]
    fn merge_is_the_union_of_what_was_seen() {
        let mut a = VersionVector::from_entries([(NodeId(1), 3)]).unwrap();
        let b = VersionVector::from_entries([(NodeId(1), 1), (NodeId(2), 2)]).unwrap();
        assert_eq!(a.compare(&b), Causality::Concurrent);
        a.merge(&b).unwrap();
        assert!(a.dominates(&b));
        assert_eq!(a.to_string(), "{n1:3 n2:2}");
    }
}
