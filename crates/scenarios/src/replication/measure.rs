//! What the clients counted: how their ops ended, and how long the completed ones took.
//!
//! ```text
//!   op ──► ok (put acknowledged, get answered)              latency = return − invoke
//!      ├─► indeterminate (a put with no answer: it may or may not have taken effect)
//!      ├─► abandoned (op_attempts_max sends, none answered for good)
//!      ├─► sibling read (a get answered with several values: not a register's answer)
//!      └─► unexpected (an answer of the wrong kind: a failure)
//!   per send: redirects, refusals (Unavailable), timeouts, drops (the node was down)
//! ```
//!
//! Latency is the replication's own: the simulator hands a client's request to its node and
//! the node's answer to the client at once, so a get served where it lands (a chain's tail, a
//! clean CRAQ key) takes 0 units, and a put takes the chain's hops there and back. Retries
//! after a redirect, a refusal or a timed-out get count in: the interval is the client's.

use sim::config::Time;

use super::options::TICK_UNITS;

/// How a seed's (or a range's) ops ended, and what their sends met.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Ops started.
    pub invoked: u64,
    /// Puts acknowledged.
    pub puts_ok: u64,
    /// Gets answered.
    pub gets_ok: u64,
    /// Puts that ended with no answer (timeout, or a refusal that may still take effect).
    pub indeterminate: u64,
    /// Ops given up after `op_attempts_max` sends.
    pub abandoned: u64,
    /// Gets answered with siblings: left out of the history as no-return.
    pub sibling_reads: u64,
    /// Answers of the wrong kind (an `Ok` to a get, a value to a put).
    pub unexpected: u64,
    /// Sends answered with a redirect.
    pub redirects: u64,
    /// Sends answered `Unavailable`.
    pub refusals: u64,
    /// Sends that timed out.
    pub timeouts: u64,
    /// Sends to a node that was down.
    pub dropped: u64,
}

impl OpCounts {
    /// Ops that completed (acknowledged or answered).
    pub fn ok(&self) -> u64 {
        self.puts_ok + self.gets_ok
    }

    /// Add another seed's counts.
    pub fn add(&mut self, o: &OpCounts) {
        self.invoked += o.invoked;
        self.puts_ok += o.puts_ok;
        self.gets_ok += o.gets_ok;
        self.indeterminate += o.indeterminate;
        self.abandoned += o.abandoned;
        self.sibling_reads += o.sibling_reads;
        self.unexpected += o.unexpected;
        self.redirects += o.redirects;
        self.refusals += o.refusals;
        self.timeouts += o.timeouts;
        self.dropped += o.dropped;
    }
}

/// Completed ops' latencies, in time units: every one kept (a few hundred per seed, so a
/// range of thousands of seeds keeps a few megabytes) so the quantiles are exact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    /// One entry per completed op, in completion order (sorted only to read quantiles).
    units: Vec<Time>,
}

impl Latency {
    /// Count one completed op that took `units`.
    pub fn record(&mut self, units: Time) {
        self.units.push(units);
    }

    /// Add another seed's latencies.
    pub fn add(&mut self, o: &Latency) {
        self.units.extend_from_slice(&o.units);
    }

    /// Ops counted.
    pub fn count(&self) -> u64 {
        self.units.len() as u64
    }

    /// The mean, in time units (0 with no ops).
    pub fn mean_units(&self) -> f64 {
        let sum: u64 = self.units.iter().sum();
        sum as f64 / self.units.len().max(1) as f64
    }

    /// The `per_mille`-th quantile (nearest rank), in time units; 0 with no ops.
    pub fn quantile_units(&self, per_mille: u64) -> Time {
        let mut sorted = self.units.clone();
        sorted.sort_unstable();
        quantile(&sorted, per_mille)
    }

    /// The largest, in time units.
    pub fn max_units(&self) -> Time {
        self.units.iter().copied().max().unwrap_or(0)
    }

    /// `mean=1.9 p50=1.6 p99=6.0 max=14.2 ticks` (ticks of [`TICK_UNITS`]).
    pub fn ticks_line(&self) -> String {
        let mut sorted = self.units.clone();
        sorted.sort_unstable();
        let t = |units: Time| units as f64 / TICK_UNITS as f64;
        format!(
            "mean={:.1} p50={:.1} p99={:.1} max={:.1} ticks",
            self.mean_units() / TICK_UNITS as f64,
            t(quantile(&sorted, 500)),
            t(quantile(&sorted, 990)),
            t(sorted.last().copied().unwrap_or(0))
        )
    }
}

/// The nearest-rank quantile of `sorted`.
fn quantile(sorted: &[Time], per_mille: u64) -> Time {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() as u64 * per_mille).div_ceil(1000).max(1);
    sorted[(rank as usize - 1).min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank_and_sums_add_up() {
        let mut l = Latency::default();
        for units in [1_000, 10, 30, 50, 70, 90, 110, 130, 150, 170] {
            l.record(units);
        }
        assert_eq!(l.count(), 10);
        assert_eq!(l.quantile_units(500), 90, "the 5th of 10");
        assert_eq!(l.quantile_units(990), 1_000);
        assert_eq!(l.quantile_units(1000), 1_000);
        assert!((l.mean_units() - 181.0).abs() < 1e-9);
        let mut sum = Latency::default();
        sum.add(&l);
        sum.add(&l);
        assert_eq!((sum.count(), sum.max_units()), (20, 1_000));
    }

    #[test]
    fn an_empty_histogram_reports_zeros() {
        let l = Latency::default();
        assert_eq!((l.quantile_units(990), l.mean_units()), (0, 0.0));
    }
}
