//! Running bare PBFT seeds: pick the Byzantine nodes, build, run, read the clients' ledger.
//!
//! ```text
//!   build(seed) ──► factory: id ∈ adversaries(seed) ? Byzantine(Adversary) : Honest(host)
//!                            host = BareReplica::new(Pbft::new(config, &disk, rng), &disk)
//!               ──► invariants: honest-agreement, validity, client-agreement, coverage
//!               ──► workload: Clients (f+1 matching replies, resend to all) ──► Simulation
//!   run_seed ──► run ──► ledger + coverage ──► SeedReport
//!   run_seeds ──► batch::run_parallel ──► Summary       first_failure ──► lowest failing seed
//! ```

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::rc::Rc;

use distributed_core::{NodeId, SeededRng};
use pbft::Pbft;

use super::checks::{ClientAgreement, Coverage, CoverageProbe, Validity};
use super::client::{ClientSettings, Clients, Ledger};
use super::invariants::HonestAgreement;
use super::node::PbftNode;
use super::options::PbftSimOptions;
use super::summary::{Latency, SeedReport, Summary};
use super::BareReplica;
use crate::batch::{self, Mode};
use crate::progress::SeedProgress;
use sim::config::{ConfigError, TraceLevel};
use sim::view::ClusterView;
use sim::Simulation;

/// A bare PBFT node in a simulation.
pub type Node = PbftNode<BareReplica>;

/// The leader hook: the primary of the highest view an honest live replica is in.
pub fn pbft_primary(view: &ClusterView<Node>) -> Option<NodeId> {
    view.live()
        .filter(|(_, n)| n.is_honest())
        .max_by_key(|(_, n)| n.core().view())
        .map(|(_, n)| n.core().primary())
}

/// Build node `id` of `seed`'s run from its disk: honest, or Byzantine (node.rs `build`).
fn node(opts: &PbftSimOptions, seed: u64, id: NodeId, disk: &pbft::Disk, rng: SeededRng) -> Node {
    let host = |rng| {
        let core = Pbft::new(opts.pbft_config(id, seed), disk, rng)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"));
        BareReplica::new(core, disk)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"))
    };
    super::node::build(id, opts.nodes, opts.adversaries(seed), rng, host)
}

/// A built simulation and what the runner reads after it.
type Built = (Simulation<Node>, Rc<RefCell<Ledger>>, Rc<Cell<Coverage>>);

fn build(seed: u64, opts: &PbftSimOptions) -> Result<Built, ConfigError> {
    opts.validate()?;
    let factory_opts = opts.clone();
    let factory =
        move |id: NodeId, disk: &pbft::Disk, rng| node(&factory_opts, seed, id, disk, rng);
    let ledger = Rc::new(RefCell::new(Ledger::default()));
    let settings = ClientSettings {
        clients: opts.clients,
        nodes: opts.nodes,
        timeout_units: opts.client_timeout_units,
        think_units_max: opts.think_units_max,
        issue_until: opts.issue_until(),
    };
    let byzantine = opts.adversaries(seed).0;
    let coverage = Rc::new(Cell::new(Coverage::default()));
    let probe = CoverageProbe {
        counts: coverage.clone(),
        byzantine: byzantine.clone(),
    };
    let sim = Simulation::new(seed, opts.sim_config(), factory)?
        .with_invariant(HonestAgreement::default())
        .with_invariant(Validity::new(ledger.clone(), byzantine.clone()))
        .with_invariant(ClientAgreement::new(ledger.clone(), byzantine))
        .with_invariant(probe)
        .with_leader_hook(pbft_primary)
        .with_workload(Clients::new(seed, &settings, ledger.clone()));
    Ok((sim, ledger, coverage))
}

/// A fully wired bare PBFT simulation for `seed`: nodes, invariants, clients, leader hook.
pub fn simulation(seed: u64, opts: &PbftSimOptions) -> Result<Simulation<Node>, ConfigError> {
    build(seed, opts).map(|(sim, _, _)| sim)
}

/// Run one seed. Panics if `opts` are invalid: validate options from a user first.
pub fn run_seed(seed: u64, opts: &PbftSimOptions) -> SeedReport {
    let (mut sim, ledger, coverage) = build(seed, opts).unwrap_or_else(|e| panic!("run_seed: {e}"));
    let report = sim.run();
    let ledger = ledger.borrow();
    let mut latency = Latency::default();
    for &units in &ledger.latencies_units {
        latency.record(units);
    }
    SeedReport {
        report,
        requests: ledger.requests,
        completed: ledger.completed,
        latency,
        coverage: coverage.get(),
    }
}

/// Run every seed of `seeds` on up to `threads` threads, counting each into `progress`.
pub fn run_seeds_with_progress(
    seeds: Range<u64>,
    opts: &PbftSimOptions,
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
pub fn run_seeds(seeds: Range<u64>, opts: &PbftSimOptions, threads: usize) -> Summary {
    run_seeds_with_progress(seeds, opts, threads, &SeedProgress::default())
}

/// The lowest seed of `seeds` whose run breaks an invariant, if any.
pub fn first_failure(
    seeds: Range<u64>,
    opts: &PbftSimOptions,
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
