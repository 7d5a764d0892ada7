//! State-based merge throughput: what one anti-entropy round costs a replica, per size.
//!
//! ```text
//!   G-Counter: two replicas over `nodes` entries, each ahead on half of them
//!              ──► merge(a, b): one pointwise max over the union
//!   OR-Set:    two replicas of `elements` u64s, synced once, then each adds 1/8 new elements
//!              of its own and removes 1/8 of the shared ones ──► merge(a, b): per element,
//!              which dots survive, plus the causal contexts' union
//! ```
//!
//! criterion reports `elem/s` = entries (G-Counter) or elements (OR-Set) merged per second.
//! The clone of the receiving replica is set-up, outside the timed part (`iter_batched`).
//!
//! Run: `cargo bench -p clocks --bench crdt_merge` (`-- --quick` for a short pass).

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

use clocks::{Crdt, GCounter, OrSet};
use distributed_core::NodeId;

/// Node counts for the G-Counter (NODES_MAX is 1024).
const GCOUNTER_NODES: &[u64] = &[8, 64, 512];
/// Element counts for the OR-Set.
const ORSET_ELEMENTS: &[u64] = &[100, 1_000, 10_000];
/// Nodes writing to the OR-Set.
const ORSET_WRITERS: u64 = 4;

fn g_counters(nodes: u64) -> (GCounter, GCounter) {
    let (mut a, mut b) = (GCounter::new(), GCounter::new());
    for k in 0..nodes {
        let (ahead, behind) = if k % 2 == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        ahead.increment(NodeId(k), 10).expect("within bounds");
        behind.increment(NodeId(k), 3).expect("within bounds");
    }
    (a, b)
}

fn or_sets(elements: u64) -> (OrSet<u64>, OrSet<u64>) {
    let mut a = OrSet::new();
    for e in 0..elements {
        a.add(e, NodeId(e % ORSET_WRITERS)).expect("within bounds");
    }
    let mut b = a.clone();
    let eighth = (elements / 8).max(1);
    for k in 0..eighth {
        a.add(elements + k, NodeId(1)).expect("within bounds");
        b.add(2 * elements + k, NodeId(2)).expect("within bounds");
        a.remove(&(k * 2)).expect("within bounds");
        b.remove(&(k * 2 + 1)).expect("within bounds");
    }
    (a, b)
}

fn bench_g_counter(c: &mut Criterion) {
    let mut group = c.benchmark_group("g_counter_merge");
    for &nodes in GCOUNTER_NODES {
        let (a, b) = g_counters(nodes);
        group.throughput(Throughput::Elements(nodes));
        group.bench_with_input(BenchmarkId::from_parameter(nodes), &nodes, |bench, _| {
            bench.iter_batched(
                || a.clone(),
                |mut x| {
                    x.merge(&b).expect("within bounds");
                    x
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn bench_or_set(c: &mut Criterion) {
    let mut group = c.benchmark_group("or_set_merge");
    for &elements in ORSET_ELEMENTS {
        let (a, b) = or_sets(elements);
        group.throughput(Throughput::Elements(elements));
        group.bench_with_input(
            BenchmarkId::from_parameter(elements),
            &elements,
            |bench, _| {
                bench.iter_batched(
                    || a.clone(),
                    |mut x| {
                        x.merge(&b).expect("within bounds");
                        x
                    },
                    BatchSize::LargeInput,
                );
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_g_counter, bench_or_set);
criterion_main!(benches);
