//! The PBFT core alone under the simulator (`scenarios::pbft`), with Byzantine replicas: every
//! named strategy on f replicas under every other fault leaves the honest replicas agreeing,
//! executing only what clients sent, and executing what a client accepted; f+1 liars and f+1
//! Twins are caught (so the checks are not vacuous); both broken variants are caught and
//! replay from their seeds. The soak is `--ignored`:
//! `cargo test --release -p scenarios --test pbft_core_sim -- --ignored`.

use scenarios::pbft::{first_failure, run_seed, run_seeds, PbftSimOptions, Strategy};
use scenarios::FaultProfile;
use sim::TraceLevel;

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn options(nodes: usize, faults: FaultProfile, byzantine: Option<usize>) -> PbftSimOptions {
    PbftSimOptions {
        nodes,
        faults,
        byzantine,
        ..PbftSimOptions::default()
    }
}

#[test]
fn every_strategy_on_f_replicas_under_every_fault_breaks_no_check() {
    // OSDI §4.5.1: with at most f faulty replicas, honest replicas agree on the order of
    // requests, and a client that waits for f+1 matching replies gets the honest result.
    for strategy in Strategy::ALL {
        let opts = PbftSimOptions {
            strategy: Some(strategy),
            ..options(4, FaultProfile::All, Some(1))
        };
        let summary = run_seeds(0..5, &opts, threads());
        assert!(summary.violations.is_empty(), "{strategy}: {summary}");
        assert_eq!(summary.seeds_with_progress, 5, "{strategy}: {summary}");
        assert!(
            summary.completed * 10 >= summary.requests * 9,
            "{strategy}: most requests complete: {summary}"
        );
    }
}

#[test]
fn seven_replicas_survive_two_byzantine_ones_and_every_other_fault() {
    let summary = run_seeds(0..2, &options(7, FaultProfile::All, Some(2)), threads());
    assert!(summary.violations.is_empty(), "{summary}");
    assert_eq!(summary.seeds_with_progress, 2, "{summary}");
}

#[test]
fn f_plus_1_liars_fool_a_client_and_the_client_check_sees_it() {
    // §4.1: a client trusts f+1 matching replies because at most f can lie. Two replayers of
    // four lie alike (each names the seq after the true one): a client accepts the lie.
    let opts = PbftSimOptions {
        strategy: Some(Strategy::Replay),
        ..options(4, FaultProfile::Byzantine, Some(2))
    };
    let found = first_failure(0..20, &opts, threads()).expect("f+1 liars fool a client");
    let v = found.violation().expect("a violation");
    assert_eq!(v.invariant, "client-agreement", "{found}");
}

#[test]
fn f_plus_1_twins_split_the_honest_replicas_and_a_check_sees_it() {
    // With f+1 faulty replicas two quorums of 2f+1 may share only faulty ones. Twins make it
    // happen once resends reach each copy's half in another order (a lossy network).
    let opts = PbftSimOptions {
        strategy: Some(Strategy::Twins),
        ..options(4, FaultProfile::Network, Some(2))
    };
    let found = first_failure(0..50, &opts, threads()).expect("f+1 twins break agreement");
    let v = found.violation().expect("a violation").clone();
    assert_eq!(run_seed(found.seed(), &opts).violation(), Some(&v));
}

#[test]
fn a_commit_quorum_of_2f_is_caught_and_replays_from_its_seed() {
    // §4.2: committed-local needs 2f+1 matching commits; with 2f, a view change can miss every
    // honest replica that prepared a committed request.
    // Runs of 60,000 units (`--max-time 60000`), not 100,000: the failure found does not
    // need more, and CI has 2 cores.
    let opts = PbftSimOptions {
        variant: pbft::Variant::CommitQuorum2f,
        max_time_units: 60_000,
        quiesce_units: 6_000,
        ..options(4, FaultProfile::All, Some(1))
    };
    let found = first_failure(0..2_000, &opts, threads()).expect("caught within 2,000 seeds");
    let v = found.violation().expect("a violation").clone();
    assert_eq!(run_seed(found.seed(), &opts).violation(), Some(&v));
}

#[test]
fn a_view_change_that_drops_prepared_certificates_is_caught_and_replays() {
    // §4.4: a ViewChange must carry its prepared certificates, or the new primary can give a
    // committed seq to another request.
    let opts = PbftSimOptions {
        variant: pbft::Variant::ViewChangeDropsPrepared,
        ..options(4, FaultProfile::All, Some(1))
    };
    let found = first_failure(0..2_000, &opts, threads()).expect("caught within 2,000 seeds");
    let v = found.violation().expect("a violation").clone();
    assert_eq!(run_seed(found.seed(), &opts).violation(), Some(&v));
}

#[test]
fn the_same_seed_twice_gives_a_byte_identical_trace() {
    let opts = PbftSimOptions {
        trace: TraceLevel::Events,
        max_time_units: 30_000,
        ..options(4, FaultProfile::All, Some(1))
    };
    let (a, b) = (run_seed(3, &opts), run_seed(3, &opts));
    let (ta, tb) = (a.report.trace.unwrap(), b.report.trace.unwrap());
    assert!(ta.lines().count() > 1_000, "a busy run");
    assert_eq!(ta, tb);
    assert!(ta.contains(" PrePrepare{") && ta.contains(" output Execute{"));
}

#[test]
#[ignore = "soak: 20,000 seeds of bare PBFT, 4 nodes, 1 Byzantine, all faults"]
fn soak_pbft_4_nodes_20000_seeds() {
    let summary = run_seeds(
        0..20_000,
        &options(4, FaultProfile::All, Some(1)),
        threads(),
    );
    println!("{summary}");
    assert!(summary.violations.is_empty(), "{summary}");
}
