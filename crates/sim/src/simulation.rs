//! The deterministic simulator: one seed, one event queue, any `Protocol`.
//!
//! ```text
//!   seed ─► SeededRng ─fork─► net   (delays, loss, duplication)
//!                     ├fork─► faults (crash victims, partitions, downtimes)
//!                     ├fork─► clock  (tick periods, drift)
//!                     ├fork─► workload
//!                     ├fork─► n1, n2, … (each node's parent stream; each incarnation forks it)
//!                     └fork─► disk  (fsync delays; only nodes that overlap writes draw)
//!
//!   loop (bounded by max_events and max_time_units):
//!     pop earliest (time, seq) ─► handle ─► node.step/tick/input ─► Effects
//!                                             1. persist writes to the slot's disk (+ on_write)
//!                                             2. send: loss? delay? duplicate? ─► queue
//!                                             3. outputs ─► invariants, workload, trace
//!                                           (overlapping node: 1. waits in the slot's DiskQueue
//!                                            for an Fsync event; early sends and 3. go now)
//!                               ─► every Invariant::check(view); first failure stops the run
//! ```
//!
//! Determinism: every choice comes from a stream forked from the one seed, the queue breaks time
//! ties by scheduling order, and nothing iterates a hash map. So a seed *is* its run: the same
//! seed gives the same events, the same verdict and a byte-identical trace.
//!
//! Speed: the hot path (deliver, tick) allocates nothing of its own. The `Effects` buffer is
//! reused across events, records are cloned only if the ring or the trace wants them, and text
//! is produced only when tracing or reporting.
//!
//! The `impl` is split by role: this file has construction, the run loop and the checks;
//! `simulation/node_events.rs` delivers, ticks, polls the workload and carries out Effects;
//! `simulation/faults.rs` crashes, restarts, partitions, heals and the calm;
//! `simulation/fsync.rs` carries out the Effects of a node that overlaps writes with sends,
//! and completes its fsyncs.

mod faults;
mod fsync;
mod node_events;

use std::panic::{self, AssertUnwindSafe};

use distributed_core::{Effects, NodeId, Protocol, Rng, SeededRng};

use crate::config::{ConfigError, SimConfig, Time, TraceLevel};
use crate::disk::DiskQueue;
use crate::hooks::{Factory, Invariant, LeaderHook, TickInput, Workload};
use crate::partition::Partition;
use crate::queue::{EventKind, EventQueue};
use crate::record::Recorder;
use crate::report::{Report, Stats, Stop, Violation};
use crate::view::{ClusterView, Slot};

/// An invariant's complaint, before it is dressed up as a [`Violation`].
struct Failure {
    /// The invariant's name.
    invariant: String,
    /// What it said.
    message: String,
}

/// What handling one event returns: the node it acted on, or the failure that stops the run.
type Handled = Result<Option<NodeId>, Failure>;

/// A simulated cluster of `P` nodes under a seeded fault model.
pub struct Simulation<P: Protocol> {
    /// The one number that decides the run; reported with every violation.
    seed: u64,
    /// The fault model and bounds, validated.
    config: SimConfig,
    /// Builds a node from its disk: at start and on every restart.
    factory: Factory<P>,
    /// One slot per node, `n1` first.
    slots: Vec<Slot<P>>,
    /// Everything scheduled to happen.
    queue: EventQueue<P>,
    /// Simulated time of the event being handled.
    now: Time,
    /// Draws for message delay, loss and duplication.
    net_rng: SeededRng,
    /// Draws for crash victims, downtimes and partition shapes.
    fault_rng: SeededRng,
    /// Draws for tick periods and drift.
    clock_rng: SeededRng,
    /// The workload's own stream, so client choices never shift fault choices.
    workload_rng: SeededRng,
    /// Draws for fsync delays, of nodes that overlap writes with sends only (disk.rs).
    disk_rng: SeededRng,
    /// The partition standing now, if any.
    partition: Option<Partition>,
    /// Counts partitions, so a timer's heal can tell whether its partition still stands.
    partition_epoch: u64,
    /// Safety properties, checked after every event.
    invariants: Vec<Box<dyn Invariant<P>>>,
    /// Simulated clients, if any.
    workload: Option<Box<dyn Workload<P>>>,
    /// Who leads, for leader-targeted faults.
    leader_hook: Option<LeaderHook<P>>,
    /// What a host hands its node with each tick (its clock), if the protocol wants it.
    tick_input: Option<TickInput<P>>,
    /// A message's size on the wire, if the runner gave one: summed into
    /// `Stats::message_bytes_sent` at every send. A plain `fn`, not a boxed closure: a size
    /// depends on the message alone, and the call on the hot path stays one indirect call.
    message_size: Option<fn(&P::Message) -> usize>,
    /// The one `Effects` buffer every node call writes into; kept to reuse its capacity.
    effects: Effects<P>,
    /// Ring of recent records, and the trace if asked for.
    recorder: Recorder<P>,
    /// Counters.
    stats: Stats,
    /// Whether the initial events (first ticks, timers, first poll) have been scheduled.
    started: bool,
    /// Whether to ask the leader hook after every node event (new-leader faults are on).
    watch_leader: bool,
    /// The leader the hook named after the last node event: a change is a new leader.
    last_leader: Option<NodeId>,
    /// Whether the calm has begun (`schedule_calm`): from then on no random fault, no loss
    /// or duplication, the shortest delay for every message. Scripted faults still happen:
    /// they are the caller's.
    calm: bool,
}

impl<P: Protocol> Simulation<P> {
    /// A cluster of `config.nodes` nodes, each built by `factory` from an empty disk.
    pub fn new(
        seed: u64,
        config: SimConfig,
        factory: impl Fn(NodeId, &P::Disk, SeededRng) -> P + 'static,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut master = SeededRng::new(seed);
        let net_rng = master.fork();
        let fault_rng = master.fork();
        let mut clock_rng = master.fork();
        let workload_rng = master.fork();
        // Notes (why a node ignored an event) cost a format each: only a trace pays for them.
        let effects = match config.trace {
            TraceLevel::Off => Effects::new(),
            TraceLevel::Events | TraceLevel::Ticks => Effects::with_notes(),
        };
        let c = &config.clock;
        let slots = (1..=config.nodes as u64)
            .map(|i| {
                let id = NodeId(i);
                let mut rng = master.fork();
                let disk = P::Disk::default();
                let node = factory(id, &disk, rng.fork());
                let tick_period = draw(
                    &mut clock_rng,
                    c.tick_period_units_min,
                    c.tick_period_units_max,
                );
                Slot {
                    id,
                    node: Some(node),
                    disk,
                    incarnation: 0,
                    tick_period,
                    rng,
                    unsynced: DiskQueue::new(),
                }
            })
            .collect();
        // Forked last, so every stream above is what it was before the disk had one: a run
        // whose nodes never overlap writes draws nothing from it and replays unchanged.
        let disk_rng = master.fork();
        Ok(Simulation {
            seed,
            recorder: Recorder::new(config.recent_events, config.trace),
            config,
            factory: Box::new(factory),
            slots,
            queue: EventQueue::new(),
            now: 0,
            net_rng,
            fault_rng,
            clock_rng,
            workload_rng,
            disk_rng,
            partition: None,
            partition_epoch: 0,
            invariants: Vec::new(),
            workload: None,
            leader_hook: None,
            tick_input: None,
            message_size: None,
            effects,
            stats: Stats::default(),
            started: false,
            watch_leader: false,
            last_leader: None,
            calm: false,
        })
    }

    /// Check `invariant` after every event.
    pub fn with_invariant(mut self, invariant: impl Invariant<P> + 'static) -> Self {
        self.invariants.push(Box::new(invariant));
        self
    }

    /// Drive the cluster with `workload`; it is first polled at time 0.
    pub fn with_workload(mut self, workload: impl Workload<P> + 'static) -> Self {
        self.workload = Some(Box::new(workload));
        self
    }

    /// Tell the fault injector who leads, for "crash the leader" and "isolate the leader".
    pub fn with_leader_hook(
        mut self,
        hook: impl Fn(&ClusterView<P>) -> Option<NodeId> + 'static,
    ) -> Self {
        self.leader_hook = Some(Box::new(hook));
        self
    }

    /// Before every tick, hand the node `hook(node, now)`'s input, if any, in the same event
    /// (see [`TickInput`]). Traces show the tick, not the input: it comes with every tick.
    pub fn with_tick_input(
        mut self,
        hook: impl Fn(NodeId, Time) -> Option<P::Input> + 'static,
    ) -> Self {
        self.tick_input = Some(Box::new(hook));
        self
    }

    /// Count the bytes of every message sent, as `size` says (`WireSize::wire_bytes` from
    /// `distributed_core::wire`, for a protocol that has one), into
    /// `Stats::message_bytes_sent`. The engine stays blind to the protocol: without a sizer
    /// it counts messages only, and the figure reads 0. Sizing draws nothing from any RNG, so
    /// a sized run replays exactly as an unsized one.
    pub fn with_message_size(mut self, size: fn(&P::Message) -> usize) -> Self {
        self.message_size = Some(size);
        self
    }

    /// Crash `node` at time `at` (no automatic restart).
    pub fn schedule_crash(&mut self, at: Time, node: NodeId) {
        self.check_id(node);
        self.queue.push(at.max(self.now), EventKind::Crash(node));
    }

    /// Restart `node` from its disk at time `at` (nothing happens if it is up then).
    pub fn schedule_restart(&mut self, at: Time, node: NodeId) {
        self.check_id(node);
        self.queue.push(at.max(self.now), EventKind::Restart(node));
    }

    /// Impose `partition` at time `at`, replacing any standing one (no automatic heal).
    pub fn schedule_partition(&mut self, at: Time, partition: Partition) {
        assert_eq!(
            partition.nodes(),
            self.slots.len(),
            "partition size differs from the cluster"
        );
        self.queue
            .push(at.max(self.now), EventKind::Partition(partition));
    }

    /// Heal whatever partition stands at time `at`.
    pub fn schedule_heal(&mut self, at: Time) {
        self.queue
            .push(at.max(self.now), EventKind::Heal { epoch: None });
    }

    /// At time `at`, make the world calm for the rest of the run: heal the standing
    /// partition, restart every crashed node from its disk, and from then on start no random
    /// crash or partition (nor those aimed at new leaders), lose or duplicate no message, and
    /// give every message the shortest delay (links reliable and FIFO, as TCP makes them).
    /// Messages already in flight still arrive when they were due. What a run that judges
    /// eventual convergence needs: after the calm and a quiet period, the replicas' final
    /// states are read from [`view`](Simulation::view). Scripted faults are the caller's and
    /// still happen. Draws nothing from any RNG before `at`, so the run up to the calm
    /// replays exactly as one without it.
    pub fn schedule_calm(&mut self, at: Time) {
        self.queue.push(at.max(self.now), EventKind::Calm);
    }

    /// Has the calm begun?
    pub fn is_calm(&self) -> bool {
        self.calm
    }

    /// The seed this run was built from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Simulated time now.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The cluster as it stands (after a run: as the run left it).
    pub fn view(&self) -> ClusterView<'_, P> {
        ClusterView {
            now: self.now,
            slots: &self.slots,
            partition: self.partition.as_ref(),
            touched: None,
        }
    }

    /// Run until `max_events`, `max_time_units`, an empty queue, or the first violation.
    /// Calling it again continues from where the last call stopped (it stops again at once
    /// if a bound was reached).
    ///
    /// A panic inside a node, a hook or the factory (a protocol's own `assert!` firing) is a
    /// finding too: it is caught and reported as a violation of `panic`, with the seed and the
    /// recent events, like any invariant. The node that panicked may be half-updated, so the
    /// simulation must not be run further after such a report.
    pub fn run(&mut self) -> Report {
        self.start();
        let stop = match panic::catch_unwind(AssertUnwindSafe(|| self.run_loop())) {
            Ok(stop) => stop,
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                Stop::Violation(self.violation(Failure {
                    invariant: "panic".into(),
                    message,
                }))
            }
        };
        self.stats.final_time = self.now;
        Report {
            seed: self.seed,
            stop,
            stats: self.stats.clone(),
            trace: self.recorder.take_trace(),
        }
    }

    fn run_loop(&mut self) -> Stop {
        loop {
            if self.stats.events >= self.config.max_events {
                return Stop::MaxEvents;
            }
            let Some(at) = self.queue.peek_time() else {
                return Stop::Idle;
            };
            if at > self.config.max_time_units {
                self.now = self.config.max_time_units;
                return Stop::MaxTime;
            }
            let Some(event) = self.queue.pop() else {
                return Stop::Idle;
            };
            self.now = event.at;
            self.stats.events += 1;
            let touched = match self.handle(event.kind) {
                Ok(touched) => touched,
                Err(f) => return Stop::Violation(self.violation(f)),
            };
            if let Err(f) = self.check(touched) {
                return Stop::Violation(self.violation(f));
            }
            if self.watch_leader && touched.is_some() {
                self.watch_leader_change();
            }
        }
    }

    /// Schedule what a run starts with: every node's first tick (at a random phase of its
    /// period, so clocks do not start in lockstep), the first workload poll, the fault timers.
    fn start(&mut self) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let crash_new = self
            .config
            .crashes
            .as_ref()
            .is_some_and(|c| c.new_leader_per_million > 0);
        let isolate_new = self
            .config
            .partitions
            .as_ref()
            .is_some_and(|p| p.new_leader_per_million > 0);
        self.watch_leader = self.leader_hook.is_some() && (crash_new || isolate_new);
        for i in 0..self.slots.len() {
            let s = &self.slots[i];
            let (node, incarnation, period) = (s.id, s.incarnation, s.tick_period);
            let first = draw(&mut self.clock_rng, 1, period);
            self.queue
                .push(first, EventKind::Tick { node, incarnation });
        }
        if self.workload.is_some() {
            self.queue.push(0, EventKind::Workload);
        }
        if let Some(c) = &self.config.crashes {
            let at = draw(
                &mut self.fault_rng,
                c.interval_units_min,
                c.interval_units_max,
            );
            self.queue.push(at, EventKind::CrashTimer);
        }
        if let Some(p) = &self.config.partitions {
            let at = draw(
                &mut self.fault_rng,
                p.interval_units_min,
                p.interval_units_max,
            );
            self.queue.push(at, EventKind::PartitionTimer);
        }
    }

    fn handle(&mut self, kind: EventKind<P>) -> Handled {
        match kind {
            EventKind::Deliver(env) => self.deliver(env),
            EventKind::Tick { node, incarnation } => self.tick(node, incarnation),
            EventKind::Fsync { node, incarnation } => self.fsync_done(node, incarnation),
            EventKind::Workload => self.poll_workload(),
            EventKind::CrashTimer => Ok(self.crash_timer()),
            EventKind::Crash(node) => Ok(self.crash(node)),
            EventKind::Restart(node) => self.restart(node),
            EventKind::PartitionTimer => Ok(self.partition_timer()),
            EventKind::Partition(p) => Ok(self.scripted_partition(p)),
            EventKind::Heal { epoch } => Ok(self.heal(epoch)),
            EventKind::CrashNewLeader { node, incarnation } => {
                Ok(self.crash_new_leader(node, incarnation))
            }
            EventKind::IsolateNewLeader { node, incarnation } => {
                Ok(self.isolate_new_leader(node, incarnation))
            }
            EventKind::Calm => self.begin_calm(),
        }
    }

    /// Run every invariant's `check` on the cluster as the last event left it.
    fn check(&mut self, touched: Option<NodeId>) -> Result<(), Failure> {
        let view = ClusterView {
            now: self.now,
            slots: &self.slots,
            partition: self.partition.as_ref(),
            touched,
        };
        for inv in &mut self.invariants {
            inv.check(&view).map_err(|m| failure(inv.as_ref(), m))?;
        }
        Ok(())
    }

    fn violation(&self, f: Failure) -> Violation {
        Violation {
            seed: self.seed,
            invariant: f.invariant,
            message: f.message,
            time: self.now,
            event: self.stats.events,
            recent: self.recorder.recent_lines(),
        }
    }

    fn check_id(&self, id: NodeId) {
        assert!(
            (1..=self.slots.len() as u64).contains(&id.0),
            "{id} is not a node of this {}-node cluster",
            self.slots.len()
        );
    }
}

/// The text of a panic payload (`panic!` with a literal or with format arguments).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

fn failure<P: Protocol>(inv: &dyn Invariant<P>, message: String) -> Failure {
    Failure {
        invariant: inv.name().to_string(),
        message,
    }
}

/// The slot index of a node id known to be valid (`n1` is slot 0).
fn index(id: NodeId) -> usize {
    id.0 as usize - 1
}

/// A uniform draw from `lo..=hi`, without touching the RNG when the range is one value, so a
/// fault that is configured off costs nothing and shifts no other draw.
fn draw(rng: &mut SeededRng, lo: Time, hi: Time) -> Time {
    if lo >= hi {
        lo
    } else {
        rng.range(lo, hi + 1)
    }
}
