//! The replicated KV store under the simulator, judged by what its clients saw: hundreds of
//! seeds of faults with every history linearizable, whichever way reads are served (through
//! the log, ReadIndex with follower reads, or a lease); and the deliberately broken variants,
//! whose logs stay perfect, caught by the checker alone and replayed from their seed.
//!
//! Why the lease that ignores drift is hunted with clocks up to 3x apart, not the `all`
//! profile's 80..120 units: check-quorum deposes a cut-off leader after the same 10 of its own
//! ticks that the broken lease lasts, so a stale read can only happen between a rival's first
//! commit and that step-down. That window is at most 10 × (slow period − fast period) minus an
//! election and a commit, about 250 units at 80..120, and it opens only when the cut-off
//! leader has the slow clock, which elections make rare (fast clocks time out first). A client
//! must complete a write on the new side and then read from the old leader inside it. Measured
//! (5 nodes): 0 of 300 seeds of `all` with the default clients; 1 of 500 seeds of
//! `partitions` at 80..120 with 15 clients; 15 of 500 at 50..150 (first: seed 6). The broken
//! lease's exact failure at the 1.5x bound is shown deterministically, clock tick by clock
//! tick, in `crates/replica/tests/replica_reads.rs`.

use check::{CheckResult, History};
use replica::ReplicaVariant;
use scenarios::raft_kv::{
    first_failure, run_seed, run_seeds, run_seeds_with_progress, KvFailure, KvSeedReport,
    RaftKvOptions, ReadPath,
};
use scenarios::{FaultProfile, SeedProgress};
use sim::{ClockSkew, TraceLevel};

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[test]
fn kv_reads_via_read_index_are_linearizable_under_all_faults() {
    // Thesis §6.4: reads without the log, half of them sent to any node (follower reads).
    let seeds = 1_000;
    let opts = RaftKvOptions {
        nodes: 5,
        clients: 6,
        faults: FaultProfile::All,
        read_path: ReadPath::ReadIndex,
        ..RaftKvOptions::default()
    };
    let summary = run_seeds(0..seeds, &opts, threads());
    println!("{summary}");
    assert_eq!(summary.seeds_run, seeds);
    assert!(summary.is_clean(), "{summary}");
    assert_eq!(summary.invariant_violations, 0, "{summary}");
    assert_eq!(summary.linearizability_violations, 0, "{summary}");
    assert!(
        summary.unknown_seeds.len() <= 3,
        "the checker's budget answers almost every seed: {summary}"
    );
    assert!(
        summary.ok_per_seed_min >= 100 && summary.ops.ok >= 500 * seeds,
        "every seed completes many ops, hundreds on average: {summary}"
    );
    assert!(
        summary.ops.no_return * 100 < summary.ops.invoked,
        "under 1% of ops end without an answer: {summary}"
    );
    assert!(
        summary.stats.crashes > 10 * seeds && summary.stats.partitions > 10 * seeds,
        "faults happened: {summary}"
    );
    assert!(
        summary.digest_comparisons > 50 * seeds,
        "replica states were compared, not just digested: {summary}"
    );
    let o = &summary.ops;
    assert!(
        o.execs > 20 * seeds && o.aborted_execs > seeds && o.wrongtype > seeds,
        "transactions ran, WATCH aborted some, WRONGTYPE was answered: {summary}"
    );
}

#[test]
fn kv_reads_through_the_log_stay_linearizable_under_all_faults() {
    let opts = RaftKvOptions {
        read_path: ReadPath::Log,
        ..RaftKvOptions::default()
    };
    let summary = run_seeds(0..60, &opts, threads());
    println!("{summary}");
    assert!(summary.is_clean(), "{summary}");
    assert!(summary.unknown_seeds.len() <= 1, "{summary}");
    assert!(summary.ok_per_seed_min >= 100, "{summary}");
}

#[test]
fn kv_lease_reads_are_linearizable_under_clock_skew() {
    // Thesis §6.4.1: tick periods 80..120 units with drift (the `all` profile), and every
    // replica's clock_drift_per_mille_max derived from them (500): the lease is as long as
    // those clocks allow and no longer.
    let seeds = 250;
    let opts = RaftKvOptions {
        faults: FaultProfile::All,
        read_path: ReadPath::Lease,
        ..RaftKvOptions::default()
    };
    assert_eq!(opts.clock_drift_per_mille_max(), 500);
    let summary = run_seeds(0..seeds, &opts, threads());
    println!("{summary}");
    assert!(summary.is_clean(), "{summary}");
    assert!(summary.unknown_seeds.len() <= 3, "{summary}");
    assert!(summary.ok_per_seed_min >= 100, "{summary}");
    assert!(summary.stats.partitions > 10 * seeds, "{summary}");
}

/// Where a lease that ignores drift shows (see `lease_that_ignores_clock_drift_is_caught_…`):
/// partitions that isolate the leader, clocks up to 3x apart (each node's tick period fixed
/// in 50..150 units), and clients that give up on a silent node after 200 units. Nothing is
/// scripted per seed. Why not the `all` profile's 80..120: see the report in the module docs.
fn lease_stress(raft_variant: raft::Variant) -> RaftKvOptions {
    RaftKvOptions {
        nodes: 5,
        clients: 15,
        faults: FaultProfile::Partitions,
        clock: Some(ClockSkew {
            tick_period_units_min: 50,
            tick_period_units_max: 150,
            drift_per_million: 0,
        }),
        client_timeout_units: 200,
        read_path: ReadPath::Lease,
        raft_variant,
        ..RaftKvOptions::default()
    }
}

#[test]
fn the_correct_lease_is_linearizable_under_the_stress_that_breaks_the_drifting_one() {
    // The same clocks, the same faults: with the drift bound derived from them (2000, so a
    // lease of (10 - 1) / 3 = 3 ticks) the correct lease never serves a stale read.
    let opts = lease_stress(raft::Variant::Correct);
    assert_eq!(opts.clock_drift_per_mille_max(), 2000);
    let summary = run_seeds(0..100, &opts, threads());
    println!("{summary}");
    assert!(summary.is_clean(), "{summary}");
    assert!(summary.unknown_seeds.is_empty(), "{summary}");
}

#[test]
fn the_progress_counters_end_at_the_summary_s_seeds_and_failures() {
    let mut opts = RaftKvOptions::default();
    opts.set_variant("stale-follower-reads").expect("a variant");
    let progress = SeedProgress::default();
    let summary = run_seeds_with_progress(0..12, &opts, threads(), &progress);
    assert_eq!(progress.done(), 12);
    assert_eq!(summary.seeds_run, 12);
    assert_eq!(progress.failing(), summary.failures.len() as u64);
    assert!(
        progress.failing() > 0,
        "the broken variant fails some seed: {summary}"
    );
}

#[test]
fn lease_that_ignores_clock_drift_is_caught_by_the_checker() {
    // Thesis §6.4.1: a lease of a full election timeout of the leader's own ticks, started when
    // the acks arrive, outlives the followers' promise when their clocks run faster. Raft's
    // log stays perfect; only the clients' history shows the stale read.
    let opts = lease_stress(raft::Variant::LeaseIgnoresDrift);
    // Measured with the op mix of `ops.rs` (transactions, typed keys, volatile reads): 3 of
    // the seeds 0..2,000 fail (854, 1,215, 1,496), about 1 in 700; before that mix, 1 of
    // 0..500 (seed 6). The hunt starts at 800 so the test finds one in about 50 seeds
    // instead of 850; the broken lease is still caught by the history alone.
    let found = first_failure(800..2_000, &opts, threads())
        .expect("a lease that ignores drift is caught within seeds 800..2,000");
    println!(
        "lease-ignores-drift: lowest failing seed {}\n{found}",
        found.seed()
    );
    assert_eq!(found.failure(), Some(KvFailure::Linearizability), "{found}");
    assert!(found.violation().is_none() && found.ops.unexpected == 0);
    let CheckResult::Violation(report) = &found.check else {
        unreachable!("a linearizability failure is a violation")
    };
    assert!(
        report.ops.iter().any(|op| op.text.starts_with("get(")),
        "a read is among the failing key's ops:\n{report}"
    );
    let replay = run_seed(found.seed(), &opts);
    assert_eq!(replay.check, found.check, "the same seed, the same verdict");
    assert_eq!(
        replay.history, found.history,
        "the same seed, the same history"
    );
    let correct = run_seed(found.seed(), &lease_stress(raft::Variant::Correct));
    assert_eq!(
        correct.failure(),
        None,
        "the correct lease passes that seed: {correct}"
    );
}

#[test]
fn kv_with_15_clients_and_7_servers_is_linearizable() {
    let opts = RaftKvOptions {
        nodes: 7,
        clients: 15,
        ..RaftKvOptions::default()
    };
    let summary = run_seeds(0..50, &opts, threads());
    println!("{summary}");
    assert!(summary.is_clean(), "{summary}");
    assert!(summary.unknown_seeds.len() <= 1, "{summary}");
    assert!(summary.ok_per_seed_min >= 100, "{summary}");
    assert!(summary.ops.ok >= 50 * 1_000, "{summary}");
}

#[test]
fn every_fault_profile_keeps_kv_histories_linearizable() {
    for faults in FaultProfile::ALL {
        let opts = RaftKvOptions {
            faults,
            ..RaftKvOptions::default()
        };
        let summary = run_seeds(1_000..1_010, &opts, threads());
        assert!(summary.is_clean(), "{faults}: {summary}");
        assert!(summary.unknown_seeds.is_empty(), "{faults}: {summary}");
        assert_eq!(summary.seeds_with_progress, 10, "{faults}: {summary}");
        // Volatile keys are read only without wall-clock skew (`ops.rs` says why).
        let read_expired = summary.ops.expired_reads > 0;
        assert_eq!(
            read_expired,
            !faults.has(FaultProfile::Skew),
            "{faults}: {summary}"
        );
    }
}

/// Find the lowest failing seed of `variant` in 0..500, insist the checker (not an invariant)
/// caught it, and replay it to the same verdict and the same history.
fn caught_and_replayed(variant: ReplicaVariant) -> (KvSeedReport, check::Report) {
    let opts = RaftKvOptions {
        variant,
        ..RaftKvOptions::default()
    };
    let found = first_failure(0..500, &opts, threads())
        .unwrap_or_else(|| panic!("{variant} is caught within 500 seeds"));
    println!("{variant}: lowest failing seed {}\n{found}", found.seed());
    assert_eq!(
        found.failure(),
        Some(KvFailure::Linearizability),
        "the log stays perfect; only the checker sees the bug: {found}"
    );
    assert!(found.violation().is_none() && found.ops.unexpected == 0);
    let replay = run_seed(found.seed(), &opts);
    assert_eq!(replay.check, found.check, "the same seed, the same verdict");
    assert_eq!(
        replay.history, found.history,
        "the same seed, the same history"
    );
    let summary = run_seeds(found.seed()..found.seed() + 1, &opts, 1);
    let text = summary.to_string();
    assert!(
        text.contains("has no linearization") && text.contains("stuck after"),
        "the summary shows the failing key's ops: {text}"
    );
    let CheckResult::Violation(report) = replay.check.clone() else {
        unreachable!("compared equal to a violation above")
    };
    (replay, report)
}

#[test]
fn stale_follower_reads_are_caught_by_the_checker() {
    // Raft dissertation §6.4: a read served from a follower's (or a deposed leader's) own
    // state may miss writes that already returned.
    let (_, report) = caught_and_replayed(ReplicaVariant::StaleFollowerReads);
    assert!(
        report
            .stuck
            .iter()
            .any(|s| report.ops[s.op].text.starts_with("get(")),
        "a read that no order explains is where the search stops:\n{report}"
    );
}

#[test]
fn ack_before_commit_is_caught_by_the_checker() {
    // Raft §5.3/§8: a write is durable only once committed; a leader that loses its
    // uncommitted suffix has acknowledged writes no replica will apply.
    let (_, report) = caught_and_replayed(ReplicaVariant::AckBeforeCommit);
    assert!(
        report
            .ops
            .iter()
            .any(|op| op.text.starts_with("put(") && op.ret == Some(op.invoke)),
        "a put acknowledged the instant it was sent is in the failing key:\n{report}"
    );
}

#[test]
fn commit_old_term_under_kv_is_caught_by_the_reused_raft_invariants() {
    // Raft §5.4.2, Figure 8, seen through OnReplica: the KV layer adds nothing to hide it.
    let opts = RaftKvOptions {
        raft_variant: raft::Variant::CommitOldTerm,
        ..RaftKvOptions::default()
    };
    // The broken rule shows in about 1 seed in 500. Measured with the workload of issue 14
    // (no-op writes, per-read seeds): in 0..6,000 the raft invariants catch it at seeds 1,133,
    // 1,557, 1,837, 2,156, 2,303, … (12 in all), and at seed 1,061 the checker catches the
    // lost write first. So the hunt starts past 1,061 and 2,000 seeds leave a margin.
    let found = first_failure(1_100..3_100, &opts, threads())
        .expect("the broken commit rule is caught within 2,000 seeds");
    println!(
        "commit-old-term: {}",
        found.failure_line().unwrap_or_default()
    );
    assert_eq!(found.failure(), Some(KvFailure::Invariant), "{found}");
    let replay = run_seed(found.seed(), &opts);
    assert_eq!(replay.violation(), found.violation());
}

#[test]
fn the_same_kv_seed_twice_gives_the_same_history() {
    let opts = RaftKvOptions {
        trace: TraceLevel::Events,
        ..RaftKvOptions::default()
    };
    let (a, b) = (run_seed(42, &opts), run_seed(42, &opts));
    let (ha, hb) = (a.history_json_lines(), b.history_json_lines());
    assert!(a.ops.ok > 100, "a busy run: {a}");
    assert_eq!(ha, hb);
    assert_eq!(a.report.trace, b.report.trace);
    assert_eq!((a.check, a.ops), (b.check, b.ops));
    assert_ne!(ha, run_seed(43, &opts).history_json_lines());
}

#[test]
fn a_dumped_history_reads_back_and_checks_the_same() {
    // What `distributed sim --seed S --history OUT.jsonl` then `distributed check OUT.jsonl` do.
    let opts = RaftKvOptions {
        variant: ReplicaVariant::AckBeforeCommit,
        ..RaftKvOptions::default()
    };
    let r = run_seed(2, &opts);
    let text = r.history_json_lines();
    // Transactions and typed values need the format's version 2, and the writer says so.
    assert!(
        text.starts_with("{\"model\":\"kv\",\"version\":2}\n"),
        "{}",
        &text[..40]
    );
    let parsed = History::parse_json_lines(&text).expect("the file format reads back");
    assert_eq!(parsed, r.history);
    let again = check::Checker::default()
        .with_budget(check::Budget::steps(opts.check_steps_max))
        .check_history(&parsed);
    assert_eq!(again, r.check);
}

/// The KV store with leaders that write in parallel with their followers (thesis §10.2.1), as
/// the server runs by default: the simulated disk takes time and crashes lose unsynced writes.
fn parallel(raft_variant: raft::Variant) -> RaftKvOptions {
    RaftKvOptions {
        leader_writes_in_parallel: true,
        membership_changes: true,
        raft_variant,
        ..RaftKvOptions::default()
    }
}

#[test]
fn kv_with_leaders_writing_in_parallel_is_linearizable_under_all_faults() {
    let seeds = 40;
    let summary = run_seeds(0..seeds, &parallel(raft::Variant::Correct), threads());
    println!("{summary}");
    assert!(summary.is_clean(), "{summary}");
    assert!(summary.unknown_seeds.len() <= 1, "{summary}");
    assert!(summary.ok_per_seed_min >= 40, "{summary}");
    assert!(
        summary.stats.fsyncs > 500 * seeds && summary.stats.writes_lost > 0,
        "the disk took time, and crashes lost writes on their way to it: {summary}"
    );
}

#[test]
fn a_kv_leader_that_counts_its_unsynced_writes_is_caught() {
    // Thesis §10.2.1: an entry acknowledged to a client while it is on the leader's memory
    // and one or two followers' disks, then lost with the leader's crash before its fsync.
    // Measured with fsyncs of 10..200 units and membership changes: 29 of the seeds 0..600
    // fail (a Raft invariant sees it first: leader completeness), the first at seed 22.
    let opts = parallel(raft::Variant::LeaderCountsUnsyncedWrites);
    let found = first_failure(0..600, &opts, threads())
        .expect("a leader that counts its unsynced copy is caught within 600 seeds");
    println!(
        "leader-counts-unsynced: {}",
        found.failure_line().unwrap_or_default()
    );
    let replay = run_seed(found.seed(), &opts);
    assert_eq!(replay.violation(), found.violation());
    assert_eq!(replay.check, found.check, "the same seed, the same verdict");
    let correct = run_seed(found.seed(), &parallel(raft::Variant::Correct));
    assert_eq!(
        correct.failure(),
        None,
        "the correct rule passes: {correct}"
    );
}
