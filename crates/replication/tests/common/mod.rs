//! The chain tests' cluster: `testkit`'s lockstep cluster of chain nodes (replicas and the
//! master), the checks a test can make from outside, and a transcript for golden scripts.
//!
//! ```text
//!   tick / input / deliver ──► testkit::Cluster ──► node ──► Out ──► persist, send, outputs
//!   ChainChecks (its Observer):
//!     on_send     persist before send: an Update, Ack or chunk names only updates its sender
//!                 has on disk; a Configure only an epoch the master has on disk
//!     after_event the update propagation invariant (OSDI '04 §3) over every replica
//!     on_output   real-time order of one register per key: a read that returns a value older
//!                 than one already acknowledged or read is a linearizability violation
//! ```
//!
//! The real-time check fits the tests' sequential scripts: puts to a key are invoked one after
//! another at the head, so their invocation order is the chain's seq order, and "older" is
//! earlier in it. It is not a linearizability checker (`crates/check` is); it catches the two
//! anomalies of the broken variants, which is what the scripts must show.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::collections::BTreeMap;

use distributed_core::{Envelope, NodeId, SeededRng};
use replication::chain::{
    check_update_propagation, ChainNode, Config, Disk, Message, Mode, Replica, Variant, Write,
};
use replication::{ClientReply, ClientRequest, OpId, Request, Response};
use testkit::{Cluster, Dropped, Observer};

/// How a test cluster is laid out: nodes `1..=master`, the master last.
#[derive(Clone, Debug)]
pub struct Layout {
    pub chain: Vec<u64>,
    pub spares: Vec<u64>,
    pub mode: Mode,
    pub variant: Variant,
    /// Keys per state-transfer chunk.
    pub chunk_keys_max: usize,
    /// Adjusts every node's config further (timeouts, bounds).
    pub tune: fn(&mut Config),
}

impl Layout {
    /// A chain of `n1..=nK`, no spares, default knobs.
    pub fn chain(k: u64) -> Layout {
        Layout {
            chain: (1..=k).collect(),
            spares: Vec::new(),
            mode: Mode::Chain,
            variant: Variant::Correct,
            chunk_keys_max: 16,
            tune: |_| {},
        }
    }

    /// The master's id: one above every replica.
    pub fn master(&self) -> u64 {
        self.chain
            .iter()
            .chain(&self.spares)
            .max()
            .copied()
            .unwrap_or(0)
            + 1
    }

    /// The config node `id` runs with.
    pub fn config(&self, id: NodeId) -> Config {
        let ids = |v: &[u64]| v.iter().copied().map(NodeId).collect();
        let mut config = Config::new(id, NodeId(self.master()), ids(&self.chain));
        config.spares = ids(&self.spares);
        config.mode = self.mode;
        config.variant = self.variant;
        config.chunk_keys_max = self.chunk_keys_max;
        (self.tune)(&mut config);
        config
    }
}

pub type Chain = Cluster<ChainNode, ChainChecks>;

/// A cluster laid out as `layout`, keeping notes.
pub fn cluster(layout: Layout) -> Chain {
    let probe = layout.config(NodeId(layout.master()));
    probe.validate().expect("a valid layout");
    let n = layout.master();
    let factory = move |id: NodeId, disk: &Disk, _rng: SeededRng| {
        ChainNode::new(layout.config(id), disk).expect("a valid config and disk")
    };
    let mut c = Cluster::new(n, 1, ChainChecks::default(), Box::new(factory));
    c.keep_notes(true);
    c
}

/// Every replica of the cluster, as it stands.
pub fn replicas(c: &Chain) -> Vec<&Replica> {
    c.nodes.iter().filter_map(ChainNode::replica).collect()
}

/// Persist before send: a message names only what its sender's disk holds.
pub fn assert_durable(disk: &Disk, env: &Envelope<Message>) {
    let last = disk.store.last_seq();
    let (what, seq) = match &env.msg {
        Message::Update(m) => ("update", m.seq),
        Message::Ack(m) => ("ack", m.through),
        Message::StateChunk(m) => ("chunk", m.through),
        Message::Configure(m) => {
            let epoch = disk.configuration.as_ref().map_or(1, |c| c.epoch);
            assert!(
                epoch >= m.configuration.epoch,
                "{env} left before the master persisted it"
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

/// What the chain tests check, and the records and lines they read.
#[derive(Default)]
pub struct ChainChecks {
    /// The transcript: every effect as one line (golden scripts print it).
    pub lines: Vec<String>,
    /// Hide heartbeats and their acks (and the writes of a start count) from the lines.
    pub quiet: bool,
    /// A delivery's line, held in quiet mode until it causes something worth printing.
    held: Option<String>,
    /// True between a delivery and the end of the event it caused.
    in_delivery: bool,
    /// Every client reply, with the node that gave it.
    pub replies: Vec<(NodeId, ClientReply)>,
    /// Every invariant or real-time violation seen, as a line.
    pub violations: Vec<String>,
    /// The last state of every replica, for the update propagation check.
    states: BTreeMap<NodeId, Replica>,
    /// Real-time order, per key: values in put order.
    puts: BTreeMap<String, Vec<String>>,
    /// Per key, the newest put (by index) known done: acknowledged, or returned by a read.
    observed: BTreeMap<String, usize>,
    /// Puts not yet acknowledged: their key and index in `puts`.
    put_ops: BTreeMap<OpId, (String, usize)>,
    /// Waiting gets: their key and what was observed when they were invoked.
    gets: BTreeMap<OpId, (String, Option<usize>)>,
}

impl ChainChecks {
    /// A client request is about to be handed to a node.
    pub fn invoke(&mut self, req: &ClientRequest) {
        match &req.request {
            Request::Put { key, value } => {
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
        self.quiet && matches!(msg, Message::Heartbeat(_) | Message::HeartbeatAck(_))
    }

    fn observe(&mut self, key: &str, index: usize) {
        let seen = self.observed.entry(key.to_string()).or_insert(index);
        *seen = (*seen).max(index);
    }

    /// The real-time check of a reply (module docs).
    fn check_reply(&mut self, node: NodeId, reply: &ClientReply) {
        let index_of = |puts: &BTreeMap<String, Vec<String>>, key: &str, v: &str| {
            puts.get(key).and_then(|vs| vs.iter().position(|x| x == v))
        };
        if let Some((key, floor)) = self.gets.remove(&reply.id) {
            let Response::Value(value) = &reply.response else {
                return;
            };
            let got = value.as_deref().and_then(|v| index_of(&self.puts, &key, v));
            if let Some(floor) = floor.filter(|&f| got.is_none_or(|g| g < f)) {
                let was = &self.puts[&key][floor];
                let shown = value.as_deref().unwrap_or("nil");
                let line = format!(
                    "VIOLATION linearizability: {node} answered {} with {key}={shown}, but \
                     {key}={was} was acknowledged or read before that get began",
                    reply.id
                );
                self.violations.push(line.clone());
                self.push(line);
            }
            if let Some(g) = got {
                self.observe(&key, g);
            }
            return;
        }
        if reply.response == Response::Ok {
            if let Some((key, index)) = self.put_ops.remove(&reply.id) {
                self.observe(&key, index);
            }
        }
    }
}

impl Observer<ChainNode> for ChainChecks {
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
    fn after_event(&mut self, node: NodeId, state: &ChainNode) {
        self.in_delivery = false;
        self.held = None;
        if let Some(r) = state.replica() {
            self.states.insert(node, r.clone());
            let all: Vec<&Replica> = self.states.values().collect();
            if let Err(e) = check_update_propagation(&all) {
                let line = format!("VIOLATION {e}");
                self.violations.push(line.clone());
                self.push(line);
            }
        }
    }
    fn on_restart(&mut self, node: NodeId, state: &ChainNode, _disk: &Disk) {
        if let Some(r) = state.replica() {
            self.states.insert(node, r.clone());
        }
    }
}

/// The next request id of `client`, counting from 1 per client.
pub fn next_op(next: &mut BTreeMap<u64, u64>, client: u64) -> OpId {
    let seq = next.entry(client).or_insert(0);
    *seq += 1;
    OpId { client, seq: *seq }
}

/// Hand `req` to `node`, telling the checks first.
pub fn invoke(c: &mut Chain, node: NodeId, req: ClientRequest) {
    c.observer.invoke(&req);
    c.input(node, req);
}

/// The replies given to `op`, in order.
pub fn replies_to(c: &Chain, op: OpId) -> Vec<Response> {
    let replies = c.observer.replies.iter().filter(|(_, r)| r.id == op);
    replies.map(|(_, r)| r.response.clone()).collect()
}

/// Tick every running node once, then deliver until quiet, `rounds` times.
pub fn rounds(c: &mut Chain, rounds: u64) {
    c.run(rounds);
}
