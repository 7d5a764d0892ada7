//! The register clients as the simulator's workload: who acts at each poll, the ops they
//! draw, the history they record, what they count.
//!
//! ```text
//!   poll(now) ──► sends past client_timeout_units: session.on_timeout
//!             ──► the due client with the lowest (due, index) acts:
//!                   no op open:  before the calm and under ops_per_client_max? draw one:
//!                                key k{min(u1,u2)} (skewed: ops collide), put with odds
//!                                put_per_million of the value "c{client}.{seq}", or a get;
//!                                history.invoke(now)
//!                   op open:     attempts left? send it (session.target); else abandon it
//!             ──► next poll at the earliest wake-up, within 1..=POLL_UNITS_MAX units
//!   on_output(node, reply)   ──► session.on_response ──► apply the verdict (below)
//!   on_input_dropped(node)   ──► session.on_dropped  ──► apply the verdict
//!
//!   verdict: Complete ─► history.complete(now), latency; think  Resend ─► due = now + after
//!            Indeterminate | Siblings | Unexpected ─► no return (counted); think   Stale ─► -
//! ```
//!
//! Determinism: every draw comes from the workload's own RNG stream, in `poll`; replies
//! arrive without one and only set times and targets. Clients never peek at node state.

use check::{Command, HistoryBuilder, ModelKind};
use distributed_core::{NodeId, Rng, SeededRng};
use replication::{ClientReply, ClientRequest, Response};
use sim::config::Time;
use sim::hooks::WorkloadStep;

use super::measure::{Latency, OpCounts};
use super::scheme::Contact;
use super::session::{Op, Session, Verdict, Waiting};

/// The longest the workload sleeps between polls: bounds how long an answered client waits.
const POLL_UNITS_MAX: Time = 10;

/// Unexpected answers kept verbatim for the report (all are counted).
const UNEXPECTED_KEPT_MAX: usize = 8;

/// A time that never comes: a retired client's next action.
const NEVER: Time = Time::MAX;

/// What the clients need to know, from the scheme and the options.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// Nodes a client may send to, in id order (non-empty).
    pub contacts: Vec<NodeId>,
    /// Where puts go first, and where gets go first.
    pub first: (Contact, Contact),
    /// May a put answered `Unavailable` be sent again (it surely did nothing)?
    pub refused_put_is_void: bool,
    /// Keys `k0..`.
    pub keys: usize,
    /// Odds, per million, that an op is a put.
    pub put_per_million: u32,
    /// How long a send waits for an answer.
    pub timeout_units: Time,
    /// Sends per op before it is abandoned.
    pub attempts_max: u32,
    /// Most think time between ops.
    pub think_units_max: Time,
    /// No op starts at or after this time (the calm).
    pub issue_until: Time,
    /// Most ops one client starts.
    pub ops_per_client_max: u64,
}

impl ClientSettings {
    /// Where client `i` sends puts and gets first: a sticky contact made client i's own.
    fn first_for(&self, i: usize) -> (Contact, Contact) {
        let own = |c: Contact| match c {
            Contact::Sticky => Contact::Fixed(self.contacts[i % self.contacts.len()]),
            other => other,
        };
        (own(self.first.0), own(self.first.1))
    }
}

/// The clients of one run (see the module docs).
pub struct RegisterClients {
    /// The knobs.
    settings: ClientSettings,
    /// One session per client.
    sessions: Vec<Session>,
    /// The history so far (register model).
    history: HistoryBuilder,
    /// How ops ended.
    counts: OpCounts,
    /// Completed ops' latencies.
    latency: Latency,
    /// The first unexpected answers, verbatim.
    unexpected: Vec<String>,
    /// The send `poll` just returned (client, attempt): `on_input_dropped` is about it.
    last_sent: Option<(usize, u32)>,
}

/// What the clients leave behind: the history (without final values yet) and the counts.
pub struct Finished {
    /// Every op; those without an answer are "no return".
    pub history: HistoryBuilder,
    /// How ops ended.
    pub counts: OpCounts,
    /// Completed ops' latencies.
    pub latency: Latency,
    /// The first unexpected answers.
    pub unexpected: Vec<String>,
}

impl RegisterClients {
    /// `clients` idle clients.
    pub fn new(clients: usize, settings: ClientSettings) -> Self {
        assert!(
            !settings.contacts.is_empty(),
            "clients need a node to talk to"
        );
        RegisterClients {
            settings,
            sessions: (1..=clients as u64).map(Session::new).collect(),
            history: HistoryBuilder::with_model(ModelKind::Register),
            counts: OpCounts::default(),
            latency: Latency::default(),
            unexpected: Vec::new(),
            last_sent: None,
        }
    }

    /// Ops still open are "no return"; hand over the history and the counts.
    pub fn finish(self) -> Finished {
        Finished {
            history: self.history,
            counts: self.counts,
            latency: self.latency,
            unexpected: self.unexpected,
        }
    }

    /// One poll at `now` (module docs).
    pub fn poll(&mut self, now: Time, rng: &mut SeededRng) -> WorkloadStep<ClientRequest> {
        self.last_sent = None;
        self.expire(now);
        let due = (0..self.sessions.len())
            .filter(|&i| {
                let s = &self.sessions[i];
                s.op.as_ref().is_none_or(|op| op.waiting.is_none()) && s.due <= now
            })
            .min_by_key(|&i| (self.sessions[i].due, i));
        let input = due.and_then(|i| self.act(i, now, rng));
        let next = self.sessions.iter().map(|s| self.wake(s)).min();
        let next = next.unwrap_or(NEVER);
        WorkloadStep {
            input,
            next_poll_units: (next != NEVER)
                .then(|| next.saturating_sub(now).clamp(1, POLL_UNITS_MAX)),
        }
    }

    /// When session `s` next needs a poll.
    fn wake(&self, s: &Session) -> Time {
        match s.op.as_ref().and_then(|op| op.waiting) {
            Some(w) => w.since.saturating_add(self.settings.timeout_units),
            None => s.due,
        }
    }

    /// Every send past its timeout: the session decides.
    fn expire(&mut self, now: Time) {
        let timeout = self.settings.timeout_units;
        for i in 0..self.sessions.len() {
            let waiting = self.sessions[i].op.as_ref().and_then(|op| op.waiting);
            let Some(w) = waiting.filter(|w| now >= w.since.saturating_add(timeout)) else {
                continue;
            };
            self.counts.timeouts += 1;
            let verdict = self.sessions[i].on_timeout(w.node);
            self.apply(i, verdict, now);
        }
    }

    /// Client `i` acts: start an op, or send the open one again (or give it up).
    fn act(&mut self, i: usize, now: Time, rng: &mut SeededRng) -> Option<(NodeId, ClientRequest)> {
        if self.sessions[i].op.is_none() && !self.start(i, now, rng) {
            self.sessions[i].due = NEVER;
            return None;
        }
        let attempts = self.sessions[i].op.as_ref().map_or(0, |op| op.attempts);
        if attempts >= self.settings.attempts_max {
            self.counts.abandoned += 1;
            self.close(i, now);
            return None;
        }
        let contacts = &self.settings.contacts;
        let pick = |avoid: Option<NodeId>| {
            let others: Vec<NodeId> = contacts
                .iter()
                .copied()
                .filter(|&c| Some(c) != avoid || contacts.len() == 1)
                .collect();
            others[rng.range(0, others.len() as u64) as usize]
        };
        let first = self.settings.first_for(i);
        let s = &mut self.sessions[i];
        let node = s.target(first, pick);
        let op = s.op.as_mut().expect("an open op");
        op.attempts += 1;
        op.waiting = Some(Waiting { node, since: now });
        self.last_sent = Some((i, op.attempts));
        Some((node, op.request.clone()))
    }

    /// Draw client `i`'s next op and record its invoke; false if it is done issuing.
    fn start(&mut self, i: usize, now: Time, rng: &mut SeededRng) -> bool {
        let st = &self.settings;
        let s = &mut self.sessions[i];
        if now >= st.issue_until || s.issued >= st.ops_per_client_max {
            return false;
        }
        let keys = st.keys as u64;
        let key = format!("k{}", rng.range(0, keys).min(rng.range(0, keys)));
        let put = rng.chance(st.put_per_million);
        let pause = rng.range(1, st.think_units_max.max(1) + 1);
        let id = s.next_id();
        let (request, command) = if put {
            let value = id.to_string();
            let command = Command::put(&key, &value);
            (ClientRequest::put(id, key, value), command)
        } else {
            let command = Command::get(&key);
            (ClientRequest::get(id, key), command)
        };
        let history = self.history.invoke(s.client, command, now);
        s.issued += 1;
        self.counts.invoked += 1;
        s.op = Some(Op {
            request,
            history,
            invoked: now,
            attempts: 0,
            waiting: None,
            next_to: None,
            avoid: None,
            pause,
        });
        true
    }

    /// Node `node` answered at `now`.
    pub fn on_reply(&mut self, node: NodeId, reply: &ClientReply, now: Time) {
        let Some(i) = (reply.id.client as usize).checked_sub(1) else {
            return;
        };
        let Some(s) = self.sessions.get_mut(i) else {
            return;
        };
        match reply.response {
            Response::Redirect { .. } => self.counts.redirects += 1,
            Response::Unavailable { .. } => self.counts.refusals += 1,
            _ => {}
        }
        let void = self.settings.refused_put_is_void;
        let first = self.settings.first_for(i);
        let verdict = s.on_response(node, reply.id, &reply.response, void, first);
        self.apply(i, verdict, now);
    }

    /// The send `poll` just returned found `node` down.
    pub fn on_dropped(&mut self, node: NodeId, now: Time) {
        let Some((i, attempt)) = self.last_sent.take() else {
            return;
        };
        let open = self.sessions[i].op.as_ref().map(|op| op.attempts);
        if open != Some(attempt) {
            return;
        }
        self.counts.dropped += 1;
        let verdict = self.sessions[i].on_dropped(node);
        self.apply(i, verdict, now);
    }

    /// Carry out what the session decided for client `i`'s open op.
    fn apply(&mut self, i: usize, verdict: Verdict, now: Time) {
        match verdict {
            Verdict::Stale => {}
            Verdict::Resend { after } => {
                let s = &mut self.sessions[i];
                if let Some(op) = s.op.as_mut() {
                    op.waiting = None;
                }
                s.due = now + after;
            }
            Verdict::Complete(outcome) => {
                let op = self.sessions[i].op.as_ref().expect("an open op");
                let (history, invoked, put) = (op.history, op.invoked, op.is_put());
                self.history
                    .complete(history, outcome, now)
                    .expect("a register answer, after its invoke, once");
                self.latency.record(now - invoked);
                if put {
                    self.counts.puts_ok += 1;
                } else {
                    self.counts.gets_ok += 1;
                }
                self.close(i, now);
            }
            Verdict::Indeterminate => {
                self.counts.indeterminate += 1;
                self.close(i, now);
            }
            Verdict::Siblings => {
                self.counts.sibling_reads += 1;
                self.close(i, now);
            }
            Verdict::Unexpected(line) => {
                self.counts.unexpected += 1;
                if self.unexpected.len() < UNEXPECTED_KEPT_MAX {
                    self.unexpected.push(line);
                }
                self.close(i, now);
            }
        }
    }

    /// Client `i` is done with its op (answered or not): it thinks, then starts the next.
    fn close(&mut self, i: usize, now: Time) {
        let s = &mut self.sessions[i];
        let pause = s.op.take().map_or(1, |op| op.pause);
        s.due = now + pause;
    }
}
