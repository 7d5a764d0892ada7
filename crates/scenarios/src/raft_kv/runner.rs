//! Running one KV seed: build the cluster, run it, close the history, check it.
//!
//! ```text
//!   simulation(seed, opts) ──► KvSimulation
//!        factory: KvReplica::new(replica_config(id), &disk, rng)
//!        invariants: Raft's five through OnReplica, replica-progress, replica-agreement
//!        workload: KvClients (shared with the runner, which reads the history at the end)
//!        leader hook: kv_leader
//!        tick input: host_clock (Clock{now_ms = simulated time}, for active expiry)
//!   KvSimulation::run ──► Simulation::run ──► Report (ok | invariant violation)
//!                     ──► clients.finish ──► History (no Done ⇒ no return)
//!                     ──► Checker(Budget::steps, 1 thread) ──► CheckResult
//!                     ──► KvSeedReport
//! ```
//!
//! The checker's budget is in search steps, never wall time, and it runs on one thread, so a
//! seed's verdict, `Unknown` included, replays exactly. The history is checked even when an
//! invariant stopped the run early: its ops then end where the run ended.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use check::{Budget, CheckResult, Checker, History};
use distributed_core::{NodeId, SeededRng};
use replica::{Input as ReplicaInput, KvReplica, Output as ReplicaOutput};

use super::client::KvClients;
use super::coverage::{Coverage, CoverageProbe};
use super::invariants::{kv_leader, OnReplica, ReplicaAgreement, ReplicaProgress};
use super::kv_node::KvNode;
use super::ops::OpCounts;
use super::options::RaftKvOptions;
use super::wall_clock::WallClocks;
use crate::raft::{
    ConfigAgreement, ElectionSafety, LeaderCompleteness, LogMatching, MembershipDriver,
    StateMachineSafety, MEMBERSHIP_CHANGE_INTERVAL_UNITS,
};
use sim::config::{ConfigError, Time};
use sim::hooks::{Workload, WorkloadStep};
use sim::report::{Report, Violation};
use sim::view::ClusterView;
use sim::Simulation;

/// Replicas are digested when their applied index crosses a multiple of this.
pub const DIGEST_EVERY_ENTRIES: u64 = 16;

/// The clients, shared: the simulation drives them, the runner reads their history after.
pub(crate) struct SharedClients(pub(crate) Rc<RefCell<KvClients>>);

impl<P: KvNode> Workload<P> for SharedClients {
    fn poll(&mut self, view: &ClusterView<P>, rng: &mut SeededRng) -> WorkloadStep<P::Input> {
        self.0.borrow_mut().poll(view, rng)
    }

    fn on_output(&mut self, node: NodeId, output: &ReplicaOutput, now: Time) {
        <KvClients as Workload<P>>::on_output(&mut self.0.borrow_mut(), node, output, now);
    }

    fn on_input_dropped(&mut self, node: NodeId, now: Time) {
        <KvClients as Workload<P>>::on_input_dropped(&mut self.0.borrow_mut(), node, now);
    }
}

/// A fully wired KV simulation for one seed. Add scripted faults through [`sim_mut`], then
/// [`run`] it; `run_seed` is `simulation` plus `run`.
///
/// [`sim_mut`]: KvSimulation::sim_mut
/// [`run`]: KvSimulation::run
pub struct KvSimulation {
    /// The cluster, its invariants and its clients.
    sim: Simulation<KvReplica>,
    /// The clients' handle, for their history once the run is over.
    clients: Rc<RefCell<KvClients>>,
    /// Replica-agreement's count of digest comparisons.
    digest_comparisons: Rc<Cell<u64>>,
    /// What the run exercised (snapshots, installs, expiries), filled by the coverage probe.
    coverage: Rc<Cell<Coverage>>,
    /// The checker's per-key step budget.
    check_steps_max: u64,
}

/// What each node's host hands its replica before every tick: its wall clock (the simulated
/// time, one unit read as one millisecond, plus the node's offset under skew: `wall_clock.rs`),
/// the clock its requests are stamped with too, so a leader proposes active expiry
/// (`replica`'s expiry.rs) when a key's time comes by its own clock.
fn host_clock(clocks: &WallClocks, node: NodeId, now: Time) -> Option<ReplicaInput> {
    Some(ReplicaInput::Clock {
        now_ms: clocks.now_ms(node, now),
    })
}

/// A fully wired KV simulation for `seed` (see [`KvSimulation`]).
pub fn simulation(seed: u64, opts: &RaftKvOptions) -> Result<KvSimulation, ConfigError> {
    opts.validate()?;
    let opts = &opts.for_seed(seed);
    let factory_opts = opts.clone();
    let factory = move |id: NodeId, disk: &raft::Disk, rng| {
        KvReplica::new(factory_opts.replica_config(id), disk, rng)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"))
    };
    let n = opts.raft_options().slots();
    let wall_clocks = WallClocks::new(seed, opts);
    let clients = Rc::new(RefCell::new(KvClients::new(
        seed,
        opts.client_settings(),
        wall_clocks.clone(),
    )));
    let agreement = ReplicaAgreement::new(n, DIGEST_EVERY_ENTRIES);
    let digest_comparisons = agreement.comparisons();
    let coverage = Rc::new(Cell::new(Coverage::default()));
    let sim = Simulation::new(seed, opts.sim_config(), factory)?
        .with_message_size(distributed_core::WireSize::wire_bytes)
        .with_invariant(OnReplica::leaders(ElectionSafety::new(n), n))
        .with_invariant(OnReplica::hooks(LogMatching::new(n)))
        .with_invariant(OnReplica::leaders(LeaderCompleteness::new(n), n))
        .with_invariant(OnReplica::hooks(StateMachineSafety::new(n)))
        .with_invariant(ReplicaProgress::new(n))
        .with_invariant(agreement)
        .with_invariant(ConfigAgreement::new(n))
        .with_invariant(CoverageProbe::new(coverage.clone()))
        .with_leader_hook(kv_leader)
        .with_tick_input(move |node, now| host_clock(&wall_clocks, node, now));
    let workload = SharedClients(clients.clone());
    let sim = if opts.membership_changes {
        sim.with_workload(MembershipDriver::new(
            workload,
            MEMBERSHIP_CHANGE_INTERVAL_UNITS,
        ))
    } else {
        sim.with_workload(workload)
    };
    Ok(KvSimulation {
        sim,
        clients,
        digest_comparisons,
        coverage,
        check_steps_max: opts.check_steps_max,
    })
}

impl KvSimulation {
    /// The simulation, to schedule crashes, restarts, partitions and heals before `run`.
    pub fn sim_mut(&mut self) -> &mut Simulation<KvReplica> {
        &mut self.sim
    }

    /// Run to the end, close the history and check it.
    pub fn run(mut self) -> KvSeedReport {
        let report = self.sim.run();
        let (comparisons, coverage) = (self.digest_comparisons.get(), self.coverage.get());
        close_and_check(
            report,
            &self.clients,
            self.check_steps_max,
            comparisons,
            coverage,
        )
    }
}

/// After a KV run of any protocol: close the clients' history, check it (a step budget, one
/// thread, so the verdict replays), and make the seed's report.
pub(crate) fn close_and_check(
    report: Report,
    clients: &RefCell<KvClients>,
    check_steps_max: u64,
    digest_comparisons: u64,
    coverage: Coverage,
) -> KvSeedReport {
    let result = clients.borrow_mut().finish();
    let checker = Checker::default()
        .with_budget(Budget::steps(check_steps_max))
        .with_threads(1);
    let (check, check_stats) = checker.check_history_with_stats(&result.history);
    KvSeedReport {
        report,
        check,
        check_stats,
        ops: result.counts,
        unexpected: result.unexpected,
        digest_comparisons,
        coverage,
        history: result.history,
    }
}

/// Run one seed. Panics if `opts` are invalid: call [`RaftKvOptions::validate`] first on
/// options that come from a user.
pub fn run_seed(seed: u64, opts: &RaftKvOptions) -> KvSeedReport {
    simulation(seed, opts)
        .unwrap_or_else(|e| panic!("run_seed: {e}"))
        .run()
}

/// The outcome of one seed: the simulator's verdict, the checker's, and the history itself.
#[derive(Clone, Debug)]
pub struct KvSeedReport {
    /// Why the run stopped (maybe an invariant violation), its stats, its trace.
    pub report: Report,
    /// The linearizability verdict on the clients' history.
    pub check: CheckResult,
    /// What the check cost: partitions, ops searched, steps, which keys failed or ran out.
    pub check_stats: check::Stats,
    /// What the clients did.
    pub ops: OpCounts,
    /// The first unexpected replies, verbatim (all are counted in `ops.unexpected`).
    pub unexpected: Vec<String>,
    /// How many replica digests were compared with another replica's at the same index.
    pub digest_comparisons: u64,
    /// What the run exercised: snapshots persisted and installed, expiry entries proposed.
    pub coverage: Coverage,
    /// Every op the clients issued: dump it with [`KvSeedReport::history_json_lines`].
    pub history: History,
}

/// What went wrong with a seed, if anything, most serious first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvFailure {
    /// An invariant (Raft's, replica progress or agreement) failed, or a node panicked.
    Invariant,
    /// The history has no linearization.
    Linearizability,
    /// A replica answered something the checker's model cannot state (see `ops.rs`).
    UnexpectedReply,
}

impl fmt::Display for KvFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KvFailure::Invariant => "invariant",
            KvFailure::Linearizability => "linearizability",
            KvFailure::UnexpectedReply => "unexpected-reply",
        })
    }
}

impl KvSeedReport {
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.report.seed
    }

    /// The invariant violation, if the run found one.
    pub fn violation(&self) -> Option<&Violation> {
        self.report.violation()
    }

    /// The checker's report, if the history is not linearizable.
    pub fn check_violation(&self) -> Option<&check::Report> {
        match &self.check {
            CheckResult::Violation(r) => Some(r),
            _ => None,
        }
    }

    /// The checker ran out of budget: no claim either way.
    pub fn is_unknown(&self) -> bool {
        self.check == CheckResult::Unknown
    }

    /// The most serious thing wrong with the seed, if anything. `Unknown` is not a failure.
    pub fn failure(&self) -> Option<KvFailure> {
        if self.violation().is_some() {
            Some(KvFailure::Invariant)
        } else if self.check_violation().is_some() {
            Some(KvFailure::Linearizability)
        } else if self.ops.unexpected > 0 {
            Some(KvFailure::UnexpectedReply)
        } else {
            None
        }
    }

    /// The history in the checker's JSON-lines file format (`distributed check` reads it).
    pub fn history_json_lines(&self) -> String {
        self.history.to_json_lines()
    }

    /// The trace lines, if tracing was on.
    pub fn trace_lines(&self) -> impl Iterator<Item = &str> {
        self.report.trace.as_deref().unwrap_or("").lines()
    }

    /// One line: what failed and where, for summaries.
    pub fn failure_line(&self) -> Option<String> {
        let failure = self.failure()?;
        let detail = match failure {
            KvFailure::Invariant => self.violation().map_or(String::new(), |v| {
                format!("{} at t={}: {}", v.invariant, v.time, v.message)
            }),
            KvFailure::Linearizability => self.check_violation().map_or(String::new(), |r| {
                format!(
                    "key {} has no linearization ({} ops)",
                    r.partition,
                    r.ops.len()
                )
            }),
            KvFailure::UnexpectedReply => self.unexpected.first().cloned().unwrap_or_default(),
        };
        Some(format!("seed={} {failure}: {detail}", self.seed()))
    }
}

impl fmt::Display for KvSeedReport {
    /// The invariant verdict, the checker's verdict (with the failing key's ops), the op
    /// counts and the run's stats.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.violation() {
            Some(v) => write!(f, "{v}")?,
            None => writeln!(f, "seed={} invariants ok", self.seed())?,
        }
        writeln!(f, "check: {}", self.check)?;
        for line in &self.unexpected {
            writeln!(f, "unexpected reply: {line}")?;
        }
        let o = &self.ops;
        write!(
            f,
            "ops={} ok={} no_return={} abandoned={} unexpected={} digest_comparisons={} \
             snapshots={} installs={} expiries={} noop_writes={} execs={} aborted_execs={} \
             expired_reads={} \
             wrongtype={} check_steps={} {}",
            o.invoked,
            o.ok,
            o.no_return,
            o.abandoned,
            o.unexpected,
            self.digest_comparisons,
            self.coverage.snapshots,
            self.coverage.installs,
            self.coverage.expiries,
            self.coverage.noop_writes,
            o.execs,
            o.aborted_execs,
            o.expired_reads,
            o.wrongtype,
            self.check_stats.steps,
            self.report.stats
        )
    }
}
