//! What one bare PBFT seed reports, and what many add up to: the summary line.
//!
//! ```text
//!   SeedReport { report (stop, stats, trace), requests, completed, latency, coverage }
//!        │ Tally::absorb / merge (batch.rs)
//!        ▼
//!   Summary ──► seeds=… invariant_violations=… requests=… completed=… progress=…/…
//!               latency_ticks=mean/p50/p99/max view_changes=…/… state_transfers=…
//!               events=… (… events/s, …s)
//!               then one line per failing seed (the first 20) and the lowest one's report
//! ```
//!
//! Latency is a histogram of one-tick buckets (the last one holds everything longer), so a
//! summary over any number of seeds stays the same size and merges exactly.

use std::fmt;
use std::time::Duration;

use super::checks::Coverage;
use super::client::TICK_UNITS;
use crate::batch::Tally;
use sim::config::Time;
use sim::report::{Report, Stats, Violation};

/// How many failing seeds a summary lists one per line before it abbreviates.
const LISTED_VIOLATIONS_MAX: usize = 20;

/// Buckets of the latency histogram: 0, 1, … ticks; the last holds every longer one.
const LATENCY_BUCKETS: usize = 1024;

/// Accepted requests' latencies, in ticks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latency {
    /// How many requests took k ticks (rounded down), k < LATENCY_BUCKETS − 1; the last
    /// bucket: that many or more.
    buckets: Vec<u64>,
    /// The sum, in time units, for an exact mean.
    sum_units: u128,
    /// The longest, in time units.
    max_units: Time,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            buckets: vec![0; LATENCY_BUCKETS],
            sum_units: 0,
            max_units: 0,
        }
    }
}

impl Latency {
    /// Count one request that took `units`.
    pub fn record(&mut self, units: Time) {
        let ticks = (units / TICK_UNITS).min(LATENCY_BUCKETS as u64 - 1);
        self.buckets[ticks as usize] += 1;
        self.sum_units += u128::from(units);
        self.max_units = self.max_units.max(units);
    }

    /// Add another histogram.
    pub fn merge(&mut self, other: &Latency) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.sum_units += other.sum_units;
        self.max_units = self.max_units.max(other.max_units);
    }

    /// Requests counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The mean, in ticks.
    pub fn mean_ticks(&self) -> f64 {
        self.sum_units as f64 / TICK_UNITS as f64 / self.count().max(1) as f64
    }

    /// The `per_mille`-th quantile, in whole ticks (the bucket it falls in).
    pub fn quantile_ticks(&self, per_mille: u64) -> u64 {
        let rank = (self.count() * per_mille).div_ceil(1000).max(1);
        let mut seen = 0;
        for (ticks, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return ticks as u64;
            }
        }
        0
    }
}

impl fmt::Display for Latency {
    /// `mean/p50/p99/max` in ticks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.1}/{}/{}/{}",
            self.mean_ticks(),
            self.quantile_ticks(500),
            self.quantile_ticks(990),
            self.max_units / TICK_UNITS
        )
    }
}

/// The outcome of one seed.
#[derive(Clone, Debug)]
pub struct SeedReport {
    /// Why the run stopped (maybe a violation), its stats, its trace.
    pub report: Report,
    /// Requests the clients sent.
    pub requests: u64,
    /// Requests they accepted on f+1 matching replies.
    pub completed: u64,
    /// How long the accepted ones took.
    pub latency: Latency,
    /// Views, state transfers and seqs the honest replicas went through.
    pub coverage: Coverage,
}

impl SeedReport {
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.report.seed
    }

    /// The violation, if the run found one.
    pub fn violation(&self) -> Option<&Violation> {
        self.report.violation()
    }

    /// The trace lines, if tracing was on.
    pub fn trace_lines(&self) -> impl Iterator<Item = &str> {
        self.report.trace.as_deref().unwrap_or("").lines()
    }
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.violation() {
            Some(v) => write!(f, "{v}")?,
            None => writeln!(f, "seed={} ok", self.seed())?,
        }
        let c = self.coverage;
        write!(
            f,
            "requests={} completed={} latency_ticks={} seq_max={} view_max={} \
             state_transfers={} {}",
            self.requests,
            self.completed,
            self.latency,
            c.seq_max,
            c.view_max,
            c.state_transfers,
            self.report.stats
        )
    }
}

/// The outcome of many seeds.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// How many seeds ran.
    pub seeds_run: u64,
    /// Every seed that broke an invariant, in seed order.
    pub violations: Vec<SeedReport>,
    /// Counters summed over all seeds.
    pub stats: Stats,
    /// Requests sent, summed over seeds.
    pub requests: u64,
    /// Requests accepted, summed over seeds.
    pub completed: u64,
    /// Seeds where at least one request was accepted.
    pub seeds_with_progress: u64,
    /// Every accepted request's latency.
    pub latency: Latency,
    /// Seeds whose honest replicas executed something in a view after the first.
    pub seeds_with_view_change: u64,
    /// State transfers honest replicas installed, summed over seeds.
    pub state_transfers: u64,
    /// Wall time the batch took.
    pub elapsed: Duration,
}

impl Summary {
    /// Simulated events per wall-clock second over the whole batch.
    pub fn events_per_second(&self) -> f64 {
        self.stats.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl Tally for Summary {
    type Seed = SeedReport;

    fn failed(seed: &SeedReport) -> bool {
        seed.violation().is_some()
    }

    fn absorb(&mut self, r: SeedReport) {
        self.seeds_run += 1;
        self.stats.add(&r.report.stats);
        self.requests += r.requests;
        self.completed += r.completed;
        self.seeds_with_progress += u64::from(r.completed > 0);
        self.latency.merge(&r.latency);
        self.seeds_with_view_change += u64::from(r.coverage.view_max > 0);
        self.state_transfers += r.coverage.state_transfers;
        if r.violation().is_some() {
            self.violations.push(r);
        }
    }

    fn merge(&mut self, other: Summary) {
        self.seeds_run += other.seeds_run;
        self.stats.add(&other.stats);
        self.requests += other.requests;
        self.completed += other.completed;
        self.seeds_with_progress += other.seeds_with_progress;
        self.latency.merge(&other.latency);
        self.seeds_with_view_change += other.seeds_with_view_change;
        self.state_transfers += other.state_transfers;
        self.violations.extend(other.violations);
    }

    fn finish(&mut self, elapsed: Duration) {
        self.violations.sort_by_key(|r| r.seed());
        self.elapsed = elapsed;
    }
}

impl fmt::Display for Summary {
    /// The summary line, one line per failing seed (the first 20), then the lowest failing
    /// seed's full report with its recent events.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seeds={} invariant_violations={} requests={} completed={} progress={}/{} \
             latency_ticks={} view_changes={}/{} state_transfers={} events={} \
             ({:.0} events/s, {:.2?})",
            self.seeds_run,
            self.violations.len(),
            self.requests,
            self.completed,
            self.seeds_with_progress,
            self.seeds_run,
            self.latency,
            self.seeds_with_view_change,
            self.seeds_run,
            self.state_transfers,
            self.stats.events,
            self.events_per_second(),
            self.elapsed
        )?;
        for r in self.violations.iter().take(LISTED_VIOLATIONS_MAX) {
            if let Some(v) = r.violation() {
                writeln!(
                    f,
                    "seed={} {} at t={}: {}",
                    v.seed, v.invariant, v.time, v.message
                )?;
            }
        }
        if self.violations.len() > LISTED_VIOLATIONS_MAX {
            let more = self.violations.len() - LISTED_VIOLATIONS_MAX;
            writeln!(f, "... and {more} more")?;
        }
        if let Some(first) = self.violations.first() {
            writeln!(f, "{first}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_quantiles_come_from_one_tick_buckets_and_merge_exactly() {
        let mut a = Latency::default();
        for units in [50, 150, 150, 250] {
            a.record(units);
        }
        let mut b = Latency::default();
        b.record(1_000_000); // beyond the last bucket: counted there, max exact
        a.merge(&b);
        assert_eq!(a.count(), 5);
        assert_eq!(a.quantile_ticks(500), 1);
        assert_eq!(a.quantile_ticks(990), LATENCY_BUCKETS as u64 - 1);
        assert_eq!(a.to_string(), "2001.2/1/1023/10000");
    }
}
