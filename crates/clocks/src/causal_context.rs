//! Causal contexts: every dot a replica has seen, even when dots arrive with gaps.
//!
//! A version vector (`version_vector.rs`) can only say "all dots of n1 up to 5". Delta-state
//! CRDTs ship small deltas that may arrive out of order or not at all, so a replica can hold
//! `n1:7` without `n1:6`. Almeida, Shoker & Baquero, "Delta State Replicated Data Types"
//! (JPDC 2018), "causal δ-CRDTs": the causal context is a set of dots, kept compact as a
//! version vector plus a **dot cloud** of the dots above a gap.
//!
//! ```text
//!   dots seen: n1:1 n1:2 n1:3  n1:5  n2:1           (n1:4 not yet)
//!   compact:   vv {n1:3 n2:1}  cloud [n1:5]
//!   insert n1:4 ──► n1:4 extends the vv, then n1:5 does ──► vv {n1:5 n2:1}  cloud []
//! ```
//!
//! Invariants (kept by `compact` after every change, so equal sets are equal values): no
//! cloud dot is covered by the vector or extends it by one; the cloud holds at most
//! `ELEMENTS_MAX` dots. A cloud only grows while deltas are missing; once anti-entropy fills
//! the gaps it folds back into the vector.

use std::collections::BTreeSet;
use std::fmt;

use distributed_core::NodeId;

use crate::error::{check_elements, ClockError, ELEMENTS_MAX};
use crate::version_vector::{Dot, VersionVector};

/// A set of dots, as a version vector plus the dots above its gaps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CausalContext {
    /// The downward-closed part: every dot up to each entry.
    vv: VersionVector,
    /// The dots above a gap, in (node, counter) order.
    cloud: BTreeSet<Dot>,
}

const WHAT_CLOUD: &str = "causal context dot cloud";

impl CausalContext {
    /// The empty context.
    pub fn new() -> Self {
        CausalContext::default()
    }

    /// A context holding exactly `dots`.
    pub fn from_dots(dots: impl IntoIterator<Item = Dot>) -> Result<Self, ClockError> {
        let mut next = CausalContext::new();
        next.cloud.extend(dots);
        next.compact()?;
        Ok(next)
    }

    /// The downward-closed part.
    pub fn version(&self) -> &VersionVector {
        &self.vv
    }

    /// The dots above a gap.
    pub fn cloud(&self) -> impl Iterator<Item = Dot> + '_ {
        self.cloud.iter().copied()
    }

    /// True if `dot` was seen.
    pub fn contains(&self, dot: Dot) -> bool {
        self.vv.contains(dot) || self.cloud.contains(&dot)
    }

    /// The largest counter of `node` seen, gaps or not.
    pub fn max_counter(&self, node: NodeId) -> u64 {
        let above = self
            .cloud
            .range(Dot::new(node, 0)..=Dot::new(node, u64::MAX))
            .next_back()
            .map_or(0, |d| d.counter);
        self.vv.get(node).max(above)
    }

    /// A new dot for an update `node` coordinates, recorded as seen. Past every dot of
    /// `node` seen, so a node that hears of its own dots through a peer never reissues one.
    pub fn issue(&mut self, node: NodeId) -> Result<Dot, ClockError> {
        let counter = self
            .max_counter(node)
            .checked_add(1)
            .ok_or(ClockError::CounterOverflow {
                what: "dot counter",
                node,
            })?;
        let dot = Dot::new(node, counter);
        self.insert(dot)?;
        Ok(dot)
    }

    /// Records `dot` as seen.
    pub fn insert(&mut self, dot: Dot) -> Result<(), ClockError> {
        if self.contains(dot) {
            return Ok(());
        }
        let mut next = self.clone();
        next.cloud.insert(dot);
        next.compact()?;
        *self = next;
        Ok(())
    }

    /// The union of two contexts. Refused whole if it would pass a bound.
    pub fn merge(&mut self, other: &CausalContext) -> Result<(), ClockError> {
        let mut next = self.clone();
        next.vv.merge(&other.vv)?;
        next.cloud.extend(other.cloud.iter().copied());
        next.compact()?;
        *self = next;
        Ok(())
    }

    /// Folds every cloud dot the vector covers or extends into the vector. One pass: the
    /// cloud iterates each node's dots in ascending order, so a run `n1:4 n1:5` folds in turn.
    fn compact(&mut self) -> Result<(), ClockError> {
        let cloud = std::mem::take(&mut self.cloud);
        for dot in cloud {
            let have = self.vv.get(dot.node);
            if dot.counter <= have {
                continue;
            }
            if dot.counter == have + 1 {
                self.vv.include(dot)?;
            } else {
                self.cloud.insert(dot);
            }
        }
        check_elements(WHAT_CLOUD, self.cloud.len(), ELEMENTS_MAX)
    }
}

impl fmt::Display for CausalContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.vv)?;
        if !self.cloud.is_empty() {
            let dots: Vec<String> = self.cloud.iter().map(Dot::to_string).collect();
            write!(f, "+[{}]", dots.join(" "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(node: u64, counter: u64) -> Dot {
        Dot::new(NodeId(node), counter)
    }

    #[test]
    fn a_dot_above_a_gap_waits_in_the_cloud_until_the_gap_fills() {
        let mut cc =
            CausalContext::from_dots([dot(1, 1), dot(1, 2), dot(1, 3), dot(1, 5)]).unwrap();
        assert_eq!(cc.to_string(), "{n1:3}+[n1:5]");
        assert!(!cc.contains(dot(1, 4)));
        cc.insert(dot(1, 4)).unwrap();
        assert_eq!(cc.to_string(), "{n1:5}");
    }

    #[test]
    fn the_same_dots_in_any_order_make_the_same_context() {
        let a = CausalContext::from_dots([dot(2, 2), dot(1, 1), dot(2, 1)]).unwrap();
        let mut b = CausalContext::new();
        for d in [dot(2, 1), dot(1, 1), dot(2, 2)] {
            b.insert(d).unwrap();
        }
        assert_eq!(a, b);
    }

    #[test]
    fn a_node_issues_past_its_own_dots_it_heard_of_through_a_gap() {
        let mut cc = CausalContext::from_dots([dot(1, 1), dot(1, 4)]).unwrap();
        assert_eq!(cc.issue(NodeId(1)).unwrap(), dot(1, 5));
    }

    #[test]
    fn merge_is_the_union_and_compacts() {
        let mut a = CausalContext::from_dots([dot(1, 1), dot(1, 3)]).unwrap();
        let b = CausalContext::from_dots([dot(1, 1), dot(1, 2)]).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.to_string(), "{n1:3}");
    }
}
