//! The scripted clerks: the workload a `ClerkCluster` runs instead of the library's clients.
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
use std::collections::BTreeMap;
use std::rc::Rc;

use bytes::Bytes;
use distributed_core::{NodeId, Rng, SeededRng};
use kv::{Reply, Request};
use replica::{Input as ReplicaInput, KvReplica, Outcome, Output as ReplicaOutput};
use scenarios::raft_kv::RaftKvOptions;
use sim::{ClusterView, Time, Workload, WorkloadStep};

use super::cluster::text;
use super::{ClerkSpec, Mix, OpRecord};

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

/// The clerks as the simulation's workload (it owns this handle; `ClerkCluster` keeps another).
pub(super) struct SharedClerks(pub(super) Rc<RefCell<Clerks>>);

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
pub(super) struct Clerks {
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
    pub(super) renumber_retries: bool,
    /// Every op started, in order.
    pub(super) records: Vec<OpRecord>,
    /// Replies the model cannot state, verbatim.
    pub(super) unexpected: Vec<String>,
}

impl Clerks {
    pub(super) fn new(specs: Vec<ClerkSpec>, opts: &RaftKvOptions) -> Self {
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
        let request = Request::in_session(client_id, seq, command);
        self.last_sent = Some((i, op.attempt));
        // The tag as the read seed: the clerk's runs replay without an RNG draw.
        let input = ReplicaInput::Request {
            tag,
            request,
            random_seed: tag,
        };
        Some((target, input))
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
        (C::Get { .. }, r) => r.as_value().ok().map(|v| O::Value(v.map(text))),
        (C::Put { .. }, r) if r.is_ok() => Some(O::Done),
        (C::Append { .. }, Reply::Int(_)) => Some(O::Done),
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
    let (kind, key) = draw_key(mix, rng, opening);
    match kind {
        "g" => (kv::Command::get(bytes(&key)), check::Command::Get { key }),
        "a" => {
            let value = format!("{clerk}.{op};");
            let kv = kv::Command::append(bytes(&key), bytes(&value));
            (kv, check::Command::Append { key, value })
        }
        "n" => {
            let kv = kv::Command::incr_by(bytes(&key), 1);
            (kv, check::Command::Incr { key, delta: 1 })
        }
        _ => {
            let value = format!("{clerk}.{op}");
            let kv = kv::Command::set(bytes(&key), bytes(&value));
            (kv, check::Command::Put { key, value })
        }
    }
}

/// The kind of the next op (`a` append, `n` increment, `p` put, `g` get) and its key: a
/// read's key is of a kind the mix writes. Draws the kind, then the key number, then (for a
/// read) the kind of key to read, in that order: the order is part of what a seed replays.
fn draw_key(mix: &Mix, rng: &mut SeededRng, opening: bool) -> (&'static str, String) {
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
        let read = written[rng.range(0, written.len() as u64) as usize];
        return ("g", format!("{read}{key_no}"));
    }
    (kind, format!("{kind}{key_no}"))
}

fn bytes(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}
