//! CRDTs: replicated types whose replicas converge by merging, with no coordination.
//!
//! Shapiro, Preguiça, Baquero & Zawirski, "A comprehensive study of Convergent and Commutative
//! Replicated Data Types" (INRIA RR-7506, 2011), §2: a **state-based** CRDT's states form a
//! join-semilattice, every update moves a state up, and `merge` is the least upper bound (so it
//! is commutative, associative and idempotent). Then replicas that have received the same
//! updates, in any order, any number of times, hold the same state: *strong eventual
//! consistency*. Almeida, Shoker & Baquero, "Delta State Replicated Data Types" (JPDC 2018):
//! an update can return a **delta**, a small state of the same lattice holding only what it
//! changed (Definition 1, δ-mutator); shipping deltas instead of states and merging them with
//! the same join gives the same result.
//!
//! ```text
//!   replica a: s ──update──► s ⊔ δ ──────────────► merge(b's state or deltas) ──┐
//!                                 \  ship δ (lossy, reordered, duplicated)      ├─► equal
//!   replica b: s ──update──► s ⊔ δ' ───────────────► merge(a's state or deltas) ─┘
//! ```
//!
//! | type                | file            | use it for                               | metadata that grows        |
//! |---------------------|-----------------|------------------------------------------|----------------------------|
//! | [`GCounter`]        | g_counter.rs    | counts that only go up (views, likes)    | one entry per node         |
//! | [`PnCounter`]       | pn_counter.rs   | counts that go up and down (stock)       | two entries per node       |
//! | [`LwwRegister`]     | lww.rs          | a value where losing a concurrent write is fine | none (one stamp)    |
//! | [`MvRegister`]      | mv_register.rs  | a value where no concurrent write may be lost | one vector entry per server |
//! | [`OrSet`]           | or_set.rs       | sets with add and remove (carts, members) | one dot per live add + context |
//! | [`Rga`]             | rga.rs          | sequences (text, lists)                  | one tombstone per delete   |
//!
//! Invariants shared by all: `merge` is a join (checked by the property tests: commutative,
//! associative, idempotent, and replicas receiving the same updates converge); a refused merge
//! (a bound, or two states that disagree on one identifier) changes nothing.
//!
//! [`GCounter`]: crate::GCounter
//! [`PnCounter`]: crate::PnCounter
//! [`LwwRegister`]: crate::LwwRegister
//! [`MvRegister`]: crate::MvRegister
//! [`OrSet`]: crate::OrSet
//! [`Rga`]: crate::Rga

pub(crate) mod delta;
pub(crate) mod g_counter;
pub(crate) mod lww;
pub(crate) mod mv_register;
pub(crate) mod or_set;
pub(crate) mod pn_counter;
pub(crate) mod rga;

use crate::dvv::DvvSet;
use crate::error::ClockError;

/// A state-based CRDT: what a replicated store needs to hold any of them.
///
/// `Default` is the bottom of the lattice, the state before any update. `merge` is fallible
/// only for bounds and corrupt input; it is the road not taken to make it infallible by
/// silently dropping what does not fit, because then two replicas could stop converging
/// without anyone hearing of it.
pub trait Crdt: Clone + Default {
    /// What a reader sees (the counter's number, the set's elements, …).
    type Value;

    /// The least upper bound of `self` and `other`, into `self`. Refused whole on error.
    fn merge(&mut self, other: &Self) -> Result<(), ClockError>;

    /// The current value.
    fn value(&self) -> Self::Value;
}

/// A CRDT whose updates return deltas: states of the same type, merged by the same join
/// (Almeida et al. 2018, Definitions 1–3). A store ships the deltas (or a join of several, a
/// delta-group: see [`DeltaBuffer`](crate::DeltaBuffer)) instead of the whole state.
pub trait DeltaCrdt: Crdt {
    /// Applies a delta (or delta-group) received from a peer. It is a `merge`, named for what
    /// it carries: a delta is a state, which is the point of delta-state CRDTs.
    fn merge_delta(&mut self, delta: &Self) -> Result<(), ClockError> {
        self.merge(delta)
    }
}

impl<V: Clone + PartialEq> Crdt for DvvSet<V> {
    type Value = Vec<V>;

    fn merge(&mut self, other: &Self) -> Result<(), ClockError> {
        DvvSet::merge(self, other)
    }

    fn value(&self) -> Vec<V> {
        self.get().0.into_iter().cloned().collect()
    }
}
