//! Dotted version vector sets: a server-side sibling store that keeps exactly the concurrent
//! writes of one key.
//!
//! The problem (Dynamo, Riak): clients write through any replica, without locks. Two writes
//! that did not see each other must both survive (as **siblings**) until a client reads both
//! and writes a resolution; a write that saw an earlier one must replace it. A version vector
//! per sibling with one entry per *client* grows without bound; one entry per *server* loses
//! writes or invents conflicts, because two writes through one server get comparable vectors
//! although neither saw the other. Preguiça, Baquero, Almeida, Fonte & Gonçalves, "Dotted
//! Version Vectors: Logical Clocks for Optimistic Replication" (2010), and Almeida et al.,
//! "Scalable and Accurate Causality Tracking for Eventually Consistent Stores" (DAIS 2014;
//! Riak's `dvvset`), separate the two things a version says: a **dot**, the name of this one
//! write, issued by the coordinating server; and a **context**, what the writing client had
//! read. Server entries only, and no false conflicts.
//!
//! ```text
//!   state at a replica: siblings {dot ↦ value}, context vv (every dot seen, kept or not)
//!
//!   put(ctx, v, n):  drop every sibling whose dot ∈ ctx      (the client read it: dominated)
//!                    dot := (n, max(vv[n], ctx[n]) + 1)       (n's next write)
//!                    siblings += {dot ↦ v};  vv := vv ∪ ctx ∪ {dot}
//!
//!   alice: get ─► ([], {})        bob: get ─► ([], {})
//!   alice: put({}, "milk", n1) ─► n1:1          siblings {n1:1 "milk"}              vv {n1:1}
//!   bob:   put({}, "eggs", n1) ─► n1:2          siblings {n1:1 "milk", n1:2 "eggs"} vv {n1:2}
//!          (bob's context does not hold n1:1: concurrent, both kept, though one server)
//!   carol: get ─► (["milk", "eggs"], {n1:2}); put({n1:2}, "milk+eggs", n2) ─► n2:1
//!                                              siblings {n2:1 "milk+eggs"}  vv {n1:2 n2:1}
//!
//!   merge(a, b) (anti-entropy between replicas):
//!     keep a sibling of a if b holds it too, or b's vv never saw its dot; same for b.
//!     (b saw the dot and dropped it: something in b superseded it.)   vv := vv_a ∪ vv_b
//! ```
//!
//! Why one context for the whole set is enough: every dot in `vv` is either a sibling here or
//! was superseded by a write whose context held it, so "seen and not here" means "dominated".
//! Riak's `dvvset` encodes the same state more compactly (per server: a counter and the list
//! of its latest sibling values, the dots implied by position); the road not taken here for
//! legibility. This is exactly the multi-value register of Shapiro et al. 2011 §3.2.2 in
//! Almeida et al.'s causal-CRDT form (`crdt/mv_register.rs` is this store written to with the
//! replica's own context).
//!
//! Invariants: every sibling's dot is in the context (asserted); a put with a context that
//! claims dots of the coordinating server it never issued is refused (a client inventing
//! history would otherwise make the next dot collide); at most [`SIBLINGS_MAX`] siblings after
//! a put. A *merge* is not refused for siblings: refusing anti-entropy would stop replicas
//! from converging, so the bound lives where siblings are born, and after a merge a key can
//! hold up to `SIBLINGS_MAX` × replicas. A server that loses its state must come back under a
//! new `NodeId` (as Riak's vnodes do), or it would reissue dots it already gave out.
//!
//! [`SIBLINGS_MAX`]: crate::SIBLINGS_MAX

use std::collections::BTreeMap;

use distributed_core::NodeId;

use crate::error::{check_elements, ClockError, SIBLINGS_MAX};
use crate::version_vector::{Dot, VersionVector};

/// The siblings of one key at one replica, and everything it has seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DvvSet<V> {
    /// The surviving writes, each under its dot. Pairwise concurrent: none was in the context
    /// of a write this replica knows of.
    siblings: BTreeMap<Dot, V>,
    /// Every dot seen, kept or superseded: what a `get` hands the client as its context.
    context: VersionVector,
}

impl<V> Default for DvvSet<V> {
    fn default() -> Self {
        DvvSet {
            siblings: BTreeMap::new(),
            context: VersionVector::new(),
        }
    }
}

impl<V: Clone + PartialEq> DvvSet<V> {
    /// An empty key: no siblings, nothing seen.
    pub fn new() -> Self {
        DvvSet::default()
    }

    /// A write of `value`, coordinated by server `node`, by a client that had read `context`
    /// (empty for a blind write). Discards the siblings the client saw, keeps the others, and
    /// returns the new write's dot.
    pub fn put(
        &mut self,
        context: &VersionVector,
        value: V,
        node: NodeId,
    ) -> Result<Dot, ClockError> {
        let issued = self.context.get(node);
        let claimed = context.get(node);
        if claimed > issued {
            return Err(ClockError::ContextAheadOfNode {
                node,
                claimed,
                issued,
            });
        }
        let mut seen = self.context.clone();
        seen.merge(context)?;
        let dot = seen.issue(node)?;
        let kept = self
            .siblings
            .keys()
            .filter(|d| !context.contains(**d))
            .count();
        check_elements("DVV siblings", kept + 1, SIBLINGS_MAX)?;
        self.siblings.retain(|d, _| !context.contains(*d));
        self.siblings.insert(dot, value);
        self.context = seen;
        self.assert_siblings_in_context();
        Ok(dot)
    }

    /// What a client reads: the sibling values (in dot order) and the context to send back
    /// with its next write to this key.
    pub fn get(&self) -> (Vec<&V>, VersionVector) {
        (self.siblings.values().collect(), self.context.clone())
    }

    /// The siblings with their dots, in dot order.
    pub fn siblings(&self) -> impl Iterator<Item = (Dot, &V)> + '_ {
        self.siblings.iter().map(|(&d, v)| (d, v))
    }

    /// How many siblings survive.
    pub fn len(&self) -> usize {
        self.siblings.len()
    }

    /// True if the key has no value (never written).
    pub fn is_empty(&self) -> bool {
        self.siblings.is_empty()
    }

    /// Every dot seen here.
    pub fn context(&self) -> &VersionVector {
        &self.context
    }

    /// Anti-entropy: joins another replica's state of the same key. A sibling survives if
    /// both replicas hold it or the other never saw its dot. Refused whole if the two states
    /// give one dot different values (a server reissued a dot after losing its state).
    pub fn merge(&mut self, other: &DvvSet<V>) -> Result<(), ClockError> {
        let mut context = self.context.clone();
        context.merge(&other.context)?;
        let mut siblings = BTreeMap::new();
        for (&dot, value) in &self.siblings {
            match other.siblings.get(&dot) {
                Some(theirs) if theirs != value => return Err(conflict(dot)),
                Some(_) => {
                    siblings.insert(dot, value.clone());
                }
                None if !other.context.contains(dot) => {
                    siblings.insert(dot, value.clone());
                }
                None => {}
            }
        }
        for (&dot, value) in &other.siblings {
            if !self.context.contains(dot) {
                siblings.insert(dot, value.clone());
            }
        }
        self.siblings = siblings;
        self.context = context;
        self.assert_siblings_in_context();
        Ok(())
    }

    fn assert_siblings_in_context(&self) {
        for dot in self.siblings.keys() {
            assert!(
                self.context.contains(*dot),
                "DVV sibling {dot} outside its context {}",
                self.context
            );
        }
    }
}

fn conflict(dot: Dot) -> ClockError {
    ClockError::ConflictingContent {
        what: "DVV sibling",
        id: dot.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: u64) -> NodeId {
        NodeId(id)
    }

    fn values(s: &DvvSet<&'static str>) -> Vec<&'static str> {
        s.get().0.into_iter().copied().collect()
    }

    #[test]
    fn two_blind_writes_through_one_server_are_both_kept() {
        // The false-conflict case plain server-side version vectors get wrong (Preguiça et al.
        // 2010): neither client saw the other's write.
        let mut key = DvvSet::new();
        let empty = VersionVector::new();
        key.put(&empty, "milk", n(1)).unwrap();
        key.put(&empty, "eggs", n(1)).unwrap();
        assert_eq!(values(&key), ["milk", "eggs"]);
    }

    #[test]
    fn a_write_with_the_context_of_a_read_replaces_every_sibling_it_read() {
        let mut key = DvvSet::new();
        let empty = VersionVector::new();
        key.put(&empty, "milk", n(1)).unwrap();
        key.put(&empty, "eggs", n(1)).unwrap();
        let (_, ctx) = key.get();
        let dot = key.put(&ctx, "milk+eggs", n(2)).unwrap();
        assert_eq!(dot, Dot::new(n(2), 1));
        assert_eq!(values(&key), ["milk+eggs"]);
        assert_eq!(key.context().to_string(), "{n1:2 n2:1}");
    }

    #[test]
    fn a_write_that_read_only_one_sibling_replaces_only_that_one() {
        let mut key = DvvSet::new();
        let empty = VersionVector::new();
        key.put(&empty, "a", n(1)).unwrap();
        let (_, saw_a) = key.get();
        key.put(&empty, "b", n(1)).unwrap();
        key.put(&saw_a, "a2", n(1)).unwrap();
        assert_eq!(values(&key), ["b", "a2"]);
    }

    #[test]
    fn a_replica_that_saw_a_dot_and_dropped_it_wins_the_merge_over_one_that_kept_it() {
        let mut r1 = DvvSet::new();
        r1.put(&VersionVector::new(), "old", n(1)).unwrap();
        let mut r2 = r1.clone();
        let (_, ctx) = r2.get();
        r2.put(&ctx, "new", n(2)).unwrap();
        let mut merged = r1.clone();
        merged.merge(&r2).unwrap();
        assert_eq!(values(&merged), ["new"]);
        r2.merge(&r1).unwrap();
        assert_eq!(merged, r2);
    }

    #[test]
    fn concurrent_writes_at_two_replicas_both_survive_the_merge() {
        let mut r1 = DvvSet::new();
        let mut r2 = DvvSet::new();
        r1.put(&VersionVector::new(), "x", n(1)).unwrap();
        r2.put(&VersionVector::new(), "y", n(2)).unwrap();
        r1.merge(&r2).unwrap();
        assert_eq!(values(&r1), ["x", "y"]);
    }

    #[test]
    fn a_context_claiming_dots_the_server_never_issued_is_refused() {
        let mut key: DvvSet<&str> = DvvSet::new();
        let forged = VersionVector::from_entries([(n(1), 9)]).unwrap();
        let err = key.put(&forged, "x", n(1)).unwrap_err();
        assert_eq!(
            err,
            ClockError::ContextAheadOfNode {
                node: n(1),
                claimed: 9,
                issued: 0
            }
        );
        assert!(key.is_empty());
    }

    #[test]
    fn a_context_from_another_replica_supersedes_dots_this_one_has_not_seen_yet() {
        // The client read r2 (which holds n2:1) and writes through r1: on sync, r2's n2:1 is
        // dominated, because the new write's context held it.
        let mut r2 = DvvSet::new();
        r2.put(&VersionVector::new(), "draft", n(2)).unwrap();
        let (_, ctx) = r2.get();
        let mut r1 = DvvSet::new();
        r1.put(&ctx, "final", n(1)).unwrap();
        r1.merge(&r2).unwrap();
        assert_eq!(values(&r1), ["final"]);
    }

    #[test]
    fn the_write_past_the_sibling_bound_is_refused_and_changes_nothing() {
        let mut key = DvvSet::new();
        for k in 0..SIBLINGS_MAX {
            key.put(&VersionVector::new(), k, n(1)).unwrap();
        }
        let before = key.clone();
        let err = key.put(&VersionVector::new(), 999, n(1)).unwrap_err();
        assert!(matches!(err, ClockError::TooManyElements { .. }), "{err}");
        assert_eq!(key, before);
        let (_, ctx) = key.get();
        key.put(&ctx, 0, n(1)).unwrap();
        assert_eq!(key.len(), 1, "a write that read them all resolves them");
    }

    #[test]
    fn one_dot_with_two_values_cannot_be_merged() {
        let mut a = DvvSet::new();
        let mut b = DvvSet::new();
        a.put(&VersionVector::new(), "x", n(1)).unwrap();
        b.put(&VersionVector::new(), "y", n(1)).unwrap();
        let err = a.merge(&b).unwrap_err();
        assert!(
            matches!(err, ClockError::ConflictingContent { .. }),
            "{err}"
        );
    }
}
