//! Scripted clerks for the KV scenario suite (`scenario_kv.rs`), and audits that judge what
//! they saw on the values themselves.
//!
//! ```text
//!   ClerkCluster::new(seed, opts, specs) [+ sim_mut(): scripted faults] ─► run ─► ClerkRun
//!     the cluster `sim::raft_kv::simulation` builds (same replicas, invariants, fault
//!     profile), driven by clerks instead of the library's clients: each may be pinned to
//!     some servers for a while, may stick to the leader or go round the servers, and only
//!     appends unique tokens, increments by one, puts unique values, or reads
//!   audit_appends / audit_counters (ClerkRun) ─► exactly once, read from the values
//! ```
//!
//! A clerk's op (Raft §8; dissertation §6.3 for exactly-once):
//!
//! ```text
//!   start: a write takes seq += 1 in the clerk's session; a read goes without one
//!          (client_id 0: re-running a read is harmless, and it needs no session to exist)
//!     send to the guessed leader, or the next of its servers in turn; tag = (session, op, try)
//!     Done ─────────────────► record return, outcome and the server that answered; think
//!     NotLeader{hint} ──────► resend the SAME request to the hint (if it may reach it)
//!     NotLeader, Busy ──────► resend the SAME request after a backoff  (not proposed)
//!     Retry, silence ───────► resend the SAME request elsewhere        (uncertain: counted)
//!     400 sends ────────────► give up: no return; a fresh session continues
//! ```
//!
//! `renumbering_retries` breaks the clerks on purpose: every resend of a write gets a NEW
//! seq, so the replicas cannot tell a retry from a new request. The audits must then find a
//! duplicate: that is how the suite shows its exactly-once checks can fail.
//!
//! Determinism: the clerks poll on a fixed cadence and draw from the workload's RNG only when
//! they act, so pins that start at T change nothing before T. That is what lets a run to T
//! name the leader the real run has at T, before the real run is scripted.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::rc::Rc;

use bytes::Bytes;
use check::{Budget, CheckResult, Checker, History, ModelKind, Operation};
use distributed_core::{NodeId, Rng, SeededRng};
use kv::{KvReplica, Outcome, ReplicaInput, ReplicaOutput, Reply, Request};
use sim::raft::{ElectionSafety, LeaderCompleteness, LogMatching, StateMachineSafety};
use sim::raft_kv::{
    kv_leader, OnReplica, RaftKvOptions, ReplicaAgreement, ReplicaProgress, DIGEST_EVERY_ENTRIES,
};
use sim::{ClusterView, Invariant, Report, Simulation, Time, Workload, WorkloadStep};

/// The clerks are polled this often when none is due: the cadence does not depend on them.
const POLL_UNITS: Time = 5;
/// A hinted redirect waits this long, so two nodes naming each other cannot spin a clerk.
const REDIRECT_UNITS: Time = 5;
/// The least a refused clerk waits before it resends.
const BACKOFF_UNITS_MIN: Time = 40;
/// Sends per op before a clerk gives up on it; a pinned clerk may wait out a long partition.
const ATTEMPTS_MAX: u32 = 400;
/// Unexpected replies kept verbatim.
const UNEXPECTED_KEPT_MAX: usize = 8;

/// What one clerk does over a run.
#[derive(Clone, Debug)]
pub struct ClerkSpec {
    /// The servers it may talk to: a clerk on one side of a partition (as in the MIT lab's
    /// partition tests) is given only that side's servers.
    pub servers: Vec<NodeId>,
    /// It starts no op before this time.
    pub start_at: Time,
    /// It starts no op at or after this time.
    pub stop_at: Time,
    /// It starts at most this many ops.
    pub ops_max: u64,
    /// Whether it sends its next op to the server that answered the last one (as a real
    /// client does), or to the next of its servers in turn (so reads reach followers too,
    /// which must redirect them: a follower that answers from its own state serves stale
    /// reads even to a lone client).
    pub follow_leader: bool,
    /// A window in which it may talk only to some servers: a clerk stuck on one side of a
    /// partition, reconnected to every server after the heal (as in the MIT lab).
    pub pinned: Option<Pin>,
    /// What its ops are.
    pub mix: Mix,
}

/// From `from` until `until`, a clerk talks only to `servers`.
#[derive(Clone, Debug)]
pub struct Pin {
    /// Start of the window.
    pub from: Time,
    /// End of the window (exclusive).
    pub until: Time,
    /// The servers it may talk to meanwhile.
    pub servers: Vec<NodeId>,
}

/// A clerk's op mix, as weights, and how many keys of each kind it uses. Append keys are
/// `a0..`, counter keys `n0..`, put keys `p0..`: kinds never share a key, so an append log or
/// a counter is never overwritten and can be audited on its value.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mix {
    /// Append a unique token `"<clerk>.<op>;"`.
    pub append: u64,
    /// Increment a counter by exactly one.
    pub incr: u64,
    /// Put a unique value `"<clerk>.<op>"`.
    pub put: u64,
    /// Read a key of a kind the mix writes.
    pub get: u64,
    /// Keys per kind.
    pub keys: usize,
}

/// One op a clerk started: the history entry plus what only the clerk knows.
#[derive(Clone, Debug)]
pub struct OpRecord {
    /// The clerk (1-based), its lane in the history.
    pub clerk: u64,
    /// What it asked, in the checker's words.
    pub command: check::Command,
    /// When it was first sent.
    pub invoke: Time,
    /// When and what it returned, if it did.
    pub done: Option<(Time, check::Outcome)>,
    /// The server whose `Done` completed it.
    pub served_by: Option<NodeId>,
    /// Sends whose fate was unknown (`Retry` or a timeout): where a retry could apply twice.
    pub uncertain_sends: u32,
}

impl fmt::Display for OpRecord {
    /// `c4 get(a0) -> "5.1;5.2;…(310 bytes)" [t=8010..t=8010] by n2`: values cut at 40 bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{} {}", self.clerk, self.command)?;
        match &self.done {
            Some((_, check::Outcome::Value(Some(v)))) if v.len() > 40 => {
                let cut = (0..=40).rev().find(|&i| v.is_char_boundary(i)).unwrap_or(0);
                write!(f, " -> \"{}…({} bytes)\"", &v[..cut], v.len())?;
            }
            Some((_, outcome)) => write!(f, " -> {outcome}")?,
            None => {}
        }
        match (&self.done, self.served_by) {
            (Some((ret, _)), Some(node)) => write!(f, " [t={}..t={ret}] by {node}", self.invoke),
            _ => write!(f, " [t={}..?] no return", self.invoke),
        }
    }
}

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

/// A cluster wired exactly as `sim::raft_kv::simulation` wires it, driven by clerks.
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

fn text(b: &Bytes) -> String {
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

/// The clerks as the simulation's workload (it owns this handle; `ClerkCluster` keeps another).
struct SharedClerks(Rc<RefCell<Clerks>>);

impl Workload<KvReplica> for SharedClerks {
    fn poll(
        &mut self,
        view: &ClusterView<KvReplica>,
        rng: &mut SeededRng,
    ) -> WorkloadStep<ReplicaInput> {
        self.0.borrow_mut().poll(view.now(), rng)
    }

    fn on_output(&mut self, node: NodeId, output: &ReplicaOutput, now: Time) {
        if let ReplicaOutput::Reply { tag, outcome } = output {
            self.0.borrow_mut().on_reply(node, *tag, outcome, now);
        }
    }

    fn on_input_dropped(&mut self, node: NodeId, now: Time) {
        self.0.borrow_mut().on_dropped(node, now);
    }
}

/// The op a clerk has in flight.
struct Live {
    /// Its number among the clerk's ops (from 1): what its tag names, across sessions.
    no: u64,
    /// Its index in `Clerks::records`.
    record: usize,
    /// What the replica runs.
    command: kv::Command,
    /// Reads go without a session (`client_id` 0): re-running one is harmless, and it needs
    /// no session to exist, so a clerk can read on a side that cannot commit anything.
    read: bool,
    /// Sends so far.
    attempt: u32,
    /// The send waiting for an answer: to whom, since when.
    waiting: Option<(NodeId, Time)>,
    /// Think time after it, and the base of its backoffs.
    pause: Time,
}

/// One scripted clerk.
struct Clerk {
    /// What it was asked to do.
    spec: ClerkSpec,
    /// 1-based: its history lane and the prefix of its tokens.
    id: u64,
    /// The current session: its own id, until it gives up on an op and takes a fresh one.
    client_id: u64,
    /// The last seq used in the session (writes only).
    seq: u64,
    /// Ops started, over all sessions: the number of the latest.
    issued: u64,
    /// Who it believes leads, if it follows leaders.
    leader: Option<NodeId>,
    /// The servers it may talk to now: `spec.servers`, or its pin's inside the window.
    active: Vec<NodeId>,
    /// Round-robin position in `active`.
    turn: usize,
    /// When to act next, if nothing waits; `Time::MAX` once retired.
    due: Time,
    /// The op in flight.
    op: Option<Live>,
}

/// The clerks of one run: the workload.
struct Clerks {
    /// In a fixed order: ties go to the lower index, so runs replay.
    clerks: Vec<Clerk>,
    /// Session → clerk index.
    by_session: BTreeMap<u64, usize>,
    /// Abandoned (session, op number) → record, for a late `Done`.
    abandoned: BTreeMap<(u64, u64), usize>,
    /// The next unused session id.
    next_client_id: u64,
    /// The clerk and attempt of the last input handed out, for `on_dropped`.
    last_sent: Option<(usize, u32)>,
    /// How long a send may go unanswered.
    timeout_units: Time,
    /// The longest think time, and the base of backoffs.
    think_units_max: Time,
    /// The deliberate bug (see the module docs).
    renumber_retries: bool,
    /// Every op started, in order.
    records: Vec<OpRecord>,
    /// Replies the model cannot state, verbatim.
    unexpected: Vec<String>,
}

impl Clerks {
    fn new(specs: Vec<ClerkSpec>, opts: &RaftKvOptions) -> Self {
        let n = specs.len() as u64;
        let clerks = specs
            .into_iter()
            .zip(1..)
            .map(|(spec, id)| {
                let pinned = spec.pinned.as_ref().map_or(1, |p| p.servers.len());
                assert!(spec.servers.len() * pinned > 0, "clerk {id} has no servers");
                Clerk {
                    active: spec.servers.clone(),
                    due: spec.start_at,
                    spec,
                    id,
                    client_id: id,
                    seq: 0,
                    issued: 0,
                    leader: None,
                    turn: id as usize,
                    op: None,
                }
            })
            .collect();
        Clerks {
            clerks,
            by_session: (1..=n).map(|c| (c, c as usize - 1)).collect(),
            abandoned: BTreeMap::new(),
            next_client_id: n + 1,
            last_sent: None,
            timeout_units: opts.client_timeout_units,
            think_units_max: opts.think_units_max,
            renumber_retries: std::env::var_os("SCENARIO_KV_RENUMBER_RETRIES").is_some(),
            records: Vec::new(),
            unexpected: Vec::new(),
        }
    }

    fn poll(&mut self, now: Time, rng: &mut SeededRng) -> WorkloadStep<ReplicaInput> {
        self.last_sent = None;
        for c in &mut self.clerks {
            let active = match &c.spec.pinned {
                Some(p) if (p.from..p.until).contains(&now) => &p.servers,
                _ => &c.spec.servers,
            };
            if c.active != *active {
                c.active = active.clone();
            }
        }
        self.expire(now);
        let ready = |c: &Clerk| c.due <= now && c.op.as_ref().and_then(|op| op.waiting).is_none();
        let pick = (0..self.clerks.len())
            .filter(|&i| ready(&self.clerks[i]))
            .min_by_key(|&i| (self.clerks[i].due, i));
        let input = pick.and_then(|i| self.act(i, now, rng));
        let more = self.clerks.iter().any(ready);
        let alive = self.clerks.iter().any(|c| c.due != Time::MAX);
        WorkloadStep {
            input,
            next_poll_units: alive.then_some(if more { 1 } else { POLL_UNITS }),
        }
    }

    /// Sends that waited too long failed, with an unknown fate: resend elsewhere, now.
    fn expire(&mut self, now: Time) {
        for c in &mut self.clerks {
            let Some(op) = c.op.as_mut() else { continue };
            if op
                .waiting
                .is_some_and(|(_, since)| since + self.timeout_units <= now)
            {
                op.waiting = None;
                self.records[op.record].uncertain_sends += 1;
                c.leader = None;
                c.due = now;
            }
        }
    }

    /// Clerk `i` acts: gives up on its op, starts one, or retires; then sends.
    fn act(&mut self, i: usize, now: Time, rng: &mut SeededRng) -> Option<(NodeId, ReplicaInput)> {
        if self.clerks[i]
            .op
            .as_ref()
            .is_some_and(|op| op.attempt >= ATTEMPTS_MAX)
        {
            self.abandon(i);
        }
        if self.clerks[i].op.is_none() && !self.start(i, now, rng) {
            self.clerks[i].due = Time::MAX;
            return None;
        }
        let renumber = self.renumber_retries;
        let c = &mut self.clerks[i];
        let target = match c.leader.filter(|l| c.active.contains(l)) {
            Some(l) => l,
            None => {
                c.turn += 1;
                c.active[c.turn % c.active.len()]
            }
        };
        let op = c.op.as_mut().expect("started above");
        op.attempt += 1;
        if renumber && op.attempt > 1 && !op.read && c.seq > 1 {
            // The deliberate bug: a resend the replicas cannot recognise. (Not a session's
            // first write: renumbering that would only get `SessionUnknown` refusals.)
            c.seq += 1;
        }
        op.waiting = Some((target, now));
        let tag = (c.client_id << 40) | (op.no << 16) | u64::from(op.attempt);
        let (client_id, seq) = if op.read {
            (0, 0)
        } else {
            (c.client_id, c.seq)
        };
        let command = op.command.clone();
        let request = Request {
            client_id,
            seq,
            command,
        };
        self.last_sent = Some((i, op.attempt));
        Some((target, ReplicaInput::Request { tag, request }))
    }

    /// Start clerk `i`'s next op, if it may; false once it is done.
    fn start(&mut self, i: usize, now: Time, rng: &mut SeededRng) -> bool {
        let c = &mut self.clerks[i];
        if now >= c.spec.stop_at || c.issued >= c.spec.ops_max {
            return false;
        }
        c.issued += 1;
        let (command, check) = draw(&c.spec.mix, rng, c.id, c.issued, c.seq == 0);
        let read = command.is_read_only();
        if !read {
            c.seq += 1;
        }
        let pause = rng.range(0, self.think_units_max + 1);
        self.records.push(OpRecord {
            clerk: c.id,
            command: check,
            invoke: now,
            done: None,
            served_by: None,
            uncertain_sends: 0,
        });
        c.op = Some(Live {
            no: c.issued,
            record: self.records.len() - 1,
            command,
            read,
            attempt: 0,
            waiting: None,
            pause,
        });
        true
    }

    /// Give up on clerk `i`'s op (it stays without a return) and open a fresh session: a
    /// later seq in the old one would be refused if the abandoned write never applied.
    fn abandon(&mut self, i: usize) {
        let c = &mut self.clerks[i];
        let Some(op) = c.op.take() else { return };
        self.abandoned.insert((c.client_id, op.no), op.record);
        self.by_session.remove(&c.client_id);
        c.client_id = self.next_client_id;
        c.seq = 0;
        self.next_client_id += 1;
        self.by_session.insert(c.client_id, i);
    }

    fn on_reply(&mut self, node: NodeId, tag: u64, outcome: &Outcome, now: Time) {
        let (client_id, no, attempt) = (tag >> 40, (tag >> 16) & 0xff_ffff, tag as u32 & 0xffff);
        let current = self
            .by_session
            .get(&client_id)
            .copied()
            .filter(|&i| self.clerks[i].op.as_ref().is_some_and(|op| op.no == no));
        let Some(i) = current else {
            if let (Outcome::Done(reply), Some(record)) =
                (outcome, self.abandoned.remove(&(client_id, no)))
            {
                self.record(record, node, reply, now);
            }
            return;
        };
        let renumbered = self.renumber_retries;
        let c = &mut self.clerks[i];
        let op = c.op.as_mut().expect("the current op");
        match outcome {
            // An older copy under an older seq, refused as stale: no answer to this op.
            Outcome::Done(Reply::Error(_)) if renumbered && attempt != op.attempt => {}
            Outcome::Done(reply) => {
                let op = c.op.take().expect("the current op");
                c.leader = c.spec.follow_leader.then_some(node);
                c.due = now + op.pause;
                self.record(op.record, node, reply, now);
            }
            _ if op.attempt != attempt || op.waiting.is_none() => {} // an earlier send's
            refusal => {
                op.waiting = None;
                let backoff = (BACKOFF_UNITS_MIN + op.pause) << (op.attempt / 8).min(3);
                c.due = now + backoff;
                match refusal {
                    Outcome::NotLeader { leader: Some(l) }
                        if *l != node && c.active.contains(l) =>
                    {
                        c.leader = Some(*l);
                        c.due = now + REDIRECT_UNITS;
                    }
                    Outcome::Busy => {}
                    Outcome::Retry => {
                        self.records[op.record].uncertain_sends += 1;
                        c.leader = None;
                    }
                    _ => c.leader = None,
                }
            }
        }
    }

    fn on_dropped(&mut self, _node: NodeId, now: Time) {
        let Some((i, attempt)) = self.last_sent.take() else {
            return;
        };
        let c = &mut self.clerks[i];
        if let Some(op) = c.op.as_mut().filter(|op| op.attempt == attempt) {
            op.waiting = None;
            c.leader = None;
            c.due = now + BACKOFF_UNITS_MIN + op.pause;
        }
    }

    fn record(&mut self, record: usize, node: NodeId, reply: &Reply, now: Time) {
        let r = &mut self.records[record];
        match outcome(&r.command, reply) {
            Some(outcome) => {
                r.done = Some((now, outcome));
                r.served_by = Some(node);
            }
            None if self.unexpected.len() < UNEXPECTED_KEPT_MAX => self.unexpected.push(format!(
                "t={now} {node} answered {} with {reply}",
                r.command
            )),
            None => {}
        }
    }
}

/// The checker's outcome of a `Done(reply)` to `command`, if the model can state it.
fn outcome(command: &check::Command, reply: &Reply) -> Option<check::Outcome> {
    use check::{Command as C, Outcome as O};
    match (command, reply) {
        (C::Get { .. }, Reply::Value(v)) => Some(O::Value(v.as_ref().map(text))),
        (C::Put { .. }, Reply::Ok) | (C::Append { .. }, Reply::Int(_)) => Some(O::Done),
        (C::Incr { .. }, Reply::Int(n)) => Some(O::Counter(*n)),
        _ => None,
    }
}

/// Clerk `clerk`'s op number `op`. A session's first write (`opening`) is never a put when
/// the mix has another write: `AckBeforeCommit` answers a put before it commits, and a
/// session opened by a put that never applies would refuse every later write.
fn draw(
    mix: &Mix,
    rng: &mut SeededRng,
    clerk: u64,
    op: u64,
    opening: bool,
) -> (kv::Command, check::Command) {
    let kinds = [
        (mix.append, "a"),
        (mix.incr, "n"),
        (mix.put, "p"),
        (mix.get, "g"),
    ];
    let total: u64 = kinds.iter().map(|(w, _)| w).sum();
    assert!(
        total > mix.get,
        "a clerk's mix needs at least one kind of write"
    );
    let mut roll = rng.range(0, total);
    let key_no = rng.range(0, mix.keys.max(1) as u64);
    let mut kind = kinds
        .into_iter()
        .find(|(w, _)| {
            let hit = roll < *w;
            roll = roll.saturating_sub(*w);
            hit
        })
        .map_or("g", |(_, k)| k);
    if kind == "p" && opening && mix.append + mix.incr > 0 {
        kind = if mix.append > 0 { "a" } else { "n" };
    }
    if kind == "g" {
        let written: Vec<&str> = kinds[..3]
            .iter()
            .filter(|(w, _)| *w > 0)
            .map(|(_, k)| *k)
            .collect();
        kind = written[rng.range(0, written.len() as u64) as usize];
        let key = format!("{kind}{key_no}");
        return (
            kv::Command::Get { key: bytes(&key) },
            check::Command::Get { key },
        );
    }
    let key = format!("{kind}{key_no}");
    match kind {
        "a" => {
            let value = format!("{clerk}.{op};");
            let kv = kv::Command::Append {
                key: bytes(&key),
                value: bytes(&value),
            };
            (kv, check::Command::Append { key, value })
        }
        "n" => {
            let kv = kv::Command::Increment {
                key: bytes(&key),
                by: 1,
            };
            (kv, check::Command::Incr { key, delta: 1 })
        }
        _ => {
            let value = format!("{clerk}.{op}");
            let kv = kv::Command::Put {
                key: bytes(&key),
                value: bytes(&value),
            };
            (kv, check::Command::Put { key, value })
        }
    }
}

fn bytes(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// What [`audit_appends`] verified, so a scenario can insist it verified something.
#[derive(Clone, Copy, Debug, Default)]
pub struct AppendAudit {
    /// Acknowledged appends.
    pub acked: usize,
    /// (read, append acknowledged before the read began) pairs found in the read's value.
    pub reads_checked: usize,
    /// Acknowledged appends found exactly once in the final values.
    pub finals_checked: usize,
}

/// Append logs are exactly-once: in every value read and in the final values, each token
/// appears at most once and was appended by some op; every append acknowledged before a read
/// began is in that read's value; and, when the final values are complete, every acknowledged
/// append is in its key's final value. Appends without a return may be there or not.
pub fn audit_appends(run: &ClerkRun) -> Result<AppendAudit, String> {
    use check::{Command as C, Outcome as O};
    let mut appends: BTreeMap<&str, BTreeMap<&str, Option<Time>>> = BTreeMap::new();
    for op in &run.ops {
        if let C::Append { key, value } = &op.command {
            let token = value.trim_end_matches(';');
            let ret = op.done.as_ref().map(|(t, _)| *t);
            appends.entry(key).or_default().insert(token, ret);
        }
    }
    let mut audit = AppendAudit::default();
    for op in &run.ops {
        let (C::Get { key }, Some((ret, O::Value(v)))) = (&op.command, &op.done) else {
            continue;
        };
        let Some(known) = appends.get(key.as_str()) else {
            continue;
        };
        let what = format!("c{} get({key}) [t={}..t={ret}]", op.clerk, op.invoke);
        let seen = tokens(v.as_deref().unwrap_or(""), known, &what)?;
        for (token, _) in known
            .iter()
            .filter(|(_, r)| r.is_some_and(|r| r < op.invoke))
        {
            if !seen.contains(token) {
                return Err(format!(
                    "{what} misses append {token}, acknowledged before the read began"
                ));
            }
            audit.reads_checked += 1;
        }
    }
    for (key, known) in &appends {
        let acked: Vec<&str> = known
            .iter()
            .filter(|(_, r)| r.is_some())
            .map(|(t, _)| *t)
            .collect();
        audit.acked += acked.len();
        let value = run.finals.get(*key).cloned().flatten().unwrap_or_default();
        let seen = tokens(&value, known, &format!("final value of {key}"))?;
        if run.finals_complete {
            if let Some(lost) = acked.iter().find(|t| !seen.contains(*t)) {
                return Err(format!(
                    "final value of {key} misses acknowledged append {lost}"
                ));
            }
            audit.finals_checked += acked.len();
        }
    }
    Ok(audit)
}

/// The tokens of an append log, each appended by some op and none twice.
fn tokens<'a>(
    value: &'a str,
    known: &BTreeMap<&str, Option<Time>>,
    what: &str,
) -> Result<BTreeSet<&'a str>, String> {
    let mut seen = BTreeSet::new();
    for token in value.split(';').filter(|t| !t.is_empty()) {
        if !known.contains_key(token) {
            return Err(format!("{what} holds {token}, which no op appended"));
        }
        if !seen.insert(token) {
            return Err(format!(
                "{what} holds {token} twice: one append applied twice (exactly-once broken)"
            ));
        }
    }
    Ok(seen)
}

/// What [`audit_counters`] verified.
#[derive(Clone, Copy, Debug, Default)]
pub struct CounterAudit {
    /// Acknowledged increments.
    pub acked: usize,
    /// Counters whose final value was compared with the acknowledged increments.
    pub finals_checked: usize,
}

/// Counters are exactly-once. Every increment adds one, so with each applied once: no value
/// read or returned exceeds the increments ever started on the key; acknowledged increments
/// return distinct values; and, when the final values are complete, the final value lies
/// between the acknowledged increments and all started ones (those without a return may or
/// may not have applied), and no acknowledged increment returned more than it.
pub fn audit_counters(run: &ClerkRun) -> Result<CounterAudit, String> {
    use check::{Command as C, Outcome as O};
    let mut started: BTreeMap<&str, i64> = BTreeMap::new();
    let mut returned: BTreeMap<&str, BTreeMap<i64, String>> = BTreeMap::new();
    for op in run
        .ops
        .iter()
        .filter(|o| matches!(o.command, C::Incr { .. }))
    {
        *started.entry(op.command.key()).or_default() += 1;
    }
    for op in &run.ops {
        let key = op.command.key();
        let Some(&n) = started.get(key) else { continue };
        let what = format!("c{} {} [t={}..]", op.clerk, op.command, op.invoke);
        let value = match &op.done {
            Some((_, O::Counter(v))) => {
                let first = returned.entry(key).or_default().insert(*v, what.clone());
                if let Some(first) = first {
                    return Err(format!("{what} and {first} both returned {v}"));
                }
                *v
            }
            Some((_, O::Value(v))) => v.as_deref().map_or(0, |v| v.parse().unwrap_or(i64::MAX)),
            _ => continue,
        };
        if value > n {
            return Err(format!(
                "{what} saw {value}, but only {n} increments of {key} were ever started: \
                 one applied twice (exactly-once broken)"
            ));
        }
    }
    let mut audit = CounterAudit::default();
    for (key, n) in started {
        let acked = returned.get(key).map_or(0, |r| r.len());
        audit.acked += acked;
        if !run.finals_complete {
            continue;
        }
        let last = run.finals.get(key).cloned().flatten();
        let last: i64 = last.as_deref().map_or(0, |v| v.parse().unwrap_or(i64::MAX));
        let highest = returned
            .get(key)
            .and_then(|r| r.keys().next_back().copied());
        if last < acked as i64 || last > n || highest.is_some_and(|h| h > last) {
            return Err(format!(
                "final {key}={last}, but {acked} increments were acknowledged (the highest \
                 returned {highest:?}) out of {n} started"
            ));
        }
        audit.finals_checked += 1;
    }
    Ok(audit)
}
