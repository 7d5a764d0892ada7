//! A small deterministic in-memory cluster of `KvReplica`s for the replica tests.
//!
//! ```text
//!   submit(node, request) ──► tag ──► node.input(Request{tag, request})
//!   tick / deliver ──► node i ──► Effects ──► 1. persist every write to disks[i]
//!                                             2. queue messages (unless cut or down)
//!                                             3. record replies and applied entries, checking:
//!                                                - each tag is answered once, by its node
//!                                                - Applied indexes are 1, 2, 3, … per incarnation
//!                                                - one term per index across the cluster
//!                                                - one digest per applied index across the cluster
//!   deliver_all: pop the network front to back until it is quiet (bounded)
//! ```
//!
//! One seed decides every node's RNG, so each test replays exactly; `trace` keeps every output
//! as a line so a test can compare two runs.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;
use distributed_core::{Effects, Envelope, NodeId, Protocol, SeededRng};
use kv::{Command, Reply, Request};
use raft::{Disk, Message, Role};
use replica::{Input as ReplicaInput, KvReplica, Outcome, Output as ReplicaOutput, ReplicaConfig};

/// Upper bound on messages delivered by one `deliver_all`: a livelock fails the test, not hangs it.
const DELIVERIES_PER_DRAIN_MAX: usize = 100_000;
/// Upper bound on rounds spent waiting for one thing (a leader, a reply).
const ROUNDS_MAX: u64 = 1000;

pub fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

pub fn put(key: &str, value: &str) -> Command {
    Command::Put {
        key: b(key),
        value: b(value),
    }
}

pub fn get(key: &str) -> Command {
    Command::Get { key: b(key) }
}

pub fn append(key: &str, value: &str) -> Command {
    Command::Append {
        key: b(key),
        value: b(value),
    }
}

pub fn value(s: &str) -> Reply {
    Reply::Value(Some(b(s)))
}

pub fn request(client_id: u64, seq: u64, command: Command) -> Request {
    Request {
        client_id,
        seq,
        command,
    }
}

pub struct Cluster {
    pub ids: Vec<NodeId>,
    pub configs: Vec<ReplicaConfig>,
    pub nodes: Vec<KvReplica>,
    pub disks: Vec<Disk>,
    /// Messages sent and not yet delivered, in send order.
    pub network: VecDeque<Envelope<Message>>,
    /// Crashed nodes: they neither tick nor receive.
    pub down: BTreeSet<NodeId>,
    /// Cut links (from, to): messages on them are dropped when sent.
    pub cut: BTreeSet<(NodeId, NodeId)>,
    /// Every reply so far, by tag, with the node that gave it.
    pub replies: BTreeMap<u64, (NodeId, Outcome)>,
    /// Tags submitted and not answered yet, with the node they went to.
    pub waiting: BTreeMap<u64, NodeId>,
    /// (index, term) applied by each node in its current incarnation, after `base`.
    pub applied: Vec<Vec<(u64, u64)>>,
    /// Per node, the index its machine last started from: its disk snapshot at restart, or a
    /// leader's snapshot it restored (Raft §7). `applied` continues right after it.
    pub base: Vec<u64>,
    /// The term first applied at each index, by anyone.
    pub terms_by_index: BTreeMap<u64, u64>,
    /// The digest first seen at each applied index, by anyone, across incarnations.
    pub digests: BTreeMap<u64, u64>,
    /// Every output and submission as one line, in order.
    pub trace: Vec<String>,
    next_tag: u64,
    restarts: u64,
    effects: Effects<KvReplica>,
}

impl Cluster {
    pub fn new(n: u64, seed: u64) -> Cluster {
        Cluster::with(n, seed, |_| {})
    }

    pub fn with(n: u64, seed: u64, tweak: impl Fn(&mut ReplicaConfig)) -> Cluster {
        let ids: Vec<NodeId> = (1..=n).map(NodeId).collect();
        let mut configs = Vec::new();
        let mut nodes = Vec::new();
        for &id in &ids {
            let mut config = ReplicaConfig::new(raft::Config::new(id, ids.clone()));
            tweak(&mut config);
            let rng = SeededRng::new(seed.wrapping_mul(1000).wrapping_add(id.0));
            nodes.push(KvReplica::new(config.clone(), &Disk::default(), rng).expect("valid"));
            configs.push(config);
        }
        Cluster {
            disks: vec![Disk::default(); ids.len()],
            applied: vec![Vec::new(); ids.len()],
            base: vec![0; ids.len()],
            ids,
            configs,
            nodes,
            network: VecDeque::new(),
            down: BTreeSet::new(),
            cut: BTreeSet::new(),
            replies: BTreeMap::new(),
            waiting: BTreeMap::new(),
            terms_by_index: BTreeMap::new(),
            digests: BTreeMap::new(),
            trace: Vec::new(),
            next_tag: 1,
            restarts: seed.wrapping_mul(7919),
            effects: Effects::new(),
        }
    }

    fn pos(&self, id: NodeId) -> usize {
        self.ids.iter().position(|&x| x == id).expect("known node")
    }

    pub fn node(&self, id: NodeId) -> &KvReplica {
        &self.nodes[self.pos(id)]
    }

    pub fn live(&self) -> impl Iterator<Item = &KvReplica> {
        self.nodes
            .iter()
            .filter(|n| !self.down.contains(&n.raft().id()))
    }

    pub fn tick(&mut self, id: NodeId) {
        if self.down.contains(&id) {
            return;
        }
        let i = self.pos(id);
        self.nodes[i].tick(&mut self.effects);
        self.carry_out(i);
    }

    pub fn tick_all(&mut self) {
        for id in self.ids.clone() {
            self.tick(id);
        }
    }

    pub fn deliver_all(&mut self) {
        for _ in 0..DELIVERIES_PER_DRAIN_MAX {
            let Some(env) = self.network.pop_front() else {
                return;
            };
            if self.down.contains(&env.to) {
                continue;
            }
            let i = self.pos(env.to);
            self.nodes[i].step(env.from, env.msg, &mut self.effects);
            self.carry_out(i);
        }
        panic!("network did not go quiet within {DELIVERIES_PER_DRAIN_MAX} deliveries");
    }

    /// `rounds` rounds of: every live node ticks, then the network drains.
    pub fn run(&mut self, rounds: u64) {
        for _ in 0..rounds {
            self.tick_all();
            self.deliver_all();
        }
    }

    /// The live leader of the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.live()
            .filter(|n| n.raft().role() == Role::Leader)
            .max_by_key(|n| n.raft().term())
            .map(|n| n.raft().id())
    }

    /// Run until some live node leads whose leadership a majority has seen (bounded).
    pub fn elect_any(&mut self) -> NodeId {
        for _ in 0..ROUNDS_MAX {
            self.run(1);
            if let Some(id) = self.leader() {
                return id;
            }
        }
        panic!("no leader elected within {ROUNDS_MAX} rounds");
    }

    /// Let only `id` tick (so no one else campaigns) until it leads; bounded.
    pub fn campaign_until_leader(&mut self, id: NodeId) {
        for _ in 0..ROUNDS_MAX {
            self.tick(id);
            self.deliver_all();
            if self.node(id).raft().role() == Role::Leader {
                return;
            }
        }
        panic!("{id} did not win an election within {ROUNDS_MAX} ticks");
    }

    /// Hand `request` to node `id`; returns the tag its reply will carry.
    pub fn submit(&mut self, id: NodeId, request: Request) -> u64 {
        let tag = self.next_tag;
        self.next_tag += 1;
        let input = ReplicaInput::Request { tag, request };
        self.trace.push(format!("{id} <- {input}"));
        self.waiting.insert(tag, id);
        let i = self.pos(id);
        self.nodes[i].input(input, &mut self.effects);
        self.carry_out(i);
        tag
    }

    pub fn outcome(&self, tag: u64) -> Option<&Outcome> {
        self.replies.get(&tag).map(|(_, outcome)| outcome)
    }

    /// Run rounds until `tag` is answered (bounded), and return the answer.
    pub fn wait_for(&mut self, tag: u64) -> Outcome {
        for _ in 0..ROUNDS_MAX {
            if let Some(outcome) = self.outcome(tag) {
                return outcome.clone();
            }
            self.run(1);
        }
        panic!("tag {tag} not answered within {ROUNDS_MAX} rounds");
    }

    /// Submit to `id` and wait for the answer.
    pub fn call(&mut self, id: NodeId, request: Request) -> Outcome {
        let tag = self.submit(id, request);
        self.wait_for(tag)
    }

    /// What a client does: send to the leader, resend the same request until it is done.
    pub fn execute(&mut self, request: Request) -> Reply {
        for _ in 0..20 {
            let leader = self.elect_any();
            if let Outcome::Done(reply) = self.call(leader, request.clone()) {
                return reply;
            }
        }
        panic!("{request} not done after 20 attempts");
    }

    pub fn crash(&mut self, id: NodeId) {
        self.down.insert(id);
        // A crashed node answers nobody: its clients time out, as real ones would.
        self.waiting.retain(|_, node| *node != id);
    }

    /// Rebuild the node from its disk alone, as a real restart would.
    pub fn restart(&mut self, id: NodeId) {
        let i = self.pos(id);
        self.restarts += 1;
        let rng = SeededRng::new(self.restarts);
        self.nodes[i] =
            KvReplica::new(self.configs[i].clone(), &self.disks[i], rng).expect("sound disk");
        self.applied[i].clear();
        self.base[i] = self.nodes[i].machine().applied_index();
        self.down.remove(&id);
    }

    /// Cut every link between `id` and the others, both ways.
    pub fn isolate(&mut self, id: NodeId) {
        for &other in &self.ids {
            if other != id {
                self.cut.insert((id, other));
                self.cut.insert((other, id));
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// The host's side of the contract (persist → send → deliver), plus the checks.
    fn carry_out(&mut self, i: usize) {
        let mut effects = std::mem::take(&mut self.effects);
        for write in &effects.writes {
            <KvReplica as Protocol>::persist(&mut self.disks[i], write);
        }
        for env in effects.messages.drain(..) {
            // A pre-vote's term is only proposed (Raft thesis §9.6): nobody persists it.
            assert!(
                self.disks[i].hard_state.term >= env.msg.term() || !env.msg.carries_a_held_term(),
                "{env} sent before its term was persisted"
            );
            if !self.cut.contains(&(env.from, env.to)) {
                self.network.push_back(env);
            }
        }
        let applied_before = self.applied[i].len();
        for output in effects.outputs.drain(..) {
            self.trace.push(format!("{} {output}", self.ids[i]));
            match output {
                ReplicaOutput::Reply { tag, outcome } => self.record_reply(i, tag, outcome),
                ReplicaOutput::Applied { index, term } => self.record_applied(i, index, term),
                // This harness never changes membership.
                ReplicaOutput::ChangeRejected { .. } => {}
                ReplicaOutput::Restored { index, .. } => {
                    assert!(index > self.base[i] + self.applied[i].len() as u64);
                    self.base[i] = index;
                    self.applied[i].clear();
                    self.check_digest(i);
                }
            }
        }
        effects.clear();
        self.effects = effects;
        if self.applied[i].len() > applied_before {
            self.check_digest(i);
        }
    }

    fn record_reply(&mut self, i: usize, tag: u64, outcome: Outcome) {
        let id = self.ids[i];
        let sent_to = self.waiting.remove(&tag);
        assert_eq!(sent_to, Some(id), "{id} answered tag {tag} it does not owe");
        let earlier = self.replies.insert(tag, (id, outcome));
        assert!(earlier.is_none(), "tag {tag} answered twice");
    }

    fn record_applied(&mut self, i: usize, index: u64, term: u64) {
        let expected = self.base[i] + self.applied[i].len() as u64 + 1;
        assert_eq!(index, expected, "{} applied out of order", self.ids[i]);
        let first = *self.terms_by_index.entry(index).or_insert(term);
        assert_eq!(
            first, term,
            "{} applied term {term} at {index} where term {first} was applied (§5.4.3)",
            self.ids[i]
        );
        self.applied[i].push((index, term));
    }

    /// Raft §5.3 State Machine Safety, seen from the map: same applied index, same state.
    fn check_digest(&mut self, i: usize) {
        let machine = self.nodes[i].machine();
        let index = machine.applied_index();
        let digest = machine.digest();
        let first = *self.digests.entry(index).or_insert(digest);
        assert_eq!(
            first, digest,
            "{} has digest {digest:#x} at applied index {index}, another replica had {first:#x}",
            self.ids[i]
        );
    }
}
