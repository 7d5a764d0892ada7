//! Running Multi-Paxos simulations: one seed, or many seeds across threads.
//!
//! ```text
//!   run_seed(seed, opts) ──► simulation(seed, opts) ──► Simulation::run ──► SeedReport
//!                              factory: Paxos::new(config, &disk, rng)        ok | violation,
//!                              invariants: agreement (chosen-once, learners    stats, progress
//!                                agree), node rules (promises, order, validity)
//!                              workload: Client (proposes to the believed leader)
//!                              leader hook: the leader with the highest ballot
//!   run_seeds(a..b, opts, threads) ──► batch::run_parallel ──► Summary
//!   first_violation(a..b, opts, threads) ──► the lowest failing seed
//! ```

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::rc::Rc;
use std::time::Duration;

use distributed_core::NodeId;
use paxos::{Output, Paxos, Slot, Value};

use super::client::Client;
use super::invariants::{Agreement, NodeRules};
use super::options::PaxosSimOptions;
use crate::batch::{self, Mode, Tally};
use crate::progress::SeedProgress;
use sim::config::{ConfigError, TraceLevel};
use sim::hooks::Invariant;
use sim::report::{Report, Stats, Violation};
use sim::view::ClusterView;
use sim::Simulation;

/// How long the client waits for its leader to report a commit before trying elsewhere.
const CLIENT_STALL_UNITS: u64 = 3_000;

/// How many failing seeds a summary lists one per line before it abbreviates.
const LISTED_VIOLATIONS_MAX: usize = 20;

/// The leader hook: the live leader with the highest ballot (a deposed one may not know yet).
pub fn paxos_leader(view: &ClusterView<Paxos>) -> Option<NodeId> {
    view.live()
        .filter(|(_, n)| n.is_leader())
        .max_by_key(|(_, n)| n.ballot())
        .map(|(id, _)| id)
}

/// A fully wired Paxos simulation for `seed`: nodes, invariants, client, leader hook.
pub fn simulation(seed: u64, opts: &PaxosSimOptions) -> Result<Simulation<Paxos>, ConfigError> {
    build(seed, opts).map(|(sim, _)| sim)
}

fn build(
    seed: u64,
    opts: &PaxosSimOptions,
) -> Result<(Simulation<Paxos>, Rc<Cell<Progress>>), ConfigError> {
    opts.validate()?;
    let factory_opts = opts.clone();
    let factory = move |id: NodeId, disk: &paxos::Disk, rng| {
        Paxos::new(factory_opts.paxos_config(id), disk, rng)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"))
    };
    let proposed = Rc::new(RefCell::new(BTreeSet::new()));
    let progress = Rc::new(Cell::new(Progress::default()));
    let phase2_quorum = opts.paxos_config(NodeId(1)).phase2_quorum;
    let sim = Simulation::new(seed, opts.sim_config(), factory)?
        .with_invariant(Agreement::new(phase2_quorum))
        .with_invariant(NodeRules::new(proposed.clone()))
        .with_invariant(ProgressProbe(progress.clone()))
        .with_leader_hook(paxos_leader)
        .with_workload(Client::new(
            opts.propose_interval_units,
            CLIENT_STALL_UNITS,
            proposed,
        ));
    Ok((sim, progress))
}

/// What a run chose, as seen from `Committed` outputs over the whole run.
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    /// The highest slot any node delivered, contiguously from 1.
    slot_max: Slot,
    /// Client commands among slots `1..=slot_max` (the rest are no-ops).
    commands: u64,
}

/// Not a safety property: counts progress for the report.
struct ProgressProbe(Rc<Cell<Progress>>);

impl Invariant<Paxos> for ProgressProbe {
    fn name(&self) -> &str {
        "progress"
    }

    fn on_output(&mut self, _node: NodeId, output: &Output) -> Result<(), String> {
        let mut p = self.0.get();
        if let Output::Committed { slot, value, .. } = output {
            if *slot == p.slot_max + 1 {
                p.slot_max = *slot;
                p.commands += u64::from(matches!(value, Value::Command(_)));
                self.0.set(p);
            }
        }
        Ok(())
    }

    fn check(&mut self, _view: &ClusterView<Paxos>) -> Result<(), String> {
        Ok(())
    }
}

/// The outcome of one seed.
#[derive(Clone, Debug)]
pub struct SeedReport {
    /// Why the run stopped (maybe a violation), its stats, its trace.
    pub report: Report,
    /// The highest slot delivered contiguously (no-ops included).
    pub slot_max: Slot,
    /// Client commands among those slots.
    pub commands: u64,
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
            "slots={} commands={} {}",
            self.slot_max, self.commands, self.report.stats
        )
    }
}

/// Run one seed. Panics if `opts` are invalid: validate options from a user first.
pub fn run_seed(seed: u64, opts: &PaxosSimOptions) -> SeedReport {
    let (mut sim, progress) = build(seed, opts).unwrap_or_else(|e| panic!("run_seed: {e}"));
    let report = sim.run();
    let Progress { slot_max, commands } = progress.get();
    SeedReport {
        report,
        slot_max,
        commands,
    }
}

/// The outcome of many seeds.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// How many seeds ran.
    pub seeds_run: u64,
    /// Every seed that broke an invariant, in seed order.
    pub violations: Vec<SeedReport>,
    /// Counters summed over all seeds.
    pub stats: Stats,
    /// Client commands chosen, summed over seeds.
    pub commands: u64,
    /// Seeds that chose at least one client command.
    pub seeds_with_progress: u64,
    /// Wall time the batch took.
    pub elapsed: Duration,
}

impl Summary {
    /// Simulated events per wall-clock second over the whole batch.
    pub fn events_per_second(&self) -> f64 {
        self.stats.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl Tally for Summary {
    type Seed = SeedReport;

    fn failed(seed: &SeedReport) -> bool {
        seed.violation().is_some()
    }

    fn absorb(&mut self, r: SeedReport) {
        self.seeds_run += 1;
        self.stats.add(&r.report.stats);
        self.commands += r.commands;
        self.seeds_with_progress += u64::from(r.commands > 0);
        if r.violation().is_some() {
            self.violations.push(r);
        }
    }

    fn merge(&mut self, other: Summary) {
        self.seeds_run += other.seeds_run;
        self.stats.add(&other.stats);
        self.commands += other.commands;
        self.seeds_with_progress += other.seeds_with_progress;
        self.violations.extend(other.violations);
    }

    fn finish(&mut self, elapsed: Duration) {
        self.violations.sort_by_key(|r| r.seed());
        self.elapsed = elapsed;
    }
}

impl fmt::Display for Summary {
    /// A header line, one line per failing seed (the first 20), then the lowest failing seed's
    /// full report with its recent events.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seeds={} violations={} progress={}/{} commands={} events={} ({:.0} events/s, {:.2?})",
            self.seeds_run,
            self.violations.len(),
            self.seeds_with_progress,
            self.seeds_run,
            self.commands,
            self.stats.events,
            self.events_per_second(),
            self.elapsed
        )?;
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

/// Run every seed of `seeds` on up to `threads` threads, counting each into `progress`.
pub fn run_seeds_with_progress(
    seeds: Range<u64>,
    opts: &PaxosSimOptions,
    threads: usize,
    progress: &SeedProgress,
) -> Summary {
    let mut opts = opts.clone();
    opts.trace = TraceLevel::Off;
    batch::run_parallel(seeds, threads, Mode::Every, progress, |seed| {
        run_seed(seed, &opts)
    })
}

/// Run every seed of `seeds` on up to `threads` threads.
pub fn run_seeds(seeds: Range<u64>, opts: &PaxosSimOptions, threads: usize) -> Summary {
    run_seeds_with_progress(seeds, opts, threads, &SeedProgress::default())
}

/// The lowest seed of `seeds` whose run breaks an invariant, if any.
pub fn first_violation(
    seeds: Range<u64>,
    opts: &PaxosSimOptions,
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
