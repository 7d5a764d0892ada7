//! The CRDT store tests' cluster: `testkit`'s lockstep cluster of store nodes, the checks a
//! test can make from outside, and helpers that speak the store (put and get as a client,
//! gossip rounds, every node's registers).
//!
//! ```text
//!   put / get / round / deliver ──► testkit::Cluster ──► node ──► Effects ──► persist, send
//!   StoreChecks (its Observer):
//!     on_send    persist before send: every key state a Sync or Push carries is the one on
//!                the sender's disk
//!     on_output  one reply per request, recorded by op
//!   after every event the harness drives: check_invariants over every node
//! ```

#![allow(dead_code)] // each test file uses a different part of the harness

pub mod history;

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use distributed_core::{Envelope, NodeId, SeededRng};
use replication::crdt_store::{check_invariants, Config, CrdtStore, Disk, Message};
use replication::{ClientReply, ClientRequest, Key, OpId, Response, Value};
use testkit::Observer;

/// Persist before send: every state a message carries is already on the sender's disk.
pub fn assert_states_are_durable(disk: &Disk, env: &Envelope<Message>) {
    let states = match &env.msg {
        Message::Sync(m) => &m.states,
        Message::Push(m) => &m.states,
        Message::Digest(_) => return,
    };
    for (key, state) in states {
        assert_eq!(
            disk.keys.get(key),
            Some(state),
            "{env} carries {key} before it was durable"
        );
    }
}

/// What the store tests check after every event, and the replies they read.
#[derive(Default)]
pub struct StoreChecks {
    /// Every reply, by operation.
    pub replies: BTreeMap<OpId, Response>,
}

impl Observer<CrdtStore> for StoreChecks {
    fn on_send(&mut self, _node: NodeId, disk: &Disk, env: &Envelope<Message>) {
        assert_states_are_durable(disk, env);
    }

    fn on_output(&mut self, node: NodeId, output: ClientReply) {
        let previous = self.replies.insert(output.id, output.response.clone());
        assert!(
            previous.is_none(),
            "{node} answered {} twice: {output}",
            output.id
        );
    }
}

pub type Kit = testkit::Cluster<CrdtStore, StoreChecks>;

/// `testkit`'s cluster of store nodes with the checks; derefs to it.
pub struct Cluster {
    kit: Kit,
    /// Each client's next sequence number.
    seqs: BTreeMap<u64, u64>,
}

impl Deref for Cluster {
    type Target = Kit;
    fn deref(&self) -> &Kit {
        &self.kit
    }
}

impl DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut Kit {
        &mut self.kit
    }
}

pub fn ids(n: u64) -> Vec<NodeId> {
    (1..=n).map(NodeId).collect()
}

impl Cluster {
    /// `n` nodes configured by `config(id)` from the default `Config::new(id, nodes)`.
    pub fn new(n: u64, seed: u64, config: impl Fn(Config) -> Config + 'static) -> Cluster {
        let factory = move |id: NodeId, disk: &Disk, rng: SeededRng| {
            let c = config(Config::new(id, ids(n)));
            CrdtStore::new(c, disk, rng).expect("a valid config")
        };
        let kit = testkit::Cluster::new(n, seed, StoreChecks::default(), Box::new(factory));
        Cluster {
            kit,
            seqs: BTreeMap::new(),
        }
    }

    /// The next operation of `client`.
    pub fn next_op(&mut self, client: u64) -> OpId {
        let seq = self.seqs.entry(client).or_insert(0);
        *seq += 1;
        OpId { client, seq: *seq }
    }

    /// `client` puts `key=value` at node `at`; the node's answer (a store answers at once).
    pub fn put(&mut self, at: u64, client: u64, key: &str, value: &str) -> Response {
        let op = self.next_op(client);
        self.request(at, ClientRequest::put(op, key, value))
    }

    /// `client` gets `key` at node `at`; the node's answer.
    pub fn get(&mut self, at: u64, client: u64, key: &str) -> Response {
        let op = self.next_op(client);
        self.request(at, ClientRequest::get(op, key))
    }

    /// Hand `req` to node `at` and return its answer, checking the invariants after.
    pub fn request(&mut self, at: u64, req: ClientRequest) -> Response {
        let op = req.id;
        self.kit.input(NodeId(at), req);
        self.check();
        self.kit
            .observer
            .replies
            .get(&op)
            .cloned()
            .expect("answered at once")
    }

    /// Every node's invariants, across nodes.
    pub fn check(&self) {
        let nodes: Vec<&CrdtStore> = self.kit.nodes.iter().collect();
        if let Err(why) = check_invariants(&nodes) {
            panic!("invariant broken: {why}");
        }
    }

    /// Deliver queued messages until the network is quiet, checking after each.
    pub fn settle(&mut self) {
        for _ in 0..100_000 {
            if !self.kit.deliver_one() {
                return;
            }
            self.check();
        }
        panic!("the network did not go quiet");
    }

    /// `ticks` times: every node ticks, then the network settles.
    pub fn run(&mut self, ticks: u64) {
        for _ in 0..ticks {
            self.kit.tick_all();
            self.check();
            self.settle();
        }
    }

    /// Run until every node holds the same registers, at most `ticks_max` ticks; the ticks
    /// it took, or `None` if they still differ.
    pub fn converge(&mut self, ticks_max: u64) -> Option<u64> {
        for t in 0..=ticks_max {
            if self.converged() {
                return Some(t);
            }
            self.run(1);
        }
        None
    }

    /// Do all nodes hold the same values for every key?
    pub fn converged(&self) -> bool {
        let first = self.kit.nodes[0].registers();
        self.kit.nodes.iter().all(|n| n.registers() == first)
    }

    /// Node `id`'s registers.
    pub fn registers(&self, id: u64) -> BTreeMap<Key, Vec<Value>> {
        self.kit.node(NodeId(id)).registers()
    }
}

/// `Response::Value(Some(v))`.
pub fn value(v: &str) -> Response {
    Response::Value(Some(v.to_string()))
}

/// `Response::Siblings` of `vs`, sorted.
pub fn siblings(vs: &[&str]) -> Response {
    let mut vs: Vec<String> = vs.iter().map(|v| v.to_string()).collect();
    vs.sort();
    Response::Siblings(vs)
}
