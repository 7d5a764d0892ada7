//! Simulated events per second: how fast the simulator drives a 5-node cluster under every
//! fault, on one core. Throughput is in events (deliveries, ticks, crashes, inputs, …), counted
//! by a first run of the same seeds, so criterion reports `elem/s` = events per second.
//!
//! ```text
//!   raft_5_nodes    bare Raft: 3 shapes (append batch 1 or 64; faults all or none), 8 seeds
//!   paxos_5_nodes   bare Multi-Paxos, all faults, 8 seeds
//!   kv_5_nodes      the replicated KV store on Raft (raft-kv) and on Multi-Paxos (paxos-kv):
//!                   `RaftKvOptions::default()` and `PaxosKvOptions::default()` (5 nodes,
//!                   5 clients, all faults), 8 seeds each. A KV seed's time includes the
//!                   linearizability check of its history, as `distributed sim` runs it;
//!                   the events are the simulator's only, so the check lowers events/s.
//!                   And the KV store on PBFT: `PbftKvOptions::default()` (4 nodes, one
//!                   Byzantine with the seed's strategy, 5 clients, all faults).
//! ```
//!
//! One iteration runs 8 seeds: 0.2 to 0.3 s for bare Paxos and 0.3 to 0.45 s for the KV
//! stores on a shared 2-core machine (2026-12-07), so those groups take 20 samples instead of
//! criterion's 100 (which would need 20 to 45 s each). The Raft group keeps the defaults.
//!
//! Run: `cargo bench -p scenarios --bench sim_events` (or add a group name to filter, e.g.
//! `-- paxos_5_nodes`).

use std::ops::Range;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use scenarios::paxos::PaxosSimOptions;
use scenarios::paxos_kv::PaxosKvOptions;
use scenarios::pbft_kv::PbftKvOptions;
use scenarios::raft::RaftSimOptions;
use scenarios::raft_kv::RaftKvOptions;
use scenarios::{paxos, paxos_kv, pbft_kv, raft, raft_kv, FaultProfile};

fn raft_events_per_second(c: &mut Criterion) {
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
            .map(|s| raft::run_seed(s, &opts).report.stats.events)
            .sum();
        group.throughput(Throughput::Elements(events));
        group.bench_function(name, |b| {
            b.iter(|| {
                for s in seeds.clone() {
                    black_box(raft::run_seed(s, &opts));
                }
            })
        });
    }
    group.finish();
}

fn paxos_events_per_second(c: &mut Criterion) {
    let mut group = c.benchmark_group("paxos_5_nodes");
    group.sample_size(SAMPLES);
    let opts = PaxosSimOptions {
        nodes: 5,
        faults: FaultProfile::All,
        ..PaxosSimOptions::default()
    };
    let seeds = 0..8u64;
    let events: u64 = seeds
        .clone()
        .map(|s| paxos::run_seed(s, &opts).report.stats.events)
        .sum();
    group.throughput(Throughput::Elements(events));
    group.bench_function("all_faults", |b| {
        b.iter(|| {
            for s in seeds.clone() {
                black_box(paxos::run_seed(s, &opts));
            }
        })
    });
    group.finish();
}

/// Seeds per KV measurement: each is a full run plus its linearizability check.
const KV_SEEDS: Range<u64> = 0..8;

/// Samples for the Paxos and KV groups (module docs: why not criterion's 100).
const SAMPLES: usize = 20;

fn kv_events_per_second(c: &mut Criterion) {
    let mut group = c.benchmark_group("kv_5_nodes");
    group.sample_size(SAMPLES);
    let raft_opts = RaftKvOptions::default();
    assert_eq!((raft_opts.nodes, raft_opts.clients), (5, 5), "the defaults");
    assert_eq!(raft_opts.faults, FaultProfile::All, "the defaults");
    let events: u64 = KV_SEEDS
        .map(|s| raft_kv::run_seed(s, &raft_opts).report.stats.events)
        .sum();
    group.throughput(Throughput::Elements(events));
    group.bench_function("raft_kv_all_faults", |b| {
        b.iter(|| {
            for s in KV_SEEDS {
                black_box(raft_kv::run_seed(s, &raft_opts));
            }
        })
    });
    let paxos_opts = PaxosKvOptions::default();
    let events: u64 = KV_SEEDS
        .map(|s| paxos_kv::run_seed(s, &paxos_opts).report.stats.events)
        .sum();
    group.throughput(Throughput::Elements(events));
    group.bench_function("paxos_kv_all_faults", |b| {
        b.iter(|| {
            for s in KV_SEEDS {
                black_box(paxos_kv::run_seed(s, &paxos_opts));
            }
        })
    });
    // PBFT needs 3f+1: 4 nodes, one of them Byzantine (a strategy per seed), all faults.
    let pbft_opts = PbftKvOptions::default();
    assert_eq!(
        (pbft_opts.run.nodes, pbft_opts.byzantine_nodes()),
        (4, 1),
        "the defaults"
    );
    let events: u64 = KV_SEEDS
        .map(|s| pbft_kv::run_seed(s, &pbft_opts).report.stats.events)
        .sum();
    group.throughput(Throughput::Elements(events));
    group.bench_function("pbft_kv_4_nodes_1_byzantine_all_faults", |b| {
        b.iter(|| {
            for s in KV_SEEDS {
                black_box(pbft_kv::run_seed(s, &pbft_opts));
            }
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    raft_events_per_second,
    paxos_events_per_second,
    kv_events_per_second
);
criterion_main!(benches);
