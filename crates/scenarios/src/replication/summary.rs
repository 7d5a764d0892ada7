//! Many seeds of one scheme: the per-model tally (passed / run), what it cost, what failed.
//!
//! ```text
//!   run_seeds(scheme, a..b, opts, threads) ──► batch::run_parallel ──► run_seed per seed
//!        ──► absorb: per model passed | violated | unknown, and the lowest violating seed
//!                    (promised or not: "which checker sees it first" is the map's finding)
//!        ──► RegisterSummary (failures sorted by seed, the lowest failing seed's report)
//!   first_failure(..) ──► the same, starting no seed above the lowest failure so far
//! ```
//!
//! The printed table:
//!
//! ```text
//!   model          promised  passed/run  violated  unknown  first violation
//!   linearizable   yes        2000/2000         0        0  -
//!   ryw            yes         1990/2000        10        0  seed 7
//! ```
//!
//! msgs/op counts every message the nodes sent (heartbeats, acks, state transfer included)
//! over the ops that completed: what one acknowledged op cost the cluster.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use sim::config::TraceLevel;
use sim::report::Stats;

use super::measure::{Latency, OpCounts};
use super::models::{Judgement, Model};
use super::options::RegisterOptions;
use super::runner::{run_seed, RegisterFailure, RegisterSeedReport};
use super::scheme::RegisterScheme;
use crate::batch::{self, Mode, Tally};
use crate::progress::SeedProgress;

/// How many failing or unknown seeds a summary lists before it abbreviates.
const LISTED_SEEDS_MAX: usize = 20;

/// One model's column of the tally.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelTally {
    /// Seeds whose history the model holds on.
    pub passed: u64,
    /// Seeds whose history violates it.
    pub violated: u64,
    /// Seeds the checker could not decide.
    pub unknown: u64,
    /// The lowest seed that violates it.
    pub first_violation: Option<u64>,
}

impl ModelTally {
    /// Seeds judged (passed, violated or unknown).
    pub fn run(&self) -> u64 {
        self.passed + self.violated + self.unknown
    }

    fn count(&mut self, seed: u64, judgement: &Judgement) {
        match judgement {
            Judgement::Holds => self.passed += 1,
            Judgement::Unknown(_) => self.unknown += 1,
            Judgement::Violation(_) => {
                self.violated += 1;
                self.first_violation = Some(self.first_violation.map_or(seed, |s| s.min(seed)));
            }
        }
    }

    fn merge(&mut self, o: &ModelTally) {
        self.passed += o.passed;
        self.violated += o.violated;
        self.unknown += o.unknown;
        self.first_violation = match (self.first_violation, o.first_violation) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// The outcome of many seeds of one scheme.
#[derive(Clone, Debug, Default)]
pub struct RegisterSummary {
    /// The scheme and variant, as the seeds reported them.
    pub scheme: &'static str,
    pub variant: String,
    /// The models it promises.
    pub promised: &'static [Model],
    /// Seeds run.
    pub seeds_run: u64,
    /// Per model, in `Model::ALL` order.
    pub tallies: [ModelTally; 9],
    /// Seeds whose run broke a scheme invariant.
    pub invariant_violations: u64,
    /// Every failing seed, what failed, one line. Sorted by seed.
    pub failures: Vec<(u64, RegisterFailure, String)>,
    /// Seeds with no failure but a promised model undecided. Sorted.
    pub unknown_seeds: Vec<u64>,
    /// The lowest failing seed's full report.
    pub lowest_failure: Option<Box<RegisterSeedReport>>,
    /// Client ops summed.
    pub ops: OpCounts,
    /// Completed ops' latencies, all seeds.
    pub latency: Latency,
    /// The fewest replicas that reported a final state in any seed.
    pub final_replicas_min: Option<usize>,
    /// Simulator counters summed.
    pub stats: Stats,
    /// Wall time of the batch: the only clock reading, outside every run.
    pub elapsed: Duration,
}

impl RegisterSummary {
    /// True when no seed failed.
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty()
    }

    /// The tally of `model`.
    pub fn tally(&self, model: Model) -> &ModelTally {
        &self.tallies[model.index()]
    }

    /// Messages sent per completed op.
    pub fn messages_per_op(&self) -> f64 {
        self.stats.messages_sent as f64 / self.ops.ok().max(1) as f64
    }

    /// Bytes sent per completed op (0 if the scheme does not size its messages).
    pub fn bytes_per_op(&self) -> f64 {
        self.stats.message_bytes_sent as f64 / self.ops.ok().max(1) as f64
    }

    fn absorb(&mut self, r: RegisterSeedReport) {
        self.scheme = r.scheme;
        self.promised = r.promised;
        self.variant.clone_from(&r.variant);
        self.seeds_run += 1;
        for (model, judgement) in &r.verdicts {
            self.tallies[model.index()].count(r.seed(), judgement);
        }
        self.ops.add(&r.ops);
        self.latency.add(&r.latency);
        self.stats.add(&r.report.stats);
        let least = self
            .final_replicas_min
            .map_or(r.final_replicas, |m| m.min(r.final_replicas));
        self.final_replicas_min = Some(least);
        if r.is_unknown() {
            self.unknown_seeds.push(r.seed());
        }
        let (Some(failure), Some(line)) = (r.failure(), r.failure_line()) else {
            return;
        };
        self.invariant_violations += u64::from(failure == RegisterFailure::Invariant);
        self.failures.push((r.seed(), failure, line));
        if self
            .lowest_failure
            .as_ref()
            .is_none_or(|l| r.seed() < l.seed())
        {
            self.lowest_failure = Some(Box::new(r));
        }
    }

    fn merge(&mut self, o: RegisterSummary) {
        if o.seeds_run == 0 {
            return;
        }
        self.scheme = o.scheme;
        self.promised = o.promised;
        self.variant = o.variant;
        self.seeds_run += o.seeds_run;
        for (mine, theirs) in self.tallies.iter_mut().zip(&o.tallies) {
            mine.merge(theirs);
        }
        self.invariant_violations += o.invariant_violations;
        self.failures.extend(o.failures);
        self.unknown_seeds.extend(o.unknown_seeds);
        self.ops.add(&o.ops);
        self.latency.add(&o.latency);
        self.stats.add(&o.stats);
        self.final_replicas_min = match (self.final_replicas_min, o.final_replicas_min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(l) = o.lowest_failure {
            if self
                .lowest_failure
                .as_ref()
                .is_none_or(|m| l.seed() < m.seed())
            {
                self.lowest_failure = Some(l);
            }
        }
    }

    /// The per-model table (module docs), one line per model.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<14}{:<10}{:>12}{:>10}{:>9}  first violation\n",
            "model", "promised", "passed/run", "violated", "unknown"
        );
        for model in Model::ALL {
            let t = self.tally(model);
            let promised = if self.promised.contains(&model) {
                "yes"
            } else {
                "no"
            };
            let first = t
                .first_violation
                .map_or("-".to_string(), |s| format!("seed {s}"));
            out += &format!(
                "{:<14}{:<10}{:>12}{:>10}{:>9}  {first}\n",
                model.column(),
                promised,
                format!("{}/{}", t.passed, t.run()),
                t.violated,
                t.unknown
            );
        }
        out
    }
}

impl fmt::Display for RegisterSummary {
    /// The header line, the latency line, the table, the failing seeds (the first 20), the
    /// undecided seeds, then the lowest failing seed's full report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.ops;
        writeln!(
            f,
            "scheme={} variant={} seeds={} failing={} invariant_violations={} unknown={} ops={} \
             ok={} indeterminate={} abandoned={} redirects={} refusals={} timeouts={} \
             msgs/op={:.1} bytes/op={:.0} final_replicas_min={} events={} ({:.0} events/s, {:.2?})",
            self.scheme,
            self.variant,
            self.seeds_run,
            self.failures.len(),
            self.invariant_violations,
            self.unknown_seeds.len(),
            o.invoked,
            o.ok(),
            o.indeterminate,
            o.abandoned,
            o.redirects,
            o.refusals,
            o.timeouts,
            self.messages_per_op(),
            self.bytes_per_op(),
            self.final_replicas_min.unwrap_or(0),
            self.stats.events,
            self.stats.events as f64 / self.elapsed.as_secs_f64().max(1e-9),
            self.elapsed
        )?;
        writeln!(f, "latency: {}", self.latency.ticks_line())?;
        write!(f, "{}", self.table())?;
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
                "undecided (a promised model's check ran out): seeds {}",
                listed.join(" ")
            )?;
        }
        if let Some(first) = &self.lowest_failure {
            writeln!(f, "{first}")?;
        }
        Ok(())
    }
}

impl Tally for RegisterSummary {
    type Seed = RegisterSeedReport;

    fn failed(seed: &RegisterSeedReport) -> bool {
        seed.failure().is_some()
    }

    fn absorb(&mut self, seed: RegisterSeedReport) {
        RegisterSummary::absorb(self, seed);
    }

    fn merge(&mut self, other: RegisterSummary) {
        RegisterSummary::merge(self, other);
    }

    fn finish(&mut self, elapsed: Duration) {
        self.failures.sort_by_key(|(seed, _, _)| *seed);
        self.unknown_seeds.sort_unstable();
        self.elapsed = elapsed;
    }
}

/// Run every seed of `seeds` on up to `threads` threads, counting each into `progress`.
/// Traces are off: a failing seed is replayed alone with `run_seed`.
pub fn run_seeds_with_progress<S: RegisterScheme>(
    scheme: &S,
    seeds: Range<u64>,
    opts: &RegisterOptions,
    threads: usize,
    progress: &SeedProgress,
) -> RegisterSummary {
    batched(scheme, seeds, opts, threads, Mode::Every, progress)
}

/// Run every seed of `seeds` on up to `threads` threads.
pub fn run_seeds<S: RegisterScheme>(
    scheme: &S,
    seeds: Range<u64>,
    opts: &RegisterOptions,
    threads: usize,
) -> RegisterSummary {
    run_seeds_with_progress(scheme, seeds, opts, threads, &SeedProgress::default())
}

/// The lowest failing seed of `seeds`, if any: no seed above the lowest failure found so far
/// is started, so a broken variant is found in a fraction of the range.
pub fn first_failure<S: RegisterScheme>(
    scheme: &S,
    seeds: Range<u64>,
    opts: &RegisterOptions,
    threads: usize,
) -> Option<RegisterSeedReport> {
    let progress = SeedProgress::default();
    batched(scheme, seeds, opts, threads, Mode::FirstFailure, &progress)
        .lowest_failure
        .map(|b| *b)
}

fn batched<S: RegisterScheme>(
    scheme: &S,
    seeds: Range<u64>,
    opts: &RegisterOptions,
    threads: usize,
    mode: Mode,
    progress: &SeedProgress,
) -> RegisterSummary {
    let mut opts = opts.clone();
    opts.trace = TraceLevel::Off;
    batch::run_parallel(seeds, threads, mode, progress, |seed| {
        run_seed(scheme, seed, &opts)
    })
}
