//! How fast the checker decides a realistic history.
//!
//! The target (issue): a 10,000-operation history from 50 clients over 100 keys checks in under
//! one second on one core. Run with `cargo bench -p check`; the `1_thread` figure is the one to
//! compare with that target (and with Porcupine's published figures on Jepsen etcd histories).
//! A second figure uses every core, to show what P-compositionality's parallelism buys.

use check::synthetic::{linearizable_history, Spec};
use check::{Budget, CheckResult, Checker};
use criterion::{criterion_group, criterion_main, Criterion};

fn ten_thousand_ops_fifty_clients_hundred_keys(c: &mut Criterion) {
    let spec = Spec {
        seed: 42,
        clients: 50,
        keys: 100,
        ops: 10_000,
        op_ticks_max: 20,
        no_return_permille: 10,
    };
    let history = linearizable_history(&spec);
    // Steps only: a wall-clock budget would make the benchmark measure the budget.
    let one_core = Checker::default()
        .with_threads(1)
        .with_budget(Budget::steps(50_000_000));
    let (result, stats) = one_core.check_history_with_stats(&history);
    assert_eq!(
        result,
        CheckResult::Linearizable,
        "the benchmark history must be decided: {stats:?}"
    );
    eprintln!(
        "history: {} ops, {} partitions, {} search steps, largest cache {} entries",
        stats.ops, stats.partitions, stats.steps, stats.cache_entries_max
    );

    let mut group = c.benchmark_group("check/10k_ops_50_clients_100_keys");
    group.sample_size(10);
    group.bench_function("1_thread", |b| b.iter(|| one_core.check_history(&history)));
    let all_cores = Checker::default().with_budget(Budget::steps(50_000_000));
    group.bench_function("all_cores", |b| {
        b.iter(|| all_cores.check_history(&history))
    });
    group.finish();
}

criterion_group!(benches, ten_thousand_ops_fifty_clients_hundred_keys);
criterion_main!(benches);
