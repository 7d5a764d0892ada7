//! What a simulation run is allowed to do to the cluster: the knobs of the fault model.
//!
//! Everything here is plain data, decided before the run starts. The seed then picks, inside
//! these bounds, every delay, loss, crash and partition. Odds are integer parts per million
//! (`loss_per_million = 10_000` is 1%), as `Rng::chance` takes them, so a value written in a
//! config file means exactly the same thing on every machine. Durations are in simulated *time
//! units* (see [`Time`]); a node's logical tick lasts `tick_period_units` of them.
//!
//! ```text
//!   SimConfig
//!   ├── nodes, max_time_units, max_events          how big, how long (every run is bounded)
//!   ├── network: NetworkFaults                     delay, loss, duplication, long delays
//!   ├── partitions: Option<PartitionFaults>        random/scripted splits that heal
//!   ├── crashes: Option<CrashFaults>               crash + restart from disk, bounded down count
//!   ├── clock: ClockSkew                           per-node tick period, optional drift
//!   ├── disk: DiskTiming                           fsync delay, for nodes that overlap writes
//!   └── trace, recent_events                       what to record (formatting only on demand)
//! ```
//!
//! Invariant: [`SimConfig::validate`] accepts a config only if every range is non-empty, every
//! odds value is at most one million, and every bound is finite, so the run loop never has to
//! re-check them.

use std::fmt;

/// Simulated global time, in time units. Nodes never see it: they only see their own ticks,
/// which is what lets each node's clock run at a different rate.
pub type Time = u64;

/// Upper bound on the cluster size. Partitions and the leader hook are O(nodes) per use; the
/// bound keeps a hostile config from turning them into a slow loop.
pub const NODES_MAX: usize = 64;

/// Upper bound on the ring of recent events kept for violation reports.
pub const RECENT_EVENTS_MAX: usize = 4096;

/// How much of the run to write to the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TraceLevel {
    /// No trace: the fast path. Only the ring of recent events is kept.
    #[default]
    Off,
    /// One line per delivery, drop, crash, restart, partition, heal, input and output.
    Events,
    /// Everything in `Events`, plus one line per node tick (there are many).
    Ticks,
}

/// Faults of the message layer. Applied when a message is sent (loss, delay, duplication);
/// partitions and crashes are checked again when it would be delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkFaults {
    /// Shortest one-way delay. Non-zero so that a reply never arrives in the same instant.
    pub delay_units_min: Time,
    /// Longest ordinary one-way delay. A wide range reorders messages by itself.
    pub delay_units_max: Time,
    /// Odds that a message is lost outright.
    pub loss_per_million: u32,
    /// Odds that a message is delivered twice (the copy gets its own delay).
    pub duplicate_per_million: u32,
    /// Odds that a message is held back for a long time: the stale-message case that a wide
    /// but uniform delay range rarely produces (a vote from an old term arriving very late).
    pub long_delay_per_million: u32,
    /// Extra delay of a long-delayed message, lower end.
    pub long_delay_units_min: Time,
    /// Extra delay of a long-delayed message, upper end.
    pub long_delay_units_max: Time,
    /// Bound on messages in flight. Beyond it, sends are dropped as if a buffer overflowed,
    /// so a protocol that floods cannot exhaust memory.
    pub in_flight_max: usize,
}

impl NetworkFaults {
    fn validate(&self) -> Result<(), ConfigError> {
        range(
            "network.delay_units",
            self.delay_units_min,
            self.delay_units_max,
        )?;
        if self.delay_units_min == 0 {
            return err("network.delay_units_min must be at least 1".into());
        }
        let (lo, hi) = (self.long_delay_units_min, self.long_delay_units_max);
        range("network.long_delay_units", lo, hi)?;
        odds("network.loss_per_million", self.loss_per_million)?;
        odds("network.duplicate_per_million", self.duplicate_per_million)?;
        odds(
            "network.long_delay_per_million",
            self.long_delay_per_million,
        )?;
        if self.in_flight_max == 0 {
            return err("network.in_flight_max must be at least 1".into());
        }
        Ok(())
    }

    /// A perfect network: fixed small delay, no loss, no duplication.
    pub fn reliable() -> Self {
        NetworkFaults {
            delay_units_min: 10,
            delay_units_max: 10,
            loss_per_million: 0,
            duplicate_per_million: 0,
            long_delay_per_million: 0,
            long_delay_units_min: 0,
            long_delay_units_max: 0,
            in_flight_max: 100_000,
        }
    }
}

/// The relative weights of the partition shapes the random partitioner picks from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeWeights {
    /// A random minority cut off from the rest.
    pub random: u32,
    /// The current leader alone on one side (asks the leader hook; random if none is known).
    pub isolate_leader: u32,
    /// Split brain: two halves of (almost) equal size.
    pub halves: u32,
    /// Two halves that can only talk through one bridge node.
    pub bridge: u32,
}

impl ShapeWeights {
    /// The sum of the weights: a draw below it picks a shape.
    pub(crate) fn total(&self) -> u64 {
        u64::from(self.random)
            + u64::from(self.isolate_leader)
            + u64::from(self.halves)
            + u64::from(self.bridge)
    }
}

/// Random partitions. Each one heals after a random duration; while one is active, the timer
/// that would start the next does nothing, so partitions never nest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionFaults {
    /// Shortest quiet time between two partition attempts.
    pub interval_units_min: Time,
    /// Longest quiet time between two partition attempts.
    pub interval_units_max: Time,
    /// Shortest life of a partition.
    pub duration_units_min: Time,
    /// Longest life of a partition.
    pub duration_units_max: Time,
    /// Which shapes to draw, and how often.
    pub shapes: ShapeWeights,
    /// Odds that a newly elected leader (as the leader hook reports a change) is isolated
    /// shortly after taking office, before its first entries spread: one of the moves of
    /// Raft's Figure 8. Needs a leader hook; 0 turns it off.
    pub new_leader_per_million: u32,
    /// Shortest wait between the election and the isolation.
    pub new_leader_delay_units_min: Time,
    /// Longest wait between the election and the isolation.
    pub new_leader_delay_units_max: Time,
}

impl PartitionFaults {
    fn validate(&self) -> Result<(), ConfigError> {
        range(
            "partitions.interval_units",
            self.interval_units_min,
            self.interval_units_max,
        )?;
        range(
            "partitions.duration_units",
            self.duration_units_min,
            self.duration_units_max,
        )?;
        odds(
            "partitions.new_leader_per_million",
            self.new_leader_per_million,
        )?;
        let (lo, hi) = (
            self.new_leader_delay_units_min,
            self.new_leader_delay_units_max,
        );
        range("partitions.new_leader_delay_units", lo, hi)?;
        if self.shapes.total() == 0 {
            return err("partitions.shapes: all weights are zero".into());
        }
        Ok(())
    }
}

/// Random crashes. A crashed node loses everything but its disk and restarts after a random
/// downtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashFaults {
    /// Shortest time between two crash attempts.
    pub interval_units_min: Time,
    /// Longest time between two crash attempts.
    pub interval_units_max: Time,
    /// Shortest downtime.
    pub downtime_units_min: Time,
    /// Longest downtime.
    pub downtime_units_max: Time,
    /// Odds that the victim is the current leader (as the leader hook says) rather than a
    /// random live node. Crashing leaders is what exposes commit-rule bugs (Raft §5.4.2).
    pub leader_per_million: u32,
    /// How many nodes may be down at once. `None` means a minority, `(nodes - 1) / 2`, so a
    /// majority stays up and progress remains possible; a larger number is the chaos setting.
    pub down_nodes_max: Option<usize>,
    /// Odds that a newly elected leader is crashed shortly after taking office (it restarts
    /// after the usual downtime). A leader that dies while re-replicating old entries is how
    /// commit-rule bugs show (Raft §5.4.2, Figure 8). Needs a leader hook; 0 turns it off.
    pub new_leader_per_million: u32,
    /// Shortest wait between the election and the crash.
    pub new_leader_delay_units_min: Time,
    /// Longest wait between the election and the crash.
    pub new_leader_delay_units_max: Time,
}

impl CrashFaults {
    fn validate(&self, nodes: usize) -> Result<(), ConfigError> {
        range(
            "crashes.interval_units",
            self.interval_units_min,
            self.interval_units_max,
        )?;
        range(
            "crashes.downtime_units",
            self.downtime_units_min,
            self.downtime_units_max,
        )?;
        odds("crashes.leader_per_million", self.leader_per_million)?;
        odds(
            "crashes.new_leader_per_million",
            self.new_leader_per_million,
        )?;
        let (lo, hi) = (
            self.new_leader_delay_units_min,
            self.new_leader_delay_units_max,
        );
        range("crashes.new_leader_delay_units", lo, hi)?;
        if self.down_nodes_max.is_some_and(|d| d >= nodes) {
            return err(format!(
                "crashes.down_nodes_max must be below nodes={nodes}"
            ));
        }
        Ok(())
    }
}

/// Per-node clock rates. Each node's tick period is drawn once from the range; with drift, it
/// also wanders by one unit at a time inside the range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClockSkew {
    /// Shortest tick period (the fastest clock).
    pub tick_period_units_min: Time,
    /// Longest tick period (the slowest clock). `90..=110` is ±10% around 100.
    pub tick_period_units_max: Time,
    /// Odds, per tick, that the node's period moves by one unit up or down.
    pub drift_per_million: u32,
}

impl ClockSkew {
    fn validate(&self) -> Result<(), ConfigError> {
        range(
            "clock.tick_period_units",
            self.tick_period_units_min,
            self.tick_period_units_max,
        )?;
        if self.tick_period_units_min == 0 {
            return err("clock.tick_period_units_min must be at least 1".into());
        }
        odds("clock.drift_per_million", self.drift_per_million)
    }

    /// Every node ticks every `period` units, forever.
    pub fn none(period: Time) -> Self {
        ClockSkew {
            tick_period_units_min: period,
            tick_period_units_max: period,
            drift_per_million: 0,
        }
    }
}

/// How long a simulated fsync takes. Used only for nodes that overlap writes with sends
/// (`Protocol::overlaps_writes`, thesis §10.2.1; see `disk.rs`): every other node's writes are
/// durable at once, as the contract's step 1 has them, and draw nothing from this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskTiming {
    /// Shortest fsync.
    pub fsync_units_min: Time,
    /// Longest fsync.
    pub fsync_units_max: Time,
}

impl DiskTiming {
    fn validate(&self) -> Result<(), ConfigError> {
        range(
            "disk.fsync_units",
            self.fsync_units_min,
            self.fsync_units_max,
        )?;
        if self.fsync_units_min == 0 {
            return err("disk.fsync_units_min must be at least 1".into());
        }
        Ok(())
    }
}

impl Default for DiskTiming {
    /// 10..=200 units: from one quick network hop to several slow ones (hops take 5..60
    /// units in the Raft profiles; a tick is about 100). A leader's AppendEntries then often
    /// reaches followers, and their answers come back, before the leader's own copy is
    /// durable: the window thesis §10.2.1 is about. The spread matters more than the mean:
    /// measured on 1,500 Raft seeds of `all`, a leader that counts its unsynced copy is caught
    /// on 4 with 20..120 units and on 23 with 10..200, at a cost of a fifth of the KV ops.
    fn default() -> Self {
        DiskTiming {
            fsync_units_min: 10,
            fsync_units_max: 200,
        }
    }
}

/// The whole fault model and the bounds of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Cluster size; nodes are named `n1..=nN`.
    pub nodes: usize,
    /// The run stops when the next event would happen after this time.
    pub max_time_units: Time,
    /// The run stops after this many events, whatever the time: the bound on every loop.
    pub max_events: u64,
    /// Message-layer faults.
    pub network: NetworkFaults,
    /// Random partitions, or `None` for a network that never splits by itself.
    pub partitions: Option<PartitionFaults>,
    /// Random crashes, or `None` for nodes that never crash by themselves.
    pub crashes: Option<CrashFaults>,
    /// Per-node clock rates.
    pub clock: ClockSkew,
    /// How long an fsync takes, for nodes that overlap writes with sends.
    pub disk: DiskTiming,
    /// What to write to the trace.
    pub trace: TraceLevel,
    /// How many recent events to keep, as values, for a violation report. 0 turns the ring off.
    pub recent_events: usize,
}

impl SimConfig {
    /// A fault-free run of `nodes` nodes: reliable network, no crashes, no partitions, no skew.
    pub fn quiet(nodes: usize) -> Self {
        SimConfig {
            nodes,
            max_time_units: 100_000,
            max_events: 1_000_000,
            network: NetworkFaults::reliable(),
            partitions: None,
            crashes: None,
            clock: ClockSkew::none(100),
            disk: DiskTiming::default(),
            trace: TraceLevel::Off,
            recent_events: 64,
        }
    }

    /// Reject configs the run loop cannot honour, saying which field and why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.nodes == 0 || self.nodes > NODES_MAX {
            return err(format!("nodes={} must be in 1..={NODES_MAX}", self.nodes));
        }
        if self.recent_events > RECENT_EVENTS_MAX {
            let n = self.recent_events;
            return err(format!("recent_events={n} exceeds {RECENT_EVENTS_MAX}"));
        }
        self.network.validate()?;
        if let Some(p) = &self.partitions {
            p.validate()?;
        }
        if let Some(c) = &self.crashes {
            c.validate(self.nodes)?;
        }
        self.clock.validate()?;
        self.disk.validate()
    }

    /// How many nodes random crashes may take down at once.
    pub(crate) fn down_nodes_max(&self) -> usize {
        let minority = (self.nodes - 1) / 2;
        self.crashes
            .as_ref()
            .and_then(|c| c.down_nodes_max)
            .unwrap_or(minority)
    }
}

/// A config the simulator refuses to run, with the field and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid simulation config: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err(msg: String) -> Result<(), ConfigError> {
    Err(ConfigError(msg))
}

fn range(name: &str, lo: Time, hi: Time) -> Result<(), ConfigError> {
    if lo > hi {
        return err(format!("{name}: min {lo} is above max {hi}"));
    }
    // Bounded so that `now + delay` can never overflow however long the run.
    if hi > 1 << 40 {
        return err(format!("{name}: max {hi} exceeds 2^40 units"));
    }
    Ok(())
}

fn odds(name: &str, per_million: u32) -> Result<(), ConfigError> {
    if per_million > 1_000_000 {
        return err(format!("{name}={per_million} exceeds 1_000_000"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_config_is_valid() {
        assert_eq!(SimConfig::quiet(5).validate(), Ok(()));
    }

    #[test]
    fn an_empty_delay_range_is_rejected_with_its_field_name() {
        let mut c = SimConfig::quiet(3);
        c.network.delay_units_min = 20;
        c.network.delay_units_max = 10;
        let e = c.validate().unwrap_err();
        assert!(e.0.contains("network.delay_units"), "{e}");
    }

    #[test]
    fn an_instant_or_inverted_fsync_is_rejected_with_its_field_name() {
        let mut c = SimConfig::quiet(3);
        c.disk.fsync_units_min = 0;
        assert!(c.validate().unwrap_err().0.contains("disk.fsync_units_min"));
        c.disk = DiskTiming {
            fsync_units_min: 50,
            fsync_units_max: 40,
        };
        assert!(c.validate().unwrap_err().0.contains("disk.fsync_units"));
    }

    #[test]
    fn odds_above_one_are_rejected() {
        let mut c = SimConfig::quiet(3);
        c.network.loss_per_million = 1_000_001;
        assert!(c.validate().is_err());
    }

    #[test]
    fn the_default_crash_bound_is_a_minority() {
        let mut c = SimConfig::quiet(5);
        c.crashes = Some(CrashFaults {
            interval_units_min: 1,
            interval_units_max: 2,
            downtime_units_min: 1,
            downtime_units_max: 2,
            leader_per_million: 0,
            down_nodes_max: None,
            new_leader_per_million: 0,
            new_leader_delay_units_min: 0,
            new_leader_delay_units_max: 0,
        });
        assert_eq!(c.down_nodes_max(), 2);
    }
}
