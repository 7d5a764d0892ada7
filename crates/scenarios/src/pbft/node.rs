//! One simulated PBFT node: an honest host around a `pbft::Pbft`, or a Byzantine one; and the
//! seam that lets one adversary wrap any host.
//!
//! ```text
//!   Simulation<PbftNode<R>>: every slot holds one of
//!     Honest(R)                  the code under test, untouched
//!     Byzantine(Adversary<R>)    adversary.rs: a strategy around an honest R
//!
//!   R: PbftHost          a Protocol with PBFT's Message, Write and Disk, that
//!     core() ──► &Pbft   exposes its core (the invariants read only that), and
//!     lie(output)        turns one of its answers to a client into a wrong one
//!
//!   R = BareReplica              pbft/ (host.rs): the core and a tally of executed ops
//!   R = OrderedReplica<Pbft>     pbft_kv/: the core and the kv machine
//! ```
//!
//! One type for both because the simulator runs one protocol type; the messages, writes and
//! disks are PBFT's either way, so the network and the disks cannot tell them apart. The
//! invariants look only at honest nodes ([`PbftNode::is_honest`]).
//!
//! Why a trait over the host and not one adversary per store: what a Byzantine replica does
//! to the protocol (equivocate, replay, flood, lie in a view change, split into twins) is the
//! same whatever sits on top; only its lie to a client depends on what an answer is.
//! The road not taken: an adversary over the bare core alone, with the host outside it. A
//! host's duties (answering `CheckpointDue` at once) would then run twice, once per twin.
//!
//! [`build`] picks honest or Byzantine for one slot, drawing from the node's RNG in a fixed
//! order, so pbft and pbft-kv seeds replay exactly through restarts.

use std::collections::BTreeSet;

use distributed_core::{Effects, NodeId, Protocol, Rng, SeededRng};
use pbft::{Disk, Message, Pbft, Write};

use super::adversary::{Adversary, Strategy};

/// An honest PBFT host a [`PbftNode`] can hold and an [`Adversary`] can wrap.
pub trait PbftHost: Protocol<Message = Message, Write = Write, Disk = Disk> {
    /// The PBFT core inside: what the invariants and the adversary read.
    fn core(&self) -> &Pbft;

    /// A Byzantine replica's version of `output` for a client: a wrong answer where the
    /// output is one, anything else unchanged. A client's f+1 matching answers are what
    /// makes this harmless.
    fn lie(output: Self::Output) -> Self::Output;
}

/// A PBFT node in a simulation: honest, or handed to an adversary. The honest host is not
/// boxed on purpose: it is nearly every node and every event, and the box would cost an
/// indirection on the hot path to save memory only in the few Byzantine slots.
#[allow(clippy::large_enum_variant)]
pub enum PbftNode<R: PbftHost> {
    /// The correct host.
    Honest(R),
    /// A host whose messages and answers a strategy rewrites.
    Byzantine(Box<Adversary<R>>),
}

impl<R: PbftHost> PbftNode<R> {
    /// The host (for a Byzantine node, the honest one inside, whose state means nothing).
    pub fn replica(&self) -> &R {
        match self {
            PbftNode::Honest(r) => r,
            PbftNode::Byzantine(a) => a.inner(),
        }
    }

    /// The PBFT core of [`replica`](PbftNode::replica).
    pub fn core(&self) -> &Pbft {
        self.replica().core()
    }

    /// False for a node handed to an adversary: no check trusts its state.
    pub fn is_honest(&self) -> bool {
        matches!(self, PbftNode::Honest(_))
    }
}

impl<R: PbftHost> Protocol for PbftNode<R> {
    type Message = Message;
    type Input = R::Input;
    type Output = R::Output;
    type Write = Write;
    type Disk = Disk;

    fn id(&self) -> NodeId {
        self.core().id()
    }

    fn step(&mut self, from: NodeId, msg: Message, out: &mut Effects<Self>) {
        match self {
            PbftNode::Honest(r) => forward(out, |o| r.step(from, msg, o)),
            PbftNode::Byzantine(a) => a.step(from, msg, out),
        }
    }

    fn tick(&mut self, out: &mut Effects<Self>) {
        match self {
            PbftNode::Honest(r) => forward(out, |o| r.tick(o)),
            PbftNode::Byzantine(a) => a.tick(out),
        }
    }

    fn input(&mut self, input: R::Input, out: &mut Effects<Self>) {
        match self {
            PbftNode::Honest(r) => forward(out, |o| r.input(input, o)),
            PbftNode::Byzantine(a) => a.input(input, out),
        }
    }

    fn persist(disk: &mut Disk, write: &Write) {
        <Pbft as Protocol>::persist(disk, write);
    }
}

/// Run an honest host's call into a buffer of its own type, then move everything to `out`
/// unchanged (the two `Effects` types differ only in name: same writes, messages, outputs).
fn forward<R: PbftHost>(out: &mut Effects<PbftNode<R>>, call: impl FnOnce(&mut Effects<R>)) {
    let mut inner: Effects<R> = Effects::new();
    inner.notes.set_on(out.notes.is_on());
    call(&mut inner);
    out.writes.append(&mut inner.writes);
    out.messages.append(&mut inner.messages);
    out.outputs.append(&mut inner.outputs);
    out.notes.append(&mut inner.notes);
}

/// Which of `nodes` replicas are Byzantine in `seed`'s run (`byzantine` of them, in a row from
/// a seed-chosen first one), and what they play (`strategy`, or one chosen by the seed). A
/// hash of the seed, not the simulation's RNG, so the choice shifts none of the run's other
/// draws; the primary of view 0 is among them in about B/n of the seeds.
pub fn adversaries(
    seed: u64,
    nodes: usize,
    byzantine: usize,
    strategy: Option<Strategy>,
) -> (BTreeSet<NodeId>, Strategy) {
    let n = nodes as u64;
    let h = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let first = (h >> 32) % n;
    let ids = (0..byzantine as u64)
        .map(|k| NodeId((first + k) % n + 1))
        .collect();
    let pick = (h >> 8) as usize % Strategy::ALL.len();
    (ids, strategy.unwrap_or(Strategy::ALL[pick]))
}

/// Build slot `id` of a run of `nodes` replicas: honest unless `id` is in `byzantine`, then an
/// adversary playing `strategy` around `host(rng)` (and a twin, for Twins). `host` builds an
/// honest host from the slot's disk with the RNG it is given.
pub fn build<R: PbftHost>(
    id: NodeId,
    nodes: usize,
    (byzantine, strategy): (BTreeSet<NodeId>, Strategy),
    rng: SeededRng,
    host: impl Fn(SeededRng) -> R,
) -> PbftNode<R> {
    if !byzantine.contains(&id) {
        return PbftNode::Honest(host(rng));
    }
    let mut rng = rng;
    let own = SeededRng::new(rng.next_u64());
    let honest: Vec<NodeId> = (1..=nodes as u64)
        .map(NodeId)
        .filter(|n| !byzantine.contains(n))
        .collect();
    let side_a: BTreeSet<NodeId> = honest[..honest.len() / 2].iter().copied().collect();
    let twin = (strategy == Strategy::Twins).then(|| host(SeededRng::new(rng.next_u64())));
    let adversary = Adversary::new(strategy, host(rng), twin, side_a, byzantine, own);
    PbftNode::Byzantine(Box::new(adversary))
}
