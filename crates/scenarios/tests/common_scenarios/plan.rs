//! A plan: one seed, the simulator options, and a script of faults and client requests; and the
//! two ways to run it, to the end (`run`) or to just before a time (`state_at`).
//!
//! ```text
//!   Plan ──build(until)──► scenarios::raft::simulation(seed, opts)   every Raft invariant, leader hook
//!                            .with_invariant(Observer)         records roles and commits
//!                            .with_workload(Script)            replaces the random Client
//!                            .schedule_crash/restart/partition/heal(at, ..) for each fault
//!   state_at(t)        = run to t-1 and look at the cluster
//!   next_election(a,b) = run to b and find the first election of a new term in a..=b
//!   run(until), run_traced(until) = run to the end ──► Outcome (violation = error)
//!   Plan::tweaked(.., RaftTweak)   = the same, every node's Raft Config changed first (e.g.
//!                                    pre-vote off, to show what it protects against)
//! ```
//!
//! Aiming a fault at "the leader at time t" needs the run's state at t before the run exists.
//! `state_at(t)` gets it by running the same seed with the faults planned so far and stopping
//! just before t. That is sound because a run is a pure function of the seed and the script,
//! and adding an event at t or later changes nothing before t: it takes a sequence number but
//! keeps the relative order of every other event, and draws from no random stream until it
//! fires. So a scenario plans fault by fault, each aimed at the state the previous ones made.
//! The cost is one extra run per aimed fault. The road not taken: pausing one run at t, which
//! the simulator's API does not offer (`run` stops only at `max_time_units`, fixed at build).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

use distributed_core::NodeId;
use raft::{Bytes, Config, Disk, Entry, Index, Raft, Role, Term};
use scenarios::raft::{
    raft_leader, simulation, CommitMonotonic, Compacting, ElectionSafety, LeaderCompleteness,
    LogMatching, RaftSimOptions, SnapshotSafety, StateMachineSafety,
};
use sim::{Partition, Report, Simulation, Stats, Stop, Time, TraceLevel};

use super::observe::{Observed, Observer};
use super::script::{Request, Script, Target};

/// A scripted fault.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Crash the node (no automatic restart).
    Crash(NodeId),
    /// Restart the node from its disk.
    Restart(NodeId),
    /// Impose the partition (replacing any other).
    Partition(Partition),
    /// Heal whatever partition stands.
    Heal,
}

/// A change to every node's Raft `Config`, named for failure reports. The simulator's options
/// have no knob for pre-vote or check-quorum (the CLI always runs the defaults), so a scenario
/// that contrasts a default with its absence builds its nodes through this.
#[derive(Clone, Copy)]
pub struct RaftTweak {
    /// What the tweak does, e.g. `pre_vote=false`.
    pub name: &'static str,
    /// Applied to each node's config before the node starts (and on every restart).
    pub apply: fn(&mut Config),
}

/// One seed's script.
#[derive(Clone)]
pub struct Plan {
    /// The seed that decides every delay and timeout.
    pub seed: u64,
    /// Cluster size, fault profile, variant; `max_time_units` is set by each run.
    pub opts: RaftSimOptions,
    /// Faults at times, in the order they were planned.
    faults: Vec<(Time, Fault)>,
    /// Client requests (their outcome fields stay empty here).
    requests: Vec<Request>,
    /// Keep the simulator's random `Client` instead of the script (the run is then exactly what
    /// `distributed sim` runs, if there are no faults).
    client: bool,
    /// A change to every node's Raft config; `None` runs the defaults, as the CLI does.
    tweak: Option<RaftTweak>,
    /// Scripted plans only: the host snapshots a node every this many applied entries
    /// (Raft §7), as `distributed sim` does around its random client; 0 never does.
    compact_entries: u64,
}

/// One node as a snapshot saw it.
#[derive(Clone, Debug)]
pub struct NodeState {
    /// Follower, candidate or leader.
    pub role: Role,
    /// Current term.
    pub term: Term,
    /// Whom it follows.
    pub leader: Option<NodeId>,
    /// Whom it voted for in `term`.
    pub voted_for: Option<NodeId>,
    /// Its commit index.
    pub commit_index: Index,
    /// The last index it handed to its state machine (applied or restored).
    pub applied_index: Index,
    /// The last index its snapshot covers (0 without one): `log` starts after it (§7).
    pub snapshot_index: Index,
    /// Its retained log (the whole log without a snapshot).
    pub log: Vec<Entry>,
}

/// The cluster at one instant.
#[derive(Clone, Debug)]
pub struct State {
    /// When.
    pub at: Time,
    /// `nodes[k]` is `n(k+1)`, `None` when down.
    pub nodes: Vec<Option<NodeState>>,
    /// `disks[k]` is what `n(k+1)` has persisted (kept while it is down).
    pub disks: Vec<Disk>,
    /// The run's counters so far.
    pub stats: Stats,
}

impl State {
    /// The live node leading the highest term, as the simulator's leader hook sees it.
    pub fn leader(&self) -> Option<NodeId> {
        self.live()
            .filter(|(_, n)| n.role == Role::Leader)
            .max_by_key(|(_, n)| n.term)
            .map(|(id, _)| id)
    }

    /// The live nodes.
    pub fn live(&self) -> impl Iterator<Item = (NodeId, &NodeState)> {
        (self.nodes.iter().enumerate()).filter_map(|(k, n)| n.as_ref().map(|n| (node(k), n)))
    }

    /// Node `id`, if up.
    pub fn node(&self, id: NodeId) -> Option<&NodeState> {
        self.nodes.get(id.0 as usize - 1)?.as_ref()
    }

    /// What node `id` has persisted.
    pub fn disk(&self, id: NodeId) -> &Disk {
        &self.disks[id.0 as usize - 1]
    }
}

/// What a full run produced.
pub struct Outcome {
    /// The simulator's report (never a violation: `run` turns that into an error).
    pub report: Report,
    /// Roles over time and every applied entry.
    pub observed: Observed,
    /// The script's requests with their attempts and commit times.
    pub requests: Vec<Request>,
    /// The cluster at the end.
    pub end: State,
}

impl Outcome {
    /// The request that carried `command`.
    pub fn request(&self, command: &Bytes) -> &Request {
        (self.requests.iter().find(|r| r.command == *command)).expect("a command of this plan")
    }
}

fn node(k: usize) -> NodeId {
    NodeId(k as u64 + 1)
}

thread_local! {
    /// The last plan this thread ran to the end, and how far: what a failure report replays
    /// with the trace on.
    static LAST_RUN: RefCell<Option<(Plan, Time)>> = const { RefCell::new(None) };
}

/// Forget the last run (at the start of a seed).
pub fn forget_last_run() {
    LAST_RUN.with(|l| l.borrow_mut().take());
}

/// The last plan run to the end on this thread, and its end time.
pub fn last_run() -> Option<(Plan, Time)> {
    LAST_RUN.with(|l| l.borrow().clone())
}

impl Plan {
    /// A plan with no faults and no requests, the script replacing the random client.
    pub fn new(seed: u64, opts: RaftSimOptions) -> Plan {
        Plan {
            seed,
            opts,
            faults: Vec::new(),
            requests: Vec::new(),
            client: false,
            tweak: None,
            compact_entries: 0,
        }
    }

    /// This scripted plan with the host snapshotting each node every `entries` applied
    /// entries (Raft §7).
    pub fn compacting(self, entries: u64) -> Plan {
        assert!(!self.client, "the random client compacts per seed already");
        Plan {
            compact_entries: entries,
            ..self
        }
    }

    /// A scripted plan whose nodes run with `tweak` applied to their Raft config.
    pub fn tweaked(seed: u64, opts: RaftSimOptions, tweak: RaftTweak) -> Plan {
        Plan {
            tweak: Some(tweak),
            ..Plan::new(seed, opts)
        }
    }

    /// A plan that keeps the simulator's own random `Client`: with no faults added, the run is
    /// exactly `distributed sim --seed S` with the same options, trace and all.
    pub fn with_client(seed: u64, opts: RaftSimOptions) -> Plan {
        Plan {
            client: true,
            ..Plan::new(seed, opts)
        }
    }

    /// Cluster size.
    pub fn nodes(&self) -> usize {
        self.opts.nodes
    }

    /// Every node id.
    pub fn ids(&self) -> Vec<NodeId> {
        (1..=self.opts.nodes as u64).map(NodeId).collect()
    }

    /// Schedule a fault.
    pub fn fault(&mut self, at: Time, fault: Fault) {
        self.faults.push((at, fault));
    }

    /// Crash `node` at `at`.
    pub fn crash(&mut self, at: Time, node: NodeId) {
        self.fault(at, Fault::Crash(node));
    }

    /// Restart `node` at `at`.
    pub fn restart(&mut self, at: Time, node: NodeId) {
        self.fault(at, Fault::Restart(node));
    }

    /// Put the nodes of `side` on one side of a partition, everyone else on the other.
    pub fn split(&mut self, at: Time, side: &[NodeId]) {
        let p = Partition::split(self.nodes(), side);
        self.fault(at, Fault::Partition(p));
    }

    /// Heal the network at `at`.
    pub fn heal(&mut self, at: Time) {
        self.fault(at, Fault::Heal);
    }

    /// Propose a fresh command at `at` to `to`; returns the command.
    pub fn propose(&mut self, at: Time, to: Target) -> Bytes {
        self.request(at, to, None)
    }

    /// Propose a fresh command to the leader at `at`, and again to whoever leads then, every
    /// `retry_units` until some node applies it (the lab's "retry until committed").
    pub fn propose_until_committed(&mut self, at: Time, retry_units: Time) -> Bytes {
        self.request(at, Target::Leader, Some(retry_units))
    }

    fn request(&mut self, at: Time, to: Target, retry_units: Option<Time>) -> Bytes {
        assert!(
            !self.client,
            "a plan with the random client takes no scripted requests"
        );
        let command = Bytes::from(format!("cmd{}", self.requests.len() + 1));
        self.requests.push(Request {
            at,
            to,
            command: command.clone(),
            retry_units,
            attempts: Vec::new(),
            committed_at: None,
        });
        command
    }

    /// Is this run exactly what the CLI runs for the same seed and options?
    pub fn is_cli_run(&self) -> bool {
        self.client && self.faults.is_empty() && self.tweak.is_none()
    }

    /// The script, one fault per line, for a failure report.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if let Some(t) = self.tweak {
            let _ = writeln!(s, "  every node runs with {}", t.name);
        }
        if self.compact_entries > 0 {
            let _ = writeln!(
                s,
                "  snapshots every {} applied entries",
                self.compact_entries
            );
        }
        let mut faults = self.faults.clone();
        faults.sort_by_key(|(at, _)| *at);
        for (at, f) in faults {
            let _ = match f {
                Fault::Crash(n) => writeln!(s, "  t={at} crash {n}"),
                Fault::Restart(n) => writeln!(s, "  t={at} restart {n}"),
                Fault::Partition(p) => writeln!(s, "  t={at} partition {p}"),
                Fault::Heal => writeln!(s, "  t={at} heal"),
            };
        }
        let _ = writeln!(s, "  {} scripted requests", self.requests.len());
        s
    }

    /// The cluster just before `at`: the run with the faults planned so far, stopped at `at - 1`.
    pub fn state_at(&self, at: Time) -> Result<State, String> {
        let (sim, _, _) = self.build(at.saturating_sub(1), TraceLevel::Off)?;
        let mut sim = sim;
        let report = sim.run();
        if let Some(v) = report.violation() {
            return Err(format!("invariant violated before t={at}: {v}"));
        }
        Ok(snapshot(&sim))
    }

    /// The first election in `from..=to` of a term higher than any led before `from`: when,
    /// who, which term. Runs the plan (as planned so far) to `to`.
    pub fn next_election(
        &self,
        from: Time,
        to: Time,
    ) -> Result<Option<(Time, NodeId, Term)>, String> {
        let out = self.execute(to, TraceLevel::Off)?;
        if let Some(v) = out.report.violation() {
            return Err(format!("invariant violated before t={to}: {v}"));
        }
        let o = &out.observed;
        let led_before = (o.timeline.iter().take_while(|m| m.at < from))
            .flat_map(|m| m.leaders())
            .map(|(_, t)| t)
            .max()
            .unwrap_or(0);
        let found = o.during(from, to).find_map(|m| {
            let newer = m.leaders().into_iter().find(|&(_, t)| t > led_before);
            newer.map(|(n, t)| (m.at.max(from), n, t))
        });
        Ok(found)
    }

    /// Run the plan to `until`. An invariant violation, or running out of events, is an error.
    pub fn run(&self, until: Time) -> Result<Outcome, String> {
        self.run_with(until, TraceLevel::Off)
    }

    /// `run`, keeping the trace of every delivery, drop, fault, input and output in
    /// `report.trace`, for scenarios that count messages of one kind (see `count_lines`).
    pub fn run_traced(&self, until: Time) -> Result<Outcome, String> {
        self.run_with(until, TraceLevel::Events)
    }

    fn run_with(&self, until: Time, trace: TraceLevel) -> Result<Outcome, String> {
        LAST_RUN.with(|l| *l.borrow_mut() = Some((self.clone(), until)));
        let out = self.execute(until, trace)?;
        if let Some(v) = out.report.violation() {
            return Err(format!("invariant violated: {v}"));
        }
        if out.report.stop == Stop::MaxEvents {
            return Err(format!(
                "the run hit max_events at t={}: raise max_events",
                out.end.at
            ));
        }
        Ok(out)
    }

    /// Run the plan to `until` with the given trace level, whatever happens.
    pub fn execute(&self, until: Time, trace: TraceLevel) -> Result<Outcome, String> {
        let (mut sim, observed, requests) = self.build(until, trace)?;
        let report = sim.run();
        let end = snapshot(&sim);
        drop(sim);
        let observed = std::mem::take(&mut *observed.borrow_mut());
        let requests = std::mem::take(&mut *requests.borrow_mut());
        Ok(Outcome {
            report,
            observed,
            requests,
            end,
        })
    }

    #[allow(clippy::type_complexity)]
    fn build(
        &self,
        until: Time,
        trace: TraceLevel,
    ) -> Result<
        (
            Simulation<Raft>,
            Rc<RefCell<Observed>>,
            Rc<RefCell<Vec<Request>>>,
        ),
        String,
    > {
        let mut opts = self.opts.clone();
        opts.max_time_units = until;
        opts.trace = trace;
        let sim = match self.tweak {
            None => simulation(self.seed, &opts).map_err(|e| e.to_string())?,
            Some(tweak) => tweaked_simulation(self.seed, &opts, tweak)?,
        };
        let (observer, observed) = Observer::new(opts.nodes);
        let requests = Rc::new(RefCell::new(self.requests.clone()));
        let mut sim = sim.with_invariant(observer);
        if !self.client {
            let script = Script::new(requests.clone());
            sim = sim.with_workload(Compacting::new(script, self.compact_entries));
        }
        for (at, fault) in &self.faults {
            match fault {
                Fault::Crash(n) => sim.schedule_crash(*at, *n),
                Fault::Restart(n) => sim.schedule_restart(*at, *n),
                Fault::Partition(p) => sim.schedule_partition(*at, p.clone()),
                Fault::Heal => sim.schedule_heal(*at),
            }
        }
        Ok((sim, observed, requests))
    }
}

/// What `scenarios::raft::simulation` builds (the same per-seed options, the same six invariants and
/// leader hook), with `tweak` applied to every node's config. No random client: scripted plans
/// replace it. If `simulation` gains an invariant, add it here too.
fn tweaked_simulation(
    seed: u64,
    opts: &RaftSimOptions,
    tweak: RaftTweak,
) -> Result<Simulation<Raft>, String> {
    opts.validate().map_err(|e| e.to_string())?;
    let opts = opts.for_seed(seed);
    let config = |id: NodeId| {
        let mut c = opts.raft_config(id);
        (tweak.apply)(&mut c);
        c
    };
    config(NodeId(1))
        .validate()
        .map_err(|e| format!("{}: {e}", tweak.name))?;
    let configs: Vec<Config> = (1..=opts.nodes as u64).map(|k| config(NodeId(k))).collect();
    let factory = move |id: NodeId, disk: &Disk, rng| {
        Raft::new(configs[id.0 as usize - 1].clone(), disk, rng)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"))
    };
    let n = opts.nodes;
    let sim = Simulation::new(seed, opts.sim_config(), factory).map_err(|e| e.to_string())?;
    Ok(sim
        .with_invariant(ElectionSafety::new(n))
        .with_invariant(LogMatching::new(n))
        .with_invariant(LeaderCompleteness::new(n))
        .with_invariant(StateMachineSafety::new(n))
        .with_invariant(CommitMonotonic::new(n))
        .with_invariant(SnapshotSafety::new())
        .with_leader_hook(raft_leader))
}

fn snapshot(sim: &Simulation<Raft>) -> State {
    let view = sim.view();
    let nodes = view
        .ids()
        .map(|id| {
            view.node(id).map(|n| NodeState {
                role: n.role(),
                term: n.term(),
                leader: n.leader(),
                voted_for: n.voted_for(),
                commit_index: n.commit_index(),
                applied_index: n.applied_index(),
                snapshot_index: n.snapshot_index(),
                log: n.entries().to_vec(),
            })
        })
        .collect();
    let disks = view
        .ids()
        .map(|id| view.disk(id).cloned().unwrap_or_default());
    State {
        at: view.now(),
        nodes,
        disks: disks.collect(),
        stats: sim.stats().clone(),
    }
}
