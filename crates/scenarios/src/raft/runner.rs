//! Running Raft simulations: one seed, or many seeds across threads.
//!
//! ```text
//!   run_seed(seed, opts) ──► simulation(seed, opts) ──► Simulation::run ──► SeedReport
//!                              factory: Raft::new(config, &disk, rng)        ok | violation,
//!                              invariants: the five of invariants.rs,         stats, progress,
//!                                config agreement (reconfig.rs),              trace
//!                                snapshot safety (snapshots.rs)
//!                              workload: Compacting(Client): the host's §7 compaction,
//!                                inside MembershipDriver with --membership-changes
//!                              leader hook: highest-term Leader
//!                              progress probe: highest committed index, commands
//!
//!   run_seeds(a..b, opts, threads) ──► workers pull the next seed from a shared counter
//!                                      ──► Summary (violations sorted by seed, totals, time)
//!   run_seeds_with_progress(.., &SeedProgress) ──► the same, counting seeds done and failing
//!                                                  as they finish, for a host to show
//!   first_violation(a..b, opts, threads) ──► the lowest failing seed, stopping early
//! ```
//!
//! Each seed's run is deterministic whatever thread runs it; only the order in which seeds
//! finish varies, and the summary sorts that away. `run_seeds` reads the wall clock once before
//! and once after, for its events-per-second figure; nothing inside a simulation does.

use std::cell::Cell;
use std::fmt;
use std::ops::Range;
use std::rc::Rc;
use std::time::Duration;

use distributed_core::NodeId;
use raft::{Index, Output, Raft, Role};

use super::client::Client;
use super::invariants::{
    CommitMonotonic, ElectionSafety, LeaderCompleteness, LogMatching, StateMachineSafety,
};
use super::options::{RaftSimOptions, MEMBERSHIP_CHANGE_INTERVAL_UNITS};
use super::reconfig::{ConfigAgreement, MembershipDriver};
use super::snapshots::{Compacting, SnapshotSafety};
use crate::batch::{self, Mode, Tally};
use crate::progress::SeedProgress;
use sim::config::{ConfigError, TraceLevel};
use sim::hooks::Invariant;
use sim::report::{Report, Stats, Violation};
use sim::view::ClusterView;
use sim::Simulation;

/// How long the client waits for its leader to report a commit before trying elsewhere.
const CLIENT_STALL_UNITS: u64 = 3_000;

/// The leader hook: the node that leads the highest term (a stale leader may still think it
/// leads an older one).
pub fn raft_leader(view: &ClusterView<Raft>) -> Option<NodeId> {
    view.live()
        .filter(|(_, n)| n.role() == Role::Leader)
        .max_by_key(|(_, n)| n.term())
        .map(|(id, _)| id)
}

impl RaftSimOptions {
    /// Reject options that cannot be simulated, saying why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.sim_config().validate()?;
        self.raft_config(NodeId(1))
            .validate()
            .map_err(|e| ConfigError(format!("raft: {e}")))
    }
}

/// A fully wired Raft simulation for `seed`: nodes, invariants, client, leader hook. Use it
/// directly to add scripted faults before `run`; `run_seed` is this plus `run`.
pub fn simulation(seed: u64, opts: &RaftSimOptions) -> Result<Simulation<Raft>, ConfigError> {
    build(seed, opts).map(|(sim, _)| sim)
}

fn build(
    seed: u64,
    opts: &RaftSimOptions,
) -> Result<(Simulation<Raft>, Rc<Cell<Progress>>), ConfigError> {
    opts.validate()?;
    let opts = &opts.for_seed(seed);
    let factory_opts = opts.clone();
    let factory = move |id: NodeId, disk: &raft::Disk, rng| {
        Raft::new(factory_opts.raft_config(id), disk, rng)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"))
    };
    let n = opts.slots();
    let progress = Rc::new(Cell::new(Progress::default()));
    let sim = Simulation::new(seed, opts.sim_config(), factory)?
        .with_invariant(ElectionSafety::new(n))
        .with_invariant(LogMatching::new(n))
        .with_invariant(LeaderCompleteness::new(n))
        .with_invariant(StateMachineSafety::new(n))
        .with_invariant(CommitMonotonic::new(n))
        .with_invariant(ConfigAgreement::new(n))
        .with_invariant(SnapshotSafety::new())
        .with_invariant(ProgressProbe(progress.clone()))
        .with_leader_hook(raft_leader);
    let client = Compacting::new(
        Client::new(opts.propose_interval_units, CLIENT_STALL_UNITS),
        opts.snapshot_log_entries_max.unwrap_or(0),
    );
    let sim = if opts.membership_changes {
        sim.with_workload(MembershipDriver::new(
            client,
            MEMBERSHIP_CHANGE_INTERVAL_UNITS,
        ))
    } else {
        sim.with_workload(client)
    };
    Ok((sim, progress))
}

/// What a run committed, as observed from `Committed` outputs over the whole run (the final
/// state may have forgotten it: nodes restart with a commit index of 0).
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    /// The highest index any node reported committed.
    commit_index_max: Index,
    /// Client commands (non-empty entries) among indices `1..=commit_index_max`.
    commands_committed: u64,
    /// Config entries (Raft §6) among those indices.
    configs_committed: u64,
}

/// Not a safety property: an observer on the invariant hooks that counts progress for the
/// report. Shared through an `Rc<Cell>` because the simulation owns its hooks.
struct ProgressProbe(Rc<Cell<Progress>>);

impl Invariant<Raft> for ProgressProbe {
    fn name(&self) -> &str {
        "progress"
    }

    fn on_output(&mut self, _node: NodeId, output: &Output) -> Result<(), String> {
        let mut p = self.0.get();
        if let Output::Committed(e) = output {
            if e.index == p.commit_index_max + 1 {
                p.commit_index_max = e.index;
                p.commands_committed += u64::from(!e.data.is_empty());
                p.configs_committed += u64::from(e.membership().is_some());
                self.0.set(p);
            }
        }
        Ok(())
    }

    fn check(&mut self, _view: &ClusterView<Raft>) -> Result<(), String> {
        Ok(())
    }
}

/// The outcome of one seed.
#[derive(Clone, Debug)]
pub struct SeedReport {
    /// The generic report: why the run stopped (maybe a violation), its stats, its trace.
    pub report: Report,
    /// The highest index any node reported committed during the run (no-ops included).
    pub commit_index_max: Index,
    /// Client commands (non-empty entries) among the committed indices.
    pub commands_committed: u64,
    /// Config entries (Raft §6) among the committed indices.
    pub configs_committed: u64,
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
        write!(
            f,
            "commit_index={} commands={} configs={} {}",
            self.commit_index_max,
            self.commands_committed,
            self.configs_committed,
            self.report.stats
        )
    }
}

/// Run one seed. Panics if `opts` are invalid: call [`RaftSimOptions::validate`] first on
/// options that come from a user.
pub fn run_seed(seed: u64, opts: &RaftSimOptions) -> SeedReport {
    let (mut sim, progress) = build(seed, opts).unwrap_or_else(|e| panic!("run_seed: {e}"));
    let report = sim.run();
    let Progress {
        commit_index_max,
        commands_committed,
        configs_committed,
    } = progress.get();
    SeedReport {
        report,
        commit_index_max,
        commands_committed,
        configs_committed,
    }
}

/// The outcome of many seeds.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// How many seeds ran.
    pub seeds_run: u64,
    /// Every seed that broke an invariant, in seed order.
    pub violations: Vec<SeedReport>,
    /// Counters summed over all seeds (`final_time` is total simulated time).
    pub stats: Stats,
    /// Client commands committed, summed over seeds.
    pub commands_committed: u64,
    /// Seeds that committed at least one client command.
    pub seeds_with_progress: u64,
    /// Config entries committed, summed over seeds (0 without membership changes).
    pub configs_committed: u64,
    /// Wall time the batch took: the only clock reading in the crate, outside every run.
    pub elapsed: Duration,
}

impl Summary {
    /// Simulated events per wall-clock second over the whole batch (all threads together).
    pub fn events_per_second(&self) -> f64 {
        self.stats.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn absorb(&mut self, r: SeedReport) {
        self.seeds_run += 1;
        self.stats.add(&r.report.stats);
        self.commands_committed += r.commands_committed;
        self.configs_committed += r.configs_committed;
        self.seeds_with_progress += u64::from(r.commands_committed > 0);
        if r.violation().is_some() {
            self.violations.push(r);
        }
    }

    fn merge(&mut self, other: Summary) {
        self.seeds_run += other.seeds_run;
        self.stats.add(&other.stats);
        self.commands_committed += other.commands_committed;
        self.configs_committed += other.configs_committed;
        self.seeds_with_progress += other.seeds_with_progress;
        self.violations.extend(other.violations);
    }
}

/// How many failing seeds a summary lists one per line before it abbreviates.
const LISTED_VIOLATIONS_MAX: usize = 20;

impl fmt::Display for Summary {
    /// A header line, one line per failing seed (the first 20), then the lowest failing seed's
    /// full report with its recent events.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seeds={} violations={} progress={}/{} commands={} configs={} events={} ({:.0} events/s, {:.2?})",
            self.seeds_run,
            self.violations.len(),
            self.seeds_with_progress,
            self.seeds_run,
            self.commands_committed,
            self.configs_committed,
            self.stats.events,
            self.events_per_second(),
            self.elapsed
        )?;
        if let Some(disk) = self.stats.disk_line() {
            writeln!(
                f,
                "disk: {disk} (leaders wrote in parallel, thesis §10.2.1)"
            )?;
        }
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
            writeln!(
                f,
                "... and {} more",
                self.violations.len() - LISTED_VIOLATIONS_MAX
            )?;
        }
        if let Some(first) = self.violations.first() {
            writeln!(f, "{first}")?;
        }
        Ok(())
    }
}

/// Run every seed of `seeds` on up to `threads` threads (at least one). Traces are off: a
/// failing seed is replayed alone with `run_seed` to get its trace.
pub fn run_seeds(seeds: Range<u64>, opts: &RaftSimOptions, threads: usize) -> Summary {
    run_seeds_with_progress(seeds, opts, threads, &SeedProgress::default())
}

/// [`run_seeds`], counting each seed into `progress` as it finishes, so a host can show how
/// far the batch has got while it runs.
pub fn run_seeds_with_progress(
    seeds: Range<u64>,
    opts: &RaftSimOptions,
    threads: usize,
    progress: &SeedProgress,
) -> Summary {
    let mut opts = opts.clone();
    opts.trace = TraceLevel::Off;
    batch::run_parallel(seeds, threads, Mode::Every, progress, |seed| {
        run_seed(seed, &opts)
    })
}

impl Tally for Summary {
    type Seed = SeedReport;

    fn failed(seed: &SeedReport) -> bool {
        seed.violation().is_some()
    }

    fn absorb(&mut self, seed: SeedReport) {
        Summary::absorb(self, seed);
    }

    fn merge(&mut self, other: Summary) {
        Summary::merge(self, other);
    }

    fn finish(&mut self, elapsed: Duration) {
        self.violations.sort_by_key(|r| r.seed());
        self.elapsed = elapsed;
    }
}

/// The lowest seed of `seeds` whose run breaks an invariant, if any, using up to `threads`
/// threads. Stops handing out seeds above the lowest failure found so far, so a bug that shows
/// early is found in a fraction of the range. Deterministic: always the lowest failing seed.
pub fn first_violation(
    seeds: Range<u64>,
    opts: &RaftSimOptions,
    threads: usize,
) -> Option<SeedReport> {
    let mut opts = opts.clone();
    opts.trace = TraceLevel::Off;
    let progress = SeedProgress::default();
    let summary: Summary =
        batch::run_parallel(seeds, threads, Mode::FirstFailure, &progress, |seed| {
            run_seed(seed, &opts)
        });
    summary.violations.into_iter().next()
}
