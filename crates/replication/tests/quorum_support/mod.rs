//! The quorum tests' cluster: `testkit`'s lockstep cluster of quorum nodes, the checks a test
//! can make from outside, and helpers that speak Dynamo (put, get, who is home for a key).
//!
//! ```text
//!   put / get / tick / deliver ──► testkit::Cluster ──► node ──► Effects ──► persist, send, out
//!   QuorumChecks (its Observer):
//!     on_send    persist before send: a Replicated or HandedOff leaves only once the sender's
//!                disk holds a version of its key (stored, or as a hint)
//!     on_output  one reply per request, recorded by op
//!     on_restart an HLC node's physical clock resumes past every stamp on its disk (stored
//!                or hinted), so its next put outranks what it held (clock.rs)
//! ```

#![allow(dead_code)] // each test file uses a different part of the harness

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use distributed_core::{Envelope, NodeId, SeededRng};
use replication::quorum::{Config, Disk, Message, Quorum, Resolution, Variant, Version};
use replication::{ClientReply, ClientRequest, OpId, Response};
use testkit::Observer;

pub fn ids(n: u64) -> Vec<NodeId> {
    (1..=n).map(NodeId).collect()
}

/// Persist before send: every acknowledgement a message states is already on the sender's disk.
pub fn assert_acks_are_durable(disk: &Disk, env: &Envelope<Message>) {
    let on_disk =
        |key: &str| disk.store.contains_key(key) || disk.hints.keys().any(|(_, k)| k == key);
    match &env.msg {
        Message::Replicated(m) => {
            assert!(on_disk(&m.key), "{env} left before its version was durable")
        }
        Message::HandedOff(m) => assert!(
            disk.store.contains_key(&m.key),
            "{env} left before the store write"
        ),
        _ => {}
    }
}

/// A restarted HLC node had taken in every stamp it holds; its clock must resume past them,
/// or a put it stamps next can sort below a value its client just read there. The wall clock
/// takes nothing in, before a restart or after (the broken variant keeps its bug).
pub fn assert_clock_resumes_past_held_stamps(node: NodeId, state: &Quorum, disk: &Disk) {
    let config = state.config();
    if config.resolution != Resolution::Lww || config.variant == Variant::LwwWallClock {
        return;
    }
    let hinted = disk.hints.values().map(|h| &h.version);
    let held = disk
        .store
        .values()
        .chain(hinted)
        .filter_map(Version::stamp)
        .max();
    if let Some(stamp) = held {
        assert!(
            state.physical_ticks() > stamp.time.wall,
            "{node} restarted at physical {} with the stamp {stamp} on its disk",
            state.physical_ticks()
        );
    }
}

/// What the quorum tests check after every event, and the records they read.
#[derive(Default)]
pub struct QuorumChecks {
    /// Every reply, by operation.
    pub replies: BTreeMap<OpId, Response>,
}

impl Observer<Quorum> for QuorumChecks {
    fn on_send(&mut self, _node: NodeId, disk: &Disk, env: &Envelope<Message>) {
        assert_acks_are_durable(disk, env);
    }

    fn on_output(&mut self, node: NodeId, output: ClientReply) {
        let previous = self.replies.insert(output.id, output.response.clone());
        assert!(
            previous.is_none(),
            "{node} answered {} twice: {output}",
            output.id
        );
    }

    fn on_restart(&mut self, node: NodeId, state: &Quorum, disk: &Disk) {
        assert_clock_resumes_past_held_stamps(node, state, disk);
    }
}

/// `testkit`'s cluster of quorum nodes with the checks; derefs to it.
pub struct Cluster {
    kit: testkit::Cluster<Quorum, QuorumChecks>,
    /// The next client sequence number (client 1 issues every op).
    seq: u64,
}

impl Deref for Cluster {
    type Target = testkit::Cluster<Quorum, QuorumChecks>;
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
    /// `n` nodes with the default config (N=3 R=2 W=2), adjusted by `tweak`.
    pub fn with(n: u64, tweak: impl Fn(&mut Config) + 'static) -> Cluster {
        let all = ids(n);
        let factory = move |id: NodeId, disk: &Disk, _rng: SeededRng| {
            let mut config = Config::new(id, all.clone());
            tweak(&mut config);
            Quorum::new(config, disk).expect("valid config and disk")
        };
        Cluster {
            kit: testkit::Cluster::new(n, 7, QuorumChecks::default(), Box::new(factory)),
            seq: 0,
        }
    }

    pub fn new(n: u64) -> Cluster {
        Cluster::with(n, |_| {})
    }

    fn next_op(&mut self) -> OpId {
        self.seq += 1;
        OpId {
            client: 1,
            seq: self.seq,
        }
    }

    /// A put of `value` to `key` sent to node `at`.
    pub fn put(&mut self, at: u64, key: &str, value: &str) -> OpId {
        let op = self.next_op();
        self.input(NodeId(at), ClientRequest::put(op, key, value));
        op
    }

    /// A get of `key` sent to node `at`.
    pub fn get(&mut self, at: u64, key: &str) -> OpId {
        let op = self.next_op();
        self.input(NodeId(at), ClientRequest::get(op, key));
        op
    }

    /// The reply to `op`, if one came.
    pub fn reply(&self, op: OpId) -> Option<&Response> {
        self.observer.replies.get(&op)
    }

    /// A put, delivered until quiet; its reply.
    pub fn put_now(&mut self, at: u64, key: &str, value: &str) -> Response {
        let op = self.put(at, key, value);
        self.deliver_all();
        self.reply(op)
            .cloned()
            .expect("a put answered once the network is quiet")
    }

    /// A get, delivered until quiet; its reply.
    pub fn get_now(&mut self, at: u64, key: &str) -> Response {
        let op = self.get(at, key);
        self.deliver_all();
        self.reply(op)
            .cloned()
            .expect("a get answered once the network is quiet")
    }

    /// The home nodes of `key`, first first.
    pub fn home(&self, key: &str) -> Vec<u64> {
        let ring = self.nodes[0].ring();
        ring.home(ring.place(key).range)
            .iter()
            .map(|n| n.0)
            .collect()
    }

    /// The nodes after the home nodes of `key`.
    pub fn fallbacks(&self, key: &str) -> Vec<u64> {
        let ring = self.nodes[0].ring();
        ring.fallbacks(ring.place(key).range)
            .iter()
            .map(|n| n.0)
            .collect()
    }

    /// The distinct values node `at` stores for `key`.
    pub fn values_at(&self, at: u64, key: &str) -> Vec<String> {
        self.node(NodeId(at))
            .version(key)
            .map(Version::values)
            .unwrap_or_default()
    }

    /// `rounds` rounds of: every running node ticks once, then the network drains.
    pub fn ticks(&mut self, rounds: u64) {
        self.run(rounds);
    }
}

/// A value a get returned, as one list (`Value(None)` is empty).
pub fn values(r: &Response) -> Vec<String> {
    match r {
        Response::Value(v) => v.iter().cloned().collect(),
        Response::Siblings(vs) => vs.clone(),
        other => panic!("not a get's answer: {other:?}"),
    }
}
