//! The node task: the one owner of the [`KvReplica`], running the Ready loop with a pipeline of
//! durable batches so that nothing a batch promises leaves the process before it is on disk.
//!
//! ```text
//!   events (clients, peers) ─┐      ┌─ durable(batch k) from the WAL flusher thread
//!   tick every tick_ms ──────┼──────┤   (Input::Clock{wall clock} first: active expiry)
//!                            ▼      ▼
//!   step / input / tick ──► Effects{writes, messages, outputs}       (up to 256 events,
//!                                                      clients' before peers', see handle_batch)
//!        │ writes ≠ ∅ ──persist.rs──► GroupCommit::submit_with(records, cb) ─┐ one fdatasync
//!        ▼                                                                   │ per batch
//!   pipeline: [batch k (job)] [batch k+1 (no writes)] [batch k+2 (job)] … ◄──┘ cb: "k durable"
//!        │ front batch durable ──► 2. send its messages  3. deliver its outputs (requests.rs;
//!        │                         Published ──► the pub/sub hub's subscribers, clients/pubsub.rs)
//!        │ after every turn: entries applied? ──► wake_blocked: parked BLPOP… clients whose
//!        │                         keys now hold something retry (clients/blocking.rs)
//!        └ then every following batch without writes, in order
//!
//!   writes hold a Write::Snapshot ──► persist.rs ──► disk/snapshots.rs: earlier records
//!        durable, file saved, then the job is Marker + the rest + HardState + log tail; once
//!        it is durable the WAL segments before the marker are removed on a blocking task
//! ```
//!
//! The folder, by role (each an `impl Node` block or the types it needs):
//!
//! ```text
//!   mod.rs       Node, the loop: run, handle_batch, handle, flush, on_durable, release
//!   requests.rs  the request side: ReplyTo, Waiter, input, deliver, answer, their counters
//!   persist.rs   Storage (WAL + snapshot store), submitting a batch's writes, snapshots,
//!                segment removal once a marker is durable, stopping on a WAL failure
//!   forward.rs   a follower forwards a local request to the leader, once
//!   awaiting_leader.rs  requests that meet "no leader known" wait, bounded, for an election
//!   status.rs    the RESP frame for each outcome; INFO / DISTRIBUTED.STATUS
//! ```
//!
//! Imports run one way: `node/` uses the doors (`clients/`, `peers/`, `disk/`, `ops/`) and the
//! shared `event.rs`; no door imports `node/`. The doors hand the node `Event`s through a
//! channel and are handed frames back through the `oneshot`s and queues those events carry.
//!
//! Ordering invariant (the host contract, Raft Figure 2 "persistent state"): the messages and
//! outputs of event N are released only after the writes of every event ≤ N are durable.
//! GroupCommit completes jobs in submission order, so the front of the pipeline is always the
//! one that completes next (asserted). A batch with no writes waits behind earlier batches.
//! A WAL failure stops the node: a node that cannot persist must not keep voting or
//! acknowledging (see `storage::wal`).
//!
//! Metrics (`ops/metrics.rs`) are pushed from here: Raft's state after every flush, proposals
//! and reads by path at input, WAL batch sizes and submit-to-durable latency, peer frames by
//! type. `Event::StaleRead` (a READONLY connection's GET) is answered from the local state
//! machine at once, outside Raft: the opt-in trade of linearizability for latency the README
//! describes.

mod awaiting_leader;
mod forward;
mod persist;
mod requests;
mod status;

pub(crate) use persist::Storage;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use distributed_core::{Effects, Envelope, Protocol, Rng, SeededRng};
use raft::Message;
use replica::{KvReplica, Output as ReplicaOutput};
use storage::{Lsn, WalError};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::clients::command::reply_frame;
use crate::clients::parked::Parked;
use crate::clients::pubsub::Hub;
use crate::config::NodeConfig;
use crate::event::Event;
use crate::ops::metrics::{Metrics, RaftWatch};
use crate::peers::frames::PeerFrame;
use crate::peers::transport::Transport;
use forward::Forwarded;
use persist::Job;
use requests::{ReplyTo, Waiter};

/// Most events folded into one batch: bounds a batch's records and the latency of the first.
const BATCH_EVENTS_MAX: usize = 256;
/// Most batches waiting for their fdatasync. Past it the node stops taking events (ticks still
/// run), which pushes back on clients and peers through their bounded channels.
const PIPELINE_BATCHES_MAX: usize = 64;

/// Where the WAL flusher reports that the oldest job is durable (its last LSN), or failed.
type DurableTx = mpsc::UnboundedSender<Result<Lsn, WalError>>;

/// The effects of a run of events, waiting for their writes (or earlier writes) to be durable.
struct Batch {
    /// The records this batch submitted (so exactly one durability callback is its own);
    /// `None` for a batch without writes, which waits only for the batches before it.
    job: Option<Job>,
    /// 2. Send once durable.
    messages: Vec<Envelope<Message>>,
    /// 3. Deliver after the messages.
    outputs: Vec<ReplicaOutput>,
}

/// The node task's state. Only this task touches the replica. The fields are private to
/// `node/` (its role files see them as descendants); nothing outside reaches in.
pub(crate) struct Node {
    /// The settings, for timeouts and the status report.
    config: NodeConfig,
    /// Raft + the KV state machine.
    replica: KvReplica,
    /// The WAL behind its flusher thread, and the snapshot files beside it.
    storage: Storage,
    /// The WAL record size the encoder aims for; under `WalOptions::record_bytes_max`.
    record_bytes_target: usize,
    /// Outbound peer queues.
    transport: Transport,
    /// The effects of the events since the last flush, reused between batches.
    fx: Effects<KvReplica>,
    /// Batches not yet released, oldest first.
    pipeline: VecDeque<Batch>,
    /// Where the flusher reports durability; the receiving half lives in `run`.
    durable_tx: DurableTx,
    /// Requests in the replica, by the tag they were input with.
    waiters: BTreeMap<u64, Waiter>,
    /// The next tag; tags are never reused within one process.
    next_tag: u64,
    /// Local requests that met "no leader known", waiting for an election (`awaiting_leader.rs`).
    awaiting_leader: awaiting_leader::AwaitingLeader,
    /// Forwarded requests awaiting the leader's answer (see `forward.rs`).
    forwarded: BTreeMap<u64, Forwarded>,
    /// The next forward id; starts at a random point each boot (`forward::first_forward_id`)
    /// so a late reply to the previous boot's forward cannot match one of this boot's.
    next_forward: u64,
    /// Ticks since start: the clock forward timeouts are measured on.
    ticks: u64,
    /// Where the node's counters and gauges go.
    metrics: Arc<Metrics>,
    /// Raft's state as last published, to trace elections and leader changes once.
    watch: RaftWatch,
    /// `GroupCommit::stats().syncs` at the last look, to count fdatasyncs by difference.
    wal_syncs_seen: u64,
    /// This node's pub/sub subscribers: `Output::Published` is delivered to them.
    hub: Arc<Hub>,
    /// The last log index at boot: messages of entries up to it are not delivered, since this
    /// node may have delivered them before it restarted (pub/sub is at most once, as Redis').
    published_after: u64,
    /// This node's clients parked by blocking commands (clients/blocking.rs): woken here.
    blocked: Arc<Parked>,
    /// The applied index `wake_blocked` last looked at, so it looks again only after entries
    /// applied (or a client parked).
    blocked_seen: u64,
    /// A fresh seed per request for a read's random picks (SRANDMEMBER, HRANDFIELD,
    /// ZRANDMEMBER, RANDOMKEY: `kv::StateMachine::read`): a read changes no state, so each
    /// call may pick anew, as in Redis. Seeded from the boot nonce, so it differs per boot;
    /// writes never see it (their picks come from the log, the same on every replica).
    read_seeds: SeededRng,
}

impl Node {
    /// A node task over a recovered replica. `boot_nonce` differs between boots (`runtime.rs`).
    pub(crate) fn new(
        config: NodeConfig,
        replica: KvReplica,
        storage: Storage,
        transport: Transport,
        durable_tx: DurableTx,
        metrics: Arc<Metrics>,
        boot_nonce: u64,
    ) -> Node {
        Node {
            published_after: replica.raft().last_index(),
            hub: Arc::new(Hub::default()),
            record_bytes_target: config.wal_record_bytes_target(),
            config,
            replica,
            storage,
            transport,
            fx: Effects::new(),
            pipeline: VecDeque::new(),
            durable_tx,
            waiters: BTreeMap::new(),
            next_tag: 1,
            awaiting_leader: VecDeque::new(),
            forwarded: BTreeMap::new(),
            next_forward: forward::first_forward_id(boot_nonce),
            ticks: 0,
            metrics,
            watch: RaftWatch::default(),
            wal_syncs_seen: 0,
            blocked: Arc::new(Parked::default()),
            blocked_seen: 0,
            // Mixed so it is not the replica's own stream (`runtime.rs` seeds Raft's with the
            // nonce itself).
            read_seeds: SeededRng::new(boot_nonce ^ 0x5245_4144_5345_4544),
        }
    }

    /// Deliver published messages to `hub`'s subscribers (the one the connections share).
    pub(crate) fn publish_to(&mut self, hub: Arc<Hub>) {
        self.hub = hub;
    }

    /// Wake `parked`'s clients as entries apply (the one the connections share).
    pub(crate) fn wake_blocked_in(&mut self, parked: Arc<Parked>) {
        self.blocked = parked;
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
            self.wake_blocked();
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
        // CONFIG SET notify-keyspace-events answered OK before this event was sent, so the
        // writes this event carries already publish by the new setting.
        let events = self.hub.keyspace_events();
        if events != self.replica.machine().keyspace_events() {
            self.replica.set_keyspace_events(events);
        }
        match event {
            Event::Peer { from, frame } => match frame {
                PeerFrame::Raft(msg) => {
                    self.metrics.peer_message(&self.metrics.peer_received, &msg);
                    self.replica.step(from, msg, &mut self.fx);
                }
                PeerFrame::Forward { id, request } => {
                    self.count_received("Forward");
                    self.on_forward(from, id, &request);
                }
                PeerFrame::ForwardReply { id, resp } => {
                    self.count_received("ForwardReply");
                    self.on_forward_reply(id, &resp);
                }
                PeerFrame::Hello { .. } => {
                    warn!("{from} sent a Hello mid-stream; the transport should have refused it");
                }
            },
            Event::Client { request, reply } => self.input(ReplyTo::Local(reply), request),
            Event::StaleRead { command, reply } => {
                assert!(command.is_read_only(), "a stale read must not write");
                self.metrics.reads.with_label_values(&["stale"]).inc();
                let seed = self.read_seeds.next_u64();
                let answer = self.replica.machine().read(&command, seed);
                let _ = reply.send(reply_frame(&answer));
            }
            Event::Status { reply } => {
                let _ = reply.send(status::status(self));
            }
        }
    }

    /// A tick: the host's clock first (a leader may propose active expiry by it), then Raft's.
    fn on_tick(&mut self) {
        self.ticks += 1;
        let now_ms = requests::wall_clock_ms();
        let clock = replica::Input::Clock { now_ms };
        self.replica.input(clock, &mut self.fx);
        self.replica.tick(&mut self.fx);
        self.expire_forwards();
        self.release_parked();
    }

    /// Turn the effects gathered so far into a batch: submit its writes (`persist.rs`), then
    /// release the batch at once if nothing before it waits, or queue it.
    fn flush(&mut self) -> Result<(), String> {
        if self.fx.is_empty() {
            return Ok(());
        }
        let job = match self.fx.writes.is_empty() {
            true => None,
            false => Some(self.submit_writes()?),
        };
        let mut batch = Batch {
            job,
            messages: std::mem::take(&mut self.fx.messages),
            outputs: std::mem::take(&mut self.fx.outputs),
        };
        self.fx.clear();
        if self.parallel() {
            self.release_early(&mut batch);
            if batch.job.is_none() && batch.messages.is_empty() {
                return Ok(()); // nothing left to wait for: not even a place in the queue
            }
        }
        if batch.job.is_none() && self.pipeline.is_empty() {
            self.release(batch);
        } else {
            self.pipeline.push_back(batch);
        }
        Ok(())
    }

    /// The flusher made the oldest job durable: release it and the write-less batches after it.
    fn on_durable(&mut self, done: Result<Lsn, WalError>) -> Result<(), String> {
        let last = done.map_err(|e| self.wal_failed(format!("WAL write failed, stopping: {e}")))?;
        let front = self.pipeline.pop_front();
        let front = front.expect("a durability callback with no batch waiting");
        let job = front.job;
        let job = job.expect("the oldest waiting batch must be the one that submitted");
        self.job_durable(job, last);
        if let (true, Some((index, term))) = (self.parallel(), job.log_through) {
            // §10.2.1: the leader may now count itself for these entries. The commits (and
            // replies) this yields are flushed by the loop right after this call.
            let durable = replica::Input::LogDurable { index, term };
            self.replica.input(durable, &mut self.fx);
        }
        self.release(front);
        while self.pipeline.front().is_some_and(|b| b.job.is_none()) {
            let next = self.pipeline.pop_front().expect("front exists");
            self.release(next);
        }
        Ok(())
    }

    /// Whether the leader fsyncs in parallel with replication (thesis §10.2.1).
    fn parallel(&self) -> bool {
        self.replica.raft().config().leader_writes_in_parallel
    }

    /// With §10.2.1 on, what need not wait for this batch's writes, or any earlier batch's,
    /// leaves now. A leader's AppendEntries and InstallSnapshot: the leader counts its own copy
    /// only once reported durable, so sending first promises nothing. Every output: Raft then
    /// commits only what a quorum holds on disk, so a reply of a committed write or a read
    /// stands whatever this node's disk holds. Votes and acknowledgements stay: they promise
    /// what this node's disk must hold (§5.2, §5.3).
    fn release_early(&mut self, batch: &mut Batch) {
        let leaders = |env: &Envelope<Message>| {
            matches!(
                env.msg,
                Message::AppendEntries(_) | Message::InstallSnapshot(_)
            )
        };
        let (early, wait): (Vec<_>, Vec<_>) = batch.messages.drain(..).partition(leaders);
        batch.messages = wait;
        for env in early {
            self.send(env);
        }
        for output in std::mem::take(&mut batch.outputs) {
            self.deliver_output(output);
        }
    }

    /// Steps 2 and 3 of the contract: send, then deliver.
    fn release(&mut self, batch: Batch) {
        for env in batch.messages {
            self.send(env);
        }
        for output in batch.outputs {
            self.deliver_output(output);
        }
    }

    fn send(&mut self, env: Envelope<Message>) {
        self.metrics.peer_message(&self.metrics.peer_sent, &env.msg);
        if !self.transport.send(env.to, PeerFrame::Raft(env.msg)) {
            self.metrics.error("peer_send_dropped");
            debug!(
                "dropped a message to {}: queue full or unknown peer",
                env.to
            );
        }
    }

    fn deliver_output(&mut self, output: ReplicaOutput) {
        match output {
            ReplicaOutput::Reply { tag, outcome } => self.deliver(tag, outcome),
            ReplicaOutput::Published {
                index,
                channel,
                message,
            } if index > self.published_after => {
                self.hub.publish(&channel, &message);
            }
            _ => {}
        }
    }

    /// After entries applied (any node's writes: every node applies every entry), or a client
    /// parked: wake, oldest first, the parked clients one of whose keys now holds a container
    /// of the kind they wait for, as `TYPE` on this state machine says (clients/blocking.rs).
    /// The machine may be ahead of what this node has released, never of what is committed.
    fn wake_blocked(&mut self) {
        let applied = self.replica.machine().applied_index();
        if !self.blocked.take_dirty() && applied == self.blocked_seen {
            return;
        }
        self.blocked_seen = applied;
        let machine = self.replica.machine();
        self.blocked.wake(|key, kind| {
            let Ok(type_of) = kv::Command::new(b"type", vec![key.clone()]) else {
                return false;
            };
            matches!(machine.read(&type_of, 0), kv::Reply::Status(t) if t == kind.type_name())
        });
    }

    /// A peer frame that is not a Raft message went out, by kind.
    fn count_sent(&self, kind: &'static str) {
        self.metrics.peer_sent.with_label_values(&[kind]).inc();
    }

    /// A peer frame that is not a Raft message came in, by kind.
    fn count_received(&self, kind: &'static str) {
        self.metrics.peer_received.with_label_values(&[kind]).inc();
    }
}
