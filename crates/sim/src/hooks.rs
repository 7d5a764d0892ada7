//! The simulator's plug-in points: invariants that judge a run, workloads that drive it.
//!
//! ```text
//!                    ┌──────────── Simulation ─────────────┐
//!   Workload::poll ─►│ input ─► node ─► Effects             │
//!                    │            1. persist ─► Invariant::on_write
//!                    │            2. send     ─► network
//!                    │            3. outputs  ─► Invariant::on_output, Workload::on_output
//!                    │ restart ───────────────► Invariant::on_restart
//!                    │ after EVERY event ─────► Invariant::check(&ClusterView)
//!                    └──────────────────────────────────────┘
//! ```
//!
//! Hooks see writes and outputs in the order the Effects contract fixes (persist, send,
//! deliver), so an invariant can rely on "a write it saw is on disk" when it sees the output
//! that depends on it. The exception is a node that overlaps writes with sends (contract step
//! 5): its outputs come at once and `on_write` when the fsync completes, later; `on_write`
//! still means "on disk", and [`ClusterView::unsynced_writes`] says how far memory runs ahead.
//! Any hook may report a violation; the first one stops the run.
//!
//! Hooks must be deterministic too: no clocks, no thread RNG, no iteration over std `HashMap`
//! where the order could reach a verdict or a message. The simulator gives the workload a
//! seeded RNG of its own for its choices.

use distributed_core::{NodeId, Protocol, SeededRng};

use crate::config::Time;
use crate::view::ClusterView;

/// A safety property checked throughout a run.
///
/// Invariants usually keep history (the leader of every term seen so far, every committed
/// entry) in `self`, fed by the hooks, and compare the cluster against it in [`check`].
///
/// [`check`]: Invariant::check
pub trait Invariant<P: Protocol> {
    /// A short name for reports, e.g. `election-safety`.
    fn name(&self) -> &str;

    /// Node `node` persisted `write` (already applied to its disk; for a node that overlaps
    /// writes, when its fsync completed).
    fn on_write(&mut self, node: NodeId, write: &P::Write) -> Result<(), String> {
        let _ = (node, write);
        Ok(())
    }

    /// Node `node` produced `output` (after its writes were persisted and its messages sent).
    fn on_output(&mut self, node: NodeId, output: &P::Output) -> Result<(), String> {
        let _ = (node, output);
        Ok(())
    }

    /// Node `node` was rebuilt from its disk: its volatile state is new.
    fn on_restart(&mut self, node: NodeId) {
        let _ = node;
    }

    /// Judge the cluster after an event. Runs after *every* event, so keep it cheap: use
    /// [`ClusterView::touched`] to look only at the node that changed when that suffices.
    fn check(&mut self, view: &ClusterView<P>) -> Result<(), String>;
}

/// What a workload wants when it is polled.
pub struct WorkloadStep<I> {
    /// A client request for a node, if the workload has one now.
    pub input: Option<(NodeId, I)>,
    /// When to poll again, in time units from now (at least 1); `None` stops the workload.
    pub next_poll_units: Option<Time>,
}

/// Simulated clients: they inject inputs and watch outputs.
///
/// A workload learns about the cluster the way a real client does, from outputs (a node says
/// "not the leader, try n3") and from requests that go unanswered. It gets a view for
/// convenience (its size, the time), but a faithful client does not peek at node state.
pub trait Workload<P: Protocol> {
    /// Called at time 0 and then whenever the last step asked; returns the next input, if any.
    fn poll(&mut self, view: &ClusterView<P>, rng: &mut SeededRng) -> WorkloadStep<P::Input>;

    /// Node `node` produced `output` at time `now`.
    fn on_output(&mut self, node: NodeId, output: &P::Output, now: Time) {
        let _ = (node, output, now);
    }

    /// The input the workload sent to `node` was lost because `node` was down.
    fn on_input_dropped(&mut self, node: NodeId, now: Time) {
        let _ = (node, now);
    }
}

/// Asks the protocol who leads now, for leader-targeted faults (crash the leader, isolate the
/// leader). Protocols without leaders simply never install one; the faults then pick at random.
pub type LeaderHook<P> = Box<dyn Fn(&ClusterView<P>) -> Option<NodeId>>;

/// What a node's host hands it with every tick, if anything: called with the node's id and the
/// simulated time just before the node ticks, in the same event. A host that stamps its wall
/// clock into the node on every tick (the replicated KV store's active expiry) is modelled
/// this way; the simulated time is then every host's wall clock (the clocks agree, as NTP
/// would have them, while their tick rates differ per node, `ClockSkew`).
pub type TickInput<P> = Box<dyn Fn(NodeId, Time) -> Option<<P as Protocol>::Input>>;

/// Builds a node from its id, its disk and a fresh RNG stream: at start (from an empty disk)
/// and on every restart (from exactly what it persisted).
pub type Factory<P> = Box<dyn Fn(NodeId, &<P as Protocol>::Disk, SeededRng) -> P>;
