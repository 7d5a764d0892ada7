//! The replica tests' cluster: `testkit`'s lockstep cluster of `KvReplica`s, plus the checks
//! and records the replica tests read.
//!
//! ```text
//!   submit(node, request) ──► tag ──► node.input(Request{tag, request})
//!   testkit::Cluster: tick / deliver ──► node i ──► Effects ──► persist, send, outputs
//!   KvChecks (its Observer), after every event:
//!     - a message never announces a term its sender has not persisted (Figure 2)
//!     - each tag is answered once, by the node it was sent to
//!     - Applied indexes are 1, 2, 3, … per incarnation (after its snapshot)
//!     - one term per index across the cluster (§5.4.3)
//!     - one digest per applied index across the cluster
//! ```
//!
//! One seed decides every node's RNG, so each test replays exactly; `trace` keeps every output
//! as a line so a test can compare two runs. The wrapper derefs to the `testkit::Cluster`, so
//! `c.run(..)`, `c.isolate(..)`, `c.node(..)`, `c.network`, `c.disks` come from there.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use bytes::Bytes;
use distributed_core::{Envelope, NodeId, SeededRng};
use kv::{Command, Reply, Request};
use raft::{Disk, Message, Role};
use replica::{Input as ReplicaInput, KvReplica, Outcome, Output as ReplicaOutput, ReplicaConfig};
use testkit::Observer;

/// Upper bound on rounds spent waiting for one thing (a leader, a reply).
const ROUNDS_MAX: u64 = 1000;

pub fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

pub fn put(key: &str, value: &str) -> Command {
    Command::set(b(key), b(value))
}

pub fn get(key: &str) -> Command {
    Command::get(b(key))
}

pub fn append(key: &str, value: &str) -> Command {
    Command::append(b(key), b(value))
}

pub fn value(s: &str) -> Reply {
    Reply::Bulk(b(s))
}

pub fn request(client_id: u64, seq: u64, command: Command) -> Request {
    Request::in_session(client_id, seq, command)
}

/// What the replica tests check after every event and read afterwards.
#[derive(Default)]
pub struct KvChecks {
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
    /// The node of the current event applied or restored something: check its digest.
    state_moved: bool,
}

/// Slot of a node: ids are `n1..=nN`.
fn slot(id: NodeId) -> usize {
    id.0 as usize - 1
}

impl Observer<KvReplica> for KvChecks {
    fn on_send(&mut self, _node: NodeId, disk: &Disk, env: &Envelope<Message>) {
        // A pre-vote's term is only proposed (Raft thesis §9.6): nobody persists it.
        assert!(
            disk.hard_state.term >= env.msg.term() || !env.msg.carries_a_held_term(),
            "{env} sent before its term was persisted"
        );
    }

    fn on_output(&mut self, node: NodeId, output: ReplicaOutput) {
        self.trace.push(format!("{node} {output}"));
        let i = slot(node);
        match output {
            ReplicaOutput::Reply { tag, outcome } => self.record_reply(node, tag, outcome),
            ReplicaOutput::Applied { index, term } => self.record_applied(i, index, term),
            // This harness never changes membership, and its workload never publishes.
            ReplicaOutput::ChangeRejected { .. } | ReplicaOutput::Published { .. } => {}
            ReplicaOutput::Restored { index, .. } => {
                assert!(index > self.base[i] + self.applied[i].len() as u64);
                self.base[i] = index;
                self.applied[i].clear();
                self.state_moved = true;
            }
        }
    }

    fn after_event(&mut self, node: NodeId, state: &KvReplica) {
        if std::mem::take(&mut self.state_moved) {
            self.check_digest(node, state);
        }
    }

    fn on_restart(&mut self, node: NodeId, state: &KvReplica, _disk: &Disk) {
        let i = slot(node);
        self.applied[i].clear();
        self.base[i] = state.machine().applied_index();
    }
}

impl KvChecks {
    fn record_reply(&mut self, id: NodeId, tag: u64, outcome: Outcome) {
        let sent_to = self.waiting.remove(&tag);
        assert_eq!(sent_to, Some(id), "{id} answered tag {tag} it does not owe");
        let earlier = self.replies.insert(tag, (id, outcome));
        assert!(earlier.is_none(), "tag {tag} answered twice");
    }

    fn record_applied(&mut self, i: usize, index: u64, term: u64) {
        let expected = self.base[i] + self.applied[i].len() as u64 + 1;
        assert_eq!(index, expected, "n{} applied out of order", i + 1);
        let first = *self.terms_by_index.entry(index).or_insert(term);
        assert_eq!(
            first,
            term,
            "n{} applied term {term} at {index} where term {first} was applied (§5.4.3)",
            i + 1
        );
        self.applied[i].push((index, term));
        self.state_moved = true;
    }

    /// Raft §5.3 State Machine Safety, seen from the map: same applied index, same state.
    fn check_digest(&mut self, id: NodeId, state: &KvReplica) {
        let machine = state.machine();
        let index = machine.applied_index();
        let digest = machine.digest();
        let first = *self.digests.entry(index).or_insert(digest);
        assert_eq!(
            first, digest,
            "{id} has digest {digest:#x} at applied index {index}, another replica had {first:#x}"
        );
    }
}

/// `testkit`'s cluster of replicas with the replica checks, plus the client side.
pub struct Cluster {
    kit: testkit::Cluster<KvReplica, KvChecks>,
    /// Each node's settings, as built.
    pub configs: Vec<ReplicaConfig>,
    next_tag: u64,
}

impl Deref for Cluster {
    type Target = testkit::Cluster<KvReplica, KvChecks>;
    fn deref(&self) -> &Self::Target {
        &self.kit
    }
}

impl DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.kit
    }
}

impl Cluster {
    pub fn new(n: u64, seed: u64) -> Cluster {
        Cluster::with(n, seed, |_| {})
    }

    pub fn with(n: u64, seed: u64, tweak: impl Fn(&mut ReplicaConfig)) -> Cluster {
        let ids: Vec<NodeId> = (1..=n).map(NodeId).collect();
        let configs: Vec<ReplicaConfig> = ids
            .iter()
            .map(|&id| {
                let mut config = ReplicaConfig::new(raft::Config::new(id, ids.clone()));
                tweak(&mut config);
                config
            })
            .collect();
        let built = configs.clone();
        let factory = move |id: NodeId, disk: &Disk, rng: SeededRng| {
            KvReplica::new(built[slot(id)].clone(), disk, rng).expect("a valid config and disk")
        };
        let checks = KvChecks {
            applied: vec![Vec::new(); n as usize],
            base: vec![0; n as usize],
            ..KvChecks::default()
        };
        Cluster {
            kit: testkit::Cluster::new(n, seed, checks, Box::new(factory)),
            configs,
            next_tag: 1,
        }
    }

    /// Every running replica.
    pub fn live(&self) -> impl Iterator<Item = &KvReplica> {
        self.nodes
            .iter()
            .filter(|n| !self.down.contains(&n.raft().id()))
    }

    /// The live leader of the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.live()
            .filter(|n| n.raft().role() == Role::Leader)
            .max_by_key(|n| n.raft().term())
            .map(|n| n.raft().id())
    }

    /// Run until some live node leads (bounded).
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
        // The tag as the read seed: a test run picks alike every time.
        let input = ReplicaInput::Request {
            tag,
            request,
            random_seed: tag,
        };
        self.observer.trace.push(format!("{id} <- {input}"));
        self.observer.waiting.insert(tag, id);
        self.input(id, input);
        tag
    }

    pub fn outcome(&self, tag: u64) -> Option<&Outcome> {
        self.observer.replies.get(&tag).map(|(_, outcome)| outcome)
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

    /// The hosts stamp their clock: `Input::Clock{now_ms}` to every running node, as the
    /// server does before each tick (a leader may propose active expiry).
    pub fn clock_all(&mut self, now_ms: u64) {
        for id in self.ids.clone() {
            if self.is_up(id) {
                self.input(id, ReplicaInput::Clock { now_ms });
            }
        }
    }

    /// Crash `id`: a crashed node answers nobody, so its clients time out, as real ones would.
    pub fn crash(&mut self, id: NodeId) {
        self.kit.crash(id);
        self.observer.waiting.retain(|_, node| *node != id);
    }
}
