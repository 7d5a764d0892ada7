//! Latency histograms, error counts and the report they add up to.
//!
//! ```text
//!   each client: Recorder { reads: Histogram µs, writes: Histogram µs, errors: kind → count }
//!   end of run:  merge every Recorder ──► Report::new(merged, measured elapsed)
//!                throughput = successful requests / elapsed seconds
//!                p50/p99/p99.9/max from the merged histogram (reads + writes, and each alone)
//!   emit: text on stdout; --json FILE also writes it as JSON (--json - : JSON instead of text)
//! ```
//!
//! Latencies are recorded in microseconds in an HdrHistogram with 3 significant digits (values
//! are exact to 0.1%), from 1 µs to 60 s; slower samples saturate at 60 s and still count.
//! Errors are not latency samples: a timed-out request has no latency worth ranking.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

use super::{Backend, Consistency, Plan};

/// Largest latency the histograms track, in µs.
const LATENCY_US_MAX: u64 = 60_000_000;
/// Significant digits the histograms keep.
const SIGFIG: u8 = 3;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, SIGFIG).expect("valid histogram bounds")
}

/// One client's measurements.
#[derive(Clone, Debug)]
pub struct Recorder {
    /// Latencies of successful reads, µs.
    reads: Histogram<u64>,
    /// Latencies of successful writes, µs.
    writes: Histogram<u64>,
    /// Failed requests by kind (`timeout`, `io`, `server:TRYAGAIN`, …); BTreeMap so the
    /// report lists them in a stable order.
    errors: BTreeMap<String, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            reads: histogram(),
            writes: histogram(),
            errors: BTreeMap::new(),
        }
    }
}

impl Recorder {
    /// A successful request and how long it took.
    pub fn ok(&mut self, read: bool, latency: Duration) {
        let us = (latency.as_micros() as u64).clamp(1, LATENCY_US_MAX);
        let h = if read {
            &mut self.reads
        } else {
            &mut self.writes
        };
        h.saturating_record(us);
    }

    /// A failed request.
    pub fn error(&mut self, kind: &str) {
        *self.errors.entry(kind.to_string()).or_insert(0) += 1;
    }

    /// Fold another client's measurements into this one.
    pub fn merge(&mut self, other: &Recorder) {
        self.reads.add(&other.reads).expect("same bounds");
        self.writes.add(&other.writes).expect("same bounds");
        for (kind, n) in &other.errors {
            *self.errors.entry(kind.clone()).or_insert(0) += n;
        }
    }
}

/// Percentiles of one histogram, µs.
#[derive(Clone, Debug, PartialEq)]
pub struct Latency {
    /// Successful requests counted.
    pub requests: u64,
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        let empty = h.is_empty();
        let at = |q: f64| if empty { 0 } else { h.value_at_quantile(q) };
        Latency {
            requests: h.len(),
            p50: at(0.5),
            p99: at(0.99),
            p999: at(0.999),
            max: if empty { 0 } else { h.max() },
            mean: if empty { 0.0 } else { h.mean() },
        }
    }

    fn json(&self) -> Value {
        json!({"requests": self.requests, "p50": self.p50, "p99": self.p99,
               "p999": self.p999, "max": self.max, "mean": self.mean})
    }
}

/// What a run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Measured phase length.
    pub elapsed: Duration,
    /// Successful requests per second.
    pub throughput: f64,
    /// Reads and writes together.
    pub all: Latency,
    pub reads: Latency,
    pub writes: Latency,
    /// Failed requests, total.
    pub errors: u64,
    /// Failed requests by kind.
    pub errors_by_kind: BTreeMap<String, u64>,
}

impl Report {
    /// The report of merged measurements over a measured phase of `elapsed`.
    pub fn new(merged: &Recorder, elapsed: Duration) -> Report {
        let mut all = merged.reads.clone();
        all.add(&merged.writes).expect("same bounds");
        let all = Latency::of(&all);
        let secs = elapsed.as_secs_f64();
        Report {
            elapsed,
            throughput: if secs > 0.0 {
                all.requests as f64 / secs
            } else {
                0.0
            },
            all,
            reads: Latency::of(&merged.reads),
            writes: Latency::of(&merged.writes),
            errors: merged.errors.values().sum(),
            errors_by_kind: merged.errors.clone(),
        }
    }

    /// The report as JSON, with the plan that produced it.
    pub fn json(&self, plan: &Plan) -> Value {
        json!({
            "target": plan.target,
            "backend": match plan.backend { Backend::Resp => "resp", Backend::Etcd => "etcd" },
            "clients": plan.clients,
            "conns": plan.conns,
            "read_ratio": plan.read_ratio,
            "consistency": consistency_name(plan.consistency),
            "key_size": plan.key_size,
            "val_size": plan.val_size,
            "keys": plan.keys,
            "requests": self.all.requests,
            "errors": self.errors,
            "errors_by_kind": self.errors_by_kind,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "throughput_rps": self.throughput,
            "latency_us": self.all.json(),
            "reads": self.reads.json(),
            "writes": self.writes.json(),
        })
    }

    /// The report as a few lines of text.
    pub fn text(&self, plan: &Plan) -> String {
        let mut s = format!(
            "target {}  clients {} conns {}  reads {:.0}% {}  keys {} x {} B  values {} B\n",
            plan.target,
            plan.clients,
            plan.conns,
            plan.read_ratio * 100.0,
            consistency_name(plan.consistency),
            plan.keys,
            plan.key_size,
            plan.val_size
        );
        s += &format!(
            "{} ok, {} errors in {:.3} s: {:.0} req/s\n",
            self.all.requests,
            self.errors,
            self.elapsed.as_secs_f64(),
            self.throughput
        );
        for (name, l) in [
            ("all", &self.all),
            ("reads", &self.reads),
            ("writes", &self.writes),
        ] {
            if l.requests > 0 {
                s += &format!(
                    "latency {name:<6} µs  p50 {}  p99 {}  p99.9 {}  max {}  (n={})\n",
                    l.p50, l.p99, l.p999, l.max, l.requests
                );
            }
        }
        for (kind, n) in &self.errors_by_kind {
            s += &format!("errors {kind}: {n}\n");
        }
        s
    }
}

fn consistency_name(c: Consistency) -> &'static str {
    match c {
        Consistency::Linearizable => "linearizable",
        Consistency::Serializable => "serializable",
    }
}

/// Print the report (and write its JSON); the exit code: 0 without errors, 1 with.
pub fn emit(plan: &Plan, report: &Report) -> u8 {
    let json = report.json(plan);
    match plan.json.as_deref() {
        Some(p) if p.as_os_str() == "-" => println!("{json}"),
        Some(p) => {
            print!("{}", report.text(plan));
            if let Err(e) = std::fs::write(p, format!("{json}\n")) {
                eprintln!("error: cannot write {}: {e}", p.display());
                return 1;
            }
        }
        None => print!("{}", report.text(plan)),
    }
    u8::from(report.errors > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder(read_us: &[u64], write_us: &[u64], errors: &[&str]) -> Recorder {
        let mut r = Recorder::default();
        for &us in read_us {
            r.ok(true, Duration::from_micros(us));
        }
        for &us in write_us {
            r.ok(false, Duration::from_micros(us));
        }
        for e in errors {
            r.error(e);
        }
        r
    }

    #[test]
    fn throughput_counts_successful_requests_per_second_of_the_measured_phase() {
        let r = recorder(&[10; 300], &[20; 100], &["timeout", "timeout"]);
        let report = Report::new(&r, Duration::from_secs(2));
        assert_eq!(report.all.requests, 400);
        assert_eq!(report.throughput, 200.0);
        assert_eq!(report.errors, 2);
        assert_eq!(report.errors_by_kind.get("timeout"), Some(&2));
    }

    #[test]
    fn percentiles_of_one_to_a_thousand_microseconds_are_exact() {
        let samples: Vec<u64> = (1..=1000).collect();
        let report = Report::new(&recorder(&[], &samples, &[]), Duration::from_secs(1));
        let w = &report.writes;
        assert_eq!((w.p50, w.p99, w.p999, w.max), (500, 990, 999, 1000));
        assert_eq!(w.mean, 500.5);
        assert_eq!(report.reads.requests, 0);
        assert_eq!(report.reads.p99, 0, "an empty histogram reports zeros");
    }

    #[test]
    fn merging_recorders_adds_samples_and_errors_and_all_spans_reads_and_writes() {
        let mut a = recorder(&[100], &[], &["io"]);
        a.merge(&recorder(&[], &[300, 300], &["io", "server:TRYAGAIN"]));
        let report = Report::new(&a, Duration::from_millis(500));
        assert_eq!((report.reads.requests, report.writes.requests), (1, 2));
        assert_eq!(report.all.requests, 3);
        assert_eq!(report.all.max, 300);
        assert_eq!(report.all.p50, 300);
        assert_eq!(report.throughput, 6.0);
        assert_eq!(
            report.errors_by_kind.into_iter().collect::<Vec<_>>(),
            vec![("io".to_string(), 2), ("server:TRYAGAIN".to_string(), 1)]
        );
    }

    #[test]
    fn latencies_outside_the_tracked_range_saturate_instead_of_failing() {
        let r = recorder(&[0], &[u64::MAX / 1_000_000], &[]);
        let report = Report::new(&r, Duration::from_secs(1));
        assert_eq!(report.reads.max, 1);
        assert!(report.writes.max >= LATENCY_US_MAX, "{}", report.writes.max);
        assert_eq!(report.all.requests, 2);
    }
}
