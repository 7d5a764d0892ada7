//! Running one paxos-kv seed, or many: build the cluster, run it, check the history.
//!
//! ```text
//!   build(seed, opts) ──► Simulation<OrderedReplica<Paxos>> + KvClients (shared)
//!   run_seed ──► Simulation::run ──► clients.finish ──► Checker (steps budget, 1 thread)
//!            ──► KvSeedReport (the raft-kv shape: report, verdict, ops, history)
//!   run_seeds ──► batch::run_parallel ──► KvSummary
//! ```
//!
//! The invariants are the bare Paxos ones, fed the writes through [`OnCoreWrites`]: a replica
//! writes exactly its core's writes, so chosen-once and promise-monotonic need nothing else.
//! Validity (every accepted command is one a client sent) is `raft_kv`'s `ClientValidity` on
//! the same writes. What learners deliver is checked on the state itself (replica agreement: digests at one
//! applied index agree) and by the clients' history.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::ops::Range;
use std::rc::Rc;

use distributed_core::NodeId;
use paxos::{PValue, Paxos, Value, Write};
use replica::ordered::OrderedReplica;
use replica::Output as ReplicaOutput;

use super::PaxosKvOptions;
use crate::batch::{self, Mode};
use crate::paxos::{Agreement, NodeRules};
use crate::progress::SeedProgress;
use crate::raft_kv::{
    close_and_check, ClientSettings, ClientValidity, Coverage, KvClients, KvSeedReport, KvSummary,
    ReplicaAgreement, SharedClients, WallClocks, DIGEST_EVERY_ENTRIES,
};
use sim::config::{ConfigError, TraceLevel};
use sim::hooks::Invariant;
use sim::view::ClusterView;
use sim::Simulation;

/// A replica on Multi-Paxos.
type Node = OrderedReplica<Paxos>;

/// A bare-Paxos invariant over replicas: it sees every write (the core's own) and restart.
pub struct OnCoreWrites<I>(pub I);

impl<I: Invariant<Paxos>> Invariant<Node> for OnCoreWrites<I> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn on_write(&mut self, node: NodeId, write: &Write) -> Result<(), String> {
        self.0.on_write(node, write)
    }

    fn on_restart(&mut self, node: NodeId) {
        self.0.on_restart(node);
    }

    fn check(&mut self, _view: &ClusterView<Node>) -> Result<(), String> {
        Ok(())
    }
}

/// What a run exercised: snapshots persisted (the replica's compaction, or installed from a
/// peer) and installs (`Restored`). Not a safety property.
struct CoverageProbe(Rc<Cell<Coverage>>);

impl Invariant<Node> for CoverageProbe {
    fn name(&self) -> &str {
        "coverage"
    }

    fn on_write(&mut self, _node: NodeId, write: &Write) -> Result<(), String> {
        if let Write::Snapshot(_) = write {
            let mut c = self.0.get();
            c.snapshots += 1;
            self.0.set(c);
        }
        Ok(())
    }

    fn on_output(&mut self, _node: NodeId, output: &ReplicaOutput) -> Result<(), String> {
        let mut c = self.0.get();
        match output {
            ReplicaOutput::Restored { .. } => c.installs += 1,
            ReplicaOutput::Applied { term, .. } => c.epochs = c.epochs.max(*term),
            _ => {}
        }
        self.0.set(c);
        Ok(())
    }

    fn check(&mut self, _view: &ClusterView<Node>) -> Result<(), String> {
        Ok(())
    }
}

/// Where a paxos write carries a client entry (validity): an accepted command. An OrderedReplica
/// on Paxos proposes the encoded request as is; a no-op is a leader's, not a client's.
fn accepted_command(write: &Write) -> Option<paxos::Bytes> {
    match write {
        Write::Accept(PValue {
            value: Value::Command(c),
            ..
        }) => Some(c.clone()),
        _ => None,
    }
}

/// The leader hook: the live leader with the highest ballot.
pub fn paxos_kv_leader(view: &ClusterView<Node>) -> Option<NodeId> {
    view.live()
        .filter(|(_, n)| n.core().is_leader())
        .max_by_key(|(_, n)| n.core().ballot())
        .map(|(id, _)| id)
}

/// The clients' settings: raft-kv's, except that only a leader answers any request here
/// (Paxos serves reads by a read round at the leader, or through the log), so a client never
/// sends a read to a random node on purpose.
fn client_settings(opts: &PaxosKvOptions) -> ClientSettings {
    ClientSettings {
        follower_reads_per_million: 0,
        reads_via_log: true,
        ..opts.run.client_settings()
    }
}

/// A built simulation and the handles the runner reads after it: the clients, replica
/// agreement's comparison count, the coverage counts.
type Built = (
    Simulation<Node>,
    Rc<RefCell<KvClients>>,
    Rc<Cell<u64>>,
    Rc<Cell<Coverage>>,
);

fn build(seed: u64, opts: &PaxosKvOptions) -> Result<Built, ConfigError> {
    opts.validate()?;
    let factory_opts = opts.clone();
    let ordered = opts.ordered_config(seed);
    let factory = move |id: NodeId, disk: &paxos::Disk, rng| {
        let core = Paxos::new(factory_opts.paxos_config(id), disk, rng)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"));
        OrderedReplica::new(ordered.clone(), core, disk)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"))
    };
    let n = opts.run.nodes;
    let wall_clocks = WallClocks::new(seed, &opts.run);
    let clients = Rc::new(RefCell::new(KvClients::new(
        seed,
        client_settings(opts),
        wall_clocks,
    )));
    let agreement = ReplicaAgreement::new(n, DIGEST_EVERY_ENTRIES);
    let comparisons = agreement.comparisons();
    let phase2_quorum = opts.paxos_config(NodeId(1)).phase2_quorum;
    let validity = ClientValidity::new(clients.borrow().sent(), BTreeSet::new(), accepted_command);
    let coverage = Rc::new(Cell::new(Coverage::default()));
    let sim = Simulation::new(seed, opts.paxos_options().sim_config(), factory)?
        .with_message_size(distributed_core::WireSize::wire_bytes)
        .with_invariant(OnCoreWrites(Agreement::new(phase2_quorum)))
        .with_invariant(OnCoreWrites(NodeRules::new(Rc::default())))
        .with_invariant(validity)
        .with_invariant(agreement)
        .with_invariant(CoverageProbe(coverage.clone()))
        .with_leader_hook(paxos_kv_leader)
        .with_workload(SharedClients(clients.clone()));
    Ok((sim, clients, comparisons, coverage))
}

/// Run one seed and check its history. Panics if `opts` are invalid: validate them first.
pub fn run_seed(seed: u64, opts: &PaxosKvOptions) -> KvSeedReport {
    let (mut sim, clients, comparisons, coverage) =
        build(seed, opts).unwrap_or_else(|e| panic!("run_seed: {e}"));
    let report = sim.run();
    let steps = opts.run.check_steps_max;
    close_and_check(report, &clients, steps, comparisons.get(), coverage.get())
}

/// Run every seed of `seeds` on up to `threads` threads, counting each into `progress`.
pub fn run_seeds_with_progress(
    seeds: Range<u64>,
    opts: &PaxosKvOptions,
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
pub fn run_seeds(seeds: Range<u64>, opts: &PaxosKvOptions, threads: usize) -> KvSummary {
    run_seeds_with_progress(seeds, opts, threads, &SeedProgress::default())
}

/// The lowest failing seed of `seeds` (invariant, linearizability or unexpected reply).
pub fn first_failure(
    seeds: Range<u64>,
    opts: &PaxosKvOptions,
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
