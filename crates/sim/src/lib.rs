//! # sim: a deterministic, seeded simulator for any sans-IO protocol
//!
//! [`Simulation`] runs a cluster of [`distributed_core::Protocol`] nodes on one simulated clock.
//! One `u64` seed decides every message delay, loss, duplication, partition, crash, restart,
//! clock rate, fsync delay and client choice, so a seed that breaks an invariant is a complete
//! bug report: replay it and the same events happen in the same order, down to a
//! byte-identical trace.
//!
//! ```text
//!   Workload ──input──►┌──────────────── Simulation<P> ────────────────┐
//!                      │ event queue: min-heap by (time, seq)           │
//!                      │   deliver │ tick │ crash │ restart │ partition │
//!                      │   fsync (nodes that overlap writes only)       │
//!                      │      │       │                                 │
//!                      │      ▼       ▼                                 │
//!                      │   node.step / node.tick / node.input           │
//!                      │      └─► Effects: persist ─► send ─► outputs   │
//!                      │   overlapping node: early sends, outputs now;  │
//!                      │      writes + held sends wait for their fsync  │
//!                      │ after every event: Invariant::check            │
//!                      └──────────────┬─────────────────────────────────┘
//!                                     ▼
//!                     Report { seed, stop (or Violation), stats, trace }
//! ```
//!
//! ## Layout
//!
//! ```text
//! lib.rs                  this map
//! config.rs               SimConfig and the fault model: network, partitions, crashes, clock skew,
//!                         fsync delays (DiskTiming)
//! partition.rs            Partition: split, isolate, halves, bridge; who can reach whom
//! queue.rs                the (time, seq) min-heap of events
//! record.rs               Record (one traced event as a value), the ring of recent events
//! view.rs                 ClusterView: the read-only picture hooks get; the per-node Slot
//! disk.rs                 DiskQueue: writes on their way to disk and the messages held for them,
//!                         one fsync at a time, group commit behind it (thesis §10.2.1)
//! hooks.rs                Invariant, Workload, LeaderHook, Factory: the plug-in points
//! report.rs               Report, Stop, Violation, Stats (messages sent, and their bytes when
//!                         the run sizes them: Simulation::with_message_size)
//! simulation.rs           Simulation: construction, scripted faults, the run loop, checks
//! simulation/node_events.rs  deliveries, ticks, workload polls, Effects in order, sends
//! simulation/faults.rs    crashes, restarts, partitions, heals, faults aimed at new leaders,
//!                         the calm
//! simulation/fsync.rs     Effects of a node that overlaps writes with sends; fsync completions
//! ```
//!
//! ## Writes that take time
//!
//! A node whose `Protocol::overlaps_writes` is true (a Raft leader that writes in parallel
//! with its followers, thesis §10.2.1) gets the host the real server is for it: messages it
//! may send early leave at once, outputs are delivered at once, and its writes and its other
//! messages wait in the slot's `DiskQueue` for an fsync that completes after a delay drawn
//! from `SimConfig::disk`. Then the writes reach the disk, the held messages leave, and the
//! node is told (`Protocol::durable_input`). A crash loses the queue. Every other node's
//! writes are durable at once, as before: such runs draw no fsync delay and replay unchanged.
//!
//! ## The calm
//!
//! Some properties speak of what happens once faults stop: eventual convergence asks that,
//! after the last write and a quiet period, every replica holds the same state. A runner
//! asks for that with [`Simulation::schedule_calm`]: at the given time the standing
//! partition heals, every crashed node restarts from its disk, and from then on no random
//! crash, partition, loss or duplication happens, and every message takes the shortest
//! delay (links reliable and FIFO, as TCP makes them for a protocol that assumes so). The
//! runner then lets the run go quiet and reads the replicas' states from
//! [`Simulation::view`]. A run without a calm draws exactly what it drew before the calm
//! existed.
//!
//! ## What is not here
//!
//! No protocol. This crate depends on `distributed-core` alone and knows every protocol only
//! through the `Protocol` trait; what a protocol's runs *mean* (its invariants, its clients,
//! its seed runners and summaries) lives in the `scenarios` crate, one folder per protocol.
//! A new protocol adds a folder there and never a line here (a fitness test keeps it so).
//!
//! ## Rules the simulator keeps
//!
//! - Deterministic: no wall clock, no thread RNG, no hash-map iteration. (The seed runners in
//!   `scenarios` read the clock only to time a batch for its summary.)
//! - Bounded: a run stops at `max_events` or `max_time_units`; the network holds at most
//!   `in_flight_max` messages; the ring keeps at most `recent_events` records.
//! - Cheap on the hot path: no allocation or formatting per event beyond what the protocol
//!   itself does, unless a trace is asked for.

#![forbid(unsafe_code)]

pub mod config;
mod disk;
pub mod hooks;
pub mod partition;
mod queue;
pub mod record;
pub mod report;
mod simulation;
pub mod view;

pub use config::{
    ClockSkew, ConfigError, CrashFaults, DiskTiming, NetworkFaults, PartitionFaults, ShapeWeights,
    SimConfig, Time, TraceLevel,
};
pub use hooks::{Factory, Invariant, LeaderHook, TickInput, Workload, WorkloadStep};
pub use partition::Partition;
pub use record::{DropReason, Record};
pub use report::{Report, Stats, Stop, Violation};
pub use simulation::Simulation;
pub use view::ClusterView;
