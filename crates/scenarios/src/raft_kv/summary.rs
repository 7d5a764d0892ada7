//! Running many KV seeds across threads, and what the batch found.
//!
//! ```text
//!   run_seeds(a..b, opts, threads) ──► workers pull the next seed from a shared counter
//!                                      ──► run_seed ──► absorb into a per-worker KvSummary
//!                                      ──► merge ──► KvSummary (failures sorted by seed)
//!   first_failure(a..b, opts, threads) ──► same, but no seed above the lowest failure so far
//!                                          is started ──► the lowest failing KvSeedReport
//!   run_seeds_with_progress(.., &SeedProgress) ──► run_seeds, counting seeds done and failing
//!                                                  as they finish, for a host to show
//! ```
//!
//! A summary keeps one line per failing seed and the full report (history included) of the
//! lowest failing seed only, so a batch of thousands of failing seeds of a broken variant
//! stays small. Each seed's run and check are deterministic whatever thread runs them; only
//! the order in which seeds finish varies, and the summary sorts that away. The wall clock is
//! read once before and once after the batch, for the events-per-second figure.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use super::coverage::Coverage;
use super::ops::OpCounts;
use super::options::RaftKvOptions;
use super::runner::{run_seed, KvFailure, KvSeedReport};
use crate::batch::{self, Mode, Tally};
use crate::progress::SeedProgress;
use sim::config::TraceLevel;
use sim::report::Stats;

/// How many failing or unknown seeds a summary lists before it abbreviates.
const LISTED_SEEDS_MAX: usize = 20;

/// The outcome of many seeds.
#[derive(Clone, Debug, Default)]
pub struct KvSummary {
    /// How many seeds ran.
    pub seeds_run: u64,
    /// Seeds whose run broke an invariant (Raft's, replica progress or agreement).
    pub invariant_violations: u64,
    /// Seeds whose history has no linearization (and broke no invariant).
    pub linearizability_violations: u64,
    /// Seeds with an answer the checker's model cannot state (and no worse failure).
    pub unexpected_replies: u64,
    /// Seeds whose check ran out of its step budget: no claim either way. Sorted.
    pub unknown_seeds: Vec<u64>,
    /// Every failing seed: its number, what failed, and one line saying where. Sorted.
    pub failures: Vec<(u64, KvFailure, String)>,
    /// The full report of the lowest failing seed: its trace ring, check report and history.
    pub lowest_failure: Option<Box<KvSeedReport>>,
    /// Client ops summed over seeds.
    pub ops: OpCounts,
    /// Seeds in which at least one op completed.
    pub seeds_with_progress: u64,
    /// The fewest completed ops of any seed: a seed that did nothing checks nothing.
    pub ok_per_seed_min: u64,
    /// Replica digests compared with another replica's, summed over seeds.
    pub digest_comparisons: u64,
    /// Snapshots persisted and installed, summed over seeds.
    pub coverage: Coverage,
    /// Checker search steps, summed over seeds.
    pub check_steps: u64,
    /// The most steps any one key's search took: compare with `check_steps_max`.
    pub check_partition_steps_max: u64,
    /// Simulator counters summed over seeds (`final_time` is total simulated time).
    pub stats: Stats,
    /// Wall time the batch took: the only clock reading here, outside every run.
    pub elapsed: Duration,
}

impl KvSummary {
    /// Simulated events per wall-clock second over the whole batch (all threads together;
    /// the time includes checking).
    pub fn events_per_second(&self) -> f64 {
        self.stats.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// True when no seed failed (unknown verdicts are not failures; see `unknown_seeds`).
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty()
    }

    fn absorb(&mut self, r: KvSeedReport) {
        self.ok_per_seed_min = if self.seeds_run == 0 {
            r.ops.ok
        } else {
            self.ok_per_seed_min.min(r.ops.ok)
        };
        self.seeds_run += 1;
        self.stats.add(&r.report.stats);
        self.ops.add(&r.ops);
        self.seeds_with_progress += u64::from(r.ops.ok > 0);
        self.digest_comparisons += r.digest_comparisons;
        self.coverage.add(&r.coverage);
        self.check_steps += r.check_stats.steps;
        self.check_partition_steps_max = self
            .check_partition_steps_max
            .max(r.check_stats.partition_steps_max);
        if r.is_unknown() {
            self.unknown_seeds.push(r.seed());
        }
        let (Some(failure), Some(line)) = (r.failure(), r.failure_line()) else {
            return;
        };
        match failure {
            KvFailure::Invariant => self.invariant_violations += 1,
            KvFailure::Linearizability => self.linearizability_violations += 1,
            KvFailure::UnexpectedReply => self.unexpected_replies += 1,
        }
        self.failures.push((r.seed(), failure, line));
        if below(r.seed(), &self.lowest_failure) {
            self.lowest_failure = Some(Box::new(r));
        }
    }

    fn merge(&mut self, other: KvSummary) {
        self.ok_per_seed_min = match (self.seeds_run, other.seeds_run) {
            (0, _) => other.ok_per_seed_min,
            (_, 0) => self.ok_per_seed_min,
            _ => self.ok_per_seed_min.min(other.ok_per_seed_min),
        };
        self.seeds_run += other.seeds_run;
        self.invariant_violations += other.invariant_violations;
        self.linearizability_violations += other.linearizability_violations;
        self.unexpected_replies += other.unexpected_replies;
        self.unknown_seeds.extend(other.unknown_seeds);
        self.failures.extend(other.failures);
        self.ops.add(&other.ops);
        self.seeds_with_progress += other.seeds_with_progress;
        self.digest_comparisons += other.digest_comparisons;
        self.coverage.add(&other.coverage);
        self.check_steps += other.check_steps;
        self.check_partition_steps_max = self
            .check_partition_steps_max
            .max(other.check_partition_steps_max);
        self.stats.add(&other.stats);
        if let Some(o) = other.lowest_failure {
            if below(o.seed(), &self.lowest_failure) {
                self.lowest_failure = Some(o);
            }
        }
    }
}

/// Whether `seed` is below the lowest failing seed kept so far (or none is kept).
fn below(seed: u64, lowest: &Option<Box<KvSeedReport>>) -> bool {
    match lowest {
        Some(l) => seed < l.seed(),
        None => true,
    }
}

impl fmt::Display for KvSummary {
    /// A header line, one line per failing seed (the first 20), the unknown seeds, then the
    /// lowest failing seed's full report: its invariant violation with recent events, or the
    /// checker's report of the failing key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.ops;
        writeln!(
            f,
            "seeds={} invariant_violations={} linearizability_violations={} unexpected_replies={} \
             unknown={} ops={} ok={} no_return={} abandoned={} progress={}/{} ok_min={} \
             digest_comparisons={} snapshots={} installs={} expiries={} noop_writes={} execs={} \
             aborted_execs={} expired_reads={} wrongtype={} check_steps={} \
             events={} ({:.0} events/s, {:.2?})",
            self.seeds_run,
            self.invariant_violations,
            self.linearizability_violations,
            self.unexpected_replies,
            self.unknown_seeds.len(),
            o.invoked,
            o.ok,
            o.no_return,
            o.abandoned,
            self.seeds_with_progress,
            self.seeds_run,
            self.ok_per_seed_min,
            self.digest_comparisons,
            self.coverage.snapshots,
            self.coverage.installs,
            self.coverage.expiries,
            self.coverage.noop_writes,
            o.execs,
            o.aborted_execs,
            o.expired_reads,
            o.wrongtype,
            self.check_steps,
            self.stats.events,
            self.events_per_second(),
            self.elapsed
        )?;
        if let Some(disk) = self.stats.disk_line() {
            writeln!(
                f,
                "disk: {disk} (leaders wrote in parallel, thesis §10.2.1)"
            )?;
        }
        for (_, _, line) in self.failures.iter().take(LISTED_SEEDS_MAX) {
            writeln!(f, "{line}")?;
        }
        if self.failures.len() > LISTED_SEEDS_MAX {
            writeln!(f, "... and {} more", self.failures.len() - LISTED_SEEDS_MAX)?;
        }
        if !self.unknown_seeds.is_empty() {
            let listed: Vec<String> = self
                .unknown_seeds
                .iter()
                .take(LISTED_SEEDS_MAX)
                .map(u64::to_string)
                .collect();
            writeln!(
                f,
                "unknown (check budget ran out): seeds {}",
                listed.join(" ")
            )?;
        }
        if let Some(first) = &self.lowest_failure {
            writeln!(f, "{first}")?;
        }
        Ok(())
    }
}

/// Run every seed of `seeds` on up to `threads` threads (at least one). Traces are off: a
/// failing seed is replayed alone with `run_seed` to get its trace and history.
pub fn run_seeds(seeds: Range<u64>, opts: &RaftKvOptions, threads: usize) -> KvSummary {
    run_seeds_with_progress(seeds, opts, threads, &SeedProgress::default())
}

/// [`run_seeds`], counting each seed into `progress` as it finishes, so a host can show how
/// far the batch has got while it runs.
pub fn run_seeds_with_progress(
    seeds: Range<u64>,
    opts: &RaftKvOptions,
    threads: usize,
    progress: &SeedProgress,
) -> KvSummary {
    run_parallel(seeds, opts, threads, Mode::Every, progress)
}

/// The lowest seed of `seeds` that fails (invariant, linearizability or unexpected reply), if
/// any. Seeds above the lowest failure found so far are not started, so a bug that shows early
/// is found in a fraction of the range. Deterministic: always the lowest failing seed.
pub fn first_failure(
    seeds: Range<u64>,
    opts: &RaftKvOptions,
    threads: usize,
) -> Option<KvSeedReport> {
    run_parallel(
        seeds,
        opts,
        threads,
        Mode::FirstFailure,
        &SeedProgress::default(),
    )
    .lowest_failure
    .map(|b| *b)
}

fn run_parallel(
    seeds: Range<u64>,
    opts: &RaftKvOptions,
    threads: usize,
    mode: Mode,
    progress: &SeedProgress,
) -> KvSummary {
    let mut opts = opts.clone();
    opts.trace = TraceLevel::Off;
    batch::run_parallel(seeds, threads, mode, progress, |seed| run_seed(seed, &opts))
}

impl Tally for KvSummary {
    type Seed = KvSeedReport;

    fn failed(seed: &KvSeedReport) -> bool {
        seed.failure().is_some()
    }

    fn absorb(&mut self, seed: KvSeedReport) {
        KvSummary::absorb(self, seed);
    }

    fn merge(&mut self, other: KvSummary) {
        KvSummary::merge(self, other);
    }

    fn finish(&mut self, elapsed: Duration) {
        self.failures.sort_by_key(|(seed, _, _)| *seed);
        self.unknown_seeds.sort_unstable();
        self.elapsed = elapsed;
    }
}
