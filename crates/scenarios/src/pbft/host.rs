//! The bare host: what a PBFT replica needs around its core and nothing more, the small
//! cousin of `replica::ordered::OrderedReplica` (whose `flow.rs` does the same duties for the
//! KV store).
//!
//! ```text
//!   input(Request) ── the client's last executed request? ──► Cached{reply} (§4.1), no more
//!                  └─ else ──► core.input(Input::Request) ─┐
//!   step / tick ─────────────► core.step / core.tick ──────┤
//!                                                           ▼
//!   absorb: the core's writes, messages, notes ──► out, unchanged and in order
//!           its outputs, in order, each acted on, then passed on as Core(output):
//!             Execute{seq, request}     ──► tally.execute   (the reply to the client)
//!             Skipped{seq}              ──► tally.skip
//!             CheckpointDue{seq}        ──► core.input(Checkpoint{seq, tally.snapshot()}),
//!                                           in the same call, before anything else
//!             RestoreState{seq, state}  ──► tally = decode(state)   (a state transfer)
//!           again while the checkpoint's input brought new outputs (bounded rounds)
//! ```
//!
//! Order (the pbft crate's "For hosts"): every output before a `CheckpointDue` is applied
//! before the snapshot, so the snapshot is the state at exactly that seq, asserted. All
//! writes of a call still precede all its messages, and the outputs come last: the host
//! contract, persist → send → deliver, holds for the whole call.
//!
//! Restart: the tally is rebuilt from the disk's stable checkpoint state, then the core
//! re-delivers `Execute` for every committed seq after it (pbft host.rs).

use std::fmt;

use distributed_core::{Effects, NodeId, Protocol};
use pbft::{Digest, Disk, Message, Pbft, Request, Seq, View, Write};

use super::node::PbftHost;
use super::tally::Tally;

/// How many rounds of core outputs one call may chain (a checkpoint's input may bring more
/// outputs): a bound, not an expected depth.
const ABSORB_ROUNDS_MAX: usize = 64;

/// A reply a client can count: this replica executed `client`'s request at `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Where it executed.
    pub seq: Seq,
    /// The view the replica names (the client learns the primary from it).
    pub view: View,
    /// Whose request.
    pub client: u64,
    /// Which of that client's requests.
    pub timestamp: u64,
    /// The request's digest.
    pub digest: Digest,
}

/// What a bare replica tells its host: the core's outputs, and cached replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// The core's output, after the host acted on it. `Execute` is also the reply.
    Core(pbft::Output),
    /// A retransmitted request this replica executed already: its reply again (§4.1).
    Cached(Reply),
}

impl Output {
    /// The reply this output is to a client, if it is one.
    pub fn reply(&self) -> Option<Reply> {
        match self {
            Output::Core(pbft::Output::Execute { seq, view, request }) => Some(Reply {
                seq: *seq,
                view: *view,
                client: request.client,
                timestamp: request.timestamp,
                digest: request.digest(),
            }),
            Output::Cached(r) => Some(*r),
            Output::Core(_) => None,
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Core(o) => o.fmt(f),
            Output::Cached(r) => write!(
                f,
                "Cached{{seq={} view={} client={} ts={} digest={}}}",
                r.seq, r.view, r.client, r.timestamp, r.digest
            ),
        }
    }
}

/// One PBFT replica and its tally (see the module docs).
pub struct BareReplica {
    /// The protocol. Everything durable is its `Disk`.
    core: Pbft,
    /// The state machine: rebuilt from the disk's stable checkpoint on restart.
    tally: Tally,
    /// The core's effects of this call, before the host acts on them; empty between calls.
    scratch: Effects<Pbft>,
}

impl BareReplica {
    /// Start (or restart) on `core`, built by the caller from `disk`: the tally starts from
    /// the disk's stable checkpoint, or empty.
    pub fn new(core: Pbft, disk: &Disk) -> Result<BareReplica, String> {
        let stable = disk.stable.cert.seq;
        let tally = match stable {
            0 => Tally::default(),
            _ => Tally::decode(&disk.stable.state)?,
        };
        if tally.seq() != stable {
            return Err(format!(
                "the stable checkpoint at {stable} holds a tally at {}",
                tally.seq()
            ));
        }
        Ok(BareReplica {
            core,
            tally,
            scratch: Effects::new(),
        })
    }

    /// The state machine.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Move the core's effects of this call to `out`, acting on each output (module docs).
    fn absorb(&mut self, out: &mut Effects<BareReplica>) {
        for round in 0.. {
            assert!(
                round < ABSORB_ROUNDS_MAX,
                "the core kept asking for checkpoints"
            );
            out.writes.append(&mut self.scratch.writes);
            out.messages.append(&mut self.scratch.messages);
            out.notes.append(&mut self.scratch.notes);
            if self.scratch.outputs.is_empty() {
                return;
            }
            for output in std::mem::take(&mut self.scratch.outputs) {
                self.apply(&output);
                out.outputs.push(Output::Core(output));
            }
        }
    }

    fn apply(&mut self, output: &pbft::Output) {
        let id = self.core.id();
        match output {
            pbft::Output::Execute { seq, request, .. } => self.tally.execute(*seq, request),
            pbft::Output::Skipped { seq } => self.tally.skip(*seq),
            pbft::Output::CheckpointDue { seq } => {
                assert_eq!(
                    *seq,
                    self.tally.seq(),
                    "{id}: a checkpoint of the applied state"
                );
                let state = self.tally.snapshot();
                let input = pbft::Input::Checkpoint { seq: *seq, state };
                self.core.input(input, &mut self.scratch);
            }
            pbft::Output::RestoreState { seq, state } => {
                // The core checked it against a certificate of 2f+1 signed checkpoints: some
                // honest replica produced these bytes, so failing to decode is a bug.
                self.tally = Tally::decode(state)
                    .unwrap_or_else(|e| panic!("{id}: the state at {seq} does not restore: {e}"));
                assert_eq!(self.tally.seq(), *seq, "{id}: a state at its own seq");
            }
        }
    }
}

impl Protocol for BareReplica {
    type Message = Message;
    type Input = Request;
    type Output = Output;
    type Write = Write;
    type Disk = Disk;

    fn id(&self) -> NodeId {
        self.core.id()
    }

    fn step(&mut self, from: NodeId, msg: Message, out: &mut Effects<Self>) {
        self.scratch.notes.set_on(out.notes.is_on());
        self.core.step(from, msg, &mut self.scratch);
        self.absorb(out);
    }

    fn tick(&mut self, out: &mut Effects<Self>) {
        self.scratch.notes.set_on(out.notes.is_on());
        self.core.tick(&mut self.scratch);
        self.absorb(out);
    }

    fn input(&mut self, request: Request, out: &mut Effects<Self>) {
        if let Some(cached) = self.tally.cached(&request) {
            out.outputs.push(Output::Cached(Reply {
                seq: cached.seq,
                view: self.core.view(),
                client: request.client,
                timestamp: request.timestamp,
                digest: cached.digest,
            }));
            return;
        }
        self.scratch.notes.set_on(out.notes.is_on());
        self.core
            .input(pbft::Input::Request(request), &mut self.scratch);
        self.absorb(out);
    }

    fn persist(disk: &mut Disk, write: &Write) {
        <Pbft as Protocol>::persist(disk, write);
    }
}

impl PbftHost for BareReplica {
    fn core(&self) -> &Pbft {
        &self.core
    }

    /// The liar says it executed the request one seq later than it did: f such replies
    /// agree with each other and with no honest one, so they never make f+1.
    fn lie(output: Output) -> Output {
        match output {
            Output::Core(pbft::Output::Execute { seq, view, request }) => {
                Output::Core(pbft::Output::Execute {
                    seq: seq + 1,
                    view,
                    request,
                })
            }
            Output::Cached(r) => Output::Cached(Reply {
                seq: r.seq + 1,
                ..r
            }),
            o => o,
        }
    }
}
