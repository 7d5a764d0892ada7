//! One simulated PBFT node: an honest replica, or a Byzantine one.
//!
//! ```text
//!   Simulation<PbftNode>: every slot holds one of
//!     Honest(OrderedReplica<Pbft>)     the code under test, untouched
//!     Byzantine(Adversary)             adversary.rs: a strategy around an honest replica
//! ```
//!
//! One type for both because the simulator runs one protocol type; the messages, writes and
//! disks are PBFT's either way, so the network and the disks cannot tell them apart. The
//! invariants and replica agreement look only at honest nodes ([`KvNode::is_honest`]).

use distributed_core::{Effects, NodeId, Protocol};
use kv::Request;
use pbft::{Disk, Message, Pbft, Write};
use replica::ordered::{Input, OrderedReplica};
use replica::Output;

use super::adversary::{Adversary, Replica};
use crate::raft_kv::KvNode;

/// A PBFT node in a simulation: honest, or handed to an adversary. The honest replica is
/// not boxed on purpose: it is nearly every node and every event, and the box would cost an
/// indirection on the hot path to save memory only in the few Byzantine slots.
#[allow(clippy::large_enum_variant)]
pub enum PbftNode {
    /// The correct replica.
    Honest(Replica),
    /// A replica whose messages a strategy rewrites.
    Byzantine(Box<Adversary>),
}

impl PbftNode {
    /// The replica (for a Byzantine node, the honest one inside, whose state means nothing).
    pub fn replica(&self) -> &Replica {
        match self {
            PbftNode::Honest(r) => r,
            PbftNode::Byzantine(a) => a.inner(),
        }
    }
}

impl Protocol for PbftNode {
    type Message = Message;
    type Input = Input;
    type Output = Output;
    type Write = Write;
    type Disk = Disk;

    fn id(&self) -> NodeId {
        self.replica().core().id()
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

    fn input(&mut self, input: Input, out: &mut Effects<Self>) {
        match self {
            PbftNode::Honest(r) => forward(out, |o| r.input(input, o)),
            PbftNode::Byzantine(a) => a.input(input, out),
        }
    }

    fn persist(disk: &mut Disk, write: &Write) {
        <Pbft as Protocol>::persist(disk, write);
    }
}

/// Run an honest replica's call into a buffer of its own type, then move everything to `out`
/// unchanged (the two `Effects` types differ only in name: same writes, messages, outputs).
fn forward(out: &mut Effects<PbftNode>, call: impl FnOnce(&mut Effects<Replica>)) {
    let mut inner: Effects<Replica> = Effects::new();
    inner.notes.set_on(out.notes.is_on());
    call(&mut inner);
    out.writes.append(&mut inner.writes);
    out.messages.append(&mut inner.messages);
    out.outputs.append(&mut inner.outputs);
    out.notes.append(&mut inner.notes);
}

impl KvNode for PbftNode {
    fn request(tag: u64, request: Request, random_seed: u64) -> Input {
        OrderedReplica::<Pbft>::request(tag, request, random_seed)
    }

    fn machine(&self) -> &kv::StateMachine {
        self.replica().machine()
    }

    fn is_honest(&self) -> bool {
        matches!(self, PbftNode::Honest(_))
    }
}
