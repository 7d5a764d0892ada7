//! Multi-Paxos step throughput: a 5-node cluster in one thread, driven through the sans-IO API
//! as a host drives it (persist to an in-memory `Disk` → send on a `VecDeque` → deliver), with
//! no IO, so the figure is what the protocol core costs per chosen command. criterion reports
//! `elem/s` = commands chosen and delivered on the leader per second.
//!
//! ```text
//!   elect a leader (phase 1 once) ──► per iteration: propose `batch` commands of COMMAND_BYTES
//!     ──► drain the network (Accept ×4 per slot, Accepted ×4 back) until quiet
//!     ──► every command was delivered on the leader (asserted)
//!   every HEARTBEAT_EVERY iterations: tick every node (Commit notices, followers deliver), and
//!   the host snapshots each node, so memory stays bounded
//! ```
//!
//! Unlike Raft's AppendEntries, an Accept carries one slot: batch 64 sends 64 × 4 Accepts, so
//! the gap between batch 1 and 64 is smaller here than in `raft_step` (the road not taken:
//! several slots per Accept).
//!
//! Run: `cargo bench -p paxos --bench paxos_step`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use distributed_core::{Envelope, NodeId, Protocol, SeededRng};
use paxos::{Bytes, Config, Disk, Input, Message, Output, Paxos, Ready};

/// A SET of an 8-byte key and a 256-byte value, roughly, once encoded.
const COMMAND_BYTES: usize = 300;
/// Nodes in the cluster.
const NODES: u64 = 5;
/// Iterations between heartbeats (ticks) and snapshots.
const HEARTBEAT_EVERY: u64 = 64;
/// Bound on deliveries per drain: a livelock fails the bench instead of hanging it.
const DELIVERIES_PER_DRAIN_MAX: usize = 1_000_000;
/// Rounds (every node ticks, the network drains) allowed for the first election.
const ELECTION_ROUNDS_MAX: usize = 1000;

/// The nodes, their disks and the wire between them.
struct Cluster {
    /// n1..n5 at index 0..4.
    nodes: Vec<Paxos>,
    /// Each node's durable state, as `persist` builds it.
    disks: Vec<Disk>,
    /// Sent, not yet delivered, in send order.
    network: VecDeque<Envelope<Message>>,
    /// Commands delivered on the leader since the cluster was built.
    leader_commits: u64,
    /// Reused effects buffer.
    ready: Ready,
}

impl Cluster {
    /// A fresh cluster with an elected leader, and the leader's position.
    fn elected() -> (Cluster, usize) {
        let ids: Vec<NodeId> = (1..=NODES).map(NodeId).collect();
        let nodes = ids
            .iter()
            .map(|&id| {
                Paxos::new(
                    Config::new(id, ids.clone()),
                    &Disk::default(),
                    SeededRng::new(id.0),
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .expect("valid config");
        let mut c = Cluster {
            nodes,
            disks: vec![Disk::default(); NODES as usize],
            network: VecDeque::new(),
            leader_commits: 0,
            ready: Ready::new(),
        };
        for _ in 0..ELECTION_ROUNDS_MAX {
            c.tick_all(usize::MAX);
            if let Some(l) = c.nodes.iter().position(|n| n.is_leader()) {
                return (c, l);
            }
        }
        panic!("no leader within {ELECTION_ROUNDS_MAX} rounds");
    }

    /// The host contract after a call into node `i`; counts commands delivered on `leader`.
    fn carry_out(&mut self, i: usize, leader: usize) {
        for write in &self.ready.writes {
            <Paxos as Protocol>::persist(&mut self.disks[i], write);
        }
        self.network.extend(self.ready.messages.drain(..));
        for output in self.ready.outputs.drain(..) {
            if let (true, Output::Committed { value, .. }) = (i == leader, output) {
                self.leader_commits += u64::from(value != paxos::Value::Noop);
            }
        }
        self.ready.clear();
    }

    /// Deliver until the network is quiet.
    fn drain(&mut self, leader: usize) {
        for _ in 0..DELIVERIES_PER_DRAIN_MAX {
            let Some(env) = self.network.pop_front() else {
                return;
            };
            let i = (env.to.0 - 1) as usize;
            self.nodes[i].step(env.from, env.msg, &mut self.ready);
            self.carry_out(i, leader);
        }
        panic!("the network did not go quiet");
    }

    /// Every node ticks once, then the network drains.
    fn tick_all(&mut self, leader: usize) {
        for i in 0..self.nodes.len() {
            self.nodes[i].tick(&mut self.ready);
            self.carry_out(i, leader);
        }
        self.drain(leader);
    }

    /// The host of each node snapshots at its last delivered slot (the data is a stand-in).
    fn snapshot_all(&mut self, leader: usize) {
        for i in 0..self.nodes.len() {
            let slot = self.nodes[i].chosen_through();
            if slot > self.nodes[i].snapshot_slot() {
                let data = Bytes::from_static(b"state");
                self.nodes[i].input(Input::Snapshot { slot, data }, &mut self.ready);
                self.carry_out(i, leader);
            }
        }
    }

    fn propose_and_commit(&mut self, leader: usize, batch: u64, data: &Bytes) {
        let before = self.leader_commits;
        for _ in 0..batch {
            self.nodes[leader].input(Input::Propose(data.clone()), &mut self.ready);
            self.carry_out(leader, leader);
        }
        self.drain(leader);
        let delivered = self.leader_commits - before;
        assert_eq!(delivered, batch, "every proposal chosen");
    }
}

fn step_throughput(c: &mut Criterion) {
    let data = Bytes::from(vec![7u8; COMMAND_BYTES]);
    let mut group = c.benchmark_group("paxos_5_nodes");
    group.measurement_time(Duration::from_secs(5));
    for batch in [1u64, 64] {
        group.throughput(Throughput::Elements(batch));
        group.bench_function(format!("propose_commit_batch_{batch}"), |b| {
            let (mut cluster, leader) = Cluster::elected();
            let mut iteration = 0u64;
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    iteration += 1;
                    if iteration.is_multiple_of(HEARTBEAT_EVERY) {
                        // Untimed upkeep: heartbeats let followers deliver, snapshots bound memory.
                        for _ in 0..cluster.nodes[leader].config().heartbeat_ticks {
                            cluster.tick_all(leader);
                        }
                        cluster.snapshot_all(leader);
                    }
                    let start = Instant::now();
                    cluster.propose_and_commit(leader, batch, &data);
                    timed += start.elapsed();
                }
                timed
            });
        });
    }
    group.finish();
}

criterion_group!(benches, step_throughput);
criterion_main!(benches);
