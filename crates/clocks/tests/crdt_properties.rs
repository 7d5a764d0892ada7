//! Property tests of every CRDT, in the default `cargo test` (128 cases each). The soak
//! (`tests/soak.rs`, `--ignored`) runs the same checks with 20,000 cases.
//!
//! ```text
//!   per type: a script of updates at 3 replicas with random syncs (tests/common)
//!     join laws on the final replicas ──── commutative, associative, idempotent
//!     states, shuffled and duplicated ──── two receivers converge: same state, same value
//!     deltas, shuffled and duplicated ──── the full merge (counters, OR-Set)
//!   plus: delta_since(peer's version) = full merge (counters); one replica alone behaves as
//!   its sequential type (OR-Set as a set, RGA as a Vec, counters as a sum)
//! ```

#[allow(dead_code)]
mod common;

use std::collections::BTreeSet;

use clocks::{Crdt, DvvSet, GCounter, LwwRegister, MvRegister, OrSet, PnCounter, Rga};
use common::{check_crdt, join_all, run, steps, Step};
use distributed_core::NodeId;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn g_counters_join_and_converge(s in steps(40), seed in any::<u64>()) {
        // Shapiro et al. 2011 §3.1.2 (Specification 6).
        check_crdt::<GCounter>(&s, seed)?;
    }

    #[test]
    fn pn_counters_join_and_converge(s in steps(40), seed in any::<u64>()) {
        // Shapiro et al. 2011 §3.1.3 (Specification 7).
        check_crdt::<PnCounter>(&s, seed)?;
    }

    #[test]
    fn lww_registers_join_and_converge(s in steps(40), seed in any::<u64>()) {
        // Shapiro et al. 2011 §3.2.1 (Specification 8).
        check_crdt::<LwwRegister<u8>>(&s, seed)?;
    }

    #[test]
    fn mv_registers_join_and_converge(s in steps(40), seed in any::<u64>()) {
        // Shapiro et al. 2011 §3.2.2 (Specification 10).
        check_crdt::<MvRegister<u8>>(&s, seed)?;
    }

    #[test]
    fn dvv_sets_join_and_converge(s in steps(40), seed in any::<u64>()) {
        check_crdt::<DvvSet<u8>>(&s, seed)?;
    }

    #[test]
    fn or_sets_join_and_converge(s in steps(40), seed in any::<u64>()) {
        // Shapiro et al. 2011 §3.3.5; Almeida et al. 2018 (deltas).
        check_crdt::<OrSet<u8>>(&s, seed)?;
    }

    #[test]
    fn rgas_join_and_converge_to_one_visible_sequence(s in steps(40), seed in any::<u64>()) {
        // Roh et al. 2011. check_crdt compares the visible sequences (value()) too.
        check_crdt::<Rga<u8>>(&s, seed)?;
    }

    #[test]
    fn a_counter_delta_since_a_peers_version_equals_the_full_merge(s in steps(40)) {
        let g = run::<GCounter>(&s);
        let (ahead, peer) = (&g.finals[0], &g.finals[1]);
        let mut by_delta = peer.clone();
        by_delta.merge(&ahead.delta_since(&peer.version())).unwrap();
        let mut by_state = peer.clone();
        by_state.merge(ahead).unwrap();
        prop_assert_eq!(by_delta, by_state);

        let p = run::<PnCounter>(&s);
        let (ahead, peer) = (&p.finals[2], &p.finals[0]);
        let mut by_delta = peer.clone();
        by_delta.merge(&ahead.delta_since(&peer.version())).unwrap();
        let mut by_state = peer.clone();
        by_state.merge(ahead).unwrap();
        prop_assert_eq!(by_delta, by_state);
    }

    #[test]
    fn converged_counters_count_every_update_exactly_once(s in steps(40)) {
        let amount = |st: &Step| i128::from(st.element) + 1;
        let total: i128 = s.iter().map(amount).sum();
        let net: i128 = s.iter().map(|st| if st.kind % 2 == 0 { amount(st) } else { -amount(st) }).sum();
        prop_assert_eq!(join_all(&run::<GCounter>(&s).finals).value() as i128, total);
        prop_assert_eq!(join_all(&run::<PnCounter>(&s).finals).value(), net);
    }

    #[test]
    fn an_or_set_on_one_replica_behaves_as_a_set(ops in prop::collection::vec((any::<bool>(), 0..6u8), 0..40)) {
        let mut set = OrSet::new();
        let mut model = BTreeSet::new();
        for (add, e) in ops {
            if add {
                set.add(e, NodeId(1)).unwrap();
                model.insert(e);
            } else {
                set.remove(&e).unwrap();
                model.remove(&e);
            }
        }
        prop_assert_eq!(set.value(), model);
    }

    #[test]
    fn an_rga_on_one_replica_behaves_as_a_vec(ops in prop::collection::vec((0..3u8, any::<u8>(), any::<u8>()), 0..40)) {
        let mut rga = Rga::new();
        let mut model = Vec::new();
        for (kind, index, value) in ops {
            let index = usize::from(index);
            if kind == 0 && !model.is_empty() {
                rga.delete_at(index % model.len()).unwrap();
                model.remove(index % model.len());
            } else {
                rga.insert_at(index % (model.len() + 1), value, NodeId(1)).unwrap();
                model.insert(index % (model.len() + 1), value);
            }
        }
        prop_assert_eq!(rga.value(), model);
    }
}
