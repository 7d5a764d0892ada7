//! What a replication scheme tells the register harness: the one trait every scheme of
//! `crates/replication` implements once, so the same clients, faults and checkers run on all.
//!
//! ```text
//!   RegisterScheme
//!   ├── Node: Protocol<Input = ClientRequest, Output = ClientReply>
//!   ├── name, variant                      `chain`, `ack-at-head`: summaries and replays
//!   ├── nodes, build(seed, id, disk, rng)  the whole cluster, masters included
//!   ├── contacts, first_contact(kind)      where clients may go, where puts and gets go first
//!   ├── refused_put_is_void                may a client retry a put answered Unavailable?
//!   ├── invariants()                       safety properties checked after every event
//!   ├── leader(view)                       whom leader-aimed faults aim at, if anyone
//!   ├── message_size()                     bytes per message, for the summary, if sized
//!   ├── final_states(view)                 each replica's registers after the calm
//!   └── promises()                         the consistency models a violation of fails
//! ```
//!
//! Promised versus reported: every history is judged against every model (`models.rs`). A
//! violation of a model the scheme promises is a failure (the seed fails, the CLI exits 1);
//! one of a model it does not promise is the map's finding, counted and shown, never a
//! failure. A broken variant promises what its correct scheme promises: the point is to see
//! the promise broken.
//!
//! Invariant: a scheme is plain data (`Clone + Send + Sync`), so a seed range shares one
//! across worker threads and every node it builds is a pure function of its arguments.

use std::fmt;

use distributed_core::{NodeId, Protocol, SeededRng};
use replication::{ClientReply, ClientRequest, Key, Value};
use sim::hooks::Invariant;
use sim::view::ClusterView;

use super::models::Model;

/// A message sizer for a scheme's node type: bytes on the wire (`WireSize::wire_bytes`).
pub type MessageSize<N> = fn(&<N as Protocol>::Message) -> usize;

/// What a client asks, as far as where to send it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// A write.
    Put,
    /// A read.
    Get,
}

/// Where a client sends a request before any redirect taught it better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contact {
    /// This node (a chain's head for puts, its tail for gets; a primary).
    Fixed(NodeId),
    /// Any contact, drawn at random per request (CRAQ reads, Dynamo coordinators).
    Any,
    /// The client's own contact: client i talks to contact i mod (contacts), elsewhere only
    /// after that one failed the request (a CRDT store's session affinity).
    Sticky,
}

/// One replica's registers after the calm: the value (or siblings) of each key it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaState {
    /// The replica.
    pub node: NodeId,
    /// Key by key, its values: one for a register, several for siblings. Keys it does not
    /// hold are absent.
    pub registers: Vec<(Key, Vec<Value>)>,
}

/// A replication scheme as the register harness drives it (see the module docs).
pub trait RegisterScheme: Clone + Send + Sync + 'static {
    /// What every node of the cluster runs (a master too, where the scheme has one).
    type Node: Protocol<Input = ClientRequest, Output = ClientReply> + 'static;

    /// The scheme as the CLI names it: `chain`, `craq`, `quorum`.
    fn name(&self) -> &'static str;

    /// The variant as the CLI names it: `correct`, or a deliberately broken one.
    fn variant(&self) -> String;

    /// How many nodes the simulator runs: every replica, and any non-client node (a chain's
    /// master). Nodes are `n1..=n{nodes}`.
    fn nodes(&self) -> usize;

    /// Node `id` of `seed`'s run, built from its disk: at start (an empty disk) and at every
    /// restart (exactly what it persisted). Panics on a disk it cannot start from: that is a
    /// finding, and the simulator reports the panic as a violation.
    fn build(
        &self,
        seed: u64,
        id: NodeId,
        disk: &<Self::Node as Protocol>::Disk,
        rng: SeededRng,
    ) -> Self::Node;

    /// The nodes a client may send requests to, in id order (never a master).
    fn contacts(&self) -> Vec<NodeId>;

    /// Where a client sends a request of this kind first, before any redirect.
    fn first_contact(&self, kind: OpKind) -> Contact;

    /// True if a put answered `Unavailable` surely never takes effect, so the client may
    /// retry it (chain: refused before it is stored). False where a refused write may still
    /// land (a Dynamo write that missed W may live on in a hint): the client then records
    /// it as indeterminate and moves on, as it does after a timeout.
    fn refused_put_is_void(&self) -> bool;

    /// Safety properties of the scheme itself, checked after every event (chain: the update
    /// propagation invariant, OSDI '04 §3). Fresh ones for every run.
    fn invariants(&self) -> Vec<Box<dyn Invariant<Self::Node>>>;

    /// Whom the leader-aimed faults (crash or isolate "the leader", and new leaders) aim at,
    /// if the scheme has such a node; `None` makes those faults pick at random.
    fn leader(&self, view: &ClusterView<Self::Node>) -> Option<NodeId>;

    /// Bytes of a message on the wire, if the scheme sizes its messages.
    fn message_size(&self) -> Option<MessageSize<Self::Node>>;

    /// Each replica's registers as the run left them (after the calm and a quiet period):
    /// what eventual convergence compares. Only nodes that hold the scheme's state now
    /// report (a chain's master does not, nor a replica outside the chain).
    fn final_states(&self, view: &ClusterView<Self::Node>) -> Vec<ReplicaState>;

    /// The consistency models this scheme promises (module docs).
    fn promises(&self) -> &'static [Model];
}

/// An invariant behind a box, as a scheme hands them over, made an invariant again for
/// `Simulation::with_invariant`.
pub(crate) struct Boxed<P: Protocol>(pub(crate) Box<dyn Invariant<P>>);

impl<P: Protocol> Invariant<P> for Boxed<P> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn on_write(&mut self, node: NodeId, write: &P::Write) -> Result<(), String> {
        self.0.on_write(node, write)
    }

    fn on_output(&mut self, node: NodeId, output: &P::Output) -> Result<(), String> {
        self.0.on_output(node, output)
    }

    fn on_restart(&mut self, node: NodeId) {
        self.0.on_restart(node);
    }

    fn check(&mut self, view: &ClusterView<P>) -> Result<(), String> {
        self.0.check(view)
    }
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contact::Fixed(node) => write!(f, "{node}"),
            Contact::Any => f.write_str("any"),
            Contact::Sticky => f.write_str("sticky"),
        }
    }
}
