//! Simulated KV clients: sequential, exactly-once, retrying; every op recorded for the checker.
//!
//! One [`KvClients`] workload drives N clients. Each has one op in flight at most, its own
//! session (`client_id`, `seq`), and a guess of who leads. An op's life, from the client's side
//! (Raft §8 and the dissertation's §6.3 on exactly-once):
//!
//! ```text
//!   new op: seq += 1 (seq 1 opens the session with an incr, see `ops.rs`),
//!           history.invoke_kv(body, at the first send)
//!      │
//!      ├─ a WATCHed EXEC: first DISTRIBUTED.INDEX (a read, retried like any op) ─► Done(:i)
//!      │     ─► the body's since = i, seq += 1 (a fresh seq for the EXEC itself)
//!      ▼
//!   send Request{client_id, seq} ──► guessed leader, or a random node (not the one that failed);
//!      │                                 a read, with odds follower_reads_per_million: any node
//!      │
//!      ├─ Done(reply) ───────────► history.complete_kv(reply, now); think; next op
//!      ├─ NotLeader{hint} ───────► resend the SAME request to the hint, at once
//!      ├─ NotLeader{none}, Retry ► resend the SAME request elsewhere, after a backoff
//!      ├─ Busy ──────────────────► resend the SAME request to the same node, after a backoff
//!      └─ silence for client_timeout_units, or the node was down ─► resend elsewhere
//!
//!   attempts > op_attempts_max ──► give up: the op stays "no return" (it may yet apply);
//!                                  the client starts a NEW session (fresh client_id, seq 1)
//!   end of run ──────────────────► every op without a Done is "no return"
//! ```
//!
//! Why resend the same `seq`: `Retry` and silence mean "unknown", the first copy may still
//! commit. The replicas' session table applies a (client_id, seq) once and replays its reply
//! to every copy, so any `Done` for the op (from whichever attempt) is its one true outcome.
//! Why a new session after giving up: a later seq in the old session would be refused if the
//! abandoned one never applied, and the checker needs no per-client order anyway.
//!
//! Reads served without the log (ReadIndex, lease) take a seq like any request but never touch
//! the session: the session opens with the seq-1 `incr` (see `ops.rs`), and later writes may
//! skip numbers. A read may be answered by a follower, so only a `Done` to a write (or to any
//! op when reads go through the log) tells the client who leads.
//!
//! Requests are matched to replies by their tag alone (see [`Tag`]), never by peeking at node
//! state: a client learns only what a real client could. Backoffs double every 8 attempts so
//! a long outage does not burn an op's attempts. All choices come from the workload's own
//! RNG stream, drawn in `poll` (replies arrive without an RNG, so each op draws its pause up
//! front and reuses it).

use std::collections::BTreeMap;

use check::{History, HistoryBuilder, OpId};
use distributed_core::{NodeId, Rng, SeededRng};
use kv::Request;
use replica::Outcome;

use super::kv_node::{ClientSettings, KvNode, Votes};
use super::ops::{self, KeySpace, Memory, OpCounts};
use super::tag::{Tag, CLIENT_IDS_END};
use super::validity::SentRequests;
use super::wall_clock::WallClocks;
use sim::config::Time;
use sim::view::ClusterView;

/// The longest the workload sleeps between polls. Replies arrive between polls and cannot
/// schedule one, so this bounds how long a client that was answered waits to act.
pub(super) const POLL_UNITS_MAX: Time = 10;

/// A hinted redirect waits this long: short, but not zero, so two nodes pointing at each other
/// during an election cannot spin the client through its attempts in a few units.
const REDIRECT_UNITS: Time = 5;

/// The least a refused client waits before resending: about one election's worth of
/// messages, so a client does not spend its attempts while the cluster has no leader.
const BACKOFF_UNITS_MIN: Time = 40;

/// Unexpected replies kept verbatim for the report (all are counted).
const UNEXPECTED_KEPT_MAX: usize = 8;

/// A time that never comes: a retired client's next action.
pub(super) const NEVER: Time = Time::MAX;

/// The send of an op that is waiting for an answer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Waiting {
    /// Where it went: the node to avoid if it times out.
    node: NodeId,
    /// When it went: the timeout runs from here.
    since: Time,
}

/// The op a client has in flight.
#[derive(Clone, Debug)]
pub(super) struct Op {
    /// Its request number in the client's session.
    seq: u64,
    /// The body sent and recorded, and its kind.
    spec: ops::OpSpec,
    /// A WATCHed EXEC that has not read its index yet: the current request is
    /// `DISTRIBUTED.INDEX`, and the EXEC follows with the next seq (see `watched`).
    watching: bool,
    /// Its place in the history, completed by the first `Done`.
    id: OpId,
    /// Sends so far; the current send's number.
    pub(super) attempt: u32,
    /// The current send, while it waits for an answer.
    pub(super) waiting: Option<Waiting>,
    /// Drawn at invoke: the think time after the op and the base of its backoffs.
    pause: Time,
    /// `Done` replies so far, one per node, while fewer than `replies_needed` match.
    votes: Votes,
}

impl Op {
    /// How long to wait before the next send after a refusal: at least `BACKOFF_UNITS_MIN`
    /// plus the op's own pause, doubled every 8 sends up to 8 times. With the default 100
    /// attempts that outlasts the 10,000-unit outages the `all` fault profile can cause, yet
    /// a client never sleeps more than ~1,100 units once the cluster is back.
    pub(super) fn backoff(&self) -> Time {
        (BACKOFF_UNITS_MIN + self.pause) << (self.attempt / 8).min(3)
    }
}

/// One simulated client.
#[derive(Clone, Debug)]
pub(super) struct Client {
    /// Its current session, and its lane in the history.
    client_id: u64,
    /// The last request number used in the session.
    seq: u64,
    /// Ops started over all sessions: bounded by `ops_per_client_max`.
    issued: u64,
    /// Who the client believes leads, from the last answer it got.
    pub(super) leader: Option<NodeId>,
    /// A node that just failed this client: the next random pick avoids it.
    pub(super) avoid: Option<NodeId>,
    /// When to act next if no send is waiting (a new op or a resend); `NEVER` once retired.
    pub(super) due: Time,
    /// The op in flight, if any.
    pub(super) op: Option<Op>,
    /// The last value seen per key, for plausible `cas` expectations.
    memory: Memory,
}

/// The clients' results: the history to check and what went into it.
#[derive(Clone, Debug)]
pub(crate) struct ClientsResult {
    /// Every op, with its outcome or no return.
    pub(crate) history: History,
    /// Counters.
    pub(crate) counts: OpCounts,
    /// The first unexpected replies, verbatim.
    pub(crate) unexpected: Vec<String>,
}

/// An op the client gave up on: a late `Done` still completes it in the history.
#[derive(Clone, Debug)]
struct Abandoned {
    /// Its history entry.
    id: OpId,
    /// Its op, for the counters.
    spec: ops::OpSpec,
    /// Its replies so far, when an answer takes several.
    votes: Votes,
}

/// N sequential clients behind one simulator workload (see the module docs). Built by
/// `runner::simulation`, which reads the history back through `finish` after the run.
pub(crate) struct KvClients {
    /// The clients, in a fixed order: ties go to the lower index, so runs replay.
    pub(super) clients: Vec<Client>,
    /// Current session → client index.
    slot_of: BTreeMap<u64, usize>,
    /// Keys and op mix.
    keys: KeySpace,
    /// The record the checker reads.
    history: HistoryBuilder,
    /// Ops given up on, by (client_id, seq), in case their `Done` arrives late. Bounded by
    /// the ops issued (`clients × ops_per_client_max`), and in practice a handful per run.
    abandoned: BTreeMap<(u64, u64), Abandoned>,
    /// The next unused `client_id`, for sessions started after a give-up.
    next_client_id: u64,
    /// The client and attempt of the input just handed out, for `on_input_dropped`.
    pub(super) last_sent: Option<(usize, u32)>,
    /// How long a send may go unanswered before the client resends elsewhere.
    timeout_units: Time,
    /// The longest think time between ops, and the base of backoffs.
    think_units_max: Time,
    /// Sends per op before the client gives up on it.
    attempts_max: u32,
    /// Ops per client over the run: bounds the history.
    ops_per_client_max: u64,
    /// Odds, per million, that a read goes to a random node instead of the guessed leader;
    /// 0 when reads go through the log (only the leader could answer them).
    follower_reads_per_million: u32,
    /// Reads go through the log, so only the leader answers them with `Done`.
    reads_via_log: bool,
    /// No new op starts at or after this time, so most ops finish before the run ends.
    issue_until: Time,
    /// Counters for the report.
    counts: OpCounts,
    /// The first unexpected replies, verbatim.
    unexpected: Vec<String>,
    /// Matching `Done` replies from distinct nodes that make an answer (`ClientSettings`).
    replies_needed: usize,
    /// A resend goes to every node (`ClientSettings`).
    resend_to_all: bool,
    /// The rest of a resend to every node: (node, tag, request, read seed), one per poll.
    pub(super) fanout: Vec<(NodeId, u64, Request, u64)>,
    /// The hosts' wall clocks: a request carries the receiving node's (`wall_clock.rs`).
    wall_clocks: WallClocks,
    /// Where each request's read seed comes from (`replica::Input::Request::random_seed`), as a
    /// server draws one per read from its RNG. Its own stream, derived from the run's seed:
    /// drawing from it shifts none of the simulator's draws, and a seed replays exactly.
    read_seeds: SeededRng,
    /// Every request sent, for the validity check (`validity.rs`); shared with it.
    sent: SentRequests,
}

impl KvClients {
    /// `opts.clients` clients with sessions `1..=clients`, all due at time 0; the run's
    /// `seed` decides the read seeds.
    pub(crate) fn new(seed: u64, settings: ClientSettings, wall_clocks: WallClocks) -> Self {
        let n = settings.clients as u64;
        let clients = (1..=n)
            .map(|client_id| Client {
                client_id,
                seq: 0,
                issued: 0,
                leader: None,
                avoid: None,
                due: 0,
                op: None,
                memory: Memory::new(),
            })
            .collect();
        KvClients {
            clients,
            slot_of: (1..=n).map(|c| (c, c as usize - 1)).collect(),
            keys: settings.keys,
            history: HistoryBuilder::new(),
            abandoned: BTreeMap::new(),
            next_client_id: n + 1,
            last_sent: None,
            timeout_units: settings.timeout_units,
            think_units_max: settings.think_units_max,
            attempts_max: settings.attempts_max,
            ops_per_client_max: settings.ops_per_client_max,
            follower_reads_per_million: settings.follower_reads_per_million,
            reads_via_log: settings.reads_via_log,
            issue_until: settings.issue_until,
            replies_needed: settings.replies_needed.max(1),
            resend_to_all: settings.resend_to_all,
            fanout: Vec::new(),
            counts: OpCounts::default(),
            unexpected: Vec::new(),
            wall_clocks,
            read_seeds: SeededRng::new(seed ^ 0x5245_4144_5345_4544), // "READSEED"
            sent: SentRequests::default(),
        }
    }

    /// The record of every request sent, for the validity check to share.
    pub(crate) fn sent(&self) -> SentRequests {
        self.sent.clone()
    }

    /// Close the history: every op without a `Done` is "no return".
    pub(crate) fn finish(&mut self) -> ClientsResult {
        let history = std::mem::take(&mut self.history)
            .build()
            .expect("the kv model accepts every command the clients send");
        let mut counts = self.counts;
        counts.no_return = history.ops().iter().filter(|o| o.ret().is_none()).count() as u64;
        ClientsResult {
            history,
            counts,
            unexpected: std::mem::take(&mut self.unexpected),
        }
    }

    /// When client `c` next needs the workload: its timeout if a send waits, else `due`.
    pub(super) fn wake(&self, c: &Client) -> Time {
        match c.op.as_ref().and_then(|op| op.waiting) {
            Some(w) => w.since.saturating_add(self.timeout_units),
            None => c.due,
        }
    }

    /// Sends that waited too long count as failed: resend elsewhere, now.
    pub(super) fn expire(&mut self, now: Time) {
        let timeout = self.timeout_units;
        for c in &mut self.clients {
            let Some(op) = c.op.as_mut() else { continue };
            if let Some(w) = op
                .waiting
                .filter(|w| w.since.saturating_add(timeout) <= now)
            {
                op.waiting = None;
                c.leader = None;
                c.avoid = Some(w.node);
                c.due = now;
            }
        }
    }

    /// Client `i` acts: resend its op, give it up, start a new one, or retire.
    pub(super) fn act<P: KvNode>(
        &mut self,
        i: usize,
        view: &ClusterView<P>,
        rng: &mut SeededRng,
    ) -> Option<(NodeId, P::Input)> {
        let now = view.now();
        let over_budget = self.clients[i]
            .op
            .as_ref()
            .is_some_and(|op| op.attempt >= self.attempts_max);
        if over_budget {
            self.abandon(i);
        }
        if self.clients[i].op.is_none() && !self.start(i, now, rng) {
            self.clients[i].due = NEVER;
            return None;
        }
        let target = self.target(i, view.len() as u64, rng);
        let c = &mut self.clients[i];
        let op = c.op.as_mut().expect("started above");
        op.attempt += 1;
        op.waiting = Some(Waiting {
            node: target,
            since: now,
        });
        let tag = Tag {
            client_id: c.client_id,
            seq: op.seq,
            attempt: op.attempt,
        };
        let body = if op.watching {
            kv::Body::One(ops::command(&["distributed.index"]))
        } else {
            op.spec.body.clone()
        };
        let request = Request {
            client_id: c.client_id,
            seq: op.seq,
            // The receiving node's wall clock, as its host would stamp it (a leader's time is
            // the log's time; one unit is read as one millisecond; offset per node under skew;
            // why expiry can be judged only without skew: `ops.rs`).
            time_ms: self.wall_clocks.now_ms(target, now),
            body,
        };
        self.last_sent = Some((i, op.attempt));
        self.sent.record(&request);
        let random_seed = self.read_seeds.next_u64();
        if self.resend_to_all && op.attempt > 1 {
            // PBFT §4.1: the resend goes to every replica; the others follow one per poll.
            let others = (1..=view.len() as u64).map(NodeId).filter(|&n| n != target);
            for node in others {
                let copy = (node, tag.encode(), request.clone(), random_seed);
                self.fanout.push(copy);
            }
        }
        Some((target, P::request(tag.encode(), request, random_seed)))
    }

    /// Start client `i`'s next op, if it may; false once it is done issuing.
    fn start(&mut self, i: usize, now: Time, rng: &mut SeededRng) -> bool {
        let c = &mut self.clients[i];
        if now >= self.issue_until || c.issued >= self.ops_per_client_max {
            return false;
        }
        c.seq += 1;
        c.issued += 1;
        let spec = if c.seq == 1 {
            self.keys.opening(rng)
        } else {
            self.keys.draw(rng, &c.memory, c.client_id, c.seq)
        };
        let id = self
            .history
            .invoke_kv(c.client_id, &spec.body, now)
            .unwrap_or_else(|e| panic!("the checker's model knows every op drawn: {e}"));
        let pause = rng.range(0, self.think_units_max + 1);
        let watching = matches!(&spec.body, kv::Body::Exec { watched, .. } if !watched.is_empty());
        c.op = Some(Op {
            seq: c.seq,
            spec,
            watching,
            id,
            attempt: 0,
            waiting: None,
            pause,
            votes: Votes::default(),
        });
        self.counts.invoked += 1;
        true
    }

    /// Give up on client `i`'s op: it stays "no return"; the client takes a fresh session.
    fn abandon(&mut self, i: usize) {
        let c = &mut self.clients[i];
        let Some(op) = c.op.take() else { return };
        self.counts.abandoned += 1;
        if !op.watching {
            // An EXEC still reading its index was never sent: it can never take effect, and
            // a late reply to its index read is no reply to it.
            let spec = op.spec;
            let a = Abandoned {
                id: op.id,
                spec,
                votes: op.votes,
            };
            self.abandoned.insert((c.client_id, op.seq), a);
        }
        if self.next_client_id >= CLIENT_IDS_END {
            c.due = NEVER; // no session id left to give: this client retires
            c.issued = self.ops_per_client_max;
            return;
        }
        self.slot_of.remove(&c.client_id);
        c.client_id = self.next_client_id;
        c.seq = 0;
        self.next_client_id += 1;
        self.slot_of.insert(c.client_id, i);
    }

    /// Where client `i` sends next: its guessed leader, else a random node it has no reason
    /// to avoid. A read goes to a random node instead with odds `follower_reads_per_million`
    /// (drawn only for reads, and only when reads may go anywhere).
    fn target(&mut self, i: usize, nodes: u64, rng: &mut SeededRng) -> NodeId {
        let odds = self.follower_reads_per_million;
        let c = &mut self.clients[i];
        let read =
            c.op.as_ref()
                .is_some_and(|op| op.watching || op.spec.body.is_read_only());
        let anywhere = read && odds > 0 && rng.chance(odds);
        if let Some(l) = c.leader.filter(|_| !anywhere) {
            return l;
        }
        let avoid = c.avoid.take();
        let mut pick = NodeId(rng.range(1, nodes + 1));
        if nodes > 1 && Some(pick) == avoid {
            pick = NodeId(pick.0 % nodes + 1);
        }
        pick
    }

    /// A reply arrived for `tag` from `node`.
    pub(super) fn on_reply(&mut self, node: NodeId, tag: Tag, outcome: &Outcome, now: Time) {
        let current = self.slot_of.get(&tag.client_id).copied().filter(|&i| {
            self.clients[i]
                .op
                .as_ref()
                .is_some_and(|op| op.seq == tag.seq)
        });
        let Some(i) = current else {
            if let Outcome::Done(reply) = outcome {
                self.late_done(node, tag, reply, now);
            }
            return;
        };
        if let Outcome::Done(reply) = outcome {
            let needed = self.replies_needed;
            let op = self.clients[i]
                .op
                .as_mut()
                .expect("current op checked above");
            if op.votes.add(node, reply, needed) {
                self.complete(i, node, reply, now);
            }
            return;
        }
        let c = &mut self.clients[i];
        let op = c.op.as_mut().expect("current op checked above");
        if op.attempt != tag.attempt || op.waiting.is_none() {
            return; // a refusal of an earlier send: the current one is elsewhere
        }
        op.waiting = None;
        match outcome {
            Outcome::NotLeader { leader: Some(l) } if *l != node => {
                c.leader = Some(*l);
                c.due = now + REDIRECT_UNITS;
            }
            Outcome::Busy => c.due = now + op.backoff(),
            _ => {
                c.leader = None;
                c.avoid = Some(node);
                c.due = now + op.backoff();
            }
        }
    }

    /// Client `i`'s op got `Done(reply)` from `node`: record it, remember what it saw, think.
    fn complete(&mut self, i: usize, node: NodeId, reply: &kv::Reply, now: Time) {
        let c = &mut self.clients[i];
        let op = c.op.take().expect("the caller found the op");
        let read = op.watching || op.spec.body.is_read_only();
        if !read || self.reads_via_log {
            c.leader = Some(node); // only a leader answers a write (or a read via the log)
        }
        if op.watching {
            return self.watched(i, op, reply, now);
        }
        c.due = now + op.pause;
        if let Some((key, value)) = ops::observed(&op.spec.body, reply) {
            c.memory.insert(key, value);
        }
        self.record(op.id, &op.spec, reply, now);
    }

    /// Client `i`'s WATCH read its index: the EXEC carries it as `since`, under the next seq
    /// (with reads through the log the index read took this seq's place in the session
    /// table, whose cached reply a resend of the same seq would get back). Sent at once.
    fn watched(&mut self, i: usize, mut op: Op, reply: &kv::Reply, now: Time) {
        let c = &mut self.clients[i];
        let index = match reply {
            kv::Reply::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        };
        let (Some(index), kv::Body::Exec { since, .. }) = (index, &mut op.spec.body) else {
            // Not an index: the EXEC is never sent, and stays "no return" in the history.
            c.due = now + op.pause;
            return self.unexpected(format!("t={now} DISTRIBUTED.INDEX was answered {reply}"));
        };
        *since = index;
        c.seq += 1;
        op.seq = c.seq;
        op.watching = false;
        op.votes = Votes::default(); // the index read's replies are no votes for the EXEC
        op.waiting = None;
        c.due = now;
        c.op = Some(op);
    }

    /// A `Done` for an op whose client moved on: complete it if it was abandoned.
    fn late_done(&mut self, node: NodeId, tag: Tag, reply: &kv::Reply, now: Time) {
        let key = (tag.client_id, tag.seq);
        let needed = self.replies_needed;
        let Some(a) = self.abandoned.get_mut(&key) else {
            return;
        };
        if a.votes.add(node, reply, needed) {
            let a = self.abandoned.remove(&key).expect("found above");
            self.record(a.id, &a.spec, reply, now);
        }
    }

    fn record(&mut self, id: OpId, spec: &ops::OpSpec, reply: &kv::Reply, now: Time) {
        match self.history.complete_kv(id, reply, now) {
            Ok(()) => {
                self.counts.ok += 1;
                self.counts.tally(spec, reply);
            }
            Err(e) => self.unexpected(format!("t={now} {e}")),
        }
    }

    /// A reply the model cannot state: counted, and the first few kept verbatim.
    fn unexpected(&mut self, message: String) {
        self.counts.unexpected += 1;
        if self.unexpected.len() < UNEXPECTED_KEPT_MAX {
            self.unexpected.push(message);
        }
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
