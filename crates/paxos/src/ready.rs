//! What a Paxos node asks of its host: durable writes, the disk image they build, client inputs
//! and outputs, and [`Ready`], the batch of effects with the host's contract on it.
//!
//! ```text
//!   Input::Propose ──► Paxos ──► Ready { writes:   [Accept{slot=3 ballot=b1.n1 ..}]  1. persist
//!                                        messages: [n1→n2 Accept{..}, ..]            2. send
//!                                        outputs:  [Accepted{slot=3 ballot=b1.n1}] } 3. deliver
//!   ... a phase-2 quorum later ... outputs: [Committed{slot=3 ballot=b1.n1 value="x"}]
//!   Input::Read{id} ──► ... ──► outputs: [Committed(..≤ slot), ReadReady{id slot}]
//!                                     or [ReadFailed{id reason}]
//! ```
//!
//! Durable state is the acceptor's, and nothing else ("Paxos Made Simple" §2.2 end: "an
//! acceptor must remember this information even if it fails and then restarts"): the promised
//! ballot, every pvalue accepted after the snapshot, and the snapshot. What is *chosen* is
//! volatile, as Raft's commit index is: a restarted node re-learns it from the leader's commit
//! notices (or by catching up) and re-delivers every slot after its snapshot. The road not
//! taken: persisting chosen values too, which would save the catch-up after a restart at the
//! cost of one more write per slot on every node.
//!
//! Persist before send: a `Promise` leaves only after the `Write::Promise` it states, and an
//! `Accepted` only after the `Write::Accept` it states; the host's order (writes first) is
//! what makes that true, and the tests check it on every send.

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;
use distributed_core::{Effects, NodeId, Tick};

use crate::ballot::{Ballot, PValue, Slot, Value};
use crate::node::Paxos;

/// The host's state machine through `slot`, in the host's own format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The last slot the state machine had applied when `data` was taken.
    pub slot: Slot,
    /// The serialized state machine; Paxos never looks inside.
    pub data: Bytes,
}

/// A node's disk as the host stores it: what survives a crash, and nothing else. An empty
/// (default) disk is a brand new node.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The highest ballot promised: forgetting it could let the acceptor accept below it and
    /// let a new leader miss a chosen value.
    pub promised: Ballot,
    /// Every pvalue accepted in a slot after the snapshot, by slot; the last write per slot wins.
    pub accepted: BTreeMap<Slot, PValue>,
    /// The latest snapshot: its slots are chosen and their pvalues dropped.
    pub snapshot: Option<Snapshot>,
}

/// One durable write. The host completes every write of a [`Ready`] before sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Replace the promised ballot (it only grows).
    Promise(Ballot),
    /// Store a pvalue, replacing the slot's previous one.
    Accept(PValue),
    /// Replace the snapshot and drop every pvalue through its slot.
    Snapshot(Snapshot),
}

/// A request from a client or the host.
#[derive(Clone, Debug)]
pub enum Input {
    /// Place this command in the log (leader only).
    Propose(Bytes),
    /// A linearizable read without a log slot, answered by exactly one `ReadReady` or
    /// `ReadFailed` with this `id`, unless the node crashes first.
    Read {
        /// The host's name for the read; Paxos only hands it back.
        id: u64,
    },
    /// The host's state machine applied every slot through `slot` when `data` was taken: the
    /// node may drop its chosen values and pvalues through `slot`. Ignored (with a note) unless
    /// `slot` lies above the current snapshot and at or below the last `Committed` output.
    Snapshot {
        /// The last slot applied.
        slot: Slot,
        /// The serialized state machine, sent as is to learners that need truncated slots.
        data: Bytes,
    },
}

/// What a node tells its host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// The leader placed a proposal in `slot` at `ballot`: NOT chosen yet. If the slot is later
    /// delivered with another value, the proposal was lost (a new leader filled the slot) and
    /// the client should retry. Compare values, not ballots: a new leader re-proposes an
    /// adopted command at its own ballot.
    Accepted {
        /// Where the proposal sits.
        slot: Slot,
        /// The leader's ballot.
        ballot: Ballot,
    },
    /// This node does not lead; `leader` is its best guess of who does.
    NotLeader {
        /// Where the client should retry, if known.
        leader: Option<NodeId>,
    },
    /// The leader already has `open_slots_max` slots in flight; retry later.
    Busy {
        /// The bound that was hit.
        open_slots_max: usize,
    },
    /// A chosen value, delivered in slot order, each slot once per incarnation. After a
    /// restart delivery starts again after the disk's snapshot (the host restores its state
    /// machine from `Disk::snapshot` first). `Value::Noop` is a filled hole: skip it.
    /// `ballot` is the one this node learned the value at; nodes may name different ballots
    /// for one slot (a value chosen at b1 may be chosen again at b2 by a leader that
    /// re-proposed it), only the value is agreed.
    Committed {
        /// The slot.
        slot: Slot,
        /// A ballot the value was chosen at.
        ballot: Ballot,
        /// The value.
        value: Value,
    },
    /// Another node's snapshot is now persisted here: replace the whole state machine with
    /// `data`. The next `Committed` is `slot + 1`.
    RestoreSnapshot {
        /// The last slot the snapshot covers.
        slot: Slot,
        /// The state machine.
        data: Bytes,
    },
    /// The read `id` may be answered now: every slot through `slot` was already output as
    /// `Committed`, and `slot` covers every write completed before the read arrived.
    ReadReady {
        /// The id from `Input::Read`.
        id: u64,
        /// The read slot: the leader's highest proposed slot when the read arrived.
        slot: Slot,
    },
    /// The read `id` cannot be served here; safe to retry (possibly elsewhere).
    ReadFailed {
        /// The id from `Input::Read`.
        id: u64,
        /// Why, and where to retry.
        reason: ReadFailure,
    },
}

/// Why a read failed. Every case is safe to retry: a failed read has no effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFailure {
    /// This node does not lead, or stopped leading while the read waited.
    NotLeader {
        /// Where the client should retry, if known.
        leader: Option<NodeId>,
    },
    /// `pending_reads_max` reads already wait here.
    Busy {
        /// The bound that was hit.
        pending_reads_max: usize,
    },
    /// Not confirmed within `leader_timeout_ticks_max` ticks: lost messages or a partition.
    TimedOut {
        /// How long the read waited.
        ticks: Tick,
    },
}

/// The effects of one call into a Paxos node, and the host's contract for carrying them out.
///
/// After each `step`, `tick` or `input`, the host must, **in this order**:
///
/// 1. **Persist** every `writes` entry, in order, durably (`<Paxos as Protocol>::persist` on a
///    [`Disk`], or the same on real storage, then fsync). A Promise and an Accepted are
///    promises about this disk: they must never outlive a crash that forgets them.
/// 2. **Send** every envelope in `messages`. Loss, delay, duplication and reordering are fine.
/// 3. **Deliver** every output: `Committed` values to the state machine in the order given,
///    `RestoreSnapshot` by replacing it, `ReadReady` by reading it right then.
/// 4. **Clear** the effects and feed the next event.
///
/// ```text
///   let mut out = Ready::new();
///   node.input(Input::Propose(cmd), &mut out);
///   for w in &out.writes { Paxos::persist(&mut disk, w) }   fsync
///   for m in out.messages.drain(..) { network.send(m) }
///   for o in out.outputs.drain(..) { host.deliver(o) }
///   out.clear();
/// ```
pub type Ready = Effects<Paxos>;

/// Apply one write to a disk image: the meaning of "persist" (see `Protocol::persist`).
pub(crate) fn persist(disk: &mut Disk, write: &Write) {
    let snapshot_slot = disk.snapshot.as_ref().map_or(0, |s| s.slot);
    match write {
        Write::Promise(ballot) => {
            assert!(
                *ballot >= disk.promised,
                "a promise never goes backwards: {ballot} after {}",
                disk.promised
            );
            disk.promised = *ballot;
        }
        Write::Accept(pv) => {
            assert!(
                pv.ballot >= disk.promised,
                "an acceptor never accepts below its promise: {pv} under {}",
                disk.promised
            );
            if pv.slot > snapshot_slot {
                disk.accepted.insert(pv.slot, pv.clone());
            }
        }
        Write::Snapshot(s) => {
            assert!(
                s.slot > snapshot_slot,
                "a snapshot only moves forward: {} after {snapshot_slot}",
                s.slot
            );
            disk.accepted = disk.accepted.split_off(&(s.slot + 1));
            disk.snapshot = Some(s.clone());
        }
    }
}

impl fmt::Display for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::Promise(b) => write!(f, "Promise{{ballot={b}}}"),
            Write::Accept(pv) => write!(
                f,
                "Accept{{slot={} ballot={} value={}}}",
                pv.slot, pv.ballot, pv.value
            ),
            Write::Snapshot(s) => write!(f, "Snapshot{{slot={} bytes={}}}", s.slot, s.data.len()),
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Propose(data) => write!(f, "Propose{{value={}}}", Value::Command(data.clone())),
            Input::Read { id } => write!(f, "Read{{id={id}}}"),
            Input::Snapshot { slot, data } => {
                write!(f, "Snapshot{{slot={slot} bytes={}}}", data.len())
            }
        }
    }
}

/// `n3`, or `none`.
fn who(leader: &Option<NodeId>) -> String {
    leader.map_or("none".to_string(), |n| n.to_string())
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Accepted { slot, ballot } => {
                write!(f, "Accepted{{slot={slot} ballot={ballot}}}")
            }
            Output::NotLeader { leader } => write!(f, "NotLeader{{leader={}}}", who(leader)),
            Output::Busy { open_slots_max } => write!(f, "Busy{{open_slots_max={open_slots_max}}}"),
            Output::Committed {
                slot,
                ballot,
                value,
            } => write!(f, "Committed{{slot={slot} ballot={ballot} value={value}}}"),
            Output::RestoreSnapshot { slot, data } => {
                write!(f, "RestoreSnapshot{{slot={slot} bytes={}}}", data.len())
            }
            Output::ReadReady { id, slot } => write!(f, "ReadReady{{id={id} slot={slot}}}"),
            Output::ReadFailed { id, reason } => {
                write!(f, "ReadFailed{{id={id} reason={reason}}}")
            }
        }
    }
}

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadFailure::NotLeader { leader } => write!(f, "NotLeader{{leader={}}}", who(leader)),
            ReadFailure::Busy { pending_reads_max } => {
                write!(f, "Busy{{pending_reads_max={pending_reads_max}}}")
            }
            ReadFailure::TimedOut { ticks } => write!(f, "TimedOut{{ticks={ticks}}}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pv(slot: Slot, round: u64) -> PValue {
        PValue {
            slot,
            ballot: Ballot::new(round, NodeId(1)),
            value: Value::Noop,
        }
    }

    #[test]
    fn a_snapshot_write_drops_the_pvalues_it_covers() {
        let mut disk = Disk::default();
        for s in 1..=4 {
            persist(&mut disk, &Write::Accept(pv(s, 1)));
        }
        let data = Bytes::from_static(b"state");
        persist(&mut disk, &Write::Snapshot(Snapshot { slot: 2, data }));
        assert_eq!(disk.accepted.keys().copied().collect::<Vec<_>>(), [3, 4]);
        persist(&mut disk, &Write::Accept(pv(1, 1)));
        assert!(
            !disk.accepted.contains_key(&1),
            "below the snapshot: dropped"
        );
    }

    #[test]
    #[should_panic(expected = "never accepts below its promise")]
    fn persisting_an_accept_below_the_promise_is_a_bug() {
        let mut disk = Disk::default();
        persist(&mut disk, &Write::Promise(Ballot::new(2, NodeId(1))));
        persist(&mut disk, &Write::Accept(pv(1, 1)));
    }

    #[test]
    fn writes_and_outputs_print_as_one_line() {
        assert_eq!(
            Write::Accept(pv(3, 2)).to_string(),
            "Accept{slot=3 ballot=b2.n1 value=noop}"
        );
        let committed = Output::Committed {
            slot: 3,
            ballot: Ballot::new(2, NodeId(1)),
            value: Value::Command(Bytes::from_static(b"x")),
        };
        assert_eq!(
            committed.to_string(),
            "Committed{slot=3 ballot=b2.n1 value=\"x\"}"
        );
        let failed = Output::ReadFailed {
            id: 7,
            reason: ReadFailure::NotLeader { leader: None },
        };
        assert_eq!(
            failed.to_string(),
            "ReadFailed{id=7 reason=NotLeader{leader=none}}"
        );
    }
}
