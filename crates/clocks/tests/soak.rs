//! The soak: the heaviest properties of `crdt_properties.rs` and `clock_properties.rs` (every
//! CRDT's join laws and convergence, every clock against happened-before, the DVV store against
//! its causal model) on one generated case of up to 60 steps, 60 events and 60 store
//! operations, 20,000 cases. Ignored by
//! default: the default run's properties take a tenth of a second, this takes about 15 s on one
//! core (13.4 s measured on the shared 2-core machine). Run it with
//!
//! ```text
//!   cargo test -p clocks -- --ignored
//! ```
//!
//! and set `PROPTEST_CASES` to change the count.

#[allow(dead_code)]
mod common;

use clocks::{DvvSet, GCounter, LwwRegister, MvRegister, OrSet, PnCounter, Rga};
use common::causality::{check_clocks, check_dvv, executions, store_ops};
use common::{check_crdt, steps};
use proptest::prelude::*;

/// Cases unless `PROPTEST_CASES` says otherwise.
const SOAK_CASES: u32 = 20_000;

fn soak_config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(SOAK_CASES);
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(soak_config())]

    #[test]
    #[ignore = "soak: cargo test -p clocks -- --ignored"]
    fn soak_every_crdt_converges_and_every_clock_keeps_happened_before(
        s in steps(60),
        seed in any::<u64>(),
        (events, skew) in executions(60),
        ops in store_ops(60),
    ) {
        check_crdt::<GCounter>(&s, seed)?;
        check_crdt::<PnCounter>(&s, seed)?;
        check_crdt::<LwwRegister<u8>>(&s, seed)?;
        check_crdt::<MvRegister<u8>>(&s, seed)?;
        check_crdt::<DvvSet<u8>>(&s, seed)?;
        check_crdt::<OrSet<u8>>(&s, seed)?;
        check_crdt::<Rga<u8>>(&s, seed)?;
        check_clocks(&events, skew)?;
        check_dvv(&ops)?;
    }
}
