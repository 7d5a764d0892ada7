//! The Raft tests' cluster: `testkit`'s lockstep cluster of Raft nodes, plus the checks a test
//! can make from outside and the helpers that speak Raft (elect, propose, read, snapshot).
//!
//! ```text
//!   tick / input / deliver ──► testkit::Cluster ──► node i ──► Ready ──► persist, send, outputs
//!   RaftChecks (its Observer), after every event:
//!     on_send     every message's promises are durable (Figure 2)
//!     on_output   state machine safety (§5.4.3: no two nodes deliver different entries at one
//!                 index); a restored snapshot is exactly the committed state (§7)
//!     after_event election safety (§5.2: at most one leader per term)
//! ```
//!
//! One seed decides every node's RNG, so each test replays exactly. Also here: helpers for
//! tests that drive one node by hand (`node_from`, `step`, `make_leader`, `disk_with`).

#![allow(dead_code)] // each test file uses a different part of the harness

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use distributed_core::{Envelope, NodeId, Protocol, SeededRng};
use raft::{
    AppendEntries, AppendEntriesResponse, AppendResult, Bytes, Config, Disk, Entry, EntryKind,
    Input, InstallSnapshotResponse, Message, Output, PreVote, PreVoteResponse, Raft, Ready,
    RequestVoteResponse, Role, Term,
};
use testkit::Observer;

pub fn ids(n: u64) -> Vec<NodeId> {
    (1..=n).map(NodeId).collect()
}

/// One node built directly from a disk, for tests that feed it hand-written messages.
pub fn node_from(id: u64, voters: u64, disk: &Disk, tweak: impl Fn(&mut Config)) -> Raft {
    let mut config = Config::new(NodeId(id), ids(voters));
    tweak(&mut config);
    Raft::new(config, disk, SeededRng::new(id)).expect("valid config and disk")
}

/// Entries with the given terms at indexes 1, 2, …, each carrying one byte.
pub fn log_of_terms(terms: &[Term]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(k, &term)| Entry {
            term,
            index: k as u64 + 1,
            data: Bytes::from(vec![k as u8]),
            kind: EntryKind::Normal,
        })
        .collect()
}

pub fn disk_with(term: Term, terms: &[Term]) -> Disk {
    let mut disk = Disk::default();
    disk.hard_state.term = term;
    disk.log = log_of_terms(terms);
    disk
}

/// Step one message into a node and return what it asked for.
pub fn step(node: &mut Raft, from: u64, msg: Message) -> Ready {
    let mut out = Ready::new();
    node.step(NodeId(from), msg, &mut out);
    out
}

/// Tick a follower until it campaigns, then hand it granted pre-votes (if it asks for them) and
/// granted votes until it leads.
pub fn make_leader(node: &mut Raft, voters: &[u64]) -> Ready {
    let mut out = Ready::new();
    for _ in 0..node.config().election_timeout_ticks_max {
        node.tick(&mut out);
    }
    if node.role() == Role::PreCandidate {
        let proposed = node.term() + 1;
        for &v in voters {
            let granted = Message::PreVoteResponse(PreVoteResponse {
                term: proposed,
                vote_granted: true,
            });
            node.step(NodeId(v), granted, &mut out);
        }
    }
    assert_eq!(node.role(), Role::Candidate);
    let term = node.term();
    for &v in voters {
        let granted = Message::RequestVoteResponse(RequestVoteResponse {
            term,
            vote_granted: true,
        });
        node.step(NodeId(v), granted, &mut out);
    }
    assert_eq!(node.role(), Role::Leader);
    out
}

pub fn ok(term: Term, match_index: u64) -> Message {
    ok_in_round(term, match_index, 0)
}

/// A successful AppendEntriesResponse that answers heartbeat round `round`.
pub fn ok_in_round(term: Term, match_index: u64, round: u64) -> Message {
    Message::AppendEntriesResponse(AppendEntriesResponse {
        term,
        result: AppendResult::Ok { match_index },
        round,
    })
}

/// What the Raft tests check after every event, and the records they read.
pub struct RaftChecks {
    /// Committed entries delivered by each node in its current incarnation, after its last
    /// restored snapshot.
    pub applied: Vec<Vec<Entry>>,
    /// Per node, the index of the snapshot its state machine was last restored from (§7):
    /// `applied[i]` starts right after it.
    pub restored: Vec<u64>,
    /// Every other output, per node.
    pub outputs: Vec<Vec<Output>>,
    /// Election safety record: the leader seen in each term.
    pub leaders: BTreeMap<Term, NodeId>,
    /// State machine safety record: the entry first delivered at each index, by anyone.
    pub delivered: BTreeMap<u64, Entry>,
    /// When false, safety violations are recorded in `violations` instead of panicking, so a
    /// test can show that the broken `Variant` really breaks safety.
    pub strict: bool,
    pub violations: Vec<String>,
}

/// Slot of a node: ids are `n1..=nN`.
fn slot(id: NodeId) -> usize {
    id.0 as usize - 1
}

impl Observer<Raft> for RaftChecks {
    fn on_send(&mut self, _node: NodeId, disk: &Disk, env: &Envelope<Message>) {
        assert_promises_are_durable(disk, env);
    }

    fn on_output(&mut self, node: NodeId, output: Output) {
        let i = slot(node);
        match output {
            Output::Committed(entry) => self.record_delivery(i, entry),
            Output::RestoreSnapshot(s) => {
                assert_eq!(
                    s.data,
                    self.state_through(s.meta.index),
                    "{node} restored a snapshot that is not the committed state (§7)"
                );
                assert!(s.meta.index > self.restored[i] + self.applied[i].len() as u64);
                self.restored[i] = s.meta.index;
                self.applied[i].clear();
                self.outputs[i].push(Output::RestoreSnapshot(s));
            }
            other => self.outputs[i].push(other),
        }
    }

    /// Election safety (§5.2): at most one leader per term, checked after every event.
    fn after_event(&mut self, node: NodeId, state: &Raft) {
        if state.role() == Role::Leader {
            let seen = *self.leaders.entry(state.term()).or_insert(node);
            assert_eq!(seen, node, "two leaders in term {} (§5.2)", state.term());
        }
    }

    fn on_restart(&mut self, node: NodeId, _state: &Raft, disk: &Disk) {
        let i = slot(node);
        self.applied[i].clear();
        self.restored[i] = offset(disk);
    }
}

impl RaftChecks {
    /// The state machine image through `index`: the data of entries 1..=index, concatenated.
    pub fn state_through(&self, index: u64) -> Bytes {
        let mut data = Vec::new();
        for k in 1..=index {
            let e = self
                .delivered
                .get(&k)
                .expect("a snapshot covers delivered entries");
            data.extend_from_slice(&e.data);
        }
        Bytes::from(data)
    }

    /// State machine safety (§5.4.3): no two nodes deliver different entries at one index.
    fn record_delivery(&mut self, i: usize, entry: Entry) {
        let expected = self.restored[i] + self.applied[i].len() as u64 + 1;
        assert_eq!(entry.index, expected, "n{} delivered out of order", i + 1);
        let first = self
            .delivered
            .entry(entry.index)
            .or_insert_with(|| entry.clone());
        if *first != entry {
            let what = format!(
                "state machine safety (§5.4.3) broken: n{} delivered {entry} where {first} was delivered",
                i + 1
            );
            assert!(!self.strict, "{what}");
            self.violations.push(what);
        }
        self.applied[i].push(entry);
    }
}

/// `testkit`'s lockstep cluster of Raft nodes with the Raft checks, plus Raft-aware helpers.
/// Derefs to the `testkit::Cluster`: `c.nodes`, `c.disks`, `c.network`, `c.sent`,
/// `c.intercept`, `c.tick`, `c.run`, `c.deliver_all`, `c.isolate`, `c.crash`, `c.restart`, and
/// `c.observer` (the `RaftChecks`) come from there.
pub struct Cluster {
    kit: testkit::Cluster<Raft, RaftChecks>,
    /// Each node's settings, as built.
    pub configs: Vec<Config>,
}

impl Deref for Cluster {
    type Target = testkit::Cluster<Raft, RaftChecks>;
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

    pub fn with(n: u64, seed: u64, tweak: impl Fn(&mut Config)) -> Cluster {
        Cluster::with_disks(vec![Disk::default(); n as usize], seed, tweak)
    }

    /// A cluster whose nodes start from the given disks (node `k + 1` from `disks[k]`).
    pub fn with_disks(disks: Vec<Disk>, seed: u64, tweak: impl Fn(&mut Config)) -> Cluster {
        let ids = ids(disks.len() as u64);
        let configs: Vec<Config> = ids
            .iter()
            .map(|&id| {
                let mut config = Config::new(id, ids.clone());
                tweak(&mut config);
                config
            })
            .collect();
        let built = configs.clone();
        let factory = move |id: NodeId, disk: &Disk, rng: SeededRng| {
            Raft::new(built[slot(id)].clone(), disk, rng).expect("valid config and sound disk")
        };
        let checks = RaftChecks {
            applied: vec![Vec::new(); ids.len()],
            restored: disks.iter().map(offset).collect(),
            outputs: vec![Vec::new(); ids.len()],
            leaders: BTreeMap::new(),
            delivered: BTreeMap::new(),
            strict: true,
            violations: Vec::new(),
        };
        Cluster {
            kit: testkit::Cluster::with_disks(disks, seed, checks, Box::new(factory)),
            configs,
        }
    }

    pub fn node(&self, id: u64) -> &Raft {
        self.kit.node(NodeId(id))
    }

    /// `rounds` rounds of ticks and drains (here, not only through `Deref`, so that
    /// `c.run(c.node(1)...)` borrows as a method call on `c` does).
    pub fn run(&mut self, rounds: u64) {
        self.kit.run(rounds);
    }

    /// Run until some node leads (bounded), and return it.
    pub fn elect_any(&mut self) -> NodeId {
        for _ in 0..1000 {
            self.run(1);
            if let Some(id) = self.leader() {
                return id;
            }
        }
        panic!("no leader elected within 1000 rounds");
    }

    /// Make `id` campaign now (it times out first) and drain: it wins if it can.
    pub fn elect(&mut self, id: u64) {
        let id = NodeId(id);
        while self.node(id.0).role() == Role::Follower {
            self.tick(id);
        }
        self.deliver_all();
        assert_eq!(self.node(id.0).role(), Role::Leader, "{id} should have won");
    }

    /// Let only `id` tick (so no one else campaigns) until it leads; bounded.
    pub fn campaign_until_leader(&mut self, id: u64) {
        for _ in 0..1000 {
            self.tick(NodeId(id));
            self.deliver_all();
            if self.node(id).role() == Role::Leader {
                return;
            }
        }
        panic!("n{id} did not win an election within 1000 ticks");
    }

    /// The live leader of the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter(|n| n.role() == Role::Leader && !self.down.contains(&n.id()))
            .max_by_key(|n| n.term())
            .map(|n| n.id())
    }

    /// Hand node `id` any input; returns the outputs of that call alone (Committed aside).
    pub fn input(&mut self, id: NodeId, input: Input) -> Vec<Output> {
        let before = self.observer.outputs[slot(id)].len();
        self.kit.input(id, input);
        self.observer.outputs[slot(id)][before..].to_vec()
    }

    /// Ask node `id` for the read `read_id`; returns the outputs of that call alone.
    pub fn read(&mut self, id: NodeId, read_id: u64) -> Vec<Output> {
        self.input(id, Input::Read { id: read_id })
    }

    /// The `ReadReady` (id, index) pairs node `id` has output so far.
    pub fn reads_ready(&self, id: u64) -> Vec<(u64, u64)> {
        self.observer.outputs[slot(NodeId(id))]
            .iter()
            .filter_map(|o| match o {
                Output::ReadReady { id, index } => Some((*id, *index)),
                _ => None,
            })
            .collect()
    }

    pub fn propose(&mut self, id: NodeId, data: &[u8]) -> Vec<Output> {
        self.input(id, Input::Propose(Bytes::copy_from_slice(data)))
    }

    /// The host snapshots node `id`'s state machine at its applied index (§7). The state is
    /// the concatenated data of every entry through that index, so a restored snapshot can be
    /// compared with what the cluster committed.
    pub fn snapshot(&mut self, id: NodeId) {
        let index = self.node(id.0).applied_index();
        let data = self.observer.state_through(index);
        self.kit.input(id, Input::Snapshot { index, data });
    }

    /// Count messages sent from `from` to `to` that match `pred`.
    pub fn count_sent(&self, from: u64, to: u64, pred: impl Fn(&Message) -> bool) -> usize {
        self.kit.count_sent(NodeId(from), NodeId(to), pred)
    }
}

/// Every message may only announce what the sender's disk already holds (Figure 2: "updated on
/// stable storage before responding to RPCs"). The harness persisted the writes just before.
/// A pre-vote's term is proposed, never held (thesis §9.6): it must NOT be on disk.
pub fn assert_promises_are_durable(disk: &Disk, env: &Envelope<Message>) {
    let hs = disk.hard_state;
    if let Message::PreVote(PreVote { term, .. }) = env.msg {
        assert_eq!(
            term,
            hs.term + 1,
            "{env} must propose exactly the next term"
        );
    }
    if !env.msg.carries_a_held_term() {
        return;
    }
    assert!(
        hs.term >= env.msg.term(),
        "{env} sent before its term was persisted"
    );
    match &env.msg {
        Message::RequestVoteResponse(RequestVoteResponse {
            vote_granted: true, ..
        }) => assert_eq!(
            hs.voted_for,
            Some(env.to),
            "{env} sent before the vote was persisted"
        ),
        Message::RequestVote(_) => {
            assert_eq!(
                hs.voted_for,
                Some(env.from),
                "{env} sent before the self-vote was persisted"
            )
        }
        Message::AppendEntriesResponse(AppendEntriesResponse {
            result: AppendResult::Ok { match_index },
            ..
        }) => assert!(
            offset(disk) + disk.log.len() as u64 >= *match_index,
            "{env} acknowledges entries not yet on disk"
        ),
        Message::InstallSnapshotResponse(InstallSnapshotResponse {
            index,
            installed: true,
            ..
        }) => assert!(
            offset(disk) + disk.log.len() as u64 >= *index,
            "{env} acknowledges a snapshot not yet on disk"
        ),
        Message::AppendEntries(AppendEntries { entries, .. }) => {
            if let Some(last) = entries.last() {
                let on_disk = disk.log.get((last.index - offset(disk)) as usize - 1);
                assert_eq!(
                    on_disk,
                    Some(last),
                    "{env} replicates an entry not yet persisted"
                );
            }
        }
        _ => {}
    }
}

/// The index the disk's snapshot covers (0 without one): its log starts after it.
pub fn offset(disk: &Disk) -> u64 {
    disk.snapshot.as_ref().map_or(0, |s| s.meta.index)
}
