//! # sim: a deterministic, seeded simulator for any sans-IO protocol
//!
//! [`Simulation`] runs a cluster of [`distributed_core::Protocol`] nodes on one simulated clock.
//! One `u64` seed decides every message delay, loss, duplication, partition, crash, restart,
//! clock rate and client choice, so a seed that breaks an invariant is a complete bug report:
//! replay it and the same events happen in the same order, down to a byte-identical trace.
//!
//! ```text
//!   Workload ──input──►┌──────────────── Simulation<P> ────────────────┐
//!                      │ event queue: min-heap by (time, seq)           │
//!                      │   deliver │ tick │ crash │ restart │ partition │
//!                      │      │       │                                 │
//!                      │      ▼       ▼                                 │
//!                      │   node.step / node.tick / node.input           │
//!                      │      └─► Effects: persist ─► send ─► outputs   │
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
//! config.rs               SimConfig and the fault model: network, partitions, crashes, clock skew
//! partition.rs            Partition: split, isolate, halves, bridge; who can reach whom
//! queue.rs                the (time, seq) min-heap of events
//! record.rs               Record (one traced event as a value), the ring of recent events
//! view.rs                 ClusterView: the read-only picture hooks get; the per-node Slot
//! hooks.rs                Invariant, Workload, LeaderHook, Factory: the plug-in points
//! report.rs               Report, Stop, Violation, Stats
//! simulation.rs           Simulation: construction, scripted faults, the run loop, checks
//! simulation/node_events.rs  deliveries, ticks, workload polls, Effects in order, sends
//! simulation/faults.rs    crashes, restarts, partitions, heals, faults aimed at new leaders
//! ```
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
pub mod hooks;
pub mod partition;
mod queue;
pub mod record;
pub mod report;
mod simulation;
pub mod view;

pub use config::{
    ClockSkew, ConfigError, CrashFaults, NetworkFaults, PartitionFaults, ShapeWeights, SimConfig,
    Time, TraceLevel,
};
pub use hooks::{Factory, Invariant, LeaderHook, TickInput, Workload, WorkloadStep};
pub use partition::Partition;
pub use record::{DropReason, Record};
pub use report::{Report, Stats, Stop, Violation};
pub use simulation::Simulation;
pub use view::ClusterView;
