//! A PBFT test host on `testkit::Cluster`: each replica's state machine (the list of ops it
//! applied), the host's answer to `CheckpointDue`, and an agreement check on every execution.
//!
//! ```text
//!   Output::Execute{seq op} ──► state[n] += "seq:op;"   and agreement: one digest per seq
//!   Output::CheckpointDue{seq} ──► snapshot state[n] now; `settle` feeds it back as
//!                                  Input::Checkpoint{seq state}
//!   Output::RestoreState{state} ──► state[n] = state       restart ──► state[n] = disk's
//! ```

#![allow(dead_code)] // each test binary uses part of this module

use std::collections::BTreeMap;

use distributed_core::{Envelope, NodeId, SeededRng};
use pbft::{Bytes, Config, Digest, Disk, Input, Keyring, Message, Output, Pbft, Request, Variant};
use testkit::{Cluster, Observer};

/// The key seed every test cluster uses: a test that crafts a Byzantine message derives the
/// faulty replica's signer from it, and only that one.
pub const KEY_SEED: u64 = 42;

/// The test host's view of every replica.
#[derive(Default)]
pub struct Host {
    /// Each replica's state machine: the ops it applied, as `seq:op;`.
    pub state: BTreeMap<NodeId, Vec<u8>>,
    /// What each replica executed, in order: (seq, digest, or NULL for a skipped seq).
    pub executed: BTreeMap<NodeId, Vec<(u64, Digest)>>,
    /// The digest first executed at each seq, by any replica.
    pub agreed: BTreeMap<u64, Digest>,
    /// Agreement violations seen (a broken variant shows one; the correct protocol never).
    pub violations: Vec<String>,
    /// Checkpoints the host owes a replica an answer for: (replica, seq, snapshot).
    pub owed: Vec<(NodeId, u64, Bytes)>,
    /// Notes, when the cluster keeps them.
    pub notes: Vec<(NodeId, String)>,
    /// Replicas whose outputs are not checked for agreement (Byzantine in a test).
    pub faulty: Vec<NodeId>,
}

impl Host {
    fn executed(&mut self, node: NodeId, seq: u64, digest: Digest) {
        self.executed.entry(node).or_default().push((seq, digest));
        if self.faulty.contains(&node) {
            return;
        }
        let first = *self.agreed.entry(seq).or_insert(digest);
        if first != digest {
            self.violations.push(format!(
                "agreement: {node} executed {digest} at seq {seq}, where {first} was executed"
            ));
        }
    }
    /// Did replica `node` execute the request `digest`, at which seq?
    pub fn seq_of(&self, node: NodeId, digest: Digest) -> Option<u64> {
        let list = self.executed.get(&node)?;
        list.iter().find(|(_, d)| *d == digest).map(|(s, _)| *s)
    }
    /// How many requests (not skipped seqs) replica `node` executed.
    pub fn count(&self, node: NodeId) -> usize {
        let list = self.executed.get(&node).map_or(&[][..], |l| &l[..]);
        list.iter().filter(|(_, d)| *d != Digest::NULL).count()
    }
}

impl Observer<Pbft> for Host {
    fn on_note(&mut self, node: NodeId, note: &str) {
        self.notes.push((node, note.to_string()));
    }
    fn on_output(&mut self, node: NodeId, output: Output) {
        let state = self.state.entry(node).or_default();
        match output {
            Output::Execute { seq, request, .. } => {
                state.extend_from_slice(format!("{seq}:").as_bytes());
                state.extend_from_slice(&request.op);
                state.push(b';');
                self.executed(node, seq, request.digest());
            }
            Output::Skipped { seq } => self.executed(node, seq, Digest::NULL),
            Output::CheckpointDue { seq } => {
                let snapshot = Bytes::from(state.clone());
                self.owed.push((node, seq, snapshot));
            }
            Output::RestoreState { state: s, .. } => *state = s.to_vec(),
        }
    }
    fn on_restart(&mut self, node: NodeId, _state: &Pbft, disk: &Disk) {
        self.state.insert(node, disk.stable.state.to_vec());
    }
}

/// A PBFT test cluster.
pub type Pbfts = Cluster<Pbft, Host>;

/// n = 4 replicas, checkpoints every `k`, window `2k`, with `variant`.
pub fn cluster(variant: Variant, k: u64) -> Pbfts {
    cluster_in_order(variant, k, &[1, 2, 3, 4])
}

/// As `cluster`, with retransmission slowed to once in 1000 ticks: for a story that needs a
/// lost message to stay lost.
pub fn cluster_without_retransmission(variant: Variant, k: u64) -> Pbfts {
    cluster_with(variant, k, &[1, 2, 3, 4], 1000)
}

/// As `cluster`, with the replicas listed in `order` (view v's primary is `order[v mod 4]`).
pub fn cluster_in_order(variant: Variant, k: u64, order: &[u64]) -> Pbfts {
    cluster_with(
        variant,
        k,
        order,
        Config::new(NodeId(1), Vec::new(), 0).retransmit_ticks,
    )
}

/// The cluster builder: replicas in `order`, a retransmission round every `retransmit_ticks`.
pub fn cluster_with(variant: Variant, k: u64, order: &[u64], retransmit_ticks: u64) -> Pbfts {
    let replicas: Vec<NodeId> = order.iter().copied().map(NodeId).collect();
    let factory = move |id: NodeId, disk: &Disk, rng: SeededRng| {
        let mut config = Config::new(id, replicas.clone(), KEY_SEED);
        config.checkpoint_interval = k;
        config.log_window = 2 * k;
        config.request_timeout_ticks = 10;
        config.retransmit_ticks = retransmit_ticks;
        config.variant = variant;
        Pbft::new(config, disk, rng).expect("a valid config and disk")
    };
    let mut c = Cluster::new(4, 7, Host::default(), Box::new(factory));
    c.keep_notes(true);
    c
}

/// The request `client` sends with timestamp `ts` and op `op`.
pub fn req(client: u64, ts: u64, op: &str) -> Request {
    Request::new(client, ts, op.as_bytes().to_vec())
}

/// Hand `r` to replica `to` as a client would.
pub fn send_request(c: &mut Pbfts, to: u64, r: &Request) {
    c.input(NodeId(to), Input::Request(r.clone()));
}

/// Deliver until quiet, answering every checkpoint the host owes, until nothing is left.
pub fn settle(c: &mut Pbfts) {
    for _ in 0..100 {
        c.deliver_all();
        let owed = std::mem::take(&mut c.observer.owed);
        if owed.is_empty() {
            return;
        }
        for (node, seq, state) in owed {
            if c.is_up(node) {
                c.input(node, Input::Checkpoint { seq, state });
            }
        }
    }
    panic!("the cluster did not settle");
}

/// `rounds` rounds of: tick every running replica, then settle.
pub fn run(c: &mut Pbfts, rounds: u64) {
    for _ in 0..rounds {
        c.tick_all();
        settle(c);
    }
}

/// The signer of replica `id`, for a test that plays it as Byzantine.
pub fn faulty_signer(id: u64) -> pbft::Signer {
    Keyring::new(KEY_SEED).signer(NodeId(id))
}

/// Deliver `msg` from `from` to `to` directly (a Byzantine replica's message).
pub fn inject(c: &mut Pbfts, from: u64, to: u64, msg: impl Into<Message>) {
    c.deliver(Envelope {
        from: NodeId(from),
        to: NodeId(to),
        msg: msg.into(),
    });
}

/// Did `node` write a note containing `text`?
pub fn noted(c: &Pbfts, node: u64, text: &str) -> bool {
    let node = NodeId(node);
    c.observer
        .notes
        .iter()
        .any(|(n, line)| *n == node && line.contains(text))
}
