//! Shared by the property tests and the soak: scripts of updates at three replicas, and the
//! CRDT laws checked on what they produce (Shapiro et al. 2011 §2: a join is commutative,
//! associative and idempotent, and replicas that received the same updates converge).
//!
//! ```text
//!   script: [step r=1 sync_from=0 …] ──► three replicas apply updates, syncing now and then
//!     every full state after a step ──► two receivers, shuffled and duplicated ──► equal
//!     every delta an update returned ──► a third receiver, shuffled and duplicated ──► equal
//!     all equal the join of the three replicas' final states
//! ```

pub mod causality;

use std::fmt::Debug;

use clocks::{
    ClockError, Crdt, DvvSet, GCounter, Hlc, LwwRegister, MvRegister, OrSet, PnCounter, Rga,
    VersionVector,
};
use distributed_core::{NodeId, Rng, SeededRng};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Replicas in every script.
pub const REPLICAS: usize = 3;

/// One update at one replica, after an optional sync from another.
#[derive(Clone, Debug)]
pub struct Step {
    /// Where the update happens.
    pub replica: usize,
    /// Which update (add or remove, insert or delete, …), read per type.
    pub kind: u8,
    /// The element, value or amount.
    pub element: u8,
    /// A position, for sequences.
    pub index: u8,
    /// A replica whose state is merged in first, if any.
    pub sync_from: Option<usize>,
    /// Physical time that passes at the replica before the update (for HLC stamps).
    pub elapsed: u8,
}

/// Scripts of up to `len_max` steps.
pub fn steps(len_max: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = (
        0..REPLICAS,
        any::<u8>(),
        0..6u8,
        any::<u8>(),
        prop::option::weighted(0.3, 0..REPLICAS),
        0..3u8,
    )
        .prop_map(|(replica, kind, element, index, sync_from, elapsed)| Step {
            replica,
            kind,
            element,
            index,
            sync_from,
            elapsed,
        });
    prop::collection::vec(step, 0..len_max)
}

/// A CRDT under test: how a step updates it, and whether the update returns a delta.
pub trait Subject: Crdt<Value: PartialEq + Debug> + PartialEq + Debug {
    /// Applies `step` at `node`; returns the delta for delta-state types.
    fn apply(
        &mut self,
        node: NodeId,
        step: &Step,
        hlc: &mut Hlc,
        physical: u64,
    ) -> Result<Option<Self>, ClockError>;
}

impl Subject for GCounter {
    fn apply(
        &mut self,
        node: NodeId,
        s: &Step,
        _: &mut Hlc,
        _: u64,
    ) -> Result<Option<Self>, ClockError> {
        self.increment(node, u64::from(s.element) + 1).map(Some)
    }
}

impl Subject for PnCounter {
    fn apply(
        &mut self,
        node: NodeId,
        s: &Step,
        _: &mut Hlc,
        _: u64,
    ) -> Result<Option<Self>, ClockError> {
        let by = u64::from(s.element) + 1;
        match s.kind % 2 {
            0 => self.increment(node, by).map(Some),
            _ => self.decrement(node, by).map(Some),
        }
    }
}

impl Subject for OrSet<u8> {
    fn apply(
        &mut self,
        node: NodeId,
        s: &Step,
        _: &mut Hlc,
        _: u64,
    ) -> Result<Option<Self>, ClockError> {
        match s.kind % 3 {
            0 => self.remove(&s.element).map(Some),
            _ => self.add(s.element, node).map(Some),
        }
    }
}

impl Subject for LwwRegister<u8> {
    fn apply(
        &mut self,
        node: NodeId,
        s: &Step,
        hlc: &mut Hlc,
        physical: u64,
    ) -> Result<Option<Self>, ClockError> {
        let time = hlc.now(physical)?;
        self.write(s.element, time, node)?;
        Ok(None)
    }
}

impl Subject for MvRegister<u8> {
    fn apply(
        &mut self,
        node: NodeId,
        s: &Step,
        _: &mut Hlc,
        _: u64,
    ) -> Result<Option<Self>, ClockError> {
        self.write(s.element, node)?;
        Ok(None)
    }
}

impl Subject for DvvSet<u8> {
    /// Half the writes are blind (empty context), so siblings pile up and get resolved.
    fn apply(
        &mut self,
        node: NodeId,
        s: &Step,
        _: &mut Hlc,
        _: u64,
    ) -> Result<Option<Self>, ClockError> {
        let context = match s.kind % 2 {
            0 => VersionVector::new(),
            _ => self.context().clone(),
        };
        self.put(&context, s.element, node)?;
        Ok(None)
    }
}

impl Subject for Rga<u8> {
    fn apply(
        &mut self,
        node: NodeId,
        s: &Step,
        _: &mut Hlc,
        _: u64,
    ) -> Result<Option<Self>, ClockError> {
        let index = usize::from(s.index);
        if s.kind.is_multiple_of(3) && !self.is_empty() {
            self.delete_at(index % self.len())?;
        } else {
            self.insert_at(index % (self.len() + 1), s.element, node)?;
        }
        Ok(None)
    }
}

/// What a script produced.
pub struct Run<C> {
    /// The full state of the updated replica after every step.
    pub states: Vec<C>,
    /// The delta of every update (empty for types without deltas).
    pub deltas: Vec<C>,
    /// Each replica's state at the end.
    pub finals: Vec<C>,
}

/// Plays `steps` on three replicas.
pub fn run<C: Subject>(steps: &[Step]) -> Run<C> {
    let mut replicas: Vec<C> = vec![C::default(); REPLICAS];
    let mut hlcs = vec![Hlc::new(1_000); REPLICAS];
    let mut physical = [0u64; REPLICAS];
    let (mut states, mut deltas) = (Vec::new(), Vec::new());
    for s in steps {
        let r = s.replica;
        if let Some(from) = s.sync_from.filter(|&f| f != r) {
            let other = replicas[from].clone();
            replicas[r]
                .merge(&other)
                .expect("small scripts stay within bounds");
        }
        physical[r] += u64::from(s.elapsed);
        let node = NodeId(r as u64 + 1);
        let delta = replicas[r]
            .apply(node, s, &mut hlcs[r], physical[r])
            .expect("small scripts stay within bounds");
        states.push(replicas[r].clone());
        deltas.extend(delta);
    }
    Run {
        states,
        deltas,
        finals: replicas,
    }
}

/// The join of `states`.
pub fn join_all<C: Crdt>(states: &[C]) -> C {
    let mut out = C::default();
    for s in states {
        out.merge(s).expect("small scripts stay within bounds");
    }
    out
}

/// A fresh replica that receives `updates` in a seeded order, about a third of them twice.
pub fn deliver<C: Crdt>(updates: &[C], seed: u64) -> C {
    let mut rng = SeededRng::new(seed);
    let mut order: Vec<usize> = (0..updates.len()).collect();
    order.extend((0..updates.len()).filter(|_| rng.chance(330_000)));
    for k in (1..order.len()).rev() {
        let j = rng.range(0, k as u64 + 1) as usize;
        order.swap(k, j);
    }
    let mut out = C::default();
    for k in order {
        out.merge(&updates[k])
            .expect("small scripts stay within bounds");
    }
    out
}

/// `merge` is commutative, associative and idempotent on `a`, `b`, `c`.
pub fn check_join_laws<C: Subject>(a: &C, b: &C, c: &C) -> Result<(), TestCaseError> {
    let join = |x: &C, y: &C| {
        let mut z = x.clone();
        z.merge(y).expect("small scripts stay within bounds");
        z
    };
    prop_assert_eq!(join(a, b), join(b, a), "commutative");
    prop_assert_eq!(join(&join(a, b), c), join(a, &join(b, c)), "associative");
    prop_assert_eq!(&join(a, a), a, "idempotent");
    Ok(())
}

/// Replicas that receive the same states (or the same deltas), in any order, with
/// duplicates, converge to one state and one value: the join of everything.
pub fn check_convergence<C: Subject>(run: &Run<C>, seed: u64) -> Result<(), TestCaseError> {
    let expected = join_all(&run.finals);
    let first = deliver(&run.states, seed);
    let second = deliver(&run.states, seed.wrapping_add(0x9E37_79B9_7F4A_7C15));
    prop_assert_eq!(first.value(), second.value(), "same value");
    prop_assert_eq!(&first, &second, "same state");
    prop_assert_eq!(&first, &expected, "the join of all updates");
    if !run.deltas.is_empty() {
        let from_deltas = deliver(&run.deltas, seed ^ 1);
        prop_assert_eq!(&from_deltas, &expected, "deltas alone give the full merge");
    }
    Ok(())
}

/// Every law on one script for one type: the three final replicas for the join laws, plus
/// convergence.
pub fn check_crdt<C: Subject>(steps: &[Step], seed: u64) -> Result<(), TestCaseError> {
    let run = run::<C>(steps);
    let [a, b, c] = [&run.finals[0], &run.finals[1], &run.finals[2]];
    check_join_laws(a, b, c)?;
    check_convergence(&run, seed)
}
