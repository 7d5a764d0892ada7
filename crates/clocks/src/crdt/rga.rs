//! RGA: a replicated sequence where inserts name the element they follow.
//!
//! Roh, Jeon, Kim & Lee, "Replicated abstract data types: Building blocks for collaborative
//! applications" (JPDC 2011): the Replicated Growable Array. Every element gets a unique id,
//! a Lamport timestamp `time@node` (larger than every id its inserter had seen), and remembers
//! its **anchor**, the element it was inserted after. A delete only marks the element as a
//! **tombstone**: it stays, so later inserts anchored at it still find their place. Shapiro et
//! al. 2011 §3.5 describes it among the sequence CRDTs.
//!
//! Where an insert goes: right after its anchor, but after every element there with a larger
//! id. Concurrent inserts at one spot therefore line up by descending id on every replica,
//! and an element's descendants (always larger ids: their inserters had seen it) travel with it.
//!
//! ```text
//!   "ab":  head ─ a(1@n1) ─ b(2@n1)
//!   n1 inserts X after a ──► X = 3@n1        n2 inserts Y after a ──► Y = 3@n2 (concurrent)
//!
//!   integrate Y at n1: start after a; skip ids > 3@n2 … X is 3@n1 < 3@n2, stop ──► a Y X b
//!   integrate X at n2: start after a; Y is 3@n2 > 3@n1, skip; b is 2@n1 < 3@n1 ──► a Y X b
//! ```
//!
//! As a state-based CRDT the state is the set of elements `(id, anchor, value, deleted)`:
//! merge is their union, with `deleted` or-ed; the order is a function of that set (a tree of
//! anchors, children by descending id, read in preorder), so equal sets read alike. `merge`
//! integrates the other side's new elements in ascending id order, which puts every anchor
//! before the elements anchored at it.
//!
//! **Tombstones grow without bound**: a document edited for a year holds every character ever
//! typed. This one bounds elements *including* tombstones by `ELEMENTS_MAX`. What real systems
//! do: Roh et al. purge a tombstone once every replica has seen the delete (causal stability,
//! known from vector clocks); Yjs keeps deleted items but drops their content and merges
//! adjacent ones; Automerge keeps them, compressed. Cost here: an insert or a position lookup
//! is linear in the elements (the road not taken: Roh et al.'s hash table by id, or a tree).
//!
//! Invariants: an element's anchor is older than it (checked on merge, so no cycles); `order`
//! holds every id once (asserted); a tombstone never comes back.

use std::collections::BTreeMap;
use std::fmt;

use distributed_core::NodeId;

use crate::crdt::Crdt;
use crate::error::{check_elements, ClockError, ELEMENTS_MAX};

/// An element's id: a Lamport timestamp, ordered by `time` then `node` (derived: field order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RgaId {
    /// Larger than every id the inserting replica had seen.
    pub time: u64,
    /// The inserting replica: makes the id unique.
    pub node: NodeId,
}

impl fmt::Display for RgaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.time, self.node)
    }
}

/// One element, visible or a tombstone.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Element<V> {
    /// The element it was inserted after; `None` for the head of the sequence.
    anchor: Option<RgaId>,
    /// The content, kept in tombstones too (merges compare it to catch a reused id).
    value: V,
    /// Deleted: a tombstone, invisible but still an anchor.
    deleted: bool,
}

/// A replicated growable array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rga<V> {
    /// Every element ever inserted, by id.
    elements: BTreeMap<RgaId, Element<V>>,
    /// Every id, tombstones included, in sequence order: derived from `elements`, kept so a
    /// read is a scan rather than a tree walk.
    order: Vec<RgaId>,
    /// How many elements are not tombstones.
    live: usize,
    /// The largest id time seen: the next local insert's time is one more.
    max_time: u64,
}

impl<V> Default for Rga<V> {
    fn default() -> Self {
        Rga {
            elements: BTreeMap::new(),
            order: Vec::new(),
            live: 0,
            max_time: 0,
        }
    }
}

impl<V: Clone + PartialEq> Rga<V> {
    /// The empty sequence.
    pub fn new() -> Self {
        Rga::default()
    }

    /// Visible elements.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True if nothing is visible.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Deleted elements still kept.
    pub fn tombstones(&self) -> usize {
        self.elements.len() - self.live
    }

    /// The visible values, in order.
    pub fn iter(&self) -> impl Iterator<Item = &V> + '_ {
        self.visible().map(|(_, e)| &e.value)
    }

    /// The visible ids, in order: what a caller anchors inserts at.
    pub fn ids(&self) -> impl Iterator<Item = RgaId> + '_ {
        self.visible().map(|(id, _)| id)
    }

    /// Inserts `value` at `node` right after `anchor` (`None`: at the head). The anchor may be
    /// a tombstone. Returns the new element's id.
    pub fn insert_after(
        &mut self,
        anchor: Option<RgaId>,
        value: V,
        node: NodeId,
    ) -> Result<RgaId, ClockError> {
        if let Some(a) = anchor.filter(|a| !self.elements.contains_key(a)) {
            return Err(unknown("RGA anchor", a));
        }
        check_elements("RGA elements", self.elements.len() + 1, ELEMENTS_MAX)?;
        let time = self
            .max_time
            .checked_add(1)
            .ok_or(ClockError::CounterOverflow {
                what: "RGA Lamport time",
                node,
            })?;
        let id = RgaId { time, node };
        self.integrate(id, anchor, value);
        Ok(id)
    }

    /// Inserts `value` so that it becomes the visible element at `index`.
    pub fn insert_at(&mut self, index: usize, value: V, node: NodeId) -> Result<RgaId, ClockError> {
        if index > self.live {
            return Err(ClockError::IndexOutOfRange {
                index,
                len: self.live,
            });
        }
        let anchor = match index {
            0 => None,
            _ => Some(self.visible_id(index - 1)?),
        };
        self.insert_after(anchor, value, node)
    }

    /// Deletes the element `id` (it becomes a tombstone). Returns whether it was visible.
    pub fn delete(&mut self, id: RgaId) -> Result<bool, ClockError> {
        let element = self
            .elements
            .get_mut(&id)
            .ok_or_else(|| unknown("RGA element", id))?;
        let was_visible = !element.deleted;
        if was_visible {
            element.deleted = true;
            self.live -= 1;
        }
        Ok(was_visible)
    }

    /// Deletes the visible element at `index`; returns its id.
    pub fn delete_at(&mut self, index: usize) -> Result<RgaId, ClockError> {
        let id = self.visible_id(index)?;
        self.delete(id)?;
        Ok(id)
    }

    fn visible(&self) -> impl Iterator<Item = (RgaId, &Element<V>)> + '_ {
        self.order
            .iter()
            .map(|id| (*id, &self.elements[id]))
            .filter(|(_, e)| !e.deleted)
    }

    fn visible_id(&self, index: usize) -> Result<RgaId, ClockError> {
        self.ids().nth(index).ok_or(ClockError::IndexOutOfRange {
            index,
            len: self.live,
        })
    }

    /// Places a new element: after its anchor, past every larger id there (the RGA rule).
    fn integrate(&mut self, id: RgaId, anchor: Option<RgaId>, value: V) {
        assert!(
            !self.elements.contains_key(&id),
            "RGA id {id} integrated twice"
        );
        let mut at = match anchor {
            None => 0,
            Some(a) => {
                let p = self.order.iter().position(|x| *x == a);
                p.expect("an integrated anchor is in the order") + 1
            }
        };
        while at < self.order.len() && self.order[at] > id {
            at += 1;
        }
        self.order.insert(at, id);
        self.elements.insert(
            id,
            Element {
                anchor,
                value,
                deleted: false,
            },
        );
        self.live += 1;
        self.max_time = self.max_time.max(id.time);
    }

    /// The other side's elements this side lacks, in ascending id order, after checking that
    /// shared ids agree and every new element's anchor is known and older.
    fn new_elements<'a>(
        &self,
        other: &'a Rga<V>,
    ) -> Result<Vec<(RgaId, &'a Element<V>)>, ClockError> {
        let mut fresh = Vec::new();
        for (&id, theirs) in &other.elements {
            if let Some(mine) = self.elements.get(&id) {
                if mine.anchor != theirs.anchor || mine.value != theirs.value {
                    return Err(ClockError::ConflictingContent {
                        what: "RGA element",
                        id: id.to_string(),
                    });
                }
                continue;
            }
            if let Some(a) = theirs.anchor {
                let known = self.elements.contains_key(&a) || other.elements.contains_key(&a);
                if !known || a.time >= id.time {
                    return Err(unknown("RGA anchor (older than its element)", a));
                }
            }
            fresh.push((id, theirs));
        }
        check_elements(
            "RGA elements",
            self.elements.len() + fresh.len(),
            ELEMENTS_MAX,
        )?;
        Ok(fresh)
    }
}

fn unknown(what: &'static str, id: RgaId) -> ClockError {
    ClockError::UnknownElement {
        what,
        id: id.to_string(),
    }
}

impl<V: Clone + PartialEq> Crdt for Rga<V> {
    type Value = Vec<V>;

    /// The union of both element sets, tombstones or-ed. Checked before anything changes.
    fn merge(&mut self, other: &Self) -> Result<(), ClockError> {
        for (id, theirs) in self.new_elements(other)? {
            self.integrate(id, theirs.anchor, theirs.value.clone());
        }
        for (&id, _) in other.elements.iter().filter(|(_, e)| e.deleted) {
            self.delete(id)
                .expect("every id of the other side was integrated");
        }
        assert_eq!(
            self.order.len(),
            self.elements.len(),
            "RGA order lost an id"
        );
        Ok(())
    }

    fn value(&self) -> Vec<V> {
        self.iter().cloned().collect()
    }
}

#[cfg(test)]
#[path = "rga_tests.rs"]
mod tests;
