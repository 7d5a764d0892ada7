//! The Paxos tests' cluster: `testkit`'s lockstep cluster of Paxos nodes, the checks a test can
//! make from outside, and helpers that speak Paxos (elect, propose, read, snapshot).
//!
//! ```text
//!   tick / input / deliver ──► testkit::Cluster ──► node i ──► Ready ──► persist, send, outputs
//!   PaxosChecks (its Observer):
//!     on_send    persist before send: a Promise's ballot and an Accepted's pvalue are on disk
//!     on_output  agreement (no two nodes deliver different values in one slot), in-order
//!                delivery per incarnation, a restored snapshot is the delivered state
//!     after_event agreement again, through the accessors (`chosen`, `chosen_through`)
//! ```
//!
//! One seed decides every node's RNG, so each test replays exactly.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use distributed_core::{Envelope, NodeId, SeededRng};
use paxos::{Bytes, Config, Disk, Input, Message, Output, Paxos, Role, Slot, Value};
use testkit::Observer;

pub fn ids(n: u64) -> Vec<NodeId> {
    (1..=n).map(NodeId).collect()
}

pub fn cmd(text: &str) -> Value {
    Value::Command(Bytes::copy_from_slice(text.as_bytes()))
}

/// Persist before send: every promise a message states is already on the sender's disk.
pub fn assert_promises_are_durable(disk: &Disk, env: &Envelope<Message>) {
    let snapshot_slot = disk.snapshot.as_ref().map_or(0, |s| s.slot);
    match &env.msg {
        Message::Promise(p) => assert!(
            disk.promised >= p.ballot,
            "{env} left before its promise was persisted (disk: {})",
            disk.promised
        ),
        Message::Accepted(a) => assert!(
            a.slot <= snapshot_slot
                || disk
                    .accepted
                    .get(&a.slot)
                    .is_some_and(|pv| pv.ballot == a.ballot),
            "{env} left before its pvalue was persisted"
        ),
        _ => {}
    }
}

/// What the Paxos tests check after every event, and the records they read.
pub struct PaxosChecks {
    /// Values delivered by each node in its current incarnation, after its restored snapshot.
    pub applied: Vec<Vec<Value>>,
    /// Per node, the slot its state machine was last restored from.
    pub restored: Vec<Slot>,
    /// Every other output, per node.
    pub outputs: Vec<Vec<Output>>,
    /// Agreement record: the value first delivered in each slot, by anyone.
    pub delivered: BTreeMap<Slot, Value>,
    /// False: agreement violations are recorded in `violations` instead of panicking, so a
    /// test can show that a broken `Variant` really breaks agreement.
    pub strict: bool,
    pub violations: Vec<String>,
}

fn slot_of(id: NodeId) -> usize {
    id.0 as usize - 1
}

impl Observer<Paxos> for PaxosChecks {
    fn on_send(&mut self, _node: NodeId, disk: &Disk, env: &Envelope<Message>) {
        assert_promises_are_durable(disk, env);
    }

    fn on_output(&mut self, node: NodeId, output: Output) {
        let i = slot_of(node);
        match output {
            Output::Committed { slot, value, .. } => {
                let expected = self.restored[i] + self.applied[i].len() as u64 + 1;
                assert_eq!(slot, expected, "{node} delivered out of order");
                let first = self.delivered.entry(slot).or_insert_with(|| value.clone());
                if *first != value {
                    let what = format!(
                        "agreement broken: {node} delivered {value} in slot {slot} where {first} was delivered"
                    );
                    assert!(!self.strict, "{what}");
                    self.violations.push(what);
                }
                self.applied[i].push(value);
            }
            Output::RestoreSnapshot { slot, data } => {
                assert_eq!(
                    data,
                    self.state_through(slot),
                    "{node} restored a wrong state"
                );
                self.restored[i] = slot;
                self.applied[i].clear();
                self.outputs[i].push(Output::RestoreSnapshot { slot, data });
            }
            other => self.outputs[i].push(other),
        }
    }

    /// Agreement through the accessors, as a simulator adapter checks it after every event:
    /// the value a node knows chosen at its `chosen_through` is the one delivered there.
    fn after_event(&mut self, node: NodeId, state: &Paxos) {
        let slot = state.chosen_through();
        let (Some(known), Some(first)) = (state.chosen(slot), self.delivered.get(&slot)) else {
            return;
        };
        if known != first {
            let what = format!("agreement broken: {node} holds {known} chosen in slot {slot}, {first} was delivered");
            assert!(!self.strict, "{what}");
            self.violations.push(what);
        }
    }

    fn on_restart(&mut self, node: NodeId, _state: &Paxos, disk: &Disk) {
        let i = slot_of(node);
        self.applied[i].clear();
        self.restored[i] = disk.snapshot.as_ref().map_or(0, |s| s.slot);
    }
}

impl PaxosChecks {
    /// The state machine image through `slot`: the delivered commands, comma-joined (no-ops
    /// skipped). What `snapshot` hands a node as its `data`.
    pub fn state_through(&self, slot: Slot) -> Bytes {
        let mut parts = Vec::new();
        for s in 1..=slot {
            match self
                .delivered
                .get(&s)
                .expect("a snapshot covers delivered slots")
            {
                Value::Command(b) => parts.push(String::from_utf8_lossy(b).into_owned()),
                Value::Noop => {}
            }
        }
        Bytes::from(parts.join(","))
    }
}

/// `testkit`'s cluster of Paxos nodes with the checks; derefs to it (`c.nodes`, `c.tick`,
/// `c.deliver_all`, `c.isolate`, `c.crash`, `c.restart`, `c.intercept`, `c.observer`, …).
pub struct Cluster {
    kit: testkit::Cluster<Paxos, PaxosChecks>,
}

impl Deref for Cluster {
    type Target = testkit::Cluster<Paxos, PaxosChecks>;
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

    pub fn with(n: u64, seed: u64, tweak: impl Fn(&mut Config) + 'static) -> Cluster {
        let all = ids(n);
        let factory = move |id: NodeId, disk: &Disk, rng: SeededRng| {
            let mut config = Config::new(id, all.clone());
            tweak(&mut config);
            Paxos::new(config, disk, rng).expect("valid config and disk")
        };
        let checks = PaxosChecks {
            applied: vec![Vec::new(); n as usize],
            restored: vec![0; n as usize],
            outputs: vec![Vec::new(); n as usize],
            delivered: BTreeMap::new(),
            strict: true,
            violations: Vec::new(),
        };
        Cluster {
            kit: testkit::Cluster::new(n, seed, checks, Box::new(factory)),
        }
    }

    /// Tick only `id` until it starts phase 1, then deliver until quiet: it leads.
    pub fn elect(&mut self, id: u64) {
        let id = NodeId(id);
        let timeout_max = self.node(id).config().leader_timeout_ticks_max;
        for _ in 0..=timeout_max {
            self.tick(id);
            if self.node(id).role() != Role::Follower {
                break;
            }
        }
        self.deliver_all();
        assert!(self.node(id).is_leader(), "{id} did not win phase 1");
    }

    pub fn propose(&mut self, id: u64, text: &str) {
        let data = Bytes::copy_from_slice(text.as_bytes());
        self.input(NodeId(id), Input::Propose(data));
    }

    pub fn read(&mut self, id: u64, read_id: u64) {
        self.input(NodeId(id), Input::Read { id: read_id });
    }

    /// The host snapshots node `id` at its last delivered slot.
    pub fn snapshot(&mut self, id: u64) {
        let slot = self.node(NodeId(id)).chosen_through();
        let data = self.observer.state_through(slot);
        self.input(NodeId(id), Input::Snapshot { slot, data });
    }

    /// Tick every running node `rounds` times, delivering after each round.
    pub fn settle(&mut self, rounds: u64) {
        self.run(rounds);
    }

    /// What node `id` delivered in this incarnation (after its restored snapshot).
    pub fn applied(&self, id: u64) -> &[Value] {
        &self.observer.applied[id as usize - 1]
    }

    /// Node `id`'s other outputs so far.
    pub fn outputs(&self, id: u64) -> &[Output] {
        &self.observer.outputs[id as usize - 1]
    }

    pub fn paxos(&self, id: u64) -> &Paxos {
        self.node(NodeId(id))
    }

    /// The leaders among the running nodes.
    pub fn leaders(&self) -> Vec<NodeId> {
        self.ids
            .iter()
            .filter(|&&id| self.is_up(id) && self.node(id).is_leader())
            .copied()
            .collect()
    }

    /// Drop every message matching `pred` from now on.
    pub fn drop_when(&mut self, pred: impl Fn(&Envelope<Message>) -> bool + 'static) {
        self.intercept = Some(Box::new(move |env| !pred(env)));
    }
}
