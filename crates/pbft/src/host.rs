//! What a PBFT replica asks of its host: durable writes and the disk they build, inputs and
//! outputs, and [`Effects`] with the host's contract on it.
//!
//! ```text
//!   Input::Request ──► Pbft ──► Effects { writes:   [Accept(PrePrepare{..})]     1. persist
//!                                        messages: [n1→n2 PrePrepare{..}, …]    2. send
//!                                        outputs:  [Execute{seq view request}]  3. deliver
//!   outputs: CheckpointDue{seq} ──► host snapshots its state machine at seq and answers,
//!            at once, with Input::Checkpoint{seq, state}
//!            RestoreState{seq, state} ──► host replaces its state machine (state transfer)
//! ```
//!
//! Durable state (why each piece): the `view` and whether a view change is under way (a
//! replica that sent ViewChange for v+1 must not go back to preparing in v); each slot's
//! accepted pre-prepare (never prepare two digests at one (view, seq)); its prepared
//! certificate (a view change must carry what this replica prepared, or a committed request
//! could be lost, §4.4); its committed pre-prepare (to re-execute after a restart); and the
//! stable checkpoint with its state. Writes precede sends: a restarted replica never sends a
//! message that contradicts one it sent before the crash.
//!
//! Exactly-once: the replica keeps each client's last executed timestamp (the client table,
//! certified with every checkpoint), refuses older requests and skips a duplicate at
//! execution; the host still answers a retransmitted request from its own reply cache.
//!
//! Restart: the host rebuilds its state machine from `Disk::stable.state`, then builds the
//! replica with `Pbft::new(config, &disk, rng)`; the replica re-delivers `Execute` from the
//! stable checkpoint on, for every seq its disk holds as committed, at its first event.

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;

use crate::auth::Digest;
use crate::message::{CheckpointCert, PrePrepare, PreparedCert, Progress, Request, Seq, View};
use crate::node::Pbft;

/// A stable checkpoint as a replica keeps it: the certificate, the state, and the progress
/// (history digest, client table) up to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StableCheckpoint {
    /// The certificate: seq, digest, 2f+1 signed checkpoints (empty at seq 0).
    pub cert: CheckpointCert,
    /// The state machine's snapshot at `cert.seq`, in the host's format.
    pub state: Bytes,
    /// The history digest and client table at `cert.seq`.
    pub progress: Progress,
}

/// What a replica keeps durably about one sequence number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DurableSlot {
    /// The pre-prepare accepted (or, at the primary, sent) in the latest view.
    pub pre_prepare: Option<PrePrepare>,
    /// The highest-view prepared certificate: carried by every later view change.
    pub prepared: Option<PreparedCert>,
    /// The pre-prepare that committed here (the request to execute).
    pub committed: Option<PrePrepare>,
}

/// A replica's disk as the host stores it. An empty (default) disk is a brand new replica.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The current view.
    pub view: View,
    /// True once this replica sent ViewChange for `view` and has not seen its NewView.
    pub view_changing: bool,
    /// The latest stable checkpoint (seq 0: the initial state).
    pub stable: StableCheckpoint,
    /// Slots above the stable checkpoint.
    pub log: BTreeMap<Seq, DurableSlot>,
}

/// One durable write; the host completes every write before sending the effects' messages.
#[derive(Clone, Debug)]
pub enum Write {
    /// Replace the stored view and view-change status.
    View {
        /// The view.
        view: View,
        /// A view change to `view` is under way.
        changing: bool,
    },
    /// Store the pre-prepare accepted for its seq, replacing an older view's.
    Accept(PrePrepare),
    /// Store a prepared certificate for its seq, replacing a lower view's.
    Prepared(PreparedCert),
    /// The request at this pre-prepare's seq committed here.
    Committed(PrePrepare),
    /// A new stable checkpoint: store it and drop every slot at or below its seq.
    Stable(StableCheckpoint),
}

/// A request from a client or the host.
#[derive(Clone, Debug)]
pub enum Input {
    /// A client's request, sent to this replica (§4.1: to the primary, or to all after a
    /// timeout). A backup forwards it to the primary and watches it with its request timer.
    Request(Request),
    /// The host's answer to `Output::CheckpointDue{seq}`: its state machine's snapshot at seq.
    /// Deterministic state machines give honest replicas identical bytes.
    Checkpoint {
        /// The seq of the `CheckpointDue` answered.
        seq: Seq,
        /// The snapshot, in the host's format.
        state: Bytes,
    },
}

/// What a replica tells its host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Execute `request` (apply its op; reply to the client, which waits for f+1 matching
    /// replies). Delivered in seq order, each seq once per incarnation.
    Execute {
        /// Its sequence number.
        seq: Seq,
        /// The view it committed in (the reply carries it, so the client learns the primary).
        view: View,
        /// The request.
        request: Request,
    },
    /// Nothing to apply at this seq: a null request a new primary filled a gap with (§4.4), or
    /// a duplicate of a request its client's timestamp shows executed already (§4.1: a faulty
    /// primary may order one request twice). The seq counts (a checkpoint may fall on it).
    Skipped {
        /// Its sequence number.
        seq: Seq,
    },
    /// The host must snapshot its state machine now (every output before this one applied)
    /// and answer with `Input::Checkpoint{seq, state}`.
    CheckpointDue {
        /// The seq just executed, a multiple of `checkpoint_interval`.
        seq: Seq,
    },
    /// Replace the whole state machine with `state` (a state transfer, verified against a
    /// stable checkpoint's certificate); the next `Execute` is `seq + 1`.
    RestoreState {
        /// The checkpoint's seq.
        seq: Seq,
        /// The state.
        state: Bytes,
    },
}

/// The effects of one call into a replica, and the host's contract for carrying them out.
///
/// After each `step`, `tick` or `input`, the host must, **in this order**:
///
/// 1. **Persist** every write, in order, durably (`<Pbft as Protocol>::persist` on the
///    replica's [`Disk`], or the equivalent on real storage). An accepted pre-prepare, a
///    prepared certificate, a new view are promises the messages below announce.
/// 2. **Send** every message. Loss, delay, duplication and reordering are PBFT's to handle.
/// 3. **Deliver** every output in order: apply `Execute`, skip `Skipped`, replace the state
///    on `RestoreState`, and answer `CheckpointDue{seq}` with `Input::Checkpoint{seq, state}`
///    (the state as it stands at that point of the output sequence).
/// 4. **Advance**: `clear()` and feed the next event.
///
/// ```
/// use std::collections::VecDeque;
/// use distributed_core::{Envelope, NodeId, Protocol, SeededRng};
/// use pbft::{Config, Disk, Input, Message, Output, Pbft, Ready, Request};
///
/// let ids: Vec<NodeId> = (1..=4).map(NodeId).collect();
/// let mut disks = vec![Disk::default(); 4];
/// let mut nodes: Vec<Pbft> = ids
///     .iter()
///     .map(|&id| Pbft::new(Config::new(id, ids.clone(), 7), &Disk::default(), SeededRng::new(id.0)))
///     .collect::<Result<_, _>>()
///     .expect("valid config");
/// let mut network: VecDeque<Envelope<Message>> = VecDeque::new();
/// let mut applied: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 4];
/// let mut ready = Ready::new();
///
/// let mut carry_out = |i: usize, ready: &mut Ready, network: &mut VecDeque<_>| {
///     for write in &ready.writes {
///         <Pbft as Protocol>::persist(&mut disks[i], write); // 1. persist
///     }
///     network.extend(ready.messages.drain(..)); //              2. send
///     for output in ready.outputs.drain(..) {
///         if let Output::Execute { request, .. } = output {
///             applied[i].push(request.op.to_vec()); //          3. deliver
///         } // (a real host also answers CheckpointDue with Input::Checkpoint)
///     }
///     ready.clear(); //                                         4. advance
/// };
///
/// // A client sends to the primary of view 0, n1.
/// nodes[0].input(Input::Request(Request::new(1, 1, b"x=1".to_vec())), &mut ready);
/// carry_out(0, &mut ready, &mut network);
/// while let Some(env) = network.pop_front() {
///     let i = (env.to.0 - 1) as usize;
///     nodes[i].step(env.from, env.msg, &mut ready);
///     carry_out(i, &mut ready, &mut network);
/// }
/// for i in 0..4 {
///     assert_eq!(applied[i], vec![b"x=1".to_vec()], "replica {} executed it", i + 1);
/// }
/// ```
pub type Ready = distributed_core::Effects<Pbft>;

/// Apply one write to a disk image: the meaning of "persist". A slot write at or below the
/// stable checkpoint is dropped: that seq is collected (the replica never asks for one).
pub(crate) fn persist(disk: &mut Disk, write: &Write) {
    let seq = match write {
        Write::Accept(pp) | Write::Committed(pp) => pp.seq,
        Write::Prepared(cert) => cert.seq(),
        Write::View { .. } | Write::Stable(_) => u64::MAX,
    };
    if seq <= disk.stable.cert.seq {
        return;
    }
    match write {
        Write::View { view, changing } => {
            assert!(*view >= disk.view, "the durable view never goes back");
            disk.view = *view;
            disk.view_changing = *changing;
        }
        Write::Accept(pp) => {
            disk.log.entry(pp.seq).or_default().pre_prepare = Some(pp.clone());
        }
        Write::Prepared(cert) => {
            disk.log.entry(cert.seq()).or_default().prepared = Some(cert.clone());
        }
        Write::Committed(pp) => {
            disk.log.entry(pp.seq).or_default().committed = Some(pp.clone());
        }
        Write::Stable(stable) => {
            assert!(
                stable.cert.seq > disk.stable.cert.seq,
                "a stable checkpoint only moves forward"
            );
            disk.stable = stable.clone();
            disk.log = disk.log.split_off(&(stable.cert.seq + 1));
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Request(r) => r.fmt(f),
            Input::Checkpoint { seq, state } => {
                write!(f, "Checkpoint{{seq={seq} bytes={}}}", state.len())
            }
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Execute { seq, view, request } => write!(
                f,
                "Execute{{seq={seq} view={view} client={} ts={} digest={}}}",
                request.client,
                request.timestamp,
                request.digest()
            ),
            Output::Skipped { seq } => write!(f, "Skipped{{seq={seq}}}"),
            Output::CheckpointDue { seq } => write!(f, "CheckpointDue{{seq={seq}}}"),
            Output::RestoreState { seq, state } => write!(
                f,
                "RestoreState{{seq={seq} bytes={} digest={}}}",
                state.len(),
                Digest::of_bytes(state)
            ),
        }
    }
}

impl fmt::Display for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::View { view, changing } => {
                let status = if *changing { "changing" } else { "normal" };
                write!(f, "View{{view={view} {status}}}")
            }
            Write::Accept(pp) => write!(f, "Accept{{{pp}}}"),
            Write::Prepared(c) => write!(
                f,
                "Prepared{{view={} seq={} digest={} prepares={}}}",
                c.view(),
                c.seq(),
                c.digest(),
                c.prepares.len()
            ),
            Write::Committed(pp) => write!(
                f,
                "Committed{{view={} seq={} digest={}}}",
                pp.view, pp.seq, pp.digest
            ),
            Write::Stable(s) => write!(
                f,
                "Stable{{seq={} digest={} proof={}}}",
                s.cert.seq,
                s.cert.digest,
                s.cert.proof.len()
            ),
        }
    }
}
