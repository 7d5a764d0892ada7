//! MV-Register: one value, but concurrent writes are all kept until someone resolves them.
//!
//! Shapiro et al. 2011 §3.2.2, Specification 10 (the register of Dynamo's shopping cart). A
//! write supersedes every value its writer had seen; values written concurrently survive
//! side by side as siblings, and a reader gets them all. Built on the dotted version vector
//! store (`dvv.rs`): a local write is a `put` with the replica's own context, because a replica
//! writing has seen everything it holds.
//!
//! ```text
//!   n1: write "a"  ──► ["a"]            ──┐
//!   n2: write "b"  ──► ["b"]            ──┴─ merge ──► ["a", "b"]     both kept
//!   n1 (after the merge): write "ab" ──► ["ab"]                       resolves both
//! ```
//!
//! The cost is the opposite of LWW's: nothing is lost, but a reader must handle several
//! values, and a version vector (one entry per server that coordinated a write) travels with
//! the state. Invariants: those of `DvvSet` (every sibling's dot in the context).

use distributed_core::NodeId;

use crate::crdt::Crdt;
use crate::dvv::DvvSet;
use crate::error::ClockError;
use crate::version_vector::{Dot, VersionVector};

/// A multi-value register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MvRegister<V> {
    /// The siblings and everything seen: the register *is* a one-key DVV store.
    store: DvvSet<V>,
}

impl<V> Default for MvRegister<V> {
    fn default() -> Self {
        MvRegister {
            store: DvvSet::default(),
        }
    }
}

impl<V: Clone + PartialEq> MvRegister<V> {
    /// A register never written.
    pub fn new() -> Self {
        MvRegister::default()
    }

    /// Writes `value` at `node`, superseding every value this replica holds.
    pub fn write(&mut self, value: V, node: NodeId) -> Result<Dot, ClockError> {
        let context = self.store.context().clone();
        self.store.put(&context, value, node)
    }

    /// The concurrent values (one, unless writes raced) and the context they were read at.
    pub fn read(&self) -> (Vec<&V>, VersionVector) {
        self.store.get()
    }

    /// The underlying sibling store.
    pub fn store(&self) -> &DvvSet<V> {
        &self.store
    }
}

impl<V: Clone + PartialEq> Crdt for MvRegister<V> {
    type Value = Vec<V>;

    fn merge(&mut self, other: &Self) -> Result<(), ClockError> {
        self.store.merge(&other.store)
    }

    fn value(&self) -> Vec<V> {
        self.store.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_writes_are_all_read_until_a_write_that_saw_them() {
        // Shapiro et al. 2011 §3.2.2: merge keeps the maximal, pairwise concurrent values.
        let mut a = MvRegister::new();
        let mut b = MvRegister::new();
        a.write("a", NodeId(1)).unwrap();
        b.write("b", NodeId(2)).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.value(), ["a", "b"]);
        a.write("ab", NodeId(1)).unwrap();
        assert_eq!(a.value(), ["ab"]);
        b.merge(&a).unwrap();
        assert_eq!(
            b.value(),
            ["ab"],
            "the resolution reaches the other replica"
        );
    }

    #[test]
    fn a_later_write_at_one_replica_replaces_the_earlier_one() {
        let mut r = MvRegister::new();
        r.write(1, NodeId(1)).unwrap();
        r.write(2, NodeId(1)).unwrap();
        let (values, context) = r.read();
        assert_eq!(values, [&2]);
        assert_eq!(context.to_string(), "{n1:2}");
    }
}
