//! A replica on any core that orders entries: the `kv` machine driven by Multi-Paxos or PBFT
//! through the [`OrderingCore`] seam, with the request path `KvReplica` runs on Raft.
//!
//! ```text
//!   Input::Request{tag, request, random_seed}
//!     │ does not decode within limits ───► Reply Done(Error(Malformed))    (nothing proposed)
//!     │ read-only, reads = Core ─────────► core.read_input(id) ─► ReadReady ─► machine.read
//!     │ not leader (a leader-based core) ► Reply NotLeader{hint}
//!     │ pending full ────────────────────► Reply Busy
//!     ▼
//!   core.input(propose_input(entry)) ─► Accepted{index} ─► pending[index] = (tag, entry)
//!   core step/tick ─► Committed{index, entry} ─► machine.apply ─► Applied{index, term=epoch}
//!                                 pending[index] holds this entry? ─► Reply Done(reply)
//!                                 another entry decided there      ─► Reply Retry
//!   after every call: not leading ─► every pending request ─► Reply Retry
//!
//!   a core that forwards proposals (PBFT): entry = tag ++ request; every replica that
//!   executes it answers Reply{tag, Done(reply)}; the client takes f+1 matching replies
//! ```
//!
//! The differences from `KvReplica` (lib.rs), each a road not taken here: no membership
//! changes or leadership transfer (neither core has them yet); no active expiry (a key with a
//! TTL is judged by entry time on every replica all the same; only memory reclaim waits for
//! a read); no no-op probes on the read path; no leader write overlap (thesis §10.2.1).
//!
//! Why a pending request is matched by its bytes and not by an epoch, as Raft matches by
//! term: in Paxos the value a leader proposed at a slot may be chosen under a *later* ballot
//! (a new leader adopts it, PMMC "adopted"), so the epoch of the decision says nothing about
//! whose value it is; the bytes do, since each carries its (client_id, seq).
//!
//! Invariants (asserted): every committed index is applied once, in order; a pending index
//! lies above `applied_index`; the core answers this call's proposal at most once.
//!
//! ## Layout
//!
//! ```text
//! mod.rs    this map, OrderedConfig, Input, OrderedReplica, the Protocol entry points
//! core.rs   OrderingCore and CoreEvent: what a core must say
//! flow.rs   the request path: admit, propose, apply, answer, read, snapshot, step down
//! paxos.rs  Multi-Paxos as an OrderingCore: slots are indexes, ballot rounds epochs
//! pbft.rs   PBFT as an OrderingCore: seqs are indexes, views epochs; every replica answers
//! tests.rs  a one-node sequencer core, and the replica's rules on it
//! ```

mod core;
mod flow;
mod paxos;
mod pbft;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use distributed_core::{Effects, NodeId, Protocol};
use kv::{Request, StateMachine};

pub use self::core::{CoreEvent, OrderingCore};
use crate::io::Output;
use crate::ReplicaError;

/// How a replica on an ordering core serves read-only commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OrderedReads {
    /// Every read is a log entry, like a write: linearizable on any correct core.
    #[default]
    Log,
    /// The core's own linearizable read path (`OrderingCore::read_input`).
    Core,
}

/// The settings of one replica on an ordering core.
#[derive(Clone, Debug)]
pub struct OrderedConfig {
    /// The state machine's settings: identical on every replica, or replies diverge.
    pub kv: kv::Config,
    /// Most requests waiting for their entry to be decided on this leader: past it, `Busy`.
    pub pending_requests_max: usize,
    /// Most reads waiting for the core: past it, `Busy`.
    pub pending_reads_max: usize,
    /// Snapshot the machine after this many applied entries (if the core compacts).
    pub snapshot_log_entries_max: u64,
    /// How read-only commands are served.
    pub reads: OrderedReads,
}

impl Default for OrderedConfig {
    fn default() -> Self {
        OrderedConfig {
            kv: kv::Config::default(),
            pending_requests_max: 1024,
            pending_reads_max: 1024,
            snapshot_log_entries_max: 10_000,
            reads: OrderedReads::Log,
        }
    }
}

impl OrderedConfig {
    /// Refuse settings that cannot work on core `C`, saying why.
    pub fn validate<C: OrderingCore>(&self) -> Result<(), ReplicaError> {
        self.kv.validate().map_err(ReplicaError::Kv)?;
        let bounds = [
            ("pending_requests_max", self.pending_requests_max as u64),
            ("pending_reads_max", self.pending_reads_max as u64),
            ("snapshot_log_entries_max", self.snapshot_log_entries_max),
        ];
        if let Some((name, _)) = bounds.iter().find(|(_, v)| *v == 0) {
            return Err(ReplicaError::Replica(format!(
                "{name} is 0: it must be at least 1, or nothing could ever be served"
            )));
        }
        let cap = crate::ReplicaConfig::PENDING_REQUESTS_LIMIT as u64;
        if let Some((name, v)) = bounds[..2].iter().find(|(_, v)| *v > cap) {
            return Err(ReplicaError::Replica(format!("{name} {v} is above {cap}")));
        }
        if self.reads == OrderedReads::Core && C::read_input(0).is_none() {
            return Err(ReplicaError::Replica(
                "reads = core, but this core has no read path besides its log: use reads = log"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// A request from a client, as the host hands it to an ordered replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Run `request` on the replicated map; answered by exactly one `Output::Reply{tag}` from
    /// this node (unless it crashes first), or, on a core that forwards proposals, by one
    /// from every replica that executes it.
    Request {
        /// The host's correlation id.
        tag: u64,
        /// What the client asks, with the (client_id, seq) that makes retries safe.
        request: Request,
        /// Where a read's random picks start (see `crate::Input::Request`).
        random_seed: u64,
    },
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Request { tag, request, .. } => write!(f, "Request{{tag={tag} {request}}}"),
        }
    }
}

/// One replica: a core, the machine it feeds, and the clients waiting on it.
pub struct OrderedReplica<C: OrderingCore> {
    /// Settings, kept for the accessors.
    config: OrderedConfig,
    /// Consensus: orders the entries. Everything durable is its `Disk`.
    core: C,
    /// The map every decided entry is applied to; rebuilt from the disk's snapshot and the
    /// entries after it on restart.
    machine: StateMachine,
    /// Requests proposed here and not answered, by index: the tag and the entry's bytes.
    pending: BTreeMap<u64, (u64, bytes::Bytes)>,
    /// Reads handed to the core and not answered, by id: (tag, request, random_seed).
    reads: BTreeMap<u64, (u64, Request, u64)>,
    /// The next read id; never reused within an incarnation.
    next_read_id: u64,
    /// Entries applied since the last snapshot.
    since_snapshot: u64,
    /// The core's effects of this call, before translation; empty between calls.
    scratch: Effects<C>,
}

impl<C: OrderingCore> OrderedReplica<C> {
    /// Start (or restart) on `core`, built by the caller from `disk`; the machine starts
    /// from the disk's snapshot, and the core re-delivers what was decided after it.
    pub fn new(config: OrderedConfig, core: C, disk: &C::Disk) -> Result<Self, ReplicaError> {
        config.validate::<C>()?;
        let mut machine = StateMachine::new(config.kv.clone()).map_err(ReplicaError::Kv)?;
        if let Some((index, data)) = C::disk_snapshot(disk) {
            distributed_core::Machine::restore(&mut machine, data)
                .map_err(|e| ReplicaError::Snapshot(e.to_string()))?;
            let at = machine.applied_index();
            if at != index {
                return Err(ReplicaError::Snapshot(format!(
                    "the machine inside is at index {at}, the snapshot claims {index}"
                )));
            }
        }
        Ok(OrderedReplica {
            config,
            core,
            machine,
            pending: BTreeMap::new(),
            reads: BTreeMap::new(),
            next_read_id: 0,
            since_snapshot: 0,
            scratch: Effects::new(),
        })
    }

    /// The core underneath.
    pub fn core(&self) -> &C {
        &self.core
    }

    /// The state machine.
    pub fn machine(&self) -> &StateMachine {
        &self.machine
    }

    /// The settings.
    pub fn config(&self) -> &OrderedConfig {
        &self.config
    }

    /// Requests waiting for their entry to be decided here.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

impl<C: OrderingCore> Protocol for OrderedReplica<C> {
    type Message = C::Message;
    type Input = Input;
    type Output = Output;
    type Write = C::Write;
    type Disk = C::Disk;

    fn id(&self) -> NodeId {
        self.core.id()
    }

    fn step(&mut self, from: NodeId, msg: C::Message, out: &mut Effects<Self>) {
        self.scratch.notes.set_on(out.notes.is_on());
        self.core.step(from, msg, &mut self.scratch);
        self.absorb(None, out);
    }

    fn tick(&mut self, out: &mut Effects<Self>) {
        self.scratch.notes.set_on(out.notes.is_on());
        self.core.tick(&mut self.scratch);
        self.absorb(None, out);
    }

    fn input(&mut self, input: Input, out: &mut Effects<Self>) {
        self.scratch.notes.set_on(out.notes.is_on());
        match input {
            Input::Request {
                tag,
                request,
                random_seed,
            } => self.handle_request(tag, request, random_seed, out),
        }
    }

    fn persist(disk: &mut C::Disk, write: &C::Write) {
        C::persist(disk, write);
    }
}
