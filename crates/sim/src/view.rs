//! The cluster as invariants, workloads and the leader hook see it: read-only, all at once.
//!
//! The simulator owns one `Slot` per node. A slot outlives the node in it: when the node
//! crashes, the slot keeps its disk, and a restart puts a new node, built from that disk, back in
//! the same slot.
//!
//! ```text
//!   Slot n3:  node: Some(P) ──crash──► None ──restart(factory(n3, &disk, rng))──► Some(P')
//!             disk: P::Disk   (only ever changed by P::persist, survives every crash)
//!             incarnation: 0 ─────────────────────────────────────────────────► 1
//!             unsynced: DiskQueue (writes on their way to disk; emptied by the crash)
//! ```
//!
//! A [`ClusterView`] borrows the slots for the length of one hook call. It is the only way
//! observers see nodes, so they can never change one behind the simulator's back.

use distributed_core::{NodeId, Protocol, SeededRng};

use crate::config::Time;
use crate::disk::DiskQueue;
use crate::partition::Partition;

/// One node's place in the cluster: its live state (if up) and its durable state (always).
/// Public so that an adapter can show an invariant a cluster it projects from another (a KV
/// replica's Raft nodes) and so unit tests can build a view; only the simulator changes the
/// slots of a run.
pub struct Slot<P: Protocol> {
    /// The node's id; also its position plus one.
    pub(crate) id: NodeId,
    /// The running node, or `None` while it is crashed.
    pub(crate) node: Option<P>,
    /// What the node persisted, via `P::persist`. The only thing a restart may read.
    pub(crate) disk: P::Disk,
    /// How many times the node has been (re)started. Ties tick chains to one life.
    pub(crate) incarnation: u32,
    /// This node's clock: time units per tick. Differs per node to model clock skew.
    pub(crate) tick_period: Time,
    /// The parent of every RNG this node's incarnations get: one stream per node, so a draw
    /// by one node never shifts another node's draws.
    pub(crate) rng: SeededRng,
    /// Writes not yet on disk and the messages waiting for them: only ever non-empty for a
    /// node that overlaps writes with sends (`disk.rs`). A crash empties it.
    pub(crate) unsynced: DiskQueue<P>,
}

/// A read-only picture of the whole cluster at one instant.
pub struct ClusterView<'a, P: Protocol> {
    /// The simulated time of the picture.
    pub(crate) now: Time,
    /// Every node's slot, in id order.
    pub(crate) slots: &'a [Slot<P>],
    /// The partition standing at this instant, if any.
    pub(crate) partition: Option<&'a Partition>,
    /// The node the last event acted on, if any: lets an invariant check only what changed.
    pub(crate) touched: Option<NodeId>,
}

impl<P: Protocol> Slot<P> {
    /// A slot outside any simulation holding `node`: first incarnation, empty disk, one time
    /// unit per tick. For projected views and unit tests.
    pub fn detached(id: NodeId, node: Option<P>) -> Self {
        Slot {
            id,
            node,
            disk: P::Disk::default(),
            incarnation: 0,
            tick_period: 1,
            rng: SeededRng::new(0),
            unsynced: DiskQueue::new(),
        }
    }

    /// Put `node` in a detached slot (or empty it with `None`); returns what was there.
    pub fn replace_node(&mut self, node: Option<P>) -> Option<P> {
        std::mem::replace(&mut self.node, node)
    }
}

impl<P: Protocol> Clone for ClusterView<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: Protocol> Copy for ClusterView<'_, P> {}

impl<'a, P: Protocol> ClusterView<'a, P> {
    /// A view of `slots` at `now`: what the simulator hands its hooks. Public for adapters
    /// that project one cluster onto another, and for unit tests of invariants.
    pub fn new(
        now: Time,
        slots: &'a [Slot<P>],
        partition: Option<&'a Partition>,
        touched: Option<NodeId>,
    ) -> Self {
        ClusterView {
            now,
            slots,
            partition,
            touched,
        }
    }

    /// Simulated time, in time units.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Cluster size.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True for a cluster of no nodes (which `SimConfig::validate` rejects).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every node id, `n1..=nN`, whether up or down.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + 'a {
        self.slots.iter().map(|s| s.id)
    }

    /// The running node `id`, or `None` if it is crashed or unknown.
    pub fn node(&self, id: NodeId) -> Option<&'a P> {
        self.slot(id).and_then(|s| s.node.as_ref())
    }

    /// Every running node, in id order.
    pub fn live(&self) -> impl Iterator<Item = (NodeId, &'a P)> + 'a {
        self.slots
            .iter()
            .filter_map(|s| s.node.as_ref().map(|n| (s.id, n)))
    }

    /// Is node `id` running?
    pub fn is_up(&self, id: NodeId) -> bool {
        self.node(id).is_some()
    }

    /// What node `id` has persisted so far (kept across crashes).
    pub fn disk(&self, id: NodeId) -> Option<&'a P::Disk> {
        self.slot(id).map(|s| &s.disk)
    }

    /// How many writes node `id` emitted that are not on its disk yet (always 0 unless the
    /// node overlaps writes with sends, `Protocol::overlaps_writes`). While it is not 0, the
    /// node's memory legitimately runs ahead of [`disk`](ClusterView::disk).
    pub fn unsynced_writes(&self, id: NodeId) -> usize {
        self.slot(id).map_or(0, |s| s.unsynced.writes())
    }

    /// How many times node `id` has been restarted.
    pub fn incarnation(&self, id: NodeId) -> Option<u32> {
        self.slot(id).map(|s| s.incarnation)
    }

    /// The partition standing now, if any.
    pub fn partition(&self) -> Option<&'a Partition> {
        self.partition
    }

    /// Could a message from `from` reach `to` right now (both up, same side)?
    pub fn connected(&self, from: NodeId, to: NodeId) -> bool {
        let cut = self.partition.is_some_and(|p| !p.connected(from, to));
        self.is_up(from) && self.is_up(to) && !cut
    }

    /// The node the last event acted on (the receiver, the ticked node, the restarted node…).
    pub fn touched(&self) -> Option<NodeId> {
        self.touched
    }

    fn slot(&self, id: NodeId) -> Option<&'a Slot<P>> {
        (id.0 as usize)
            .checked_sub(1)
            .and_then(|i| self.slots.get(i))
    }
}
