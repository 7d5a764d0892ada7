//! LWW-Register: one value, the write with the largest timestamp wins.
//!
//! Shapiro et al. 2011 §3.2.1, Specification 8. Each write carries a stamp, the merge keeps
//! the larger. Stamps here are hybrid logical times (`hlc.rs`) with the writer's node id as
//! the tiebreak: totally ordered, unique per write (an HLC never repeats on one node), and
//! close to real time, so "last" roughly means last on the wall clock.
//!
//! ```text
//!   n1 writes "a" at (100,0)@n1 ──┐
//!   n2 writes "b" at (100,0)@n2 ──┴─ merge ──► "b"   (same HLC: node id breaks the tie)
//!   n1 writes "c" at (99,5)@n1  ───── merge ──► "b"   "c" is silently dropped
//! ```
//!
//! **The cost: lost updates.** Two concurrent writes do not conflict, one of them vanishes,
//! and nobody is told: not the writer (its own replica showed its value until the merge), not
//! the reader. "Last" is only as good as the clocks: with an HLC and a drift bound ε, a write
//! made up to ε *later* in real time on a node whose clock runs slow still loses. Use it where
//! one value is as good as another (a profile photo, a heartbeat, a cache entry); use
//! [`MvRegister`](crate::MvRegister) where every concurrent write must reach a human or a
//! merge function. Cassandra resolves every cell this way.
//!
//! Invariants: the stamp never decreases through `write` or `merge`; two different values
//! under one stamp are refused (a node reused an HLC timestamp: clock state was lost).

use std::fmt;

use distributed_core::NodeId;

use crate::crdt::Crdt;
use crate::error::ClockError;
use crate::hlc::HlcTimestamp;

/// The stamp a write carries. Ordered by `time`, then `node` (derived: field order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LwwStamp {
    /// The writer's HLC timestamp for the write.
    pub time: HlcTimestamp,
    /// The writer: breaks ties between equal times, so every replica picks the same winner.
    pub node: NodeId,
}

impl fmt::Display for LwwStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({})@{}", self.time, self.node)
    }
}

/// A last-writer-wins register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LwwRegister<V> {
    /// The winning write so far, with its stamp; `None` before any write.
    current: Option<(LwwStamp, V)>,
}

impl<V> Default for LwwRegister<V> {
    fn default() -> Self {
        LwwRegister { current: None }
    }
}

impl<V: Clone + PartialEq> LwwRegister<V> {
    /// A register never written.
    pub fn new() -> Self {
        LwwRegister::default()
    }

    /// Writes `value` stamped `time` by `node`. Returns whether it won: `false` means a write
    /// with a larger stamp was already here and this one is dropped (the lost update).
    pub fn write(
        &mut self,
        value: V,
        time: HlcTimestamp,
        node: NodeId,
    ) -> Result<bool, ClockError> {
        self.offer(LwwStamp { time, node }, value)
    }

    /// The current value, if any write arrived.
    pub fn get(&self) -> Option<&V> {
        self.current.as_ref().map(|(_, v)| v)
    }

    /// The winning write's stamp.
    pub fn stamp(&self) -> Option<LwwStamp> {
        self.current.as_ref().map(|&(s, _)| s)
    }

    fn offer(&mut self, stamp: LwwStamp, value: V) -> Result<bool, ClockError> {
        match &self.current {
            Some((mine, v)) if *mine == stamp && *v != value => {
                Err(ClockError::ConflictingContent {
                    what: "LWW write",
                    id: stamp.to_string(),
                })
            }
            Some((mine, _)) if *mine >= stamp => Ok(false),
            _ => {
                self.current = Some((stamp, value));
                Ok(true)
            }
        }
    }
}

impl<V: Clone + PartialEq> Crdt for LwwRegister<V> {
    type Value = Option<V>;

    fn merge(&mut self, other: &Self) -> Result<(), ClockError> {
        if let Some((stamp, value)) = &other.current {
            self.offer(*stamp, value.clone())?;
        }
        Ok(())
    }

    fn value(&self) -> Option<V> {
        self.get().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;

    fn at(wall: u64, logical: u32) -> HlcTimestamp {
        HlcTimestamp::new(wall, logical)
    }

    #[test]
    fn the_larger_stamp_wins_in_either_merge_order() {
        // Shapiro et al. 2011 §3.2.1: merge keeps the larger timestamp.
        let mut a = LwwRegister::new();
        let mut b = LwwRegister::new();
        a.write("a", at(100, 0), NodeId(1)).unwrap();
        b.write("b", at(101, 0), NodeId(2)).unwrap();
        let mut ab = a.clone();
        ab.merge(&b).unwrap();
        b.merge(&a).unwrap();
        assert_eq!(ab, b);
        assert_eq!(ab.get(), Some(&"b"));
    }

    #[test]
    fn equal_hlc_times_are_broken_by_node_id() {
        let mut r = LwwRegister::new();
        r.write("from n2", at(100, 0), NodeId(2)).unwrap();
        assert!(!r.write("from n1", at(100, 0), NodeId(1)).unwrap());
        assert_eq!(r.get(), Some(&"from n2"));
    }

    #[test]
    fn a_concurrent_write_with_a_smaller_stamp_is_silently_lost() {
        // The lost update: n1's clock is behind, its later write loses and no replica keeps it.
        let mut slow = Hlc::new(50);
        let mut fast = Hlc::new(50);
        let mut r = LwwRegister::new();
        r.write("fast", fast.now(130).unwrap(), NodeId(2)).unwrap();
        let later_in_real_time = slow.now(100).unwrap();
        let mut other = LwwRegister::new();
        other.write("slow", later_in_real_time, NodeId(1)).unwrap();
        r.merge(&other).unwrap();
        assert_eq!(r.value(), Some("fast"));
    }

    #[test]
    fn two_values_under_one_stamp_are_refused() {
        let mut r = LwwRegister::new();
        r.write("x", at(5, 0), NodeId(1)).unwrap();
        let err = r.write("y", at(5, 0), NodeId(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "LWW write (5,0)@n1 arrived with two different contents"
        );
        assert!(
            !r.write("x", at(5, 0), NodeId(1)).unwrap(),
            "the same write again is a no-op"
        );
    }
}
