//! Raft step throughput: a 3-node cluster in one thread, driven through the sans-IO API exactly
//! as a host drives it (persist to an in-memory `Disk` → send on a `VecDeque` → apply), with no
//! IO, so the figure is what the protocol core costs per committed entry. criterion reports
//! `elem/s` = entries committed on the leader per second.
//!
//! ```text
//!   elect a leader ──► per iteration: propose `batch` entries of ENTRY_BYTES on the leader
//!                  ──► drain the network until quiet (AppendEntries, responses, commit advance)
//!                  ──► every proposed entry is committed on the leader (asserted)
//!   rebuild the cluster (untimed) once its log passes LOG_ENTRIES_MAX, so memory stays bounded
//! ```
//!
//! Batch 1 pays a full round (AppendEntries out, responses back) per entry, as a lone client
//! does; batch 64 lets the leader put many entries in one AppendEntries, as a loaded server does.
//!
//! Run: `cargo bench -p raft --bench raft_step`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use distributed_core::{Envelope, NodeId, Protocol, SeededRng};
use raft::{Bytes, Config, Disk, Input, Message, Output, Raft, Ready, Role};

/// A SET of an 8-byte key and a 256-byte value, roughly, once encoded.
const ENTRY_BYTES: usize = 300;
/// Log length past which the cluster is rebuilt (each node keeps its log twice: Raft + Disk).
const LOG_ENTRIES_MAX: u64 = 50_000;
/// Bound on deliveries per drain: a livelock fails the bench instead of hanging it.
const DELIVERIES_PER_DRAIN_MAX: usize = 1_000_000;
/// Rounds (every node ticks, the network drains) allowed for the first election.
const ELECTION_ROUNDS_MAX: usize = 1000;

/// Three nodes, their disks and the wire between them.
struct Cluster {
    /// The nodes, n1..n3 at index 0..2.
    nodes: Vec<Raft>,
    /// Each node's durable state, as `persist` builds it.
    disks: Vec<Disk>,
    /// Sent, not yet delivered, in send order.
    network: VecDeque<Envelope<Message>>,
    /// Non-empty entries committed on the leader since the cluster was built.
    leader_commits: u64,
    /// Reused effects buffer.
    ready: Ready,
}

impl Cluster {
    /// A fresh cluster with an elected leader, and the leader's position.
    fn elected() -> (Cluster, usize) {
        let ids: Vec<NodeId> = (1..=3).map(NodeId).collect();
        let nodes = ids
            .iter()
            .map(|&id| {
                let config = Config::new(id, ids.clone());
                Raft::new(config, &Disk::default(), SeededRng::new(id.0))
            })
            .collect::<Result<Vec<_>, _>>()
            .expect("valid config");
        let mut c = Cluster {
            nodes,
            disks: vec![Disk::default(); 3],
            network: VecDeque::new(),
            leader_commits: 0,
            ready: Ready::new(),
        };
        for _ in 0..ELECTION_ROUNDS_MAX {
            for i in 0..3 {
                c.nodes[i].tick(&mut c.ready);
                c.carry_out(i, usize::MAX);
            }
            c.drain(usize::MAX);
            if let Some(l) = c.nodes.iter().position(|n| n.role() == Role::Leader) {
                return (c, l);
            }
        }
        panic!("no leader within {ELECTION_ROUNDS_MAX} rounds");
    }

    /// The host contract after a call into node `i`; counts commits on `leader`.
    fn carry_out(&mut self, i: usize, leader: usize) {
        for write in &self.ready.writes {
            <Raft as Protocol>::persist(&mut self.disks[i], write);
        }
        self.network.extend(self.ready.messages.drain(..));
        for output in self.ready.outputs.drain(..) {
            if let (true, Output::Committed(e)) = (i == leader, output) {
                self.leader_commits += u64::from(!e.data.is_empty());
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

    fn propose_and_commit(&mut self, leader: usize, batch: u64, data: &Bytes) {
        let before = self.leader_commits;
        for _ in 0..batch {
            self.nodes[leader].input(Input::Propose(data.clone()), &mut self.ready);
            self.carry_out(leader, leader);
        }
        self.drain(leader);
        assert_eq!(
            self.leader_commits - before,
            batch,
            "every proposal committed"
        );
    }
}

fn step_throughput(c: &mut Criterion) {
    let data = Bytes::from(vec![7u8; ENTRY_BYTES]);
    let mut group = c.benchmark_group("raft_3_nodes");
    group.measurement_time(Duration::from_secs(5));
    for batch in [1u64, 64] {
        group.throughput(Throughput::Elements(batch));
        group.bench_function(format!("propose_commit_batch_{batch}"), |b| {
            let (mut cluster, mut leader) = Cluster::elected();
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    if cluster.nodes[leader].last_index() > LOG_ENTRIES_MAX {
                        (cluster, leader) = Cluster::elected();
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
