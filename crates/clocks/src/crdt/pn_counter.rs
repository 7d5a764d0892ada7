//! PN-Counter: a counter that goes up and down, as two G-Counters.
//!
//! Shapiro et al. 2011 §3.1.3, Specification 7. Decrementing a G-Counter's entry would make
//! `max` lose the decrement, so a PN-Counter keeps increments `P` and decrements `N` as two
//! grow-only counters; value = `Σ P − Σ N`.
//!
//! ```text
//!   n1: +5 ──► P{n1:5} N{}        ──┐
//!   n2: −2 ──► P{}     N{n2:2}    ──┴─ merge ──► P{n1:5} N{n2:2}   value 3
//! ```
//!
//! It cannot enforce a floor (stock never below 0) without coordination: two replicas may
//! each sell the last item. That needs escrow or bounded counters (Balegas et al. 2015), the
//! road not taken here. The value is an `i128`: two sums of `u64` entries always fit.
//!
//! Invariants: those of its two G-Counters; the deltas of both halves travel together.

use std::fmt;

use distributed_core::NodeId;

use crate::crdt::g_counter::GCounter;
use crate::crdt::{Crdt, DeltaCrdt};
use crate::error::ClockError;
use crate::vector::write_entries;
use crate::version_vector::VersionVector;

/// An up-down counter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PnCounter {
    /// The increments, per node.
    p: GCounter,
    /// The decrements, per node.
    n: GCounter,
}

/// How far a PN-Counter replica has got: the versions of its two halves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PnVersion {
    /// The increments' version.
    pub increments: VersionVector,
    /// The decrements' version.
    pub decrements: VersionVector,
}

impl PnCounter {
    /// A counter at 0.
    pub fn new() -> Self {
        PnCounter::default()
    }

    /// Adds `by` at `node`; returns the delta.
    pub fn increment(&mut self, node: NodeId, by: u64) -> Result<PnCounter, ClockError> {
        let p = self.p.increment(node, by)?;
        Ok(PnCounter {
            p,
            n: GCounter::new(),
        })
    }

    /// Subtracts `by` at `node`; returns the delta.
    pub fn decrement(&mut self, node: NodeId, by: u64) -> Result<PnCounter, ClockError> {
        let n = self.n.increment(node, by)?;
        Ok(PnCounter {
            p: GCounter::new(),
            n,
        })
    }

    /// Increments minus decrements.
    pub fn value(&self) -> i128 {
        // Each sum is below 2^74 (NODES_MAX entries below 2^64), so both casts are exact.
        self.p.value() as i128 - self.n.value() as i128
    }

    /// How far each half has got.
    pub fn version(&self) -> PnVersion {
        PnVersion {
            increments: self.p.version(),
            decrements: self.n.version(),
        }
    }

    /// The entries of either half above `version`.
    pub fn delta_since(&self, version: &PnVersion) -> PnCounter {
        PnCounter {
            p: self.p.delta_since(&version.increments),
            n: self.n.delta_since(&version.decrements),
        }
    }
}

impl Crdt for PnCounter {
    type Value = i128;

    /// Both halves or neither: the decrements are checked on a copy first.
    fn merge(&mut self, other: &Self) -> Result<(), ClockError> {
        let mut n = self.n.clone();
        n.merge(&other.n)?;
        self.p.merge(&other.p)?;
        self.n = n;
        Ok(())
    }

    fn value(&self) -> i128 {
        PnCounter::value(self)
    }
}

impl DeltaCrdt for PnCounter {}

impl fmt::Display for PnCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PnCounter{{value={} p=", self.value())?;
        write_entries(f, self.p.counts().iter())?;
        f.write_str(" n=")?;
        write_entries(f, self.n.counts().iter())?;
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: u64) -> NodeId {
        NodeId(id)
    }

    #[test]
    fn increments_and_decrements_at_different_nodes_both_count() {
        // Shapiro et al. 2011 §3.1.3: value = ΣP − ΣN.
        let mut a = PnCounter::new();
        let mut b = PnCounter::new();
        a.increment(n(1), 5).unwrap();
        b.decrement(n(2), 2).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.value(), 3);
        assert_eq!(a.to_string(), "PnCounter{value=3 p={n1:5} n={n2:2}}");
    }

    #[test]
    fn a_counter_can_go_below_zero_because_no_replica_can_stop_another() {
        let mut a = PnCounter::new();
        let mut b = PnCounter::new();
        a.increment(n(1), 1).unwrap();
        b.merge(&a).unwrap();
        a.decrement(n(1), 1).unwrap();
        b.decrement(n(2), 1).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.value(), -1, "both sold the last item");
    }

    #[test]
    fn a_delta_since_a_version_catches_a_peer_up_on_both_halves() {
        let mut a = PnCounter::new();
        a.increment(n(1), 3).unwrap();
        let peer = a.clone();
        a.decrement(n(1), 1).unwrap();
        a.increment(n(2), 2).unwrap();
        let delta = a.delta_since(&peer.version());
        assert_eq!(delta.to_string(), "PnCounter{value=1 p={n2:2} n={n1:1}}");
        let mut caught_up = peer;
        caught_up.merge_delta(&delta).unwrap();
        assert_eq!(caught_up, a);
    }
}
