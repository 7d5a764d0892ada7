//! Multi-Paxos as an [`OrderingCore`]: how a `paxos::Paxos` node's slots and ballots read as
//! the replica's indexes and epochs.
//!
//! ```text
//!   paxos                                    replica
//!   Input::Propose(entry)               ◄──  propose_input(entry)
//!   Input::Read{id}  (a read round)     ◄──  read_input(id)
//!   Input::Snapshot{slot, data}         ◄──  snapshot_input(index, data)
//!   Output::Accepted{slot, ..}          ──►  Accepted{index = slot}
//!   Output::NotLeader{leader} | Busy    ──►  NotLeader{leader} | Busy
//!   Output::Committed{slot, ballot, v}  ──►  Committed{index = slot, epoch = ballot.round,
//!                                                      entry = v's bytes, or None for a no-op}
//!   Output::RestoreSnapshot{slot, data} ──►  Restore{index = slot, data}
//!   Output::ReadReady / ReadFailed      ──►  ReadReady / ReadFailed{leader}
//! ```
//!
//! The epoch is only for traces: two replicas may name different ballots for one slot (a
//! value chosen at b1 can be chosen again at b2 by a leader that re-proposed it), and the
//! replica matches a pending request by its bytes, never by epoch (`mod.rs`).

use bytes::Bytes;
use distributed_core::NodeId;
use paxos::{Disk, Input, Output, Paxos, ReadFailure, Value};

use super::{CoreEvent, OrderingCore};

impl OrderingCore for Paxos {
    fn propose_input(entry: Bytes) -> Input {
        Input::Propose(entry)
    }

    fn read_input(id: u64) -> Option<Input> {
        Some(Input::Read { id })
    }

    fn snapshot_input(index: u64, data: Bytes) -> Option<Input> {
        Some(Input::Snapshot { slot: index, data })
    }

    /// Paxos compacts on the host's word alone; it never asks for checkpoints.
    fn checkpoint_input(_index: u64, _data: Bytes) -> Option<Input> {
        None
    }

    fn event(output: &Output) -> CoreEvent {
        match output {
            Output::Accepted { slot, .. } => CoreEvent::Accepted { index: *slot },
            Output::NotLeader { leader } => CoreEvent::NotLeader { leader: *leader },
            Output::Busy { .. } => CoreEvent::Busy,
            Output::Committed {
                slot,
                ballot,
                value,
            } => CoreEvent::Committed {
                index: *slot,
                epoch: ballot.round,
                entry: match value {
                    Value::Noop => None,
                    Value::Command(bytes) => Some(bytes.clone()),
                },
            },
            Output::RestoreSnapshot { slot, data } => CoreEvent::Restore {
                index: *slot,
                epoch: 0,
                data: data.clone(),
            },
            Output::ReadReady { id, slot } => CoreEvent::ReadReady {
                id: *id,
                index: *slot,
            },
            Output::ReadFailed { id, reason } => CoreEvent::ReadFailed {
                id: *id,
                leader: match reason {
                    ReadFailure::NotLeader { leader } => *leader,
                    ReadFailure::Busy { .. } | ReadFailure::TimedOut { .. } => None,
                },
            },
        }
    }

    fn leads(&self) -> bool {
        self.is_leader()
    }

    fn leader_hint(&self) -> Option<NodeId> {
        Paxos::leader_hint(self)
    }

    fn disk_snapshot(disk: &Disk) -> Option<(u64, &[u8])> {
        disk.snapshot.as_ref().map(|s| (s.slot, &s.data[..]))
    }
}
