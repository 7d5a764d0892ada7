//! A small deterministic in-memory cluster for the integration tests.
//!
//! ```text
//!   tick / input ──► node i ──► Ready ──► 1. persist to disks[i]
//!                                         2. check every message's promises are durable
//!                                         3. queue messages on `network` (unless the link is cut)
//!                                         4. record outputs
//!   deliver_all: pop `network` front to back, step the receiver, repeat until quiet
//! ```
//!
//! One seed decides every node's RNG, so each test replays exactly. The harness also checks,
//! after every event, the two Raft safety properties a test can see from outside:
//! election safety (§5.2: at most one leader per term) and state machine safety (§5.4.3: no two
//! nodes deliver different entries at the same index).

#![allow(dead_code)] // each test file uses a different part of the harness

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use distributed_core::{Envelope, NodeId, Protocol, SeededRng};
use raft::{
    AppendEntries, AppendEntriesResponse, AppendResult, Bytes, Config, Disk, Entry, EntryKind,
    Input, InstallSnapshotResponse, Message, Output, PreVote, PreVoteResponse, Raft, Ready,
    RequestVoteResponse, Role, Term,
};

/// Upper bound on messages delivered by one `deliver_all`: a livelock fails the test, not hangs it.
const DELIVERIES_PER_DRAIN_MAX: usize = 100_000;

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

/// Rewrites a message on the wire, or drops it by returning false.
pub type Intercept = Box<dyn FnMut(&mut Envelope<Message>) -> bool>;

pub struct Cluster {
    pub ids: Vec<NodeId>,
    pub configs: Vec<Config>,
    pub nodes: Vec<Raft>,
    pub disks: Vec<Disk>,
    /// Messages sent and not yet delivered, in send order.
    pub network: VecDeque<Envelope<Message>>,
    /// Every message ever sent (including dropped ones), for counting.
    pub sent: Vec<Envelope<Message>>,
    /// Committed entries delivered by each node in its current incarnation, after its last
    /// restored snapshot.
    pub applied: Vec<Vec<Entry>>,
    /// Per node, the index of the snapshot its state machine was last restored from (§7):
    /// `applied[i]` starts right after it.
    pub restored: Vec<u64>,
    /// Every other output, per node.
    pub outputs: Vec<Vec<Output>>,
    /// Crashed nodes: they neither tick nor receive.
    pub down: BTreeSet<NodeId>,
    /// Cut links (from, to): messages on them are dropped when sent.
    pub cut: BTreeSet<(NodeId, NodeId)>,
    /// Election safety record: the leader seen in each term.
    pub leaders: BTreeMap<Term, NodeId>,
    /// State machine safety record: the entry first delivered at each index, by anyone.
    pub delivered: BTreeMap<u64, Entry>,
    /// When false, safety violations are recorded in `violations` instead of panicking, so a
    /// test can show that the broken `Variant` really breaks safety.
    pub strict: bool,
    pub violations: Vec<String>,
    /// A test's hand on the wire: may rewrite a message as it is sent, or drop it (false).
    pub intercept: Option<Intercept>,
    restarts: u64,
    ready: Ready,
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
        let mut configs = Vec::new();
        let mut nodes = Vec::new();
        for (&id, disk) in ids.iter().zip(&disks) {
            let mut config = Config::new(id, ids.clone());
            tweak(&mut config);
            let rng = SeededRng::new(seed.wrapping_mul(1000).wrapping_add(id.0));
            nodes.push(Raft::new(config.clone(), disk, rng).expect("valid config"));
            configs.push(config);
        }
        Cluster {
            restored: disks.iter().map(offset).collect(),
            disks,
            applied: vec![Vec::new(); ids.len()],
            outputs: vec![Vec::new(); ids.len()],
            ids,
            configs,
            nodes,
            network: VecDeque::new(),
            sent: Vec::new(),
            down: BTreeSet::new(),
            cut: BTreeSet::new(),
            leaders: BTreeMap::new(),
            delivered: BTreeMap::new(),
            strict: true,
            violations: Vec::new(),
            intercept: None,
            restarts: seed.wrapping_mul(7919),
            ready: Ready::new(),
        }
    }

    fn pos(&self, id: NodeId) -> usize {
        self.ids.iter().position(|&x| x == id).expect("known node")
    }

    pub fn node(&self, id: u64) -> &Raft {
        &self.nodes[self.pos(NodeId(id))]
    }

    /// Tick one live node once and carry out its effects.
    pub fn tick(&mut self, id: NodeId) {
        if self.down.contains(&id) {
            return;
        }
        let i = self.pos(id);
        self.nodes[i].tick(&mut self.ready);
        self.carry_out(i);
    }

    pub fn tick_all(&mut self) {
        for id in self.ids.clone() {
            self.tick(id);
        }
    }

    /// Deliver queued messages (and whatever they cause) until the network is quiet.
    pub fn deliver_all(&mut self) {
        for _ in 0..DELIVERIES_PER_DRAIN_MAX {
            let Some(env) = self.network.pop_front() else {
                return;
            };
            self.deliver(env);
        }
        panic!("network did not go quiet within {DELIVERIES_PER_DRAIN_MAX} deliveries");
    }

    pub fn deliver(&mut self, env: Envelope<Message>) {
        if self.down.contains(&env.to) {
            return;
        }
        let i = self.pos(env.to);
        self.nodes[i].step(env.from, env.msg, &mut self.ready);
        self.carry_out(i);
    }

    /// `rounds` rounds of: every node ticks, then the network drains.
    pub fn run(&mut self, rounds: u64) {
        for _ in 0..rounds {
            self.tick_all();
            self.deliver_all();
        }
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

    /// Ask node `id` for the read `read_id`; returns the outputs of that call alone.
    pub fn read(&mut self, id: NodeId, read_id: u64) -> Vec<Output> {
        let i = self.pos(id);
        let before = self.outputs[i].len();
        self.nodes[i].input(Input::Read { id: read_id }, &mut self.ready);
        self.carry_out(i);
        self.outputs[i][before..].to_vec()
    }

    /// The `ReadReady` (id, index) pairs node `id` has output so far.
    pub fn reads_ready(&self, id: u64) -> Vec<(u64, u64)> {
        self.outputs[self.pos(NodeId(id))]
            .iter()
            .filter_map(|o| match o {
                Output::ReadReady { id, index } => Some((*id, *index)),
                _ => None,
            })
            .collect()
    }

    pub fn propose(&mut self, id: NodeId, data: &[u8]) -> Vec<Output> {
        let i = self.pos(id);
        let before = self.outputs[i].len();
        self.nodes[i].input(
            Input::Propose(Bytes::copy_from_slice(data)),
            &mut self.ready,
        );
        self.carry_out(i);
        self.outputs[i][before..].to_vec()
    }

    /// Hand node `id` any input; returns the outputs of that call alone.
    pub fn input(&mut self, id: NodeId, input: Input) -> Vec<Output> {
        let i = self.pos(id);
        let before = self.outputs[i].len();
        self.nodes[i].input(input, &mut self.ready);
        self.carry_out(i);
        self.outputs[i][before..].to_vec()
    }

    pub fn crash(&mut self, id: NodeId) {
        self.down.insert(id);
    }

    /// Rebuild the node from its disk alone, as a real restart would.
    pub fn restart(&mut self, id: NodeId) {
        let i = self.pos(id);
        self.restarts += 1;
        let rng = SeededRng::new(self.restarts);
        self.nodes[i] =
            Raft::new(self.configs[i].clone(), &self.disks[i], rng).expect("disk is sound");
        self.applied[i].clear();
        self.restored[i] = self.disks[i].snapshot.as_ref().map_or(0, |s| s.meta.index);
        self.down.remove(&id);
    }

    /// The host snapshots node `id`'s state machine at its applied index (§7). The state is
    /// the concatenated data of every entry through that index, so a restored snapshot can be
    /// compared with what the cluster committed.
    pub fn snapshot(&mut self, id: NodeId) {
        let i = self.pos(id);
        let index = self.nodes[i].applied_index();
        let data = self.state_through(index);
        self.nodes[i].input(Input::Snapshot { index, data }, &mut self.ready);
        self.carry_out(i);
    }

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

    /// Count messages sent from `from` to `to` that match `pred`.
    pub fn count_sent(&self, from: u64, to: u64, pred: impl Fn(&Message) -> bool) -> usize {
        self.sent
            .iter()
            .filter(|e| e.from == NodeId(from) && e.to == NodeId(to) && pred(&e.msg))
            .count()
    }

    /// The host's side of the contract, plus the safety checks.
    fn carry_out(&mut self, i: usize) {
        let mut ready = std::mem::take(&mut self.ready);
        for write in &ready.writes {
            <Raft as Protocol>::persist(&mut self.disks[i], write);
        }
        for mut env in ready.messages.drain(..) {
            assert_promises_are_durable(&self.disks[i], &env);
            self.sent.push(env.clone());
            let keep = match &mut self.intercept {
                Some(f) => f(&mut env),
                None => true,
            };
            if keep && !self.cut.contains(&(env.from, env.to)) {
                self.network.push_back(env);
            }
        }
        for output in ready.outputs.drain(..) {
            match output {
                Output::Committed(entry) => self.record_delivery(i, entry),
                Output::RestoreSnapshot(s) => {
                    assert_eq!(
                        s.data,
                        self.state_through(s.meta.index),
                        "{} restored a snapshot that is not the committed state (§7)",
                        self.ids[i]
                    );
                    assert!(s.meta.index > self.restored[i] + self.applied[i].len() as u64);
                    self.restored[i] = s.meta.index;
                    self.applied[i].clear();
                    self.outputs[i].push(Output::RestoreSnapshot(s));
                }
                other => self.outputs[i].push(other),
            }
        }
        ready.clear();
        self.ready = ready;
        self.check_election_safety(i);
    }

    fn record_delivery(&mut self, i: usize, entry: Entry) {
        let expected = self.restored[i] + self.applied[i].len() as u64 + 1;
        assert_eq!(
            entry.index, expected,
            "{} delivered out of order",
            self.ids[i]
        );
        let first = self
            .delivered
            .entry(entry.index)
            .or_insert_with(|| entry.clone());
        if *first != entry {
            let what = format!(
                "state machine safety (§5.4.3) broken: {} delivered {entry} where {first} was delivered",
                self.ids[i]
            );
            assert!(!self.strict, "{what}");
            self.violations.push(what);
        }
        self.applied[i].push(entry);
    }

    fn check_election_safety(&mut self, i: usize) {
        let node = &self.nodes[i];
        if node.role() == Role::Leader {
            let seen = *self.leaders.entry(node.term()).or_insert(node.id());
            assert_eq!(
                seen,
                node.id(),
                "two leaders in term {} (§5.2)",
                node.term()
            );
        }
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
