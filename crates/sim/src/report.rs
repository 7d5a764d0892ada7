//! What a run hands back: why it stopped, what it counted, and, on a violation, enough to replay.
//!
//! ```text
//!   Stats line: events=… sent=N [sent_bytes=B] delivered=… … time=T [fsyncs=… writes_lost=…]
//!               (the bracketed parts only for runs that sized messages, or waited on disks)
//!   Report { seed, stop: MaxTime | MaxEvents | Idle | Violation(Violation), stats, trace }
//!                                                      └─ seed, invariant, message, time,
//!                                                         event number, recent event lines
//! ```
//!
//! A violation always carries its seed: replaying that seed with the same config reproduces
//! the run event for event, so the report is a bug report, not just a verdict.

use std::fmt;

use crate::config::Time;

/// Counters of one run. Cheap integers, bumped on the hot path; nothing is formatted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events taken off the queue and handled (deliveries, ticks, faults, workload polls).
    pub events: u64,
    /// Messages nodes asked to send.
    pub messages_sent: u64,
    /// The wire size of those messages, summed: counted where `messages_sent` is counted and
    /// by the same rule (each send once; the network's duplicates are `messages_duplicated`,
    /// not more bytes sent). Only a run given a sizer (`Simulation::with_message_size`)
    /// counts it; any other run leaves it 0, and the `Display` line then omits it.
    pub message_bytes_sent: u64,
    /// Messages that reached a running node on a connected side.
    pub messages_delivered: u64,
    /// Messages lost for any reason (loss, partition, receiver down, overflow).
    pub messages_dropped: u64,
    /// Extra copies the network made.
    pub messages_duplicated: u64,
    /// Node crashes (random and scripted).
    pub crashes: u64,
    /// Node restarts.
    pub restarts: u64,
    /// Partitions that started.
    pub partitions: u64,
    /// Client inputs that reached a running node.
    pub inputs: u64,
    /// Outputs nodes produced.
    pub outputs: u64,
    /// Fsyncs completed by nodes that overlap writes with sends (0 for every other node:
    /// their writes are durable at once and counted nowhere).
    pub fsyncs: u64,
    /// Writes a crash caught before their fsync completed: never on disk.
    pub writes_lost: u64,
    /// Simulated time when the run stopped.
    pub final_time: Time,
}

impl Stats {
    /// Add another run's counters (for summaries over many seeds). `final_time` becomes the
    /// sum too, i.e. total simulated time.
    pub fn add(&mut self, other: &Stats) {
        self.events += other.events;
        self.messages_sent += other.messages_sent;
        self.message_bytes_sent += other.message_bytes_sent;
        self.messages_delivered += other.messages_delivered;
        self.messages_dropped += other.messages_dropped;
        self.messages_duplicated += other.messages_duplicated;
        self.crashes += other.crashes;
        self.restarts += other.restarts;
        self.partitions += other.partitions;
        self.inputs += other.inputs;
        self.outputs += other.outputs;
        self.fsyncs += other.fsyncs;
        self.writes_lost += other.writes_lost;
        self.final_time += other.final_time;
    }
}

impl Stats {
    /// `sent_bytes=N`, for runs that sized their messages; `None` for every other run. Every
    /// sized message is at least its kind byte, so a sized run that sent anything counts
    /// more than 0, and 0 means "not sized" (or nothing sent, with nothing to add).
    pub fn bytes_line(&self) -> Option<String> {
        (self.message_bytes_sent > 0).then(|| format!("sent_bytes={}", self.message_bytes_sent))
    }

    /// `fsyncs=N writes_lost=M`, for runs whose disk took time (nodes that overlap writes
    /// with sends); `None` for every other run, whose summaries then read as they always did.
    pub fn disk_line(&self) -> Option<String> {
        (self.fsyncs > 0 || self.writes_lost > 0)
            .then(|| format!("fsyncs={} writes_lost={}", self.fsyncs, self.writes_lost))
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "events={} sent={}", self.events, self.messages_sent)?;
        // Only sized runs have this; every other line stays as it was.
        if let Some(bytes) = self.bytes_line() {
            write!(f, " {bytes}")?;
        }
        write!(
            f,
            " delivered={} dropped={} duplicated={} crashes={} restarts={} partitions={} \
             inputs={} outputs={} time={}",
            self.messages_delivered,
            self.messages_dropped,
            self.messages_duplicated,
            self.crashes,
            self.restarts,
            self.partitions,
            self.inputs,
            self.outputs,
            self.final_time
        )?;
        // Only runs with a disk that takes time have these; every other line stays as it was.
        match self.disk_line() {
            Some(disk) => write!(f, " {disk}"),
            None => Ok(()),
        }
    }
}

/// An invariant failed. Everything needed to understand and replay it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The run's seed: replay it to get the same run.
    pub seed: u64,
    /// The invariant's name, as `Invariant::name` gave it.
    pub invariant: String,
    /// What the invariant said was wrong.
    pub message: String,
    /// Simulated time of the failing event.
    pub time: Time,
    /// Number of the failing event (1 for the first event of the run).
    pub event: u64,
    /// The last recorded events, oldest first, one trace line each.
    pub recent: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "violation of {} at t={} (event {}), seed={}: {}",
            self.invariant, self.time, self.event, self.seed, self.message
        )?;
        writeln!(f, "last {} events:", self.recent.len())?;
        for line in &self.recent {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// Why a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The next event lay beyond `max_time_units`.
    MaxTime,
    /// `max_events` events were handled.
    MaxEvents,
    /// Nothing was left to do (no ticks, no messages, no timers).
    Idle,
    /// An invariant failed.
    Violation(Violation),
}

/// The result of one run.
#[derive(Clone, Debug)]
pub struct Report {
    /// The seed that decided the run.
    pub seed: u64,
    /// Why it stopped.
    pub stop: Stop,
    /// What it counted.
    pub stats: Stats,
    /// The full trace, if `SimConfig::trace` asked for one: one line per event.
    pub trace: Option<String>,
}

impl Report {
    /// The violation, if the run found one.
    pub fn violation(&self) -> Option<&Violation> {
        match &self.stop {
            Stop::Violation(v) => Some(v),
            _ => None,
        }
    }

    /// True if no invariant failed.
    pub fn is_ok(&self) -> bool {
        self.violation().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_runs_sums_their_bytes_and_the_line_shows_them_only_when_sized() {
        let sized = Stats {
            messages_sent: 3,
            message_bytes_sent: 120,
            ..Stats::default()
        };
        let mut total = Stats::default();
        total.add(&sized);
        total.add(&sized);
        assert_eq!((total.messages_sent, total.message_bytes_sent), (6, 240));
        assert!(total
            .to_string()
            .starts_with("events=0 sent=6 sent_bytes=240 delivered=0"));
        let plain = Stats {
            messages_sent: 3,
            ..Stats::default()
        };
        assert!(plain.to_string().starts_with("events=0 sent=3 delivered=0"));
    }
}
