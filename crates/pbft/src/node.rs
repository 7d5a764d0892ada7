//! The PBFT replica: its state, start and restart from a disk, the accessors hosts and
//! invariant checkers read, and `step`, the one door for messages, which authenticates every
//! message before any handler sees it.
//!
//! ```text
//!   step(from, msg)
//!     from not a replica, or from this replica itself ──────────────► note, drop
//!     signed by someone other than `from` ───────────────────────────► note, drop
//!     signature does not verify ─────────────────────────────────────► note, drop
//!     match msg { Message::X(m) => self.on_x(from, m, out), … }   one line per message
//!   on_x: view / watermark / certificate checks next to the rule they guard (normal.rs,
//!         checkpoint.rs, view_change.rs, certs.rs); anything refused says why in a note
//! ```
//!
//! A replica never sends to itself: what it would multicast it also records or acts on
//! directly (its own prepare and commit count toward its quorums), so "messages from a replica
//! to itself need no signature check" holds trivially.
//!
//! Invariants (asserted): requests execute in seq order, each once per incarnation
//! (`last_executed` grows by one per Execute or Skipped); the low watermark moves only to a
//! stable checkpoint; the view never decreases.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use distributed_core::{Effects, NodeId, Protocol, SeededRng, Tick};

use crate::auth::{Digest, Keyring, Signer, Verifier};
use crate::config::{Config, ConfigError};
use crate::host::{self, Disk, Input, Output, Ready, StableCheckpoint, Write};
use crate::log::Log;
use crate::message::{
    Checkpoint, CheckpointCert, Message, NewView, PrePrepare, Progress, Request, Seq, View,
};
use crate::message::{ViewChange, KINDS};

/// A client request this replica knows of and has not executed.
#[derive(Clone, Debug)]
pub(crate) struct Waiting {
    /// The request.
    pub request: Request,
    /// Its digest, computed once.
    pub digest: Digest,
    /// At the primary: a seq was assigned to it in the current view.
    pub assigned: bool,
}

/// This replica's own snapshot at a checkpoint, until it is stable or collected.
#[derive(Clone, Debug)]
pub(crate) struct OwnCheckpoint {
    /// The digest it signed: `Checkpoint::digest_of(state, progress)`.
    pub digest: Digest,
    /// The host's snapshot.
    pub state: bytes::Bytes,
    /// The history digest and client table at that seq.
    pub progress: Progress,
}

/// A state transfer under way: the certificate whose state is fetched, and whom we asked.
#[derive(Clone, Debug)]
pub(crate) struct Fetch {
    /// The stable checkpoint whose state this replica lacks.
    pub cert: CheckpointCert,
    /// How many times it has asked (it asks the proof's signers in turn).
    pub attempts: usize,
    /// Ticks since it last asked.
    pub elapsed: Tick,
}

/// Counts for a run's summary: cheap enough to keep always.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages sent, by kind, in [`KINDS`](crate::KINDS) order.
    pub sent: [u64; 9],
    /// Messages received and dropped (bad signature, stale view, out of window, …).
    pub dropped: u64,
    /// View changes this replica started (sent a ViewChange for).
    pub view_changes: u64,
    /// New views this replica installed.
    pub new_views: u64,
    /// Requests executed (null requests not counted).
    pub executed: u64,
    /// States installed by state transfer.
    pub state_transfers: u64,
}

impl Counters {
    /// Sent messages of kind `name` (one of `KINDS`), 0 for an unknown name.
    pub fn sent_of(&self, name: &str) -> u64 {
        KINDS
            .iter()
            .position(|k| *k == name)
            .map_or(0, |i| self.sent[i])
    }
}

/// One PBFT replica as a deterministic, sans-IO state machine. Drive it through [`Protocol`]
/// and carry out each [`Ready`] as its docs say.
#[derive(Clone, Debug)]
pub struct Pbft {
    /// Bounds, timeouts, replicas, variant; validated once.
    pub(crate) config: Config,
    /// This replica's signing key: it can sign as itself only.
    pub(crate) signer: Signer,
    /// Checks everyone's signatures.
    pub(crate) verifier: Verifier,
    /// Injected randomness. PBFT draws none today (timeouts are fixed and doubled, §4.4);
    /// kept so the constructor has the workspace's shape and a jitter could be added.
    #[allow(dead_code)]
    pub(crate) rng: SeededRng,
    /// The current view (§4.1); persisted before any message of the view is sent.
    pub(crate) view: View,
    /// True from sending ViewChange for `view` until its NewView is installed (persisted).
    pub(crate) changing: bool,
    /// The slots above the low watermark.
    pub(crate) log: Log,
    /// The latest stable checkpoint: `h`, the low watermark, is `stable.cert.seq`.
    pub(crate) stable: StableCheckpoint,
    /// The last seq executed (or restored). Volatile: restarts at the stable checkpoint.
    pub(crate) last_executed: Seq,
    /// The running digest of the executed history (H(prev ‖ seq ‖ digest) per seq) and the
    /// client table (last timestamp executed per client: exactly-once, §4.1).
    pub(crate) progress: Progress,
    /// The progress at checkpoints executed and not yet answered by the host.
    pub(crate) due: BTreeMap<Seq, Progress>,
    /// This replica's snapshots at checkpoints above the stable one.
    pub(crate) own_checkpoints: BTreeMap<Seq, OwnCheckpoint>,
    /// Checkpoint messages received (and its own) above the stable checkpoint, by seq.
    pub(crate) checkpoints: BTreeMap<Seq, BTreeMap<NodeId, Checkpoint>>,
    /// A state transfer under way, if this replica is behind a stable checkpoint.
    pub(crate) fetch: Option<Fetch>,
    /// At the primary: the next seq to assign.
    pub(crate) next_seq: Seq,
    /// Requests known and not executed, in arrival order; bounded by `requests_pending_max`.
    pub(crate) waiting: VecDeque<Waiting>,
    /// Ticks the oldest waiting request has waited (a backup's timer, §4.4); None when idle.
    pub(crate) request_timer: Option<Tick>,
    /// Ticks since this replica sent its ViewChange for `view`.
    pub(crate) view_change_timer: Tick,
    /// View changes in a row without executing anything: the timeout is doubled this often.
    pub(crate) doublings: u32,
    /// ViewChange messages received (and its own) for views ≥ `view`, by view and sender.
    pub(crate) view_changes: BTreeMap<View, BTreeMap<NodeId, ViewChange>>,
    /// Ticks since the last retransmission round (retransmit.rs).
    pub(crate) retransmit_timer: Tick,
    /// Messages resent this round, rounds' resends and answers to duplicates together:
    /// bounded by `retransmits_per_round_max`.
    pub(crate) retransmitted: usize,
    /// (peer, seq) pairs whose duplicate this replica answered this round: one answer per
    /// pair per round, so two replicas answering each other's duplicates cannot ping-pong.
    pub(crate) answered: BTreeSet<(NodeId, Seq)>,
    /// The NewView this replica sent as primary of `view`, to resend to a backup whose
    /// ViewChange for `view` shows that it has not installed it. Volatile.
    pub(crate) new_view: Option<NewView>,
    /// The highest view each peer's pre-prepares, prepares and commits carried: f+1 of them
    /// above ours say the others run a view this replica missed (retransmit.rs).
    pub(crate) views_seen: BTreeMap<NodeId, View>,
    /// Peers known to hold the stable checkpoint: its proof's signers, and those whose
    /// matching Checkpoint came after it was stable. Volatile; the stable Checkpoint is
    /// resent to the others only (retransmit.rs).
    pub(crate) stable_holders: BTreeSet<NodeId>,
    /// Counts for a summary.
    pub(crate) counters: Counters,
}

impl Pbft {
    /// Start (or restart) from what the disk holds. Empty disk = a brand new replica.
    pub fn new(config: Config, disk: &Disk, rng: SeededRng) -> Result<Pbft, ConfigError> {
        config.validate()?;
        let keys = Keyring::new(config.key_seed);
        let h = disk.stable.cert.seq;
        if let Some((&seq, _)) = disk.log.iter().next().filter(|(&s, _)| s <= h) {
            return Err(ConfigError::new(format!(
                "disk: slot {seq} is at or below the stable checkpoint {h}"
            )));
        }
        let next_seq = disk
            .log
            .iter()
            .filter(|(_, d)| d.pre_prepare.as_ref().is_some_and(|p| p.view == disk.view))
            .map(|(&s, _)| s)
            .max()
            .unwrap_or(h)
            + 1;
        let mut node = Pbft {
            signer: keys.signer(config.id),
            verifier: keys.verifier(),
            config,
            rng,
            view: disk.view,
            changing: disk.view_changing,
            log: Log::from_disk(&disk.log),
            stable: disk.stable.clone(),
            last_executed: h,
            progress: disk.stable.progress.clone(),
            due: BTreeMap::new(),
            own_checkpoints: BTreeMap::new(),
            checkpoints: BTreeMap::new(),
            fetch: None,
            next_seq,
            waiting: VecDeque::new(),
            request_timer: None,
            view_change_timer: 0,
            doublings: 0,
            view_changes: BTreeMap::new(),
            retransmit_timer: 0,
            retransmitted: 0,
            answered: BTreeSet::new(),
            new_view: None,
            views_seen: BTreeMap::new(),
            stable_holders: disk
                .stable
                .cert
                .proof
                .iter()
                .map(|c| c.sig.signer)
                .collect(),
            counters: Counters::default(),
        };
        node.restore_view_change();
        Ok(node)
    }

    /// This replica's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }
    /// The current view.
    pub fn view(&self) -> View {
        self.view
    }
    /// The primary of the current view.
    pub fn primary(&self) -> NodeId {
        self.config.primary(self.view)
    }
    /// Is this replica the primary of its current view (and not changing views)?
    pub fn is_primary(&self) -> bool {
        self.primary() == self.config.id && !self.changing
    }
    /// True from sending a ViewChange until the new view is installed.
    pub fn is_view_changing(&self) -> bool {
        self.changing
    }
    /// f, the number of Byzantine replicas tolerated.
    pub fn f(&self) -> usize {
        self.config.f()
    }
    /// The last seq executed (or restored by state transfer).
    pub fn last_executed(&self) -> Seq {
        self.last_executed
    }
    /// h, the low watermark: the stable checkpoint's seq.
    pub fn low_watermark(&self) -> Seq {
        self.stable.cert.seq
    }
    /// The latest stable checkpoint's certificate.
    pub fn stable_checkpoint(&self) -> &CheckpointCert {
        &self.stable.cert
    }
    /// The state held at the stable checkpoint.
    pub fn stable_state(&self) -> &bytes::Bytes {
        &self.stable.state
    }
    /// The pre-prepare (digest and request; `request == None` for a null request) that
    /// committed at `seq` here, for seqs still in the log (above the low watermark).
    pub fn committed(&self, seq: Seq) -> Option<&PrePrepare> {
        self.log.get(seq)?.committed.as_ref()
    }
    /// The running digest of the executed history through `last_executed()`:
    /// H(H(…) ‖ seq ‖ digest) per seq, a null request's digest being `Digest::NULL`. Two
    /// honest replicas at the same `last_executed` have the same history digest.
    pub fn history(&self) -> Digest {
        self.progress.history
    }
    /// The timestamp of `client`'s last executed request, if the client table holds it.
    pub fn last_timestamp(&self, client: u64) -> Option<u64> {
        self.progress.clients.get(&client).copied()
    }
    /// How many slots the log holds (for checking garbage collection).
    pub fn log_len(&self) -> usize {
        self.log.len()
    }
    /// The lowest seq the log holds, if any.
    pub fn log_first_seq(&self) -> Option<Seq> {
        self.log.first_seq()
    }
    /// Client requests waiting here (queued at a primary, watched by a backup).
    pub fn pending_requests(&self) -> usize {
        self.waiting.len()
    }
    /// Counts for a summary.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// This replica's signing key: what a Byzantine wrapper around it may sign with.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }
    /// A verifier for everyone's signatures.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Send `msg` to every other replica.
    pub(crate) fn multicast(&mut self, msg: Message, out: &mut Ready) {
        let me = self.config.id;
        let others = self.config.n() as u64 - 1;
        self.counters.sent[msg.kind()] += others;
        for k in 0..self.config.n() {
            let to = self.config.replicas[k];
            if to != me {
                out.send(me, to, msg.clone());
            }
        }
    }

    /// Send `msg` to one replica.
    pub(crate) fn send(&mut self, to: NodeId, msg: Message, out: &mut Ready) {
        self.counters.sent[msg.kind()] += 1;
        out.send(self.config.id, to, msg);
    }

    /// Queue the view and status as a durable write.
    pub(crate) fn save_view(&mut self, out: &mut Ready) {
        out.writes.push(Write::View {
            view: self.view,
            changing: self.changing,
        });
    }

    /// Drop a message, counting it; `why` is already in a note.
    pub(crate) fn drop_msg(&mut self) {
        self.counters.dropped += 1;
    }

    /// Authenticate, then dispatch (see the module docs).
    fn authenticate(&mut self, from: NodeId, msg: &Message, out: &mut Ready) -> bool {
        let why = if !self.config.replicas.contains(&from) {
            "not a replica"
        } else if from == self.config.id {
            "from this replica itself"
        } else if msg.signer().is_some_and(|s| s != from) {
            "signed by another replica than the sender"
        } else if !msg.verify(&self.verifier) {
            "bad signature"
        } else {
            return true;
        };
        out.note(format_args!("dropped {msg} from {from}: {why}"));
        self.drop_msg();
        false
    }
}

impl Protocol for Pbft {
    type Message = Message;
    type Input = Input;
    type Output = Output;
    type Write = Write;
    type Disk = Disk;

    fn id(&self) -> NodeId {
        self.config.id
    }

    fn step(&mut self, from: NodeId, msg: Message, out: &mut Effects<Self>) {
        if !self.authenticate(from, &msg, out) {
            return;
        }
        match msg {
            Message::Request(m) => self.on_request(from, m, out),
            Message::PrePrepare(m) => self.on_pre_prepare(from, m, out),
            Message::Prepare(m) => self.on_prepare(from, m, out),
            Message::Commit(m) => self.on_commit(from, m, out),
            Message::Checkpoint(m) => self.on_checkpoint(from, m, out),
            Message::FetchState(m) => self.on_fetch_state(from, m, out),
            Message::StateTransfer(m) => self.on_state_transfer(from, m, out),
            Message::ViewChange(m) => self.on_view_change(from, m, out),
            Message::NewView(m) => self.on_new_view(from, m, out),
        }
        self.execute_committed(out);
    }

    fn tick(&mut self, out: &mut Effects<Self>) {
        self.execute_committed(out); // after a restart: re-deliver what the disk holds
        self.tick_timers(out);
        self.tick_fetch(out);
        self.tick_retransmit(out);
    }

    fn input(&mut self, input: Input, out: &mut Effects<Self>) {
        match input {
            Input::Request(r) => self.on_client_request(r, out),
            Input::Checkpoint { seq, state } => self.on_host_checkpoint(seq, state, out),
        }
        self.execute_committed(out);
    }

    fn persist(disk: &mut Disk, write: &Write) {
        host::persist(disk, write);
    }
}
