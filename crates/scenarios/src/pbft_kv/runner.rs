//! Running one pbft-kv seed, or many: pick the Byzantine nodes, build, run, check.
//!
//! ```text
//!   build(seed) ──► factory: id ∈ adversaries(seed) ? Byzantine(Adversary) : Honest(replica)
//!              ──► HonestAgreement, ClientValidity (committed requests were sent),
//!                  ReplicaAgreement (honest digests), KvClients (f+1 replies, resends to all)
//!              ──► Simulation<PbftNode>
//!   run_seed ──► run ──► history ──► Checker ──► KvSeedReport
//!   run_seeds ──► batch::run_parallel ──► KvSummary
//! ```

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::ops::Range;
use std::rc::Rc;

use distributed_core::{NodeId, SeededRng};
use pbft::Pbft;
use replica::ordered::{OrderedConfig, OrderedReplica};
use replica::Output as ReplicaOutput;

use super::node::PbftNode;
use super::PbftKvOptions;
use crate::batch::{self, Mode};
use crate::pbft::HonestAgreement;
use crate::progress::SeedProgress;
use crate::raft_kv::{
    close_and_check, ClientSettings, ClientValidity, Coverage, KvClients, KvSeedReport, KvSummary,
    ReplicaAgreement, SharedClients, WallClocks, DIGEST_EVERY_ENTRIES,
};
use sim::config::{ConfigError, TraceLevel};
use sim::hooks::Invariant;
use sim::view::ClusterView;
use sim::Simulation;

/// Bytes of the client's tag in front of each entry (`replica` ordered/flow.rs).
const TAG_BYTES: usize = 8;

/// Not a safety property: the highest view an honest replica applied an entry in, and the
/// state transfers it installed, for the report.
struct CoverageProbe {
    counts: Rc<Cell<Coverage>>,
    byzantine: BTreeSet<NodeId>,
}

impl Invariant<PbftNode> for CoverageProbe {
    fn name(&self) -> &str {
        "coverage"
    }

    fn on_output(&mut self, node: NodeId, output: &ReplicaOutput) -> Result<(), String> {
        if self.byzantine.contains(&node) {
            return Ok(());
        }
        let mut c = self.counts.get();
        match output {
            ReplicaOutput::Restored { .. } => c.installs += 1,
            ReplicaOutput::Applied { term, .. } => c.epochs = c.epochs.max(*term),
            _ => {}
        }
        self.counts.set(c);
        Ok(())
    }

    fn check(&mut self, _view: &ClusterView<PbftNode>) -> Result<(), String> {
        Ok(())
    }
}

/// The leader hook: the primary of the highest view an honest live replica is in.
pub fn pbft_primary(view: &ClusterView<PbftNode>) -> Option<NodeId> {
    view.live()
        .filter(|(_, n)| n.is_honest())
        .max_by_key(|(_, n)| n.core().view())
        .map(|(_, n)| n.core().primary())
}

/// Where a pbft write carries a client entry (validity): a committed request's op, after the
/// client's tag the replica put in front (`replica` ordered/flow.rs). A null request is none.
fn committed_request(write: &pbft::Write) -> Option<pbft::Bytes> {
    match write {
        pbft::Write::Committed(pp) => pp.request.as_ref().map(|r| {
            let tag_bytes = r.op.len().min(TAG_BYTES);
            r.op.slice(tag_bytes..)
        }),
        _ => None,
    }
}

fn client_settings(opts: &PbftKvOptions) -> ClientSettings {
    ClientSettings {
        follower_reads_per_million: 0,
        reads_via_log: true,
        replies_needed: opts.f() + 1,
        resend_to_all: true,
        ..opts.run.client_settings()
    }
}

/// Build node `id` of `seed`'s run from its disk: honest, or Byzantine (`pbft::build`).
fn node(
    opts: &PbftKvOptions,
    seed: u64,
    id: NodeId,
    disk: &pbft::Disk,
    rng: SeededRng,
) -> PbftNode {
    let replica = |rng| {
        let core = Pbft::new(opts.pbft_config(id, seed), disk, rng)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"));
        OrderedReplica::new(OrderedConfig::default(), core, disk)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"))
    };
    crate::pbft::build(id, opts.run.nodes, opts.adversaries(seed), rng, replica)
}

/// Run one seed and check its history. Panics if `opts` are invalid: validate them first.
pub fn run_seed(seed: u64, opts: &PbftKvOptions) -> KvSeedReport {
    opts.validate().unwrap_or_else(|e| panic!("run_seed: {e}"));
    let (mut sim, clients, comparisons, coverage) =
        build(seed, opts).unwrap_or_else(|e| panic!("run_seed: {e}"));
    let report = sim.run();
    let steps = opts.run.check_steps_max;
    close_and_check(report, &clients, steps, comparisons.get(), coverage.get())
}

/// A built simulation and what the runner reads after it: clients, comparisons, coverage.
type Built = (
    Simulation<PbftNode>,
    Rc<RefCell<KvClients>>,
    Rc<Cell<u64>>,
    Rc<Cell<Coverage>>,
);

fn build(seed: u64, opts: &PbftKvOptions) -> Result<Built, ConfigError> {
    let factory_opts = opts.clone();
    let factory =
        move |id: NodeId, disk: &pbft::Disk, rng| node(&factory_opts, seed, id, disk, rng);
    let wall_clocks = WallClocks::new(seed, &opts.run);
    let clients = Rc::new(RefCell::new(KvClients::new(
        seed,
        client_settings(opts),
        wall_clocks,
    )));
    let byzantine = opts.adversaries(seed).0;
    let validity = ClientValidity::new(
        clients.borrow().sent(),
        byzantine.clone(),
        committed_request,
    );
    let agreement = ReplicaAgreement::new(opts.run.nodes, DIGEST_EVERY_ENTRIES);
    let comparisons = agreement.comparisons();
    let coverage = Rc::new(Cell::new(Coverage::default()));
    let probe = CoverageProbe {
        counts: coverage.clone(),
        byzantine,
    };
    let sim = Simulation::new(seed, opts.run.sim_config(), factory)?
        .with_message_size(distributed_core::WireSize::wire_bytes)
        .with_invariant(HonestAgreement::default())
        .with_invariant(validity)
        .with_invariant(agreement)
        .with_invariant(probe)
        .with_leader_hook(pbft_primary)
        .with_workload(SharedClients(clients.clone()));
    Ok((sim, clients, comparisons, coverage))
}

/// Run every seed of `seeds` on up to `threads` threads, counting each into `progress`.
pub fn run_seeds_with_progress(
    seeds: Range<u64>,
    opts: &PbftKvOptions,
    threads: usize,
    progress: &SeedProgress,
) -> KvSummary {
    let mut opts = opts.clone();
    opts.run.trace = TraceLevel::Off;
    batch::run_parallel(seeds, threads, Mode::Every, progress, |seed| {
        run_seed(seed, &opts)
    })
}

/// Run every seed of `seeds` on up to `threads` threads.
pub fn run_seeds(seeds: Range<u64>, opts: &PbftKvOptions, threads: usize) -> KvSummary {
    run_seeds_with_progress(seeds, opts, threads, &SeedProgress::default())
}

/// The lowest failing seed of `seeds`.
pub fn first_failure(
    seeds: Range<u64>,
    opts: &PbftKvOptions,
    threads: usize,
) -> Option<KvSeedReport> {
    let mut opts = opts.clone();
    opts.run.trace = TraceLevel::Off;
    let summary: KvSummary = batch::run_parallel(
        seeds,
        threads,
        Mode::FirstFailure,
        &SeedProgress::default(),
        |seed| run_seed(seed, &opts),
    );
    summary.lowest_failure.map(|b| *b)
}
