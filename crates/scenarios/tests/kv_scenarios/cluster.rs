//! A cluster wired exactly as `scenarios::raft_kv::simulation` wires it, driven by the clerks of
//! `clerk.rs` instead of the library's clients, and what a run of it produced.
//!
//! ```text
//!   ClerkCluster::new(seed, opts, specs)
//!     [.watching_leader_before(t)] [.renumbering_retries()] [sim_mut(): crashes, partitions]
//!     .run() ─► simulation to the end ─► the clerks' records as a History ─► checker
//!           └─► the final value of every key the clerks wrote, read on the live replica that
//!               applied the most (complete only if it applied all any replica ever applied)
//! ```
//!
//! The probe is an invariant that never fails: the simulator's one way to see every event as
//! it happens. It notes the highest index any replica applied (so `finals_complete` is honest)
//! and the leader just before a watched time (so a scenario can aim a partition at it).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use bytes::Bytes;
use check::{Budget, CheckResult, Checker, History, ModelKind, Operation};
use distributed_core::NodeId;
use replica::{KvReplica, Output as ReplicaOutput};
use scenarios::raft::{ElectionSafety, LeaderCompleteness, LogMatching, StateMachineSafety};
use scenarios::raft_kv::{
    kv_leader, OnReplica, RaftKvOptions, ReplicaAgreement, ReplicaProgress, DIGEST_EVERY_ENTRIES,
};
use sim::{ClusterView, Invariant, Report, Simulation, Time};

use super::clerk::{Clerks, SharedClerks};
use super::{ClerkSpec, OpRecord};

/// What a clerk run produced.
pub struct ClerkRun {
    /// The simulator's verdict (invariants) and stats.
    pub report: Report,
    /// The linearizability verdict on the clerks' history.
    pub check: CheckResult,
    /// The history itself (`history.to_json_lines()` for `distributed check`).
    pub history: History,
    /// Every op, in start order.
    pub ops: Vec<OpRecord>,
    /// Replies the model cannot state (errors): none is expected.
    pub unexpected: Vec<String>,
    /// Every key the clerks wrote, with its value on the live replica that applied the most.
    pub finals: BTreeMap<String, Option<String>>,
    /// Whether that replica had applied every entry any replica ever applied: only then must
    /// every acknowledged write be in `finals`.
    pub finals_complete: bool,
    /// The leader at the last event before the time `watching_leader_before` named.
    pub leader_before_watch: Option<NodeId>,
}

impl ClerkRun {
    /// Why the run failed its invariants, its check, or its replies, if it did.
    /// Its first line says what and where; the rest is the evidence.
    pub fn failure(&self) -> Option<String> {
        if let Some(v) = self.report.violation() {
            let line = format!("{} at t={}: {}", v.invariant, v.time, v.message);
            return Some(format!("invariant {line}\n{v}"));
        }
        match &self.check {
            CheckResult::Violation(r) => {
                let line = format!(
                    "key {} has no linearization ({} ops)",
                    r.partition,
                    r.ops.len()
                );
                return Some(format!("linearizability: {line}\n{r}"));
            }
            CheckResult::Unknown => return Some("check: budget ran out (unknown)".into()),
            CheckResult::Linearizable => {}
        }
        self.unexpected
            .first()
            .map(|u| format!("unexpected reply: {u}"))
    }

    /// Ops that completed, and ops that did not.
    pub fn counts(&self) -> (usize, usize) {
        let ok = self.ops.iter().filter(|o| o.done.is_some()).count();
        (ok, self.ops.len() - ok)
    }
}

/// A cluster wired exactly as `scenarios::raft_kv::simulation` wires it, driven by clerks.
pub struct ClerkCluster {
    /// The cluster, its invariants and the clerks; scripted through `sim_mut`.
    sim: Simulation<KvReplica>,
    /// The clerks, shared: the simulation drives them, `run` reads their records after.
    clerks: Rc<RefCell<Clerks>>,
    /// What the probe saw, read by `run` after the simulation.
    probe: Rc<RefCell<ProbeState>>,
    /// The checker's per-key step budget: steps, not time, so verdicts replay.
    check_steps_max: u64,
}

impl ClerkCluster {
    /// The cluster of `opts` for `seed`, with `specs` as its clients.
    pub fn new(seed: u64, opts: &RaftKvOptions, specs: Vec<ClerkSpec>) -> Self {
        opts.validate()
            .unwrap_or_else(|e| panic!("scenario options: {e}"));
        let opts = opts.for_seed(seed);
        let factory_opts = opts.clone();
        let factory = move |id: NodeId, disk: &raft::Disk, rng| {
            KvReplica::new(factory_opts.replica_config(id), disk, rng)
                .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"))
        };
        let n = opts.nodes;
        let clerks = Rc::new(RefCell::new(Clerks::new(specs, &opts)));
        let probe = Rc::new(RefCell::new(ProbeState::default()));
        let sim = Simulation::new(seed, opts.sim_config(), factory)
            .unwrap_or_else(|e| panic!("scenario config: {e}"))
            .with_invariant(OnReplica::leaders(ElectionSafety::new(n), n))
            .with_invariant(OnReplica::hooks(LogMatching::new(n)))
            .with_invariant(OnReplica::leaders(LeaderCompleteness::new(n), n))
            .with_invariant(OnReplica::hooks(StateMachineSafety::new(n)))
            .with_invariant(ReplicaProgress::new(n))
            .with_invariant(ReplicaAgreement::new(n, DIGEST_EVERY_ENTRIES))
            .with_invariant(Probe(probe.clone()))
            .with_workload(SharedClerks(clerks.clone()))
            .with_leader_hook(kv_leader);
        ClerkCluster {
            sim,
            clerks,
            probe,
            check_steps_max: opts.check_steps_max,
        }
    }

    /// Have `ClerkRun::leader_before_watch` name the leader just before time `at`.
    pub fn watching_leader_before(self, at: Time) -> Self {
        self.probe.borrow_mut().watch = at;
        self
    }

    /// Break the clerks on purpose: every resend gets a new seq (see the module docs).
    pub fn renumbering_retries(self) -> Self {
        self.clerks.borrow_mut().renumber_retries = true;
        self
    }

    /// The simulation, to script crashes, restarts, partitions and heals before `run`.
    pub fn sim_mut(&mut self) -> &mut Simulation<KvReplica> {
        &mut self.sim
    }

    /// Run to the end; build and check the history; read the replicas' final state.
    pub fn run(mut self) -> ClerkRun {
        let report = self.sim.run();
        let mut clerks = self.clerks.borrow_mut();
        let ops = std::mem::take(&mut clerks.records);
        let history = History::new(ModelKind::Kv, ops.iter().map(operation).collect())
            .expect("the clerks record only ops the kv model accepts");
        let check = Checker::default()
            .with_budget(Budget::steps(self.check_steps_max))
            .with_threads(1)
            .check_history(&history);
        let probe = self.probe.borrow();
        let view = self.sim.view();
        let best = view
            .live()
            .max_by_key(|(id, r)| (r.machine().applied_index(), std::cmp::Reverse(*id)));
        let finals_complete =
            best.is_some_and(|(_, r)| r.machine().applied_index() >= probe.applied_max);
        let keys: BTreeSet<&str> = ops.iter().map(|o| o.command.key()).collect();
        let finals = keys
            .into_iter()
            .map(|k| {
                let value = best.and_then(|(_, r)| r.machine().get(k.as_bytes()));
                (k.to_string(), value.map(text))
            })
            .collect();
        ClerkRun {
            report,
            check,
            history,
            ops,
            unexpected: std::mem::take(&mut clerks.unexpected),
            finals,
            finals_complete,
            leader_before_watch: probe.leader_before_watch,
        }
    }
}

fn operation(r: &OpRecord) -> check::KvOperation {
    match &r.done {
        Some((at, outcome)) => {
            Operation::returned(r.clerk, r.command.clone(), r.invoke, *at, outcome.clone())
        }
        None => Operation::no_return(r.clerk, r.command.clone(), r.invoke),
    }
}

pub(super) fn text(b: &Bytes) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What the probe saw, shared with the cluster that reads it after the run.
#[derive(Default)]
struct ProbeState {
    /// Record the leader at every event before this time.
    watch: Time,
    /// The leader at the last event before `watch`.
    leader_before_watch: Option<NodeId>,
    /// The highest index any replica ever applied.
    applied_max: u64,
}

/// An invariant that never fails: it only watches (the simulator's one way to see every
/// event as it happens).
struct Probe(Rc<RefCell<ProbeState>>);

impl Invariant<KvReplica> for Probe {
    fn name(&self) -> &str {
        "probe"
    }

    fn on_output(&mut self, _node: NodeId, output: &ReplicaOutput) -> Result<(), String> {
        if let ReplicaOutput::Applied { index, .. } = output {
            let mut p = self.0.borrow_mut();
            p.applied_max = p.applied_max.max(*index);
        }
        Ok(())
    }

    fn check(&mut self, view: &ClusterView<KvReplica>) -> Result<(), String> {
        let mut p = self.0.borrow_mut();
        if view.now() < p.watch {
            p.leader_before_watch = kv_leader(view);
        }
        Ok(())
    }
}
