//! PBFT step throughput: a 4-replica cluster in one thread, driven through the sans-IO API
//! exactly as a host drives it (persist to an in-memory `Disk` → send on a `VecDeque` →
//! deliver outputs, answering checkpoints), with no IO, so the figure is what the protocol
//! core costs per executed request, SHA-256 digests and modelled signatures included.
//! criterion reports `elem/s` = requests executed on the primary per second.
//!
//! ```text
//!   per iteration: `batch` requests of REQUEST_BYTES arrive at the primary
//!     ──► drain the network until quiet (pre-prepare, prepare, commit, checkpoints)
//!     ──► every request is executed on the primary (asserted)
//!   checkpoints every K = 128 keep the log (and the disks) bounded, as a server's would
//! ```
//!
//! Batch 1 pays all three phases per request, as a lone client does; batch 64 lets many
//! requests' phases overlap in the window, as a loaded primary does (one request per seq:
//! this crate does not batch requests into one pre-prepare).
//!
//! Run: `cargo bench -p pbft --bench pbft_step`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use distributed_core::{Envelope, NodeId, Protocol, SeededRng};
use pbft::{Bytes, Config, Disk, Input, Message, Output, Pbft, Ready, Request};

/// A SET of an 8-byte key and a 256-byte value, roughly, once encoded.
const REQUEST_BYTES: usize = 300;
/// Bound on deliveries per drain: a livelock fails the bench instead of hanging it.
const DELIVERIES_PER_DRAIN_MAX: usize = 10_000_000;
/// Checkpoint interval: the log and disks are collected every this many requests.
const CHECKPOINT_INTERVAL: u64 = 128;

/// Four replicas, their disks, their (tiny) state machines and the wire between them.
struct Cluster {
    /// The replicas, n1..n4 at index 0..3; n1 is view 0's primary.
    nodes: Vec<Pbft>,
    /// Each replica's durable state, as `persist` builds it.
    disks: Vec<Disk>,
    /// Each replica's state machine: a count of requests applied.
    applied: Vec<u64>,
    /// Sent, not yet delivered, in send order.
    network: VecDeque<Envelope<Message>>,
    /// Checkpoints owed by the host: (replica index, seq, state).
    owed: Vec<(usize, u64, Bytes)>,
    /// Reused effects buffer.
    ready: Ready,
    /// The next client timestamp.
    timestamp: u64,
}

impl Cluster {
    fn new() -> Cluster {
        let ids: Vec<NodeId> = (1..=4).map(NodeId).collect();
        let nodes = ids
            .iter()
            .map(|&id| {
                let mut config = Config::new(id, ids.clone(), 7);
                config.checkpoint_interval = CHECKPOINT_INTERVAL;
                config.log_window = 2 * CHECKPOINT_INTERVAL;
                Pbft::new(config, &Disk::default(), SeededRng::new(id.0))
            })
            .collect::<Result<Vec<_>, _>>()
            .expect("valid config");
        Cluster {
            nodes,
            disks: vec![Disk::default(); 4],
            applied: vec![0; 4],
            network: VecDeque::new(),
            owed: Vec::new(),
            ready: Ready::new(),
            timestamp: 0,
        }
    }

    /// The host contract after a call into replica `i`.
    fn carry_out(&mut self, i: usize) {
        for write in &self.ready.writes {
            <Pbft as Protocol>::persist(&mut self.disks[i], write);
        }
        self.network.extend(self.ready.messages.drain(..));
        for output in self.ready.outputs.drain(..) {
            match output {
                Output::Execute { .. } => self.applied[i] += 1,
                Output::CheckpointDue { seq } => {
                    let state = Bytes::from(self.applied[i].to_le_bytes().to_vec());
                    self.owed.push((i, seq, state));
                }
                Output::Skipped { .. } | Output::RestoreState { .. } => {}
            }
        }
        self.ready.clear();
    }

    /// Deliver until the network is quiet and no checkpoint is owed.
    fn drain(&mut self) {
        for _ in 0..DELIVERIES_PER_DRAIN_MAX {
            if let Some(env) = self.network.pop_front() {
                let i = (env.to.0 - 1) as usize;
                self.nodes[i].step(env.from, env.msg, &mut self.ready);
                self.carry_out(i);
            } else if let Some((i, seq, state)) = self.owed.pop() {
                self.nodes[i].input(Input::Checkpoint { seq, state }, &mut self.ready);
                self.carry_out(i);
            } else {
                return;
            }
        }
        panic!("the network did not go quiet");
    }

    fn request_and_execute(&mut self, batch: u64, op: &Bytes) {
        let before = self.applied[0];
        for _ in 0..batch {
            self.timestamp += 1;
            let request = Request::new(1, self.timestamp, op.clone());
            self.nodes[0].input(Input::Request(request), &mut self.ready);
            self.carry_out(0);
        }
        self.drain();
        assert_eq!(self.applied[0] - before, batch, "every request executed");
    }
}

fn step_throughput(c: &mut Criterion) {
    let op = Bytes::from(vec![7u8; REQUEST_BYTES]);
    let mut group = c.benchmark_group("pbft_4_replicas");
    group.measurement_time(Duration::from_secs(5));
    for batch in [1u64, 64] {
        group.throughput(Throughput::Elements(batch));
        group.bench_function(format!("request_execute_batch_{batch}"), |b| {
            let mut cluster = Cluster::new();
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    cluster.request_and_execute(batch, &op);
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
