//! Simulated events per second for the replication schemes on the register harness: the same
//! clients and faults as `distributed sim --consistency-map`, one scheme per measurement.
//!
//! ```text
//!   registers_3_replicas   chain, craq, primary-backup (3 servers + view service),
//!                          quorum N3R2W2 dvv (5 nodes), crdt mv (3 nodes);
//!                          RegisterOptions::default() (5 clients, all faults, a calm), 8 seeds
//! ```
//!
//! A seed's time includes judging its history against all nine models, as `distributed sim`
//! does; the events are the simulator's only, so the checks lower events/s (for the weak
//! schemes, whose histories break models, the checkers' searches are a large share).
//!
//! Run: `cargo bench -p scenarios --bench register_events`.

use std::ops::Range;

use criterion::measurement::WallTime;
use criterion::Throughput;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkGroup, Criterion};
use scenarios::replication::{
    run_seed, ChainMode, ChainScheme, ChainVariant, CrdtResolution, CrdtScheme, CrdtVariant,
    PbVariant, PrimaryBackupScheme, QuorumResolution, QuorumScheme, QuorumVariant, RegisterOptions,
    RegisterScheme,
};

/// Seeds per measurement.
const SEEDS: Range<u64> = 0..8;

/// Samples per scheme: one iteration is 8 full runs and their checks (0.1 to 1 s).
const SAMPLES: usize = 10;

fn bench<S: RegisterScheme>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, scheme: &S) {
    let opts = RegisterOptions::default();
    let events: u64 = SEEDS
        .map(|s| run_seed(scheme, s, &opts).report.stats.events)
        .sum();
    group.throughput(Throughput::Elements(events));
    group.bench_function(name, |b| {
        b.iter(|| {
            for s in SEEDS {
                black_box(run_seed(scheme, s, &opts));
            }
        })
    });
}

fn register_events_per_second(c: &mut Criterion) {
    let mut group = c.benchmark_group("registers_3_replicas");
    group.sample_size(SAMPLES);
    let chain = ChainScheme::new(ChainMode::Chain, ChainVariant::Correct, 3).expect("valid");
    bench(&mut group, "chain", &chain);
    let craq = ChainScheme::new(ChainMode::Craq, ChainVariant::Correct, 3).expect("valid");
    bench(&mut group, "craq", &craq);
    let pb = PrimaryBackupScheme::new(PbVariant::Correct, 3).expect("valid");
    bench(&mut group, "primary_backup", &pb);
    let quorum = QuorumScheme::new(
        5,
        (3, 2, 2),
        QuorumResolution::Dvv,
        true,
        QuorumVariant::Correct,
    )
    .expect("valid");
    bench(&mut group, "quorum_n3r2w2_dvv", &quorum);
    let crdt = CrdtScheme::new(3, CrdtResolution::MultiValue, CrdtVariant::Correct).expect("valid");
    bench(&mut group, "crdt_mv", &crdt);
    group.finish();
}

criterion_group!(benches, register_events_per_second);
criterion_main!(benches);
