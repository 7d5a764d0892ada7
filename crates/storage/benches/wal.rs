//! Durable appends per second: one writer doing append + fdatasync per record, against group
//! commit with 64 concurrent submitters sharing fdatasyncs. Records are 128 bytes (a small
//! Raft entry). criterion reports `elem/s` = durable records per second; after each group the
//! bench prints records/s, syncs/s and records per sync from the WAL's own counters.
//!
//! Run: `cargo bench -p storage --bench wal`. Files go under the target directory so the
//! fdatasyncs hit the same disk as a real data directory would (not a tmpfs).

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use storage::{GroupCommit, GroupCommitOptions, Wal, WalOptions};

const RECORD_BYTES: usize = 128;
const SUBMITTERS: usize = 64;

fn bench_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir under target/")
}

/// Totals across every criterion sample, for the records/s and syncs/s summary line.
#[derive(Default)]
struct Totals {
    records: u64,
    syncs: u64,
    elapsed: Duration,
}

impl Totals {
    fn report(&self, name: &str) {
        let secs = self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        println!(
            "{name}: {:.0} records/s, {:.0} syncs/s, {:.1} records per sync ({} records)",
            self.records as f64 / secs,
            self.syncs as f64 / secs,
            self.records as f64 / self.syncs.max(1) as f64,
            self.records
        );
    }
}

fn one_writer(c: &mut Criterion) {
    let dir = bench_dir();
    let (mut wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    let record = vec![7u8; RECORD_BYTES];
    let mut totals = Totals::default();
    let mut group = c.benchmark_group("wal");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    group.bench_function("append_sync_1_writer", |b| {
        b.iter_custom(|iters| {
            let syncs_before = wal.stats().syncs;
            let start = Instant::now();
            for _ in 0..iters {
                wal.append(&record).expect("append");
                wal.sync().expect("sync");
            }
            let elapsed = start.elapsed();
            totals.records += iters;
            totals.syncs += wal.stats().syncs - syncs_before;
            totals.elapsed += elapsed;
            elapsed
        })
    });
    group.finish();
    totals.report("append_sync_1_writer");
}

fn group_commit(c: &mut Criterion) {
    let dir = bench_dir();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
    let group_commit =
        Arc::new(GroupCommit::new(wal, GroupCommitOptions::default()).expect("start"));
    let totals = Mutex::new(Totals::default());
    let mut group = c.benchmark_group("wal");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    // One iteration = every submitter makes one record durable.
    group.throughput(Throughput::Elements(SUBMITTERS as u64));
    group.bench_function("group_commit_64_submitters", |b| {
        b.iter_custom(|iters| {
            let before = group_commit.stats();
            let start = Instant::now();
            thread::scope(|s| {
                for _ in 0..SUBMITTERS {
                    let gc = Arc::clone(&group_commit);
                    s.spawn(move || {
                        for _ in 0..iters {
                            let ticket = gc.submit(vec![vec![7u8; RECORD_BYTES]]);
                            ticket.expect("queued").wait().expect("durable");
                        }
                    });
                }
            });
            let elapsed = start.elapsed();
            let after = group_commit.stats();
            let mut t = totals.lock().expect("no panics while holding");
            t.records += after.records - before.records;
            t.syncs += after.syncs - before.syncs;
            t.elapsed += elapsed;
            elapsed
        })
    });
    group.finish();
    totals
        .lock()
        .expect("no panics while holding")
        .report("group_commit_64_submitters");
}

criterion_group!(benches, one_writer, group_commit);
criterion_main!(benches);
