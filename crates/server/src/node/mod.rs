//! The node task: the one owner of the [`KvReplica`], running the Ready loop with a pipeline of
//! durable batches so that nothing a batch promises leaves the process before it is on disk.
//!
//! ```text
//!   events (clients, peers) ─┐      ┌─ durable(batch k) from the WAL flusher thread
//!   tick every tick_ms ──────┼──────┤
//!                            ▼      ▼
//!   step / input / tick ──► Effects{writes, messages, outputs}       (up to 256 events,
//!                                                      clients' before peers', see handle_batch)
//!        │ writes ≠ ∅ ──encode──► GroupCommit::submit_with(records, cb) ─┐ one fdatasync/batch
//!        ▼                                                                │
//!   pipeline: [batch k (job)] [batch k+1 (no writes)] [batch k+2 (job)] … ◄┘ cb: "k is durable"
//!        │ front batch durable ──► 2. send its messages  3. deliver its outputs
//!        └ then every following batch without writes, in order
//!
//!   writes hold a Write::Snapshot ──► snapshots.rs: earlier records durable, file saved,
//!        then the job is Marker + the rest + HardState + log tail; once it is durable the
//!        WAL segments before the marker are removed on a blocking task
//! ```
//!
//! Ordering invariant (the host contract, Raft Figure 2 "persistent state"): the messages and
//! outputs of event N are released only after the writes of every event ≤ N are durable.
//! GroupCommit completes jobs in submission order, so the front of the pipeline is always the
//! one that completes next (asserted). A batch with no writes waits behind earlier batches.
//!
//! Requests from local clients that meet `NotLeader{leader}` are forwarded once to that leader
//! (`forward.rs`); the leader's RESP answer is relayed back. A WAL failure stops the node: a
//! node that cannot persist must not keep voting or acknowledging (see `storage::wal`).
//!
//! Metrics (`metrics.rs`) are pushed from here: Raft's state after every flush, proposals and
//! reads by path at input, WAL batch sizes and submit-to-durable latency, peer frames by type.
//! `Event::StaleRead` (a READONLY connection's GET) is answered from the local state machine at
//! once, outside Raft: the opt-in trade of linearizability for latency the README describes.

pub(crate) mod forward;
pub(crate) mod status;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use distributed_core::{Effects, Envelope, NodeId, Protocol};
use kv::{Command, Request};
use raft::{Message, Write};
use replica::{Input as ReplicaInput, KvReplica, Outcome, Output as ReplicaOutput};
use storage::{GroupCommit, Lsn, SnapshotStore, WalError};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use crate::clients::resp::Frame;
use crate::config::NodeConfig;
use crate::disk::wal_records::encode_write;
use crate::event::Event;
use crate::ops::metrics::{Metrics, RaftWatch};
use crate::peers::frames::PeerFrame;
use crate::peers::transport::Transport;

/// Most events folded into one batch: bounds a batch's records and the latency of the first.
const BATCH_EVENTS_MAX: usize = 256;
/// Most batches waiting for their fdatasync. Past it the node stops taking events (ticks still
/// run), which pushes back on clients and peers through their bounded channels.
pub(crate) const PIPELINE_BATCHES_MAX: usize = 64;

/// Who waits for the reply to a request the replica holds.
#[derive(Debug)]
pub(crate) enum ReplyTo {
    /// A client connection on this node.
    Local(oneshot::Sender<Frame>),
    /// A follower that forwarded the request, under its id.
    Peer {
        /// The follower.
        node: NodeId,
        /// The follower's id for the forward.
        id: u64,
    },
}

/// A request inside the replica, by tag.
#[derive(Debug)]
pub(crate) struct Waiter {
    /// Where the answer goes.
    pub(crate) reply_to: ReplyTo,
    /// Kept so a `NotLeader` answer can be forwarded to the leader as is.
    pub(crate) request: Request,
}

/// The effects of a run of events, waiting for their writes (or earlier writes) to be durable.
struct Batch {
    /// When this batch submitted records (so exactly one durability callback is its own);
    /// `None` for a batch without writes. The time feeds `wal_sync_duration_seconds`.
    job: Option<Instant>,
    /// For a job that wrote a snapshot marker: how many of its records follow the marker, so
    /// its LSN is known once the job is durable and the segments before it can go.
    compact_after_marker: Option<u64>,
    /// 2. Send once durable.
    messages: Vec<Envelope<Message>>,
    /// 3. Deliver after the messages.
    outputs: Vec<ReplicaOutput>,
}

/// The node task's state. Only this task touches the replica.
pub(crate) struct Node {
    /// The settings, for timeouts and the status report.
    pub(crate) config: NodeConfig,
    /// Raft + the KV state machine.
    pub(crate) replica: KvReplica,
    /// The WAL behind its flusher thread.
    group: Arc<GroupCommit>,
    /// Where `Write::Snapshot`s go (`data_dir/snapshots`); the WAL only names them.
    snapshots: SnapshotStore,
    /// The WAL record size the encoder aims for; under `WalOptions::record_bytes_max`.
    record_bytes_target: usize,
    /// Outbound peer queues.
    pub(crate) transport: Transport,
    /// The effects of the events since the last flush, reused between batches.
    fx: Effects<KvReplica>,
    /// Batches not yet released, oldest first.
    pipeline: VecDeque<Batch>,
    /// Where the flusher reports durability; the receiving half lives in `run`.
    durable_tx: mpsc::UnboundedSender<Result<Lsn, WalError>>,
    /// Requests in the replica, by the tag they were input with.
    pub(crate) waiters: BTreeMap<u64, Waiter>,
    /// The next tag; tags are never reused within one process.
    pub(crate) next_tag: u64,
    /// Forwarded requests awaiting the leader's answer (see `forward.rs`).
    pub(crate) forwarded: BTreeMap<u64, crate::node::forward::Forwarded>,
    /// The next forward id; starts at a random point each boot (`runtime.rs`) so a late reply
    /// to the previous boot's forward cannot match one of this boot's.
    pub(crate) next_forward: u64,
    /// Ticks since start: the clock forward timeouts are measured on.
    pub(crate) ticks: u64,
    /// Where the node's counters and gauges go.
    pub(crate) metrics: Arc<Metrics>,
    /// Raft's state as last published, to trace elections and leader changes once.
    watch: RaftWatch,
    /// `GroupCommit::stats().syncs` at the last look, to count fdatasyncs by difference.
    wal_syncs_seen: u64,
}

impl Node {
    pub(crate) fn new(
        config: NodeConfig,
        replica: KvReplica,
        storage: (Arc<GroupCommit>, SnapshotStore),
        transport: Transport,
        durable_tx: mpsc::UnboundedSender<Result<Lsn, WalError>>,
        metrics: Arc<Metrics>,
    ) -> Node {
        let (group, snapshots) = storage;
        Node {
            record_bytes_target: config.wal_record_bytes_target(),
            config,
            replica,
            group,
            snapshots,
            transport,
            fx: Effects::new(),
            pipeline: VecDeque::new(),
            durable_tx,
            waiters: BTreeMap::new(),
            next_tag: 1,
            forwarded: BTreeMap::new(),
            next_forward: 1,
            ticks: 0,
            metrics,
            watch: RaftWatch::default(),
            wal_syncs_seen: 0,
        }
    }

    /// The Ready loop, until `shutdown` fires or the WAL fails.
    pub(crate) async fn run(
        mut self,
        mut events: mpsc::Receiver<Event>,
        mut durable_rx: mpsc::UnboundedReceiver<Result<Lsn, WalError>>,
        mut shutdown: oneshot::Receiver<()>,
    ) -> Result<(), String> {
        let mut ticker = tokio::time::interval(Duration::from_millis(self.config.tick_ms));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Reused by every batch (see `handle_batch`), so batches allocate nothing.
        let mut peer_events = Vec::with_capacity(BATCH_EVENTS_MAX);
        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => return Ok(()),
                Some(done) = durable_rx.recv() => self.on_durable(done)?,
                _ = ticker.tick() => self.on_tick(),
                Some(event) = events.recv(), if self.pipeline.len() < PIPELINE_BATCHES_MAX => {
                    self.handle_batch(event, &mut events, &mut peer_events);
                }
            }
            self.flush()?;
            self.watch.watch(&self.replica, &self.metrics);
        }
    }

    /// Handle `first` and whatever else is queued (up to `BATCH_EVENTS_MAX` events), the
    /// clients' events before the peers'. Why: a peer's answer that confirms a ReadIndex round
    /// starts the next round at once (raft quorum.rs), and a read handled after it in the same
    /// batch would wait for the round after that. Handled first, every read of the batch rides
    /// the next round: fewer rounds, one round trip less for those reads. Safe: events of
    /// different connections have no order to keep (it is as if the peer's frames came a
    /// moment later), and each source's own events keep theirs.
    fn handle_batch(
        &mut self,
        first: Event,
        events: &mut mpsc::Receiver<Event>,
        peer_events: &mut Vec<Event>,
    ) {
        let mut next = Some(first);
        for _ in 0..BATCH_EVENTS_MAX {
            let Some(event) = next.take().or_else(|| events.try_recv().ok()) else {
                break;
            };
            match event {
                Event::Peer { .. } => peer_events.push(event),
                _ => self.handle(event),
            }
        }
        for event in peer_events.drain(..) {
            self.handle(event);
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Peer {
                from,
                frame: PeerFrame::Raft(msg),
            } => {
                self.metrics.peer_message(&self.metrics.peer_received, &msg);
                self.replica.step(from, msg, &mut self.fx);
            }
            Event::Peer {
                from,
                frame: PeerFrame::Forward { id, request },
            } => {
                self.count_received("Forward");
                self.on_forward(from, id, &request);
            }
            Event::Peer {
                frame: PeerFrame::ForwardReply { id, resp },
                ..
            } => {
                self.count_received("ForwardReply");
                self.on_forward_reply(id, &resp);
            }
            Event::Peer {
                from,
                frame: PeerFrame::Hello { .. },
            } => {
                warn!("{from} sent a Hello mid-stream; the transport should have refused it");
            }
            Event::Client { request, reply } => self.input(ReplyTo::Local(reply), request),
            Event::StaleRead { command, reply } => {
                assert!(command.is_read_only(), "a stale read must not write");
                self.metrics.reads.with_label_values(&["stale"]).inc();
                let answer = self.replica.machine().read(&command);
                let _ = reply.send(crate::clients::command::reply_frame(&answer));
            }
            Event::Status { reply } => {
                let _ = reply.send(crate::node::status::status(self));
            }
        }
    }

    /// Hand `request` to the replica under a fresh tag.
    pub(crate) fn input(&mut self, reply_to: ReplyTo, request: Request) {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.count_input(&request.command);
        let input = ReplicaInput::Request {
            tag,
            request: request.clone(),
        };
        self.waiters.insert(tag, Waiter { reply_to, request });
        self.replica.input(input, &mut self.fx);
    }

    fn on_tick(&mut self) {
        self.ticks += 1;
        self.replica.tick(&mut self.fx);
        self.expire_forwards();
    }

    /// Turn the effects gathered so far into a batch: submit its writes, queue or release it.
    fn flush(&mut self) -> Result<(), String> {
        if self.fx.is_empty() {
            return Ok(());
        }
        let job = (!self.fx.writes.is_empty()).then(Instant::now);
        let mut compact_after_marker = None;
        if job.is_some() {
            let records = if self
                .fx
                .writes
                .iter()
                .any(|w| matches!(w, Write::Snapshot(_)))
            {
                let batch = self.persist_snapshots()?;
                compact_after_marker = Some(batch.after_marker);
                batch.records
            } else {
                let mut records = Vec::new();
                for write in self.fx.writes.drain(..) {
                    encode_write(&write, self.record_bytes_target, &mut records);
                }
                records
            };
            self.metrics.wal_batch_records.observe(records.len() as f64);
            let tx = self.durable_tx.clone();
            let group = &self.group;
            // Leave the runtime's thread only if the queue is full: `block_in_place` hands the
            // worker to another thread each call. This task is the only submitter, so room
            // seen here is still there below.
            let blocks = group.would_block(&records);
            let submit = move || {
                group.submit_with(records, move |result| {
                    let _ = tx.send(result); // the node may have stopped: nobody waits
                })
            };
            let submitted = if blocks {
                tokio::task::block_in_place(submit)
            } else {
                submit()
            };
            submitted.map_err(|e| self.wal_failed(format!("WAL submit failed, stopping: {e}")))?;
        }
        let batch = Batch {
            job,
            compact_after_marker,
            messages: std::mem::take(&mut self.fx.messages),
            outputs: std::mem::take(&mut self.fx.outputs),
        };
        self.fx.clear();
        if job.is_none() && self.pipeline.is_empty() {
            self.release(batch);
        } else {
            self.pipeline.push_back(batch);
        }
        Ok(())
    }

    /// The writes hold a snapshot: save its file and build the job's records (`snapshots.rs`).
    /// Blocks this task on fsyncs, off the reactor (`block_in_place`), before any message of
    /// the batch can go out.
    fn persist_snapshots(&mut self) -> Result<crate::disk::snapshots::SnapshotBatch, String> {
        let writes: Vec<Write> = self.fx.writes.drain(..).collect();
        let installed = |index| {
            self.fx
                .outputs
                .iter()
                .any(|o| matches!(o, ReplicaOutput::Restored { index: i, .. } if *i == index))
        };
        let events: Vec<&'static str> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Snapshot(s) if installed(s.meta.index) => Some("installed"),
                Write::Snapshot(_) => Some("taken"),
                _ => None,
            })
            .collect();
        let (group, store, raft) = (&self.group, &mut self.snapshots, self.replica.raft());
        let target = self.record_bytes_target;
        let started = Instant::now();
        let batch = tokio::task::block_in_place(|| {
            crate::disk::snapshots::persist_with_snapshots(writes, group, store, raft, target)
        })
        .map_err(|e| self.wal_failed(format!("snapshot persist failed, stopping: {e}")))?;
        let pause_ms = started.elapsed().as_millis() as u64;
        for ((index, path), event) in batch.saved.iter().zip(events) {
            self.metrics.snapshots.with_label_values(&[event]).inc();
            self.metrics.snapshot_index.set(*index as i64);
            info!(target: "snapshot", node = self.config.id.0, index, event, pause_ms,
                "snapshot {event} at index {index}: {} (the loop paused {pause_ms} ms)",
                path.display());
        }
        Ok(batch)
    }

    /// The flusher made the oldest job durable: release it and the write-less batches after it.
    fn on_durable(&mut self, done: Result<Lsn, WalError>) -> Result<(), String> {
        let last = done.map_err(|e| self.wal_failed(format!("WAL write failed, stopping: {e}")))?;
        let front = self.pipeline.pop_front();
        let front = front.expect("a durability callback with no batch waiting");
        let submitted = front.job;
        let submitted = submitted.expect("the oldest waiting batch must be the one that submitted");
        self.metrics
            .wal_sync_seconds
            .observe(submitted.elapsed().as_secs_f64());
        let syncs = self.group.stats().syncs;
        self.metrics
            .wal_fsyncs
            .inc_by(syncs.saturating_sub(self.wal_syncs_seen));
        self.wal_syncs_seen = syncs;
        if let Some(after) = front.compact_after_marker {
            self.remove_segments_before(Lsn(last.0 - after));
        }
        self.release(front);
        while self.pipeline.front().is_some_and(|b| b.job.is_none()) {
            let next = self.pipeline.pop_front().expect("front exists");
            self.release(next);
        }
        Ok(())
    }

    /// The marker at `marker` is durable: every WAL segment wholly before it is redundant.
    /// Removed on a blocking task (unlinks and directory fsyncs, queued on the flusher) so the
    /// loop runs on; a failure leaves the files for the next snapshot to remove, and is logged.
    fn remove_segments_before(&self, marker: Lsn) {
        let (group, metrics) = (Arc::clone(&self.group), Arc::clone(&self.metrics));
        let node = self.config.id.0;
        tokio::task::spawn_blocking(move || match group.remove_segments_before(marker) {
            Ok(removed) => {
                metrics.wal_segments_removed.inc_by(removed as u64);
                if removed > 0 {
                    info!(target: "snapshot", node, removed, "removed {removed} WAL segments before LSN {}", marker.0);
                }
            }
            Err(e) => {
                warn!(target: "snapshot", node, "WAL segments before LSN {} stay: {e}", marker.0)
            }
        });
    }

    /// Steps 2 and 3 of the contract: send, then deliver.
    fn release(&mut self, batch: Batch) {
        for env in batch.messages {
            self.metrics.peer_message(&self.metrics.peer_sent, &env.msg);
            if !self.transport.send(env.to, PeerFrame::Raft(env.msg)) {
                self.metrics.error("peer_send_dropped");
                debug!(
                    "dropped a message to {}: queue full or unknown peer",
                    env.to
                );
            }
        }
        for output in batch.outputs {
            if let ReplicaOutput::Reply { tag, outcome } = output {
                self.deliver(tag, outcome);
            }
        }
    }

    /// Answer the request under `tag`, forwarding it first if a leader is known elsewhere.
    fn deliver(&mut self, tag: u64, outcome: Outcome) {
        let waiter = self.waiters.remove(&tag);
        let waiter = waiter.expect("the replica answered a tag it was never given");
        if let (
            Outcome::NotLeader {
                leader: Some(leader),
            },
            ReplyTo::Local(_),
        ) = (&outcome, &waiter.reply_to)
        {
            if *leader != self.config.id && self.transport.knows(*leader) {
                return self.forward(*leader, waiter);
            }
        }
        self.count_outcome(&outcome);
        let frame = crate::node::status::outcome_frame(&outcome);
        self.answer(waiter.reply_to, frame);
    }

    pub(crate) fn answer(&mut self, reply_to: ReplyTo, frame: Frame) {
        match reply_to {
            ReplyTo::Local(tx) => {
                let _ = tx.send(frame); // the client may have gone
            }
            ReplyTo::Peer { node, id } => {
                let mut resp = bytes::BytesMut::new();
                crate::clients::resp::encode(&frame, &mut resp);
                let reply = PeerFrame::ForwardReply {
                    id,
                    resp: resp.freeze(),
                };
                self.count_sent("ForwardReply");
                if !self.transport.send(node, reply) {
                    self.metrics.error("peer_send_dropped");
                    debug!("dropped a forwarded reply to {node}");
                }
            }
        }
    }
}

/// True for commands whose request needs no session: they never change the map.
pub(crate) fn needs_no_session(command: &Command) -> bool {
    command.is_read_only()
}

/// Metrics hooks, kept apart from the Ready loop above.
impl Node {
    /// A request enters the replica: a read on the configured path (on any node, since
    /// followers serve reads too), or a proposal (counted on the leader only: a follower's
    /// replica answers NotLeader and the request is forwarded, not proposed here).
    fn count_input(&self, command: &Command) {
        let reads = self.replica.config().reads;
        if command.is_read_only() {
            let path = match reads {
                replica::ReadPath::Lease => "lease",
                replica::ReadPath::ReadIndex => "read-index",
                replica::ReadPath::Log => "log",
            };
            self.metrics.reads.with_label_values(&[path]).inc();
        }
        let proposes = !command.is_read_only() || reads == replica::ReadPath::Log;
        if proposes && self.replica.raft().role() == raft::Role::Leader {
            self.metrics.proposals.inc();
        }
    }

    /// An answer that is a failure, by kind.
    fn count_outcome(&self, outcome: &Outcome) {
        let kind = match outcome {
            Outcome::Done(kv::Reply::Error(_)) => "command",
            Outcome::Done(_) => return,
            Outcome::NotLeader { .. } => "not_leader",
            Outcome::Retry => "retry",
            Outcome::Busy => "busy",
        };
        self.metrics.error(kind);
    }

    /// The WAL failed: say so in /health and the logs, and give the error back to stop on.
    fn wal_failed(&self, why: String) -> String {
        self.metrics.wal_healthy.set(0);
        self.metrics.error("wal");
        error!(target: "wal", node = self.config.id.0, error = %why, "WAL failure");
        why
    }

    pub(crate) fn count_sent(&self, kind: &'static str) {
        self.metrics.peer_sent.with_label_values(&[kind]).inc();
    }

    fn count_received(&self, kind: &'static str) {
        self.metrics.peer_received.with_label_values(&[kind]).inc();
    }
}
