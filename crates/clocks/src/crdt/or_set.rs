//! OR-Set (add-wins): a set where a remove takes away only the adds it has seen.
//!
//! Shapiro et al. 2011 §3.3.5 (Observed-Remove Set): every add is tagged uniquely; a remove
//! deletes the tags it observed; an add concurrent with a remove has a tag the remove never
//! saw, so the element stays (**add wins**). That paper's version keeps the removed tags as
//! tombstones forever. This one keeps none: tags are dots, and the set carries a causal
//! context of every dot it has seen, so "seen, and not here" means "removed" (Bieniusa et al.,
//! "An optimized conflict-free replicated set", 2012; Almeida et al. 2018, the add-wins set
//! as a causal δ-CRDT over a dot map).
//!
//! ```text
//!   state: entries {element ↦ dots of its live adds},  context (every dot seen)
//!
//!   add(e)@n1    δ = ({e ↦ {n1:k}}, {n1:k} ∪ old dots of e)     a fresh dot, old ones replaced
//!   remove(e)    δ = ({},           dots of e)                   only the adds observed here
//!
//!   merge, per element:  keep a dot if both sides have it,
//!                        or one side has it and the other never saw it   (c: the context)
//!     (s1 ∩ s2) ∪ (s1 ∖ c2) ∪ (s2 ∖ c1),   contexts: c1 ∪ c2
//!
//!   n1: add x (n1:1) ──► sync ──► n2 ── remove x: δ ({}, {n1:1})
//!   n1: add x (n1:2) concurrently ─────────────────────────┐
//!   merge: n1:1 seen by both, gone at n2 ──► dropped;  n1:2 never seen by n2 ──► x stays
//! ```
//!
//! What grows: the context, one entry per node (plus a cloud of dots while deltas are
//! missing), and at most one dot per node per element. No tombstones. The element count is
//! bounded by `ELEMENTS_MAX`. Delta since a version: the removed dots are not in the state,
//! so a delta computed from the state alone cannot tell a peer which of its dots to drop; the
//! deltas are therefore the ones `add` and `remove` return, and a host keeps them in a
//! [`DeltaBuffer`](crate::DeltaBuffer) (Almeida et al. 2018, Algorithm 1) to answer "since".
//!
//! Invariants: every dot in `entries` is in `context` (asserted after each merge); no element
//! is stored with an empty dot set.

use std::collections::{BTreeMap, BTreeSet};

use distributed_core::NodeId;

use crate::causal_context::CausalContext;
use crate::crdt::{Crdt, DeltaCrdt};
use crate::error::{check_elements, ClockError, ELEMENTS_MAX};
use crate::sorted::{merge_join, Side};
use crate::version_vector::Dot;

/// An add-wins observed-remove set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrSet<E: Ord> {
    /// Each present element with the dots of its live adds (a dot per concurrent add).
    entries: BTreeMap<E, BTreeSet<Dot>>,
    /// Every dot seen, present or removed: what makes tombstones unnecessary.
    context: CausalContext,
}

impl<E: Ord> Default for OrSet<E> {
    fn default() -> Self {
        OrSet {
            entries: BTreeMap::new(),
            context: CausalContext::new(),
        }
    }
}

impl<E: Ord + Clone> OrSet<E> {
    /// The empty set.
    pub fn new() -> Self {
        OrSet::default()
    }

    /// Adds `element` at `node`; returns the delta. Re-adding a present element replaces its
    /// dots with one fresh dot, so concurrent removes elsewhere still lose to this add.
    pub fn add(&mut self, element: E, node: NodeId) -> Result<OrSet<E>, ClockError> {
        let counter = self.context.max_counter(node).checked_add(1);
        let dot = Dot::new(
            node,
            counter.ok_or(ClockError::CounterOverflow {
                what: "OR-Set dot counter",
                node,
            })?,
        );
        let mut seen: BTreeSet<Dot> = self.dots_of(&element).collect();
        seen.insert(dot);
        let delta = OrSet {
            entries: BTreeMap::from([(element, BTreeSet::from([dot]))]),
            context: CausalContext::from_dots(seen)?,
        };
        self.merge(&delta)?;
        Ok(delta)
    }

    /// Removes `element` as observed here (every add this replica has seen); returns the
    /// delta. Removing an absent element returns the empty delta and changes nothing.
    pub fn remove(&mut self, element: &E) -> Result<OrSet<E>, ClockError> {
        let delta = OrSet {
            entries: BTreeMap::new(),
            context: CausalContext::from_dots(self.dots_of(element))?,
        };
        self.merge(&delta)?;
        Ok(delta)
    }

    /// True if `element` is in the set.
    pub fn contains(&self, element: &E) -> bool {
        self.entries.contains_key(element)
    }

    /// The elements, in order.
    pub fn iter(&self) -> impl Iterator<Item = &E> + '_ {
        self.entries.keys()
    }

    /// How many elements are present.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if no element is present.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every dot seen.
    pub fn context(&self) -> &CausalContext {
        &self.context
    }

    fn dots_of<'a>(&'a self, element: &E) -> impl Iterator<Item = Dot> + 'a {
        self.entries.get(element).into_iter().flatten().copied()
    }

    /// The dots of `element` that survive a join: per the module header's rule.
    fn surviving(
        mine: &BTreeSet<Dot>,
        theirs: &BTreeSet<Dot>,
        my_cc: &CausalContext,
        their_cc: &CausalContext,
    ) -> BTreeSet<Dot> {
        let kept_mine = mine
            .iter()
            .filter(|d| theirs.contains(d) || !their_cc.contains(**d));
        let kept_theirs = theirs
            .iter()
            .filter(|d| !mine.contains(d) && !my_cc.contains(**d));
        kept_mine.chain(kept_theirs).copied().collect()
    }
}

impl<E: Ord + Clone> Crdt for OrSet<E> {
    type Value = BTreeSet<E>;

    fn merge(&mut self, other: &Self) -> Result<(), ClockError> {
        let mut context = self.context.clone();
        context.merge(&other.context)?;
        let empty = BTreeSet::new();
        let mut entries = Vec::new();
        for (element, side) in merge_join(&self.entries, &other.entries) {
            let dots = match side {
                // The common case between replicas in sync: both sides agree, nothing to decide.
                Side::Both(mine, theirs) if mine == theirs => mine.clone(),
                Side::Both(mine, theirs) => {
                    Self::surviving(mine, theirs, &self.context, &other.context)
                }
                Side::Left(mine) => Self::surviving(mine, &empty, &self.context, &other.context),
                Side::Right(theirs) => {
                    Self::surviving(&empty, theirs, &self.context, &other.context)
                }
            };
            if !dots.is_empty() {
                entries.push((element.clone(), dots));
            }
        }
        check_elements("OR-Set elements", entries.len(), ELEMENTS_MAX)?;
        for dot in entries.iter().flat_map(|(_, dots)| dots) {
            assert!(
                context.contains(*dot),
                "OR-Set dot {dot} outside its context"
            );
        }
        self.entries = entries.into_iter().collect();
        self.context = context;
        Ok(())
    }

    fn value(&self) -> BTreeSet<E> {
        self.entries.keys().cloned().collect()
    }
}

impl<E: Ord + Clone> DeltaCrdt for OrSet<E> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: u64) -> NodeId {
        NodeId(id)
    }

    fn elements(s: &OrSet<&'static str>) -> Vec<&'static str> {
        s.iter().copied().collect()
    }

    #[test]
    fn an_add_concurrent_with_a_remove_wins() {
        // Shapiro et al. 2011 §3.3.5: the remove only takes away the adds it observed.
        let mut a = OrSet::new();
        a.add("x", n(1)).unwrap();
        let mut b = a.clone();
        b.remove(&"x").unwrap();
        a.add("x", n(1)).unwrap();
        a.merge(&b).unwrap();
        b.merge(&a).unwrap();
        assert_eq!(elements(&a), ["x"]);
        assert_eq!(a, b);
    }

    #[test]
    fn a_remove_that_observed_every_add_removes_the_element_everywhere() {
        let mut a = OrSet::new();
        let mut b = OrSet::new();
        a.add("x", n(1)).unwrap();
        b.add("x", n(2)).unwrap();
        a.merge(&b).unwrap();
        a.remove(&"x").unwrap();
        b.merge(&a).unwrap();
        assert!(b.is_empty(), "both adds were observed by the remove");
    }

    #[test]
    fn a_removed_element_leaves_no_tombstone_only_its_dots_in_the_context() {
        let mut a = OrSet::new();
        a.add("x", n(1)).unwrap();
        a.remove(&"x").unwrap();
        assert!(a.is_empty());
        assert_eq!(a.context().to_string(), "{n1:1}");
    }

    #[test]
    fn deltas_alone_carry_adds_and_removes_to_another_replica() {
        // Almeida et al. 2018: replicas that join the δ-mutations reach the same state.
        let mut a = OrSet::new();
        let mut b = OrSet::new();
        let d1 = a.add("x", n(1)).unwrap();
        let d2 = a.add("y", n(1)).unwrap();
        let d3 = a.remove(&"x").unwrap();
        for d in [&d3, &d1, &d2, &d1] {
            b.merge_delta(d).unwrap();
        }
        assert_eq!(b, a);
        assert_eq!(elements(&b), ["y"]);
    }

    #[test]
    fn re_adding_a_present_element_keeps_one_dot_per_node() {
        let mut a = OrSet::new();
        a.add("x", n(1)).unwrap();
        a.add("x", n(1)).unwrap();
        assert_eq!(a.dots_of(&"x").collect::<Vec<_>>(), [Dot::new(n(1), 2)]);
    }

    #[test]
    fn removing_an_absent_element_is_a_no_op_with_an_empty_delta() {
        let mut a: OrSet<&str> = OrSet::new();
        let delta = a.remove(&"ghost").unwrap();
        assert_eq!(delta, OrSet::new());
    }
}
