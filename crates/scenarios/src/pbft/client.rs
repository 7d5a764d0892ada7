//! Simulated PBFT clients (OSDI §4.1): one request outstanding each, sent to the primary they
//! believe in, sent to every replica after a timeout, accepted on f+1 matching replies.
//!
//! ```text
//!   idle, due ──► Request{client, timestamp+1, op} ──► primary(view believed)
//!                 op = client ‖ timestamp ‖ 0..8 random bytes: unique, so no two requests
//!                 share a digest; its digest goes into the ledger (validity reads it)
//!   waiting ──── reply (Execute or Cached) from n, naming this request ──► votes[n] = (seq, view)
//!          └──── f+1 replicas name one seq ──► accepted: ledger (the client check reads
//!                it), latency, view believed = the lowest those f+1 name, idle for a think
//!   timeout ───► the same request to every replica (one per poll, from the outbox), again
//!                every timeout until accepted
//!   input lost (the primary is down) ──► time out now
//! ```
//!
//! What the clients count, honestly: every reply, Byzantine replicas' included: the client
//! cannot tell who lies. A Byzantine replica's reply names the wrong seq
//! (`BareReplica::lie`); f+1 matching replies are what protect the client, since at most f
//! can lie alike. The believed view is only a hint (a liar can lower it): a wrong one costs a
//! timeout and a resend to all, never safety.
//!
//! Replies are outputs, handed to the clients at once: the network's faults fall on requests
//! and on the replicas' own messages, not on replies. Latency is measured in time units from
//! the first send to acceptance and reported in nominal ticks ([`TICK_UNITS`]).
//!
//! Bounds: the outbox holds at most one resend per client (a newer one replaces the older),
//! so clients × (n − 1) copies; votes hold one claim per replica.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

use distributed_core::{NodeId, Rng, SeededRng};
use pbft::{Digest, Request, Seq, View};

use super::host::{Output, Reply};
use super::node::PbftNode;
use super::BareReplica;
use sim::config::Time;
use sim::hooks::{Workload, WorkloadStep};
use sim::view::ClusterView;

/// Most clients one run may simulate.
pub const CLIENTS_MAX: usize = 1024;

/// Nominal time units per node tick (the profiles' clocks run at 80..120): latency's unit.
pub const TICK_UNITS: Time = 100;

/// The longest random tail of an op, after its 16 bytes of client and timestamp.
const OP_FILLER_BYTES_MAX: u64 = 8;

/// The workload is polled at least this often: an accepted request frees its client between
/// polls, and the client should not wait for the next timeout to go on.
const POLL_UNITS_MAX: Time = 10;

/// The primary of `view` among `nodes` replicas `n1..=nN` (§4.1: view v's is v mod n).
fn primary(view: View, nodes: u64) -> NodeId {
    NodeId(view % nodes + 1)
}

/// One accepted request, as the client check reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The seq f+1 replicas named.
    pub seq: Seq,
    /// The request's digest.
    pub digest: Digest,
    /// Whose request (for the report).
    pub client: u64,
    /// Which of its requests.
    pub timestamp: u64,
}

/// What the clients record, shared with the invariants and the runner.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Every request's digest a client sent: the validity check reads it. Bounded by the
    /// run's requests.
    pub sent: BTreeSet<Digest>,
    /// Requests accepted since the client check last looked (it drains them every event).
    pub accepted: Vec<Accepted>,
    /// Requests sent (first sends).
    pub requests: u64,
    /// Requests accepted on f+1 matching replies.
    pub completed: u64,
    /// Each accepted request's latency, in time units (the runner turns it into ticks).
    pub latencies_units: Vec<Time>,
}

/// A request waiting for f+1 matching replies.
struct Pending {
    /// The request, for resends.
    request: Request,
    /// Its digest: what a reply must name.
    digest: Digest,
    /// When it was first sent.
    started: Time,
    /// When it is sent to every replica (again).
    deadline: Time,
    /// Each replica's latest claim: where it executed this request, in which view.
    votes: BTreeMap<NodeId, (Seq, View)>,
}

/// One client: sequential, its timestamps growing.
struct Client {
    /// Its id (PBFT's `c`), 1, 2, …
    id: u64,
    /// Its last request's timestamp.
    timestamp: u64,
    /// The view it believes current: it sends to that view's primary.
    view: View,
    /// When it starts its next request, while idle.
    due: Time,
    /// The request it waits on, if any.
    pending: Option<Pending>,
}

/// Every simulated client, as one workload (see the module docs).
pub struct Clients {
    /// The replicas, n.
    nodes: u64,
    /// Matching replies needed: f+1.
    quorum: usize,
    /// The clients, by id − 1.
    clients: Vec<Client>,
    /// Copies of resends to every replica, one sent per poll.
    outbox: VecDeque<(NodeId, Request)>,
    /// The client whose first send this poll made, and its timestamp: if the input is lost
    /// (the node is down), that client times out at once.
    last_sent: Option<(usize, u64)>,
    /// How long a client waits before it resends to all.
    timeout_units: Time,
    /// The longest pause between a result and the next request.
    think_units_max: Time,
    /// No request starts at or after this time.
    issue_until: Time,
    /// Think times and op bytes: its own stream, so the simulator's draws do not shift.
    rng: SeededRng,
    /// What the clients record.
    ledger: Rc<RefCell<Ledger>>,
}

/// How the clients behave, from the options.
pub struct ClientSettings {
    /// How many clients.
    pub clients: usize,
    /// The replicas, n = 3f+1.
    pub nodes: usize,
    /// Resend to all after this long.
    pub timeout_units: Time,
    /// The longest think time.
    pub think_units_max: Time,
    /// No new request from this time on.
    pub issue_until: Time,
}

impl Clients {
    /// `settings.clients` idle clients, due at time 0, recording into `ledger`.
    pub fn new(seed: u64, settings: &ClientSettings, ledger: Rc<RefCell<Ledger>>) -> Clients {
        let clients = (1..=settings.clients as u64)
            .map(|id| Client {
                id,
                timestamp: 0,
                view: 0,
                due: 0,
                pending: None,
            })
            .collect();
        Clients {
            nodes: settings.nodes as u64,
            quorum: (settings.nodes - 1) / 3 + 1,
            clients,
            outbox: VecDeque::new(),
            last_sent: None,
            timeout_units: settings.timeout_units,
            think_units_max: settings.think_units_max,
            issue_until: settings.issue_until,
            rng: SeededRng::new(seed ^ 0x434c_4945_4e54), // "CLIENT"
            ledger,
        }
    }

    /// Client `i` sends its pending request to every replica: the primary now, the rest
    /// from the outbox, replacing any copies of an older resend of its own.
    fn resend_to_all(&mut self, i: usize, now: Time) -> (NodeId, Request) {
        let c = &mut self.clients[i];
        let p = c.pending.as_mut().expect("only a waiting client times out");
        p.deadline = now.saturating_add(self.timeout_units);
        let request = p.request.clone();
        let first = primary(c.view, self.nodes);
        let id = c.id;
        self.outbox.retain(|(_, r)| r.client != id);
        for node in (1..=self.nodes).map(NodeId).filter(|&n| n != first) {
            self.outbox.push_back((node, request.clone()));
        }
        (first, request)
    }

    /// Client `i` starts its next request, to the primary it believes in.
    fn start(&mut self, i: usize, now: Time) -> (NodeId, Request) {
        let filler = self.rng.range(0, OP_FILLER_BYTES_MAX + 1) as usize;
        let c = &mut self.clients[i];
        c.timestamp += 1;
        let mut op = Vec::with_capacity(16 + filler);
        op.extend_from_slice(&c.id.to_le_bytes());
        op.extend_from_slice(&c.timestamp.to_le_bytes());
        op.extend_from_slice(&self.rng.next_u64().to_le_bytes()[..filler]);
        let request = Request::new(c.id, c.timestamp, op);
        let digest = request.digest();
        c.pending = Some(Pending {
            request: request.clone(),
            digest,
            started: now,
            deadline: now.saturating_add(self.timeout_units),
            votes: BTreeMap::new(),
        });
        let mut ledger = self.ledger.borrow_mut();
        ledger.sent.insert(digest);
        ledger.requests += 1;
        self.last_sent = Some((i, c.timestamp));
        (primary(c.view, self.nodes), request)
    }

    /// When client `c` next needs a poll, if ever.
    fn wake(&self, c: &Client) -> Option<Time> {
        match &c.pending {
            Some(p) => Some(p.deadline),
            None => (c.due < self.issue_until).then_some(c.due),
        }
    }

    /// Count `reply` from `node`; accept the request on f+1 matching ones.
    fn on_reply(&mut self, node: NodeId, reply: Reply, now: Time) {
        let Some(i) = (reply.client as usize).checked_sub(1) else {
            return;
        };
        let Some(c) = self.clients.get_mut(i) else {
            return;
        };
        let Some(p) = c.pending.as_mut() else {
            return; // accepted already: a late reply
        };
        if reply.timestamp != c.timestamp || reply.digest != p.digest {
            return; // an older request's, or not this client's op at all
        }
        p.votes.insert(node, (reply.seq, reply.view));
        let matching: Vec<View> = p
            .votes
            .values()
            .filter(|(seq, _)| *seq == reply.seq)
            .map(|(_, view)| *view)
            .collect();
        if matching.len() < self.quorum {
            return;
        }
        let p = c.pending.take().expect("checked above");
        c.view = matching.into_iter().min().expect("f+1 ≥ 1 of them");
        c.due = now + self.rng.range(0, self.think_units_max + 1);
        let mut ledger = self.ledger.borrow_mut();
        ledger.accepted.push(Accepted {
            seq: reply.seq,
            digest: p.digest,
            client: c.id,
            timestamp: c.timestamp,
        });
        ledger.completed += 1;
        ledger.latencies_units.push(now - p.started);
    }
}

impl Workload<PbftNode<BareReplica>> for Clients {
    fn poll(
        &mut self,
        view: &ClusterView<PbftNode<BareReplica>>,
        _rng: &mut SeededRng,
    ) -> WorkloadStep<Request> {
        let now = view.now();
        self.last_sent = None;
        if let Some(copy) = self.outbox.pop_front() {
            // A copy of a resend: its loss changes nothing the next timeout does not cover.
            return WorkloadStep {
                input: Some(copy),
                next_poll_units: Some(1),
            };
        }
        let expired = (0..self.clients.len())
            .filter_map(|i| Some((self.clients[i].pending.as_ref()?.deadline, i)))
            .filter(|(deadline, _)| *deadline <= now)
            .min();
        let due = || {
            (0..self.clients.len())
                .filter(|&i| self.clients[i].pending.is_none())
                .map(|i| (self.clients[i].due, i))
                .filter(|(due, _)| *due <= now && now < self.issue_until)
                .min()
        };
        let input = match (expired, due()) {
            (Some((_, i)), _) => Some(self.resend_to_all(i, now)),
            (None, Some((_, i))) => Some(self.start(i, now)),
            (None, None) => None,
        };
        let next = self.clients.iter().filter_map(|c| self.wake(c)).min();
        let next_poll_units = match (self.outbox.is_empty(), next) {
            (false, _) => Some(1),
            (true, Some(t)) => Some(t.saturating_sub(now).clamp(1, POLL_UNITS_MAX)),
            (true, None) => None,
        };
        WorkloadStep {
            input,
            next_poll_units,
        }
    }

    fn on_output(&mut self, node: NodeId, output: &Output, now: Time) {
        if let Some(reply) = output.reply() {
            self.on_reply(node, reply, now);
        }
    }

    fn on_input_dropped(&mut self, _node: NodeId, now: Time) {
        let Some((i, timestamp)) = self.last_sent.take() else {
            return;
        };
        let c = &mut self.clients[i];
        if let Some(p) = c.pending.as_mut().filter(|_| c.timestamp == timestamp) {
            p.deadline = now; // the primary is down: to every replica at the next poll
        }
    }
}
