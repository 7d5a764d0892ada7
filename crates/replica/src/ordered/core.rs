//! The seam between a replica and any consensus core that orders opaque entries: what
//! Multi-Paxos and PBFT (and Raft, were it not served by its own `KvReplica`) must say for
//! one replica to drive the `kv` machine on top of them.
//!
//! ```text
//!   replica ──propose_input(entry)────────► core ──► CoreEvent::Accepted{index}   (this call's
//!           ──read_input(id)? ────────────►      ──► CoreEvent::NotLeader{leader}  proposal)
//!           ──snapshot_input(index, data)?─►      ──► CoreEvent::Committed{index, epoch, entry}
//!                                                ──► CoreEvent::Restore{index, epoch, data}
//!                                                ──► CoreEvent::ReadReady / ReadFailed
//!           ◄──────────────────────────────────── CoreEvent::CheckpointDue{index} (PBFT)
//!           ──checkpoint_input(index, data)──►   the state at index, at once, same call
//! ```
//!
//! Why a trait of translations and not a common Input/Output enum: each core keeps its own
//! paper's vocabulary (`slot` and `ballot`, `seq` and `view`), which is what a learner reads
//! next to the paper; the replica needs only these few facts from it.
//!
//! What a core promises (the replica asserts what it can):
//! - a proposal is answered in the same call by exactly one `Accepted` or `NotLeader` (or
//!   `Busy`), unless the core forwards proposals and answers through execution instead
//!   ([`OrderingCore::FORWARDS_PROPOSALS`], PBFT's backups);
//! - `Committed` comes in index order, each index once per incarnation, starting right after
//!   the disk's snapshot (or 1), and after a `Restore` right after its index;
//! - `ReadReady{id, index}` comes only after `Committed` for every index through `index`;
//! - `CheckpointDue{index}` comes right after `Committed{index}`; the core expects
//!   `checkpoint_input(index, state)` before anything else.

use bytes::Bytes;
use distributed_core::{NodeId, Protocol};

/// One output of a core, as far as a replica cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreEvent {
    /// This call's proposal was placed at `index` (not chosen yet).
    Accepted {
        /// Where it sits in the order.
        index: u64,
    },
    /// This call's proposal was refused: this node does not lead.
    NotLeader {
        /// Where the client should go, if the core knows.
        leader: Option<NodeId>,
    },
    /// This call's proposal was refused: too much waits already.
    Busy,
    /// The entry at `index` is decided. `entry: None` is a no-op (a Paxos hole filled by a
    /// new leader, a PBFT null request): the machine only moves past `index`.
    Committed {
        /// Its place in the order.
        index: u64,
        /// The core's epoch it was decided in (ballot round, view): for traces and reports.
        epoch: u64,
        /// The command, or `None` for a no-op.
        entry: Option<Bytes>,
    },
    /// Replace the machine with `data`, the state through `index` (a peer's snapshot).
    Restore {
        /// The state's last index.
        index: u64,
        /// The epoch of that index, for reports.
        epoch: u64,
        /// The machine's snapshot bytes.
        data: Bytes,
    },
    /// The read `id` may be served from a machine that has applied through `index`.
    ReadReady {
        /// The replica's read id.
        id: u64,
        /// The read index.
        index: u64,
    },
    /// The read `id` cannot be served here now.
    ReadFailed {
        /// The replica's read id.
        id: u64,
        /// Where to retry, if the core knows.
        leader: Option<NodeId>,
    },
    /// The core wants the machine's state at `index` (a PBFT checkpoint), now.
    CheckpointDue {
        /// The checkpoint's index: the last one committed.
        index: u64,
    },
    /// Nothing the replica acts on (counters, diagnostics); passed by silently.
    Other,
}

/// A consensus core a replica can drive (see the module docs).
pub trait OrderingCore: Protocol {
    /// True when a proposal is not answered with `Accepted`/`NotLeader` but forwarded, and a
    /// client learns its outcome from executions (PBFT: a backup relays to the primary, and
    /// every replica replies once it executes). The replica then carries the client's tag in
    /// the entry, and every replica answers every request it executes.
    const FORWARDS_PROPOSALS: bool = false;

    /// The input that proposes `entry`.
    fn propose_input(entry: Bytes) -> Self::Input;

    /// The input that asks for a linearizable read without a log entry, if the core has one.
    fn read_input(id: u64) -> Option<Self::Input>;

    /// The input telling the core the machine's state through `index` is `data` (it may
    /// compact its log), if the core compacts on the host's word.
    fn snapshot_input(index: u64, data: Bytes) -> Option<Self::Input>;

    /// The answer to `CheckpointDue{index}`, if the core asks for checkpoints.
    fn checkpoint_input(index: u64, data: Bytes) -> Option<Self::Input>;

    /// What one output means to the replica.
    fn event(output: &Self::Output) -> CoreEvent;

    /// Whether this node may propose now (leader, primary); a replica refuses otherwise.
    fn leads(&self) -> bool;

    /// Who this node believes leads.
    fn leader_hint(&self) -> Option<NodeId>;

    /// The snapshot a disk holds: its index and the machine's bytes, if any.
    fn disk_snapshot(disk: &Self::Disk) -> Option<(u64, &[u8])>;
}
