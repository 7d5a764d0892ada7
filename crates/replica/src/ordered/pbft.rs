//! PBFT as an [`OrderingCore`]: sequence numbers are indexes, views epochs, and every replica
//! answers every request it executes.
//!
//! ```text
//!   pbft                                      replica
//!   Input::Request(Request{client, timestamp, op = tag ++ kv request})
//!                                        ◄──  propose_input(entry): (client, timestamp) are
//!                                             the kv request's (client_id, seq)
//!   Input::Checkpoint{seq, state}        ◄──  checkpoint_input(index, machine snapshot)
//!   Output::Execute{seq, view, request}  ──►  Committed{index = seq, epoch = view, op}
//!   Output::Skipped{seq}                 ──►  Committed{index = seq, entry: None} (a null
//!                                             request, or a duplicate the client table caught)
//!   Output::CheckpointDue{seq}           ──►  CheckpointDue{index = seq}
//!   Output::RestoreState{seq, state}     ──►  Restore{index = seq, data = state}
//! ```
//!
//! Why the kv request's (client_id, seq) become PBFT's (client, timestamp): both name one
//! request of one client, growing with each (§4.1), so PBFT's client table and kv's session
//! table agree on what "already executed" means, and a retried request is executed once.
//!
//! A backup never refuses: it relays a request to the primary and watches it with its timer
//! (`FORWARDS_PROPOSALS`), and the client counts f+1 matching replies. No read path other than
//! the log (PBFT's read-only optimisation, §5.1.3, is not modelled), and no compaction on the
//! host's word: PBFT's own checkpoints collect the log.

use bytes::Bytes;
use distributed_core::NodeId;
use pbft::{Disk, Input, Output, Pbft, Request};

use super::{CoreEvent, OrderingCore};

/// Bytes of the client's tag in front of the kv request (flow.rs puts it there).
const TAG_BYTES: usize = 8;

impl OrderingCore for Pbft {
    const FORWARDS_PROPOSALS: bool = true;

    fn propose_input(entry: Bytes) -> Input {
        let named = entry
            .get(TAG_BYTES..)
            .and_then(|kv| kv::Request::decode(kv, &kv::Limits::default()).ok());
        // The replica proposes only requests that decode (flow.rs refuses the rest first);
        // a zero name would make PBFT's client table treat it as already executed, no worse.
        let (client, timestamp) = named.map_or((0, 0), |r| (r.client_id, r.seq));
        Input::Request(Request::new(client, timestamp, entry))
    }

    fn read_input(_id: u64) -> Option<Input> {
        None
    }

    fn snapshot_input(_index: u64, _data: Bytes) -> Option<Input> {
        None
    }

    fn checkpoint_input(index: u64, data: Bytes) -> Option<Input> {
        Some(Input::Checkpoint {
            seq: index,
            state: data,
        })
    }

    fn event(output: &Output) -> CoreEvent {
        match output {
            Output::Execute { seq, view, request } => CoreEvent::Committed {
                index: *seq,
                epoch: *view,
                entry: Some(request.op.clone()),
            },
            Output::Skipped { seq } => CoreEvent::Committed {
                index: *seq,
                epoch: 0,
                entry: None,
            },
            Output::CheckpointDue { seq } => CoreEvent::CheckpointDue { index: *seq },
            Output::RestoreState { seq, state } => CoreEvent::Restore {
                index: *seq,
                epoch: 0,
                data: state.clone(),
            },
        }
    }

    /// Any replica takes requests (a backup relays them), so every replica "leads" for the
    /// replica's admission check.
    fn leads(&self) -> bool {
        true
    }

    fn leader_hint(&self) -> Option<NodeId> {
        Some(self.primary())
    }

    fn disk_snapshot(disk: &Disk) -> Option<(u64, &[u8])> {
        let seq = disk.stable.cert.seq;
        (seq > 0).then(|| (seq, &disk.stable.state[..]))
    }
}
