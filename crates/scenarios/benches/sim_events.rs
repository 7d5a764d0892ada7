//! Simulated events per second: how fast the simulator drives a 5-node Raft cluster under every
//! fault, on one core. Throughput is in events (deliveries, ticks, crashes, inputs, …), counted
//! by a first run of the same seed, so criterion reports `elem/s` = events per second.
//!
//! Run: `cargo bench -p scenarios --bench sim_events`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use scenarios::raft::{run_seed, RaftSimOptions};
use scenarios::FaultProfile;

fn events_per_second(c: &mut Criterion) {
    let mut group = c.benchmark_group("raft_5_nodes");
    for (name, faults, batch) in [
        ("all_faults_batch_1", FaultProfile::All, 1),
        ("all_faults_batch_64", FaultProfile::All, 64),
        ("no_faults_batch_64", FaultProfile::None, 64),
    ] {
        let opts = RaftSimOptions {
            nodes: 5,
            faults,
            entries_per_append_max: Some(batch),
            ..RaftSimOptions::default()
        };
        let seeds = 0..8u64;
        let events: u64 = seeds
            .clone()
            .map(|s| run_seed(s, &opts).report.stats.events)
            .sum();
        group.throughput(Throughput::Elements(events));
        group.bench_function(name, |b| {
            b.iter(|| {
                for s in seeds.clone() {
                    black_box(run_seed(s, &opts));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, events_per_second);
criterion_main!(benches);
