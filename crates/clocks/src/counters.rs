//! One counter per node: the shape shared by vector clocks, version vectors and G-Counters.
//!
//! A map `NodeId → u64` where a missing node means 0, merged by pointwise maximum and ordered
//! pointwise. Three public types wrap it because they *mean* different things (events of a
//! process, updates a replica has seen, increments a node made), not because they differ in
//! shape; sharing the code keeps their bounds and their order identical.
//!
//! ```text
//!   a = {n1:3 n2:1}          compare: walk both key lists in order, once
//!   b = {n1:2 n2:4 n3:1}       n1: 3 > 2  (a ahead somewhere)
//!                              n2: 1 < 4  (b ahead somewhere)   ──► Concurrent
//!   merge(a, b) = {n1:3 n2:4 n3:1}   (pointwise max: the least upper bound)
//! ```
//!
//! Both walk the two key lists side by side once (`sorted.rs`).
//!
//! Invariants: no entry is stored as 0 (so equal vectors are equal maps, and `==` is
//! structural); merge never lowers an entry (asserted); at most [`NODES_MAX`] entries.
//!
//! [`NODES_MAX`]: crate::NODES_MAX

use std::cmp::Ordering;
use std::collections::BTreeMap;

use distributed_core::NodeId;

use crate::error::{check_nodes, ClockError};
use crate::sorted::{merge_join, Side};
use crate::vector::Causality;

/// A bounded map from node to counter, zero entries left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Counters {
    /// The counters, by node. A `BTreeMap` so iteration (and so every `Display` and every
    /// merge) runs in node order on every machine.
    entries: BTreeMap<NodeId, u64>,
}

impl Counters {
    /// The counter of `node` (0 if it has none).
    pub(crate) fn get(&self, node: NodeId) -> u64 {
        self.entries.get(&node).copied().unwrap_or(0)
    }

    /// How many nodes have a non-zero counter.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The non-zero entries, in node order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.entries.iter().map(|(&n, &c)| (n, c))
    }

    /// Adds `by` to `node`'s counter and returns the new value; refuses overflow and a
    /// node beyond the bound. `by = 0` changes nothing.
    pub(crate) fn add(
        &mut self,
        what: &'static str,
        node: NodeId,
        by: u64,
    ) -> Result<u64, ClockError> {
        let now = self.get(node);
        let next = now
            .checked_add(by)
            .ok_or(ClockError::CounterOverflow { what, node })?;
        self.raise(what, node, next)?;
        Ok(next)
    }

    /// Raises `node`'s counter to at least `to`.
    pub(crate) fn raise(
        &mut self,
        what: &'static str,
        node: NodeId,
        to: u64,
    ) -> Result<(), ClockError> {
        if to <= self.get(node) {
            return Ok(());
        }
        if !self.entries.contains_key(&node) {
            check_nodes(what, self.entries.len() + 1)?;
        }
        self.entries.insert(node, to);
        Ok(())
    }

    /// Pointwise maximum with `other` (the least upper bound). Refused, with nothing changed,
    /// if the union would name more than `NODES_MAX` nodes.
    pub(crate) fn merge(&mut self, what: &'static str, other: &Counters) -> Result<(), ClockError> {
        let union = merge_join(&self.entries, &other.entries).count();
        check_nodes(what, union)?;
        // In place: between replicas that mostly agree, few entries change, and rebuilding
        // the map would allocate every node of it again.
        for (&node, &theirs) in &other.entries {
            let mine = self.entries.entry(node).or_insert(0);
            let max = (*mine).max(theirs);
            assert!(max >= *mine, "{what}: merge lowered {node}'s entry");
            *mine = max;
        }
        Ok(())
    }

    /// The entries of `self` above `version`'s: what a replica at `version` lacks.
    pub(crate) fn above(&self, version: &Counters) -> Counters {
        let entries = self
            .entries
            .iter()
            .filter(|&(&n, &c)| c > version.get(n))
            .map(|(&n, &c)| (n, c))
            .collect();
        Counters { entries }
    }

    /// True if every entry of `self` is at least `other`'s: `other` happened before or equals.
    pub(crate) fn dominates(&self, other: &Counters) -> bool {
        matches!(self.compare(other), Causality::After | Causality::Equal)
    }

    /// The causal order of two vectors (Mattern 1989: `a ≤ b` iff every entry of `a` is at
    /// most `b`'s; `a < b` iff `a ≤ b` and `a ≠ b`; concurrent iff neither).
    pub(crate) fn compare(&self, other: &Counters) -> Causality {
        let (mut a_ahead, mut b_ahead) = (false, false);
        for (_, side) in merge_join(&self.entries, &other.entries) {
            let (mine, theirs) = counts(side);
            match mine.cmp(&theirs) {
                Ordering::Greater => a_ahead = true,
                Ordering::Less => b_ahead = true,
                Ordering::Equal => {}
            }
            if a_ahead && b_ahead {
                return Causality::Concurrent;
            }
        }
        match (a_ahead, b_ahead) {
            (false, false) => Causality::Equal,
            (true, false) => Causality::After,
            (false, true) => Causality::Before,
            (true, true) => Causality::Concurrent,
        }
    }
}

/// Both sides' counters for one node, a missing one as 0.
fn counts(side: Side<'_, u64>) -> (u64, u64) {
    match side {
        Side::Left(&a) => (a, 0),
        Side::Right(&b) => (0, b),
        Side::Both(&a, &b) => (a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NODES_MAX;

    fn counters(pairs: &[(u64, u64)]) -> Counters {
        let mut c = Counters::default();
        for &(n, v) in pairs {
            c.raise("test", NodeId(n), v).unwrap();
        }
        c
    }

    #[test]
    fn a_missing_node_counts_as_zero_so_explicit_zeros_change_nothing() {
        let mut c = counters(&[(1, 2)]);
        c.raise("test", NodeId(2), 0).unwrap();
        assert_eq!(c, counters(&[(1, 2)]));
        assert_eq!(c.get(NodeId(9)), 0);
    }

    #[test]
    fn compare_walks_disjoint_and_shared_nodes_alike() {
        let a = counters(&[(1, 3), (2, 1)]);
        let b = counters(&[(1, 2), (2, 4), (3, 1)]);
        assert_eq!(a.compare(&b), Causality::Concurrent);
        assert_eq!(counters(&[(2, 1)]).compare(&b), Causality::Before);
        assert_eq!(b.compare(&counters(&[(3, 1)])), Causality::After);
        assert_eq!(b.compare(&b.clone()), Causality::Equal);
    }

    #[test]
    fn an_add_that_would_pass_u64_max_is_refused_and_changes_nothing() {
        let mut c = counters(&[(1, u64::MAX)]);
        let e = c.add("test", NodeId(1), 1).unwrap_err();
        assert_eq!(
            e,
            ClockError::CounterOverflow {
                what: "test",
                node: NodeId(1)
            }
        );
        assert_eq!(c.get(NodeId(1)), u64::MAX);
    }

    #[test]
    fn a_merge_that_would_name_too_many_nodes_is_refused_whole() {
        let mut a = Counters::default();
        let mut b = Counters::default();
        for n in 0..NODES_MAX as u64 {
            a.raise("test", NodeId(n), 1).unwrap();
        }
        b.raise("test", NodeId(NODES_MAX as u64), 5).unwrap();
        b.raise("test", NodeId(0), 7).unwrap();
        let before = a.clone();
        assert!(matches!(
            a.merge("test", &b),
            Err(ClockError::TooManyNodes { .. })
        ));
        assert_eq!(a, before, "a refused merge changes nothing, not even n0");
    }
}
