//! Property tests of the clocks, in the default `cargo test` (128–256 cases each, well under
//! a second in all). The soak (`tests/soak.rs`, `--ignored`) runs the same checks longer.
//!
//! ```text
//!   vector clocks on arbitrary vectors ── compare antisymmetric, Equal ⇔ ==, concurrency
//!                                         symmetric, merge an upper bound and the least one
//!   executions with known happened-before ── vector order ⇔ →; Lamport and HLC respect →;
//!                                         HLC monotone, pt ≤ l ≤ pt + max_offset, refusals exact
//!   causal contexts from dot sets ──────── membership is exactly the set, in any order
//!   DVV store against a causal model ──── siblings are exactly the maximal writes heard of
//! ```

#[allow(dead_code)]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use clocks::{CausalContext, Causality, Dot, VectorClock};
use common::causality::{check_clocks, check_dvv, executions, store_ops};
use distributed_core::NodeId;
use proptest::prelude::*;

/// A vector clock with the given entries (each reached by that many increments).
fn vector(entries: &BTreeMap<u64, u64>) -> VectorClock {
    let mut v = VectorClock::new();
    for (&node, &count) in entries {
        for _ in 0..count {
            v.increment(NodeId(node)).unwrap();
        }
    }
    v
}

fn vectors() -> impl Strategy<Value = BTreeMap<u64, u64>> {
    prop::collection::btree_map(0..4u64, 0..4u64, 0..4)
}

fn merged(a: &VectorClock, b: &VectorClock) -> VectorClock {
    let mut m = a.clone();
    m.merge(b).unwrap();
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn vector_compare_is_antisymmetric_and_equal_only_for_equal_vectors(
        a in vectors(), b in vectors()
    ) {
        let (a, b) = (vector(&a), vector(&b));
        prop_assert_eq!(a.compare(&b), b.compare(&a).mirror());
        prop_assert_eq!(a.compare(&b) == Causality::Equal, a == b);
        prop_assert_eq!(a.is_concurrent_with(&b), b.is_concurrent_with(&a));
    }

    #[test]
    fn vector_merge_is_the_least_upper_bound(a in vectors(), b in vectors(), c in vectors()) {
        // Mattern 1989: the pointwise maximum is the supremum of the two vectors.
        let (a, b, c) = (vector(&a), vector(&b), vector(&c));
        let m = merged(&a, &b);
        for x in [&a, &b] {
            prop_assert!(matches!(x.compare(&m), Causality::Before | Causality::Equal));
            for (node, count) in x.iter() {
                prop_assert!(m.get(node) >= count, "an entry never decreases through merge");
            }
        }
        let upper = merged(&m, &c);
        prop_assert!(matches!(m.compare(&upper), Causality::Before | Causality::Equal));
        prop_assert_eq!(merged(&a, &b), merged(&b, &a));
    }

    #[test]
    fn a_causal_context_holds_exactly_its_dots_in_whatever_order_they_came(
        dots in prop::collection::btree_set((1..4u64, 1..8u64), 0..12),
        extra in prop::collection::btree_set((1..4u64, 1..8u64), 0..12),
    ) {
        let as_dots = |s: &BTreeSet<(u64, u64)>| -> Vec<Dot> {
            s.iter().map(|&(n, c)| Dot::new(NodeId(n), c)).collect()
        };
        let cc = CausalContext::from_dots(as_dots(&dots)).unwrap();
        let mut reversed = CausalContext::new();
        for d in as_dots(&dots).into_iter().rev() {
            reversed.insert(d).unwrap();
        }
        prop_assert_eq!(&cc, &reversed);
        let mut union = cc.clone();
        union.merge(&CausalContext::from_dots(as_dots(&extra)).unwrap()).unwrap();
        for n in 1..4u64 {
            for c in 1..9u64 {
                let d = Dot::new(NodeId(n), c);
                prop_assert_eq!(cc.contains(d), dots.contains(&(n, c)));
                prop_assert_eq!(union.contains(d), dots.contains(&(n, c)) || extra.contains(&(n, c)));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_clock_agrees_with_happened_before_and_the_hlc_stays_within_its_drift_bound(
        (events, skew) in executions(40)
    ) {
        // Lamport 1978 (the Clock Condition); Fidge 1988 / Mattern 1989 (V(a) < V(b) ⇔ a → b);
        // Kulkarni et al. 2014 Fig. 5 and §3 (pt ≤ l ≤ pt + ε, the upper bound enforced by refusal).
        check_clocks(&events, skew)?;
    }

    #[test]
    fn a_dvv_store_keeps_exactly_the_writes_no_other_write_it_knows_superseded(
        ops in store_ops(40)
    ) {
        check_dvv(&ops)?;
    }
}
