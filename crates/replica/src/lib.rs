//! # replica: a replicated state machine on a consensus core
//!
//! One replica of the replicated key-value store: a Raft node and a [`StateMachine`] behind one
//! [`Protocol`], so the simulator and the server drive it exactly like a bare Raft node.
//!
//! The state machine is the `kv` crate's, and this crate is the only place where a consensus
//! core and it meet: `kv` knows no consensus protocol. Applying, snapshotting and restoring go
//! through the [`distributed_core::Machine`] seam. Raft gets `KvReplica` (below), with the
//! paths only Raft has (membership, leader write overlap, ReadIndex and leases, active
//! expiry); every other core that orders entries (Multi-Paxos, PBFT) gets the one
//! [`ordered::OrderedReplica`], through the small [`ordered::OrderingCore`] seam: one kv
//! machine, three logs, no copy of the request path per protocol.
//!
//! Raft agrees on the order of opaque entries; this layer turns client requests into entries
//! and committed entries back into client replies (Raft §8, "Client interaction"):
//!
//! ```text
//!   Input::Request{tag, request, random_seed}
//!     │ read-only and StaleFollowerReads ──► Reply Done(machine.read)   (broken on purpose)
//!     │ read-only, reads = ReadIndex|Lease ─► read.rs (below), on any node
//!     │ session has a write probe out ───► held behind it                     (noop.rs)
//!     │ not leader ──────────────────────► Reply NotLeader{hint}
//!     │ does not decode within limits ───► Reply Done(Error(Malformed))  (nothing proposed)
//!     │ pending full ────────────────────► Reply Busy
//!     │ may be a no-op (kv), leader ─────► read path: no-op? Reply Done : propose (noop.rs)
//!     ▼
//!   encode ─► raft.input(Propose) ─► Accepted{index, term} ─► pending[index] = (term, tag)
//!                                          └─ AckBeforeCommit, Put/MultiPut ─► Reply Done(Ok)
//!   raft step/tick ─► Committed(entry) ─► machine.apply(index, data) ─► Applied{index, term}
//!                                          └─ pending[index]? same term ─► Reply Done(reply)
//!                                                             other term ─► Reply Retry
//!   after every call: no longer leader ─► every pending request ─► Reply Retry, pending = {}
//!
//!   Input::Clock{now_ms} (the host, every tick) ─► leader, a key due? ─► Propose
//!     DISTRIBUTED.EXPIRE k… stamped now_ms, one in flight at a time      (expiry.rs)
//!
//!   read path (thesis §6.4): reads[id] = (tag, command, random_seed) ─► raft.input(Read{id})
//!     ReadReady{id, index} ─► Reply Done(machine.read(command, random_seed))  (applied ≥ index)
//!     ReadFailed{id, NotLeader{hint} | Busy | TimedOut} ─► Reply NotLeader{hint} | Busy | Retry
//! ```
//!
//! Raft's writes and messages pass through untouched (`Write`, `Message` and `Disk` are Raft's),
//! so the host contract is Raft's: persist → send → deliver outputs → clear.
//!
//! Why `Retry` and not `NotLeader` when a leader steps down: its pending entries may still
//! commit under the next leader, so the outcome is unknown, and `NotLeader` promises "not
//! proposed". The client resends with the same (client_id, seq); the session table makes the
//! resend apply at most once (Raft dissertation §6.3).
//!
//! Why a read answered at `ReadReady` is linearizable: Raft emits `ReadReady{id, index}` only
//! after it has emitted `Committed` for every entry through `index`, and the replica applies
//! each `Committed` the moment it sees it, in output order. So when the `ReadReady` comes up,
//! the machine has applied at least `index`, which covers every write that completed before
//! the read arrived, and nothing it holds is uncommitted. The road not taken: waiting for
//! `applied_index == index` exactly would only make the answer older, never more correct.
//! Reads never touch the session table: they change nothing, so a retried read simply reads
//! again (dissertation §6.3).
//!
//! Restart: `new` restores the machine from the disk's snapshot (an empty machine without one)
//! and Raft re-delivers every committed entry after it, which rebuilds the rest (Raft §7;
//! compact.rs takes the snapshots). Reads waiting at a crash die with it: their clients time
//! out, as they would for any request.
//!
//! Invariants (asserted, on in release):
//! - every `Input::Request` is answered by exactly one `Output::Reply` carrying its tag, unless
//!   the replica is dropped (crashes) first;
//! - `pending` is empty unless this node leads, and every pending entry has the current term
//!   and an index above `machine.applied_index()`;
//! - `pending.len() <= pending_requests_max`, `reads.len() <= raft.pending_reads_max`;
//! - every committed entry is applied once, in index order, and reported as `Applied`;
//! - a read is answered from a machine that has applied at least its read index;
//! - at most one active-expiry entry is in flight, and only on a leader.
//!
//! ## Layout
//!
//! ```text
//! lib.rs      this map, KvReplica, start/restart, accessors, the Protocol entry points
//! config.rs   ReplicaConfig, ReadPath, ReplicaVariant (Correct and the two broken ones),
//!             ReplicaError
//! io.rs       Input, Output, Outcome and their one-line Display
//! flow.rs     the request path: admit, propose, remember, apply, answer, step down
//! read.rs     the read path without the log: ReadIndex, lease and follower reads (§6.4)
//! noop.rs     writes that would change nothing, answered on the read path by the leader
//! compact.rs  snapshots past a log threshold, restore on RestoreSnapshot and restart (§7)
//! expiry.rs   active expiry: the leader's clock becomes DISTRIBUTED.EXPIRE entries
//! ordered/    OrderedReplica<C>: the same kv machine on any core that orders entries
//!             (Multi-Paxos, PBFT) through the OrderingCore seam
//! ```

#![forbid(unsafe_code)]

mod compact;
mod config;
mod expiry;
mod flow;
mod io;
mod noop;
pub mod ordered;
mod read;

use std::collections::BTreeMap;
use std::fmt;

use distributed_core::{Effects, NodeId, Protocol, SeededRng};
use raft::{Disk, Index, Message, Raft, Write};

use kv::StateMachine;

pub use config::{ReadPath, ReplicaConfig, ReplicaError, ReplicaVariant};
pub use io::{Input, Outcome, Output};

use compact::SinceSnapshot;
use flow::Pending;
use noop::Probes;
use read::PendingRead;

/// One replica: a Raft node, the state machine it feeds, and the clients waiting on it.
pub struct KvReplica {
    /// The settings it was built with; kept so a host can rebuild the replica after a crash.
    config: ReplicaConfig,
    /// Consensus: orders the requests. Everything durable lives in its `Disk`.
    raft: Raft,
    /// The map every committed entry is applied to. Volatile: rebuilt from the disk's snapshot
    /// and the log after it on restart.
    machine: StateMachine,
    /// Log applied since the last snapshot: decides when to take the next one (compact.rs).
    since_snapshot: SinceSnapshot,
    /// Requests this leader proposed and has not answered, by log index. A `BTreeMap` so that
    /// stepping down answers them in index order, the same on every run.
    pending: BTreeMap<Index, Pending>,
    /// Reads handed to Raft (`Input::Read`) and not answered yet, by read id: what to run and
    /// whom to answer when Raft says the read may be served. Raft never sees the command.
    /// At most `raft.pending_reads_max`; in any role, because followers serve reads too.
    reads: BTreeMap<u64, PendingRead>,
    /// The id of the next read. Never reused within an incarnation, so a late answer can never
    /// be taken for a newer read's (Raft asks ids of pending reads to differ).
    next_read_id: u64,
    /// Raft's effects for the current call, before they are translated into this replica's.
    /// Kept between calls (always empty then) so its buffers are reused, not reallocated.
    scratch: raft::Ready,
    /// The host's clock as of its last `Input::Clock`; `None` before the first. Only a
    /// leader acts on it (expiry.rs); kept so a host or test can see what the replica saw.
    host_clock_ms: Option<u64>,
    /// The index of this leader's `DISTRIBUTED.EXPIRE` entry not applied yet: at most one is
    /// in flight (expiry.rs). `None` on a follower.
    expiry_in_flight: Option<Index>,
    /// Writes being checked for a no-op on the read path, the session requests held behind
    /// them, and the work they leave for after `absorb` (noop.rs).
    probes: Probes,
}

impl KvReplica {
    /// Start (or restart) from what the disk holds; an empty `Disk` is a brand new replica.
    /// The state machine starts from the disk's snapshot (empty without one) and is rebuilt
    /// as Raft re-delivers the committed log after it. A snapshot that does not restore is an
    /// error, not a crash: the disk is untrusted input.
    pub fn new(
        config: ReplicaConfig,
        disk: &Disk,
        rng: SeededRng,
    ) -> Result<KvReplica, ReplicaError> {
        config.validate()?;
        let raft = Raft::new(config.raft_config(), disk, rng).map_err(ReplicaError::Raft)?;
        let mut machine = StateMachine::new(config.kv.clone()).map_err(ReplicaError::Kv)?;
        if let Some(s) = &disk.snapshot {
            compact::restore(&mut machine, s).map_err(ReplicaError::Snapshot)?;
        }
        Ok(KvReplica {
            config,
            raft,
            machine,
            since_snapshot: SinceSnapshot::default(),
            pending: BTreeMap::new(),
            reads: BTreeMap::new(),
            next_read_id: 0,
            scratch: raft::Ready::new(),
            host_clock_ms: None,
            expiry_in_flight: None,
            probes: Probes::default(),
        })
    }

    /// The Raft node underneath: role, term, log, commit index.
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// The state machine: values, `applied_index`, `digest`.
    pub fn machine(&self) -> &StateMachine {
        &self.machine
    }

    /// The settings this replica runs with.
    pub fn config(&self) -> &ReplicaConfig {
        &self.config
    }

    /// How many requests wait for their entry to commit (0 unless leading).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// How many read-only requests wait for Raft to confirm a read index (any role).
    pub fn pending_reads_len(&self) -> usize {
        self.reads.len()
    }

    /// The host's clock as of its last `Input::Clock`, if any.
    pub fn host_clock_ms(&self) -> Option<u64> {
        self.host_clock_ms
    }

    /// Publish keyspace notifications of these classes (Redis' `notify-keyspace-events`) with
    /// the entries applied from now on: this node's setting, not replicated (kv `notify.rs`).
    /// They come out as `Output::Published`, like PUBLISH's messages.
    pub fn set_keyspace_events(&mut self, events: kv::KeyspaceEvents) {
        self.machine.set_keyspace_events(events);
    }

    /// The index of this leader's active-expiry entry not applied yet, if any.
    pub fn expiry_in_flight(&self) -> Option<Index> {
        self.expiry_in_flight
    }
}

impl Clone for KvReplica {
    fn clone(&self) -> Self {
        KvReplica {
            config: self.config.clone(),
            raft: self.raft.clone(),
            machine: self.machine.clone(),
            since_snapshot: self.since_snapshot,
            pending: self.pending.clone(),
            reads: self.reads.clone(),
            next_read_id: self.next_read_id,
            // Empty between calls, so a fresh buffer is an exact copy.
            scratch: raft::Ready::new(),
            host_clock_ms: self.host_clock_ms,
            expiry_in_flight: self.expiry_in_flight,
            probes: self.probes.clone(),
        }
    }
}

impl fmt::Debug for KvReplica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvReplica")
            .field("id", &self.raft.id())
            .field("variant", &self.config.variant)
            .field("role", &self.raft.role())
            .field("term", &self.raft.term())
            .field("commit_index", &self.raft.commit_index())
            .field("applied_index", &self.machine.applied_index())
            .field("pending", &self.pending.len())
            .field("reads", &self.config.reads)
            .field("pending_reads", &self.reads.len())
            .field("host_clock_ms", &self.host_clock_ms)
            .field("expiry_in_flight", &self.expiry_in_flight)
            .field("noop_writes_answered", &self.probes.answered)
            .finish()
    }
}

impl Protocol for KvReplica {
    type Message = Message;
    type Input = Input;
    type Output = Output;
    type Write = Write;
    type Disk = Disk;

    fn id(&self) -> NodeId {
        self.raft.id()
    }

    fn step(&mut self, from: NodeId, msg: Message, out: &mut Effects<Self>) {
        self.scratch.notes.set_on(out.notes.is_on());
        if let Message::InstallSnapshot(chunk) = &msg {
            if let Some(why) = self.refuses_snapshot(chunk) {
                self.raft.drop_snapshot_in_progress();
                return out.note(format_args!(
                    "refused {chunk} from {from}: its state machine bytes do not restore ({why}); the log is kept, the assembly dropped"
                ));
            }
        }
        self.raft.step(from, msg, &mut self.scratch);
        self.absorb(None, out);
    }

    fn tick(&mut self, out: &mut Effects<Self>) {
        self.scratch.notes.set_on(out.notes.is_on());
        self.raft.tick(&mut self.scratch);
        self.absorb(None, out);
    }

    fn input(&mut self, input: Input, out: &mut Effects<Self>) {
        // Raft's notes (why it ignored something) reach the host only if it asked for them.
        self.scratch.notes.set_on(out.notes.is_on());
        match input {
            Input::Request {
                tag,
                request,
                random_seed,
            } => self.handle_request(tag, request, random_seed, out),
            Input::ChangeMembership(change) => {
                let input = raft::Input::ChangeMembership(change);
                self.raft.input(input, &mut self.scratch);
                self.absorb(None, out);
            }
            Input::TransferLeadership { to } => {
                let input = raft::Input::TransferLeadership { to };
                self.raft.input(input, &mut self.scratch);
                self.absorb(None, out);
            }
            Input::Clock { now_ms } => self.on_clock(now_ms, out),
            Input::LogDurable { index, term } => {
                let input = raft::Input::LogDurable { index, term };
                self.raft.input(input, &mut self.scratch);
                self.absorb(None, out);
            }
        }
    }

    fn persist(disk: &mut Disk, write: &Write) {
        <Raft as Protocol>::persist(disk, write);
    }

    /// Raft's answer: the writes and messages are Raft's (thesis §10.2.1).
    fn overlaps_writes(&self) -> bool {
        self.raft.overlaps_writes()
    }

    fn sends_before_durable(&self, msg: &Message) -> bool {
        self.raft.sends_before_durable(msg)
    }

    /// Raft's `LogDurable`, passed on as the replica's own (`Input::LogDurable`).
    fn durable_input(&self, writes: &[Write]) -> Option<Input> {
        Write::last_log_point(writes).map(|(index, term)| Input::LogDurable { index, term })
    }
}
