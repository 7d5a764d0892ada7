//! The primary-backup tests' cluster: `testkit`'s lockstep cluster of servers and the view
//! service, the checks a test can make from outside, and a transcript for golden scripts.
//!
//! ```text
//!   tick / input / deliver ──► testkit::Cluster ──► node ──► Out ──► persist, send, outputs
//!   PbChecks (its Observer):
//!     on_send     persist before send: a Forward, Forwarded or Probed names only puts on its
//!                 sender's disk; a PingReply only a view the view service has on disk
//!     after_event Audit::check over every running node (one serving primary, backups hold
//!                 the commit point, no serving without the committed history)
//!     on_output   real-time order of one register per key: a read that returns a value older
//!                 than one already acknowledged or read is a linearizability violation
//! ```
//!
//! The real-time check fits histories whose puts carry unique ids and are never retried after
//! the client moved on: then a put's place in the primaries' one history is its invocation
//! order, and "older" is earlier in it (a put invoked at a primary that was replaced is either
//! in its successor's history before any put invoked there, or lost and never read). It is not
//! a linearizability checker (`crates/check` is); it catches the anomalies of the broken
//! variants, which is what the scripts and the seeded runs must show.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::collections::{BTreeMap, BTreeSet};

use distributed_core::{Envelope, NodeId, SeededRng};
use replication::primary_backup::{Audit, Config, Disk, Message, PbNode, Variant, Write};
use replication::{ClientReply, ClientRequest, OpId, Request, Response};
use testkit::{Cluster, Dropped, Observer};

/// How a test cluster is laid out: servers `n1..=nK`, the view service `n(K+1)`.
#[derive(Clone, Debug)]
pub struct Layout {
    pub servers: u64,
    pub backups: usize,
    pub variant: Variant,
    /// Items per state-transfer chunk.
    pub chunk_items_max: usize,
    /// Adjusts every node's config further (timeouts, bounds).
    pub tune: fn(&mut Config),
}

impl Layout {
    /// `k` servers, one backup, default knobs, correct.
    pub fn servers(k: u64) -> Layout {
        Layout {
            servers: k,
            backups: 1,
            variant: Variant::Correct,
            chunk_items_max: 16,
            tune: |_| {},
        }
    }

    /// The view service's id: one above every server.
    pub fn view_service(&self) -> NodeId {
        NodeId(self.servers + 1)
    }

    /// The config node `id` runs with.
    pub fn config(&self, id: NodeId) -> Config {
        let servers = (1..=self.servers).map(NodeId).collect();
        let mut config = Config::new(id, self.view_service(), servers);
        config.backups_wanted = self.backups;
        config.variant = self.variant;
        config.chunk_items_max = self.chunk_items_max;
        (self.tune)(&mut config);
        config
    }
}

pub type Pb = Cluster<PbNode, PbChecks>;

/// A cluster laid out as `layout`, keeping notes.
pub fn cluster(layout: Layout) -> Pb {
    let probe = layout.config(layout.view_service());
    probe.validate().expect("a valid layout");
    let n = layout.servers + 1;
    let factory = move |id: NodeId, disk: &Disk, _rng: SeededRng| {
        PbNode::new(layout.config(id), disk).expect("a valid config and disk")
    };
    let mut c = Cluster::new(n, 1, PbChecks::default(), Box::new(factory));
    c.keep_notes(true);
    c
}

/// The view service's id in a cluster built by `cluster`.
pub fn service_id(c: &Pb) -> NodeId {
    *c.ids.last().expect("a cluster has nodes")
}

/// Persist before send: a message names only what its sender's disk holds.
pub fn assert_durable(disk: &Disk, env: &Envelope<Message>) {
    let last = disk.store.last_seq();
    let (what, seq) = match &env.msg {
        Message::Forward(m) => ("forward", m.seq),
        Message::Forwarded(m) => ("ack", m.through),
        Message::Probed(m) => ("probe answer", m.through.unwrap_or(0)),
        Message::StateChunk(m) => ("chunk", m.through),
        Message::PingReply(m) => {
            let persisted = disk.view.as_ref().map_or(1, |v| v.num);
            assert!(
                persisted >= m.view.num,
                "{env} left before the view service persisted it"
            );
            return;
        }
        _ => return,
    };
    assert!(
        seq <= last,
        "{env}: a {what} naming seq {seq} left a node whose disk holds only through {last}"
    );
}

/// What the primary-backup tests check, and the records and lines they read.
#[derive(Default)]
pub struct PbChecks {
    /// The transcript: every effect as one line (golden scripts print it).
    pub lines: Vec<String>,
    /// Hide pings and their replies (and the writes of a start count) from the lines.
    pub quiet: bool,
    /// A delivery's line, held in quiet mode until it causes something worth printing.
    held: Option<String>,
    /// True between a delivery and the end of the event it caused.
    in_delivery: bool,
    /// Every client reply, with the node that gave it.
    pub replies: Vec<(NodeId, ClientReply)>,
    /// Every distinct invariant or real-time violation seen, as a line.
    pub violations: Vec<String>,
    /// Nodes not running (crashed or paused): their states are not checked. Kept in step with
    /// the cluster by the helpers below.
    pub down: BTreeSet<NodeId>,
    /// The last state of every node.
    states: BTreeMap<NodeId, PbNode>,
    /// The invariants across time.
    audit: Audit,
    /// Real-time order, per key: values in put order.
    puts: BTreeMap<String, Vec<String>>,
    /// Per key, the newest put (by index) known done: acknowledged, or returned by a read.
    observed: BTreeMap<String, usize>,
    /// Puts not yet acknowledged: their key and index in `puts`.
    put_ops: BTreeMap<OpId, (String, usize)>,
    /// Waiting gets: their key and what was observed when they were invoked.
    gets: BTreeMap<OpId, (String, Option<usize>)>,
}

impl PbChecks {
    /// A client request is about to be handed to a node (a retry of a known put is not a new
    /// put in the order).
    pub fn invoke(&mut self, req: &ClientRequest) {
        match &req.request {
            Request::Put { key, value } => {
                if self.put_ops.contains_key(&req.id) {
                    return;
                }
                let values = self.puts.entry(key.clone()).or_default();
                values.push(value.clone());
                let index = values.len() - 1;
                self.put_ops.insert(req.id, (key.clone(), index));
            }
            Request::Get { key } => {
                let floor = self.observed.get(key).copied();
                self.gets.insert(req.id, (key.clone(), floor));
            }
        }
    }

    fn push(&mut self, line: String) {
        if let Some(held) = self.held.take() {
            self.lines.push(held);
        }
        let indent = if self.in_delivery { "  " } else { "" };
        self.lines.push(format!("{indent}{line}"));
    }

    fn hidden(&self, msg: &Message) -> bool {
        self.quiet && matches!(msg, Message::Ping(_) | Message::PingReply(_))
    }

    /// Record and print a violation, each distinct one once (an anomaly that lasts would
    /// otherwise print after every event).
    fn violation(&mut self, line: String) {
        if !self.violations.contains(&line) {
            self.violations.push(line.clone());
            self.push(line);
        }
    }

    fn observe(&mut self, key: &str, index: usize) {
        let seen = self.observed.entry(key.to_string()).or_insert(index);
        *seen = (*seen).max(index);
    }

    /// The real-time check of a reply (module docs).
    fn check_reply(&mut self, node: NodeId, reply: &ClientReply) {
        if let Some((key, floor)) = self.gets.remove(&reply.id) {
            let Response::Value(value) = &reply.response else {
                return;
            };
            let values = self.puts.get(&key);
            let got = value
                .as_deref()
                .and_then(|v| values.and_then(|vs| vs.iter().position(|x| x == v)));
            if let Some(floor) = floor.filter(|&f| got.is_none_or(|g| g < f)) {
                let was = self.puts[&key][floor].clone();
                let shown = value.as_deref().unwrap_or("nil");
                self.violation(format!(
                    "VIOLATION linearizability: {node} answered {} with {key}={shown}, but \
                     {key}={was} was acknowledged or read before that get began",
                    reply.id
                ));
            }
            if let Some(g) = got {
                self.observe(&key, g);
            }
            return;
        }
        if reply.response == Response::Ok {
            if let Some((key, index)) = self.put_ops.get(&reply.id).cloned() {
                self.observe(&key, index);
            }
        }
    }

    /// Run the audit over every running node's last state.
    fn audit(&mut self) {
        let running: Vec<&PbNode> = self
            .states
            .iter()
            .filter(|(id, _)| !self.down.contains(id))
            .map(|(_, n)| n)
            .collect();
        if let Err(e) = self.audit.check(&running) {
            self.violation(format!("VIOLATION {e}"));
        }
    }
}

impl Observer<PbNode> for PbChecks {
    fn on_deliver(&mut self, env: &Envelope<Message>) {
        self.in_delivery = false;
        self.held = None;
        if self.hidden(&env.msg) {
            self.held = Some(env.to_string());
        } else {
            self.push(env.to_string());
        }
        self.in_delivery = true;
    }
    fn on_drop(&mut self, env: &Envelope<Message>, why: Dropped) {
        if !self.hidden(&env.msg) {
            self.push(format!("{}→{} drop {} ({why})", env.from, env.to, env.msg));
        }
    }
    fn on_write(&mut self, node: NodeId, write: &Write) {
        if !(self.quiet && matches!(write, Write::Started { .. })) {
            self.push(format!("{node} persist {write}"));
        }
    }
    fn on_send(&mut self, _node: NodeId, disk: &Disk, env: &Envelope<Message>) {
        assert_durable(disk, env);
    }
    fn on_queue(&mut self, env: &Envelope<Message>) {
        if !self.hidden(&env.msg) {
            self.push(env.to_string());
        }
    }
    fn on_note(&mut self, node: NodeId, note: &str) {
        self.push(format!("{node} note: {note}"));
    }
    fn on_output(&mut self, node: NodeId, output: ClientReply) {
        self.push(format!("{node} output {output}"));
        self.check_reply(node, &output);
        self.replies.push((node, output));
    }
    fn after_event(&mut self, node: NodeId, state: &PbNode) {
        self.in_delivery = false;
        self.held = None;
        self.states.insert(node, state.clone());
        self.audit();
    }
    fn on_restart(&mut self, node: NodeId, state: &PbNode, _disk: &Disk) {
        self.states.insert(node, state.clone());
    }
}

/// The next request id of `client`, counting from 1 per client.
pub fn next_op(next: &mut BTreeMap<u64, u64>, client: u64) -> OpId {
    let seq = next.entry(client).or_insert(0);
    *seq += 1;
    OpId { client, seq: *seq }
}

/// Hand `req` to `node`, telling the checks first.
pub fn invoke(c: &mut Pb, node: NodeId, req: ClientRequest) {
    c.observer.invoke(&req);
    c.input(node, req);
}

/// The replies given to `op`, in order.
pub fn replies_to(c: &Pb, op: OpId) -> Vec<Response> {
    let replies = c.observer.replies.iter().filter(|(_, r)| r.id == op);
    replies.map(|(_, r)| r.response.clone()).collect()
}

/// Crash `id`: it keeps its disk, and its state is no longer checked.
pub fn crash(c: &mut Pb, id: NodeId) {
    c.crash(id);
    c.observer.down.insert(id);
}

/// Restart `id` from its disk alone.
pub fn restart(c: &mut Pb, id: NodeId) {
    c.observer.down.remove(&id);
    c.restart(id);
}

/// Pause `id`: it neither ticks nor receives (messages to it are lost), but keeps its memory.
pub fn pause(c: &mut Pb, id: NodeId) {
    crash(c, id);
}

/// Resume a paused `id`: its clock kept running while the process was stopped, so it first
/// gets the `missed` ticks (as a monotonic clock would show them), then runs as before. The
/// process did nothing while stopped: whatever those ticks make it send is dropped, and its
/// state is checked again only once its clock has caught up (a lease that lapsed during the
/// pause was not being used then).
pub fn resume(c: &mut Pb, id: NodeId, missed: u64) {
    c.down.remove(&id);
    let queued = c.network.len();
    let lines = c.observer.lines.len();
    for _ in 0..missed {
        c.tick(id);
    }
    c.network.truncate(queued);
    c.observer.lines.truncate(lines);
    c.observer.down.remove(&id);
}

/// The server `id`'s state.
pub fn server(c: &Pb, id: u64) -> &replication::primary_backup::Server {
    c.node(NodeId(id)).server().expect("a server")
}

/// The view service's state.
pub fn service(c: &Pb) -> &replication::primary_backup::ViewService {
    c.node(service_id(c))
        .view_service()
        .expect("the last node is the view service")
}

/// Node `id`.
pub fn n(id: u64) -> NodeId {
    NodeId(id)
}

/// Client 1's request `seq`.
pub fn op(seq: u64) -> OpId {
    OpId { client: 1, seq }
}

/// Client 1 puts `key=value` at `node` as its request `seq`.
pub fn put(c: &mut Pb, node: u64, seq: u64, key: &str, value: &str) {
    invoke(c, n(node), ClientRequest::put(op(seq), key, value));
}

/// Client 1 reads `key` at `node` as its request `seq`.
pub fn get(c: &mut Pb, node: u64, seq: u64, key: &str) {
    invoke(c, n(node), ClientRequest::get(op(seq), key));
}

/// A get's answer with a value.
pub fn value(v: &str) -> Response {
    Response::Value(Some(v.to_string()))
}

/// Run rounds (every running node ticks, the network drains) until `done`, at most `max`;
/// true if `done` came.
pub fn rounds_until(c: &mut Pb, max: u64, done: impl Fn(&Pb) -> bool) -> bool {
    for _ in 0..max {
        if done(c) {
            return true;
        }
        c.run(1);
    }
    done(c)
}

/// Start the cluster: rounds until the view service's first view is acknowledged and its
/// primary serves reads.
pub fn boot(c: &mut Pb) {
    let ready = |c: &Pb| {
        let primary = service(c).view().primary;
        service(c).is_acked() && c.node(primary).server().is_some_and(|s| s.serves_reads())
    };
    assert!(rounds_until(c, 20, ready), "view 1 is acknowledged");
}
