//! Multi-Paxos under the simulator: seeds of faults with zero violations and real progress,
//! flexible quorums, and both broken variants found and replayed from their seeds; the KV
//! store on Multi-Paxos with every history linearizable. The soaks are `--ignored`:
//! `cargo test -p scenarios --test paxos_sim -- --ignored` (20,000 seeds each).

use paxos::Variant;
use replica::ordered::OrderedReads;
use scenarios::paxos::{first_violation, parse_variant, run_seed, run_seeds, PaxosSimOptions};
use scenarios::paxos_kv::{self, PaxosKvOptions};
use scenarios::FaultProfile;
use sim::TraceLevel;

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn paxos(faults: FaultProfile, variant: Variant) -> PaxosSimOptions {
    PaxosSimOptions {
        faults,
        variant,
        ..PaxosSimOptions::default()
    }
}

#[test]
fn paxos_cluster_survives_500_seeds_with_all_faults() {
    let summary = run_seeds(
        0..500,
        &paxos(FaultProfile::All, Variant::Correct),
        threads(),
    );
    println!("{summary}");
    assert!(summary.violations.is_empty(), "{summary}");
    assert!(summary.seeds_with_progress >= 495, "{summary}");
    assert!(
        summary.commands > 100 * 500,
        "a hundred commands a seed or more: {summary}"
    );
    assert!(
        summary.stats.crashes > 500 && summary.stats.partitions > 500,
        "{summary}"
    );
}

#[test]
fn every_fault_profile_keeps_paxos_safe_and_live() {
    for faults in FaultProfile::ALL {
        let summary = run_seeds(7_000..7_060, &paxos(faults, Variant::Correct), threads());
        assert!(summary.violations.is_empty(), "{faults}: {summary}");
        assert!(summary.seeds_with_progress >= 54, "{faults}: {summary}");
    }
}

#[test]
fn flexible_quorums_that_intersect_are_safe_and_those_that_do_not_are_refused() {
    // Flexible Paxos §3: only phase-1 and phase-2 quorums need to meet. 4 + 2 > 5 is safe and
    // chooses with two acceptors; 2 + 3 = 5 is refused before anything runs.
    let flexible = PaxosSimOptions {
        phase1_quorum: Some(4),
        phase2_quorum: Some(2),
        ..PaxosSimOptions::default()
    };
    let summary = run_seeds(0..200, &flexible, threads());
    assert!(summary.violations.is_empty(), "{summary}");
    assert!(summary.seeds_with_progress >= 190, "{summary}");
    let unsafe_sizes = PaxosSimOptions {
        phase1_quorum: Some(2),
        phase2_quorum: Some(3),
        ..PaxosSimOptions::default()
    };
    let refused = unsafe_sizes
        .validate()
        .expect_err("2 + 3 does not exceed 5");
    assert!(refused.to_string().contains("must exceed"), "{refused}");
}

#[test]
fn the_same_seed_twice_gives_a_byte_identical_trace() {
    let opts = PaxosSimOptions {
        trace: TraceLevel::Events,
        ..PaxosSimOptions::default()
    };
    let (a, b) = (run_seed(42, &opts), run_seed(42, &opts));
    let (ta, tb) = (a.report.trace.unwrap(), b.report.trace.unwrap());
    assert!(ta.lines().count() > 5_000, "a long, busy run");
    assert_eq!(ta, tb);
    assert!(ta.contains(" Prepare{") && ta.contains(" Accept{") && ta.contains(" crash\n"));
}

#[test]
fn a_leader_that_proposes_its_own_value_is_caught_and_replays_from_its_seed() {
    // Paxos Made Simple §2.2: a new leader must propose the value of the highest-numbered
    // proposal its promises report. Ignoring them overwrites a chosen value.
    let opts = paxos(
        FaultProfile::All,
        parse_variant("accept-own-value").unwrap(),
    );
    let found = first_violation(0..2_000, &opts, threads()).expect("caught within 2,000 seeds");
    let v = found.violation().expect("a violation");
    assert_eq!(v.invariant, "agreement", "{found}");
    let again = run_seed(found.seed(), &opts);
    assert_eq!(
        again.violation(),
        Some(v),
        "the seed replays the same violation"
    );
}

#[test]
fn a_phase1_quorum_that_misses_a_phase2_quorum_is_caught_and_replays_from_its_seed() {
    // Flexible Paxos §3: a phase-1 quorum that can miss every acceptor of a phase-2 quorum
    // lets a new leader overlook a chosen value.
    let opts = paxos(FaultProfile::All, Variant::SmallPhase1Quorum);
    let found = first_violation(0..2_000, &opts, threads()).expect("caught within 2,000 seeds");
    let v = found.violation().expect("a violation").clone();
    assert_eq!(run_seed(found.seed(), &opts).violation(), Some(&v));
}

#[test]
fn paxos_kv_histories_are_linearizable_with_read_rounds_and_with_reads_in_the_log() {
    for reads in [OrderedReads::Core, OrderedReads::Log] {
        let opts = PaxosKvOptions {
            reads,
            ..PaxosKvOptions::default()
        };
        let summary = paxos_kv::run_seeds(0..60, &opts, threads());
        assert!(summary.is_clean(), "{reads:?}: {summary}");
        assert!(summary.unknown_seeds.is_empty(), "{reads:?}: {summary}");
        assert_eq!(summary.seeds_with_progress, 60, "{reads:?}: {summary}");
        assert!(
            summary.coverage.snapshots > 0 && summary.coverage.installs > 0,
            "{summary}"
        );
    }
}

#[test]
fn paxos_kv_catches_a_leader_that_proposes_its_own_value() {
    let opts = PaxosKvOptions {
        variant: Variant::AcceptOwnValue,
        ..PaxosKvOptions::default()
    };
    let found = paxos_kv::first_failure(0..2_000, &opts, threads()).expect("caught");
    let again = paxos_kv::run_seed(found.seed(), &opts);
    assert_eq!(
        again.failure(),
        found.failure(),
        "replays from seed {}",
        found.seed()
    );
}

#[test]
#[ignore = "soak: 20,000 seeds of bare Paxos, about 5 minutes on 2 idle cores"]
fn soak_paxos_20000_seeds_with_all_faults() {
    let summary = run_seeds(
        0..20_000,
        &paxos(FaultProfile::All, Variant::Correct),
        threads(),
    );
    println!("{summary}");
    assert!(summary.violations.is_empty(), "{summary}");
}

#[test]
#[ignore = "soak: 20,000 seeds of paxos-kv, 10 clients, about 40 minutes on 2 cores"]
fn soak_paxos_kv_20000_seeds_with_all_faults() {
    let mut opts = PaxosKvOptions::default();
    opts.run.clients = 10;
    let summary = paxos_kv::run_seeds(0..20_000, &opts, threads());
    println!("{summary}");
    assert!(
        summary.is_clean() && summary.unknown_seeds.is_empty(),
        "{summary}"
    );
}
