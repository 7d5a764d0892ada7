//! PBFT's safety properties among the honest replicas, checked after every event.
//!
//! ```text
//!   touched honest node n:
//!     (last_executed, history digest) ──► the first honest node's at that seq must match
//!                                          agreement: no two honest replicas executed
//!                                          different requests at one seq (§4.5.1, safety)
//!     stable checkpoint (seq, digest) ──► the first honest node's at that seq must match
//!                                          checkpoint safety: one state per stable seq (§4.3)
//! ```
//!
//! The history digest chains every executed seq's request (`Pbft::history`), so comparing it
//! at one seq compares the whole executed prefix in O(1): a view change that re-assigned a
//! committed seq (what `view-change-drops-prepared` lets happen) shows as two histories at
//! that seq. Byzantine nodes are never looked at: what they hold proves nothing.
//!
//! It reads only the core (`PbftHost::core`), so one check serves every host: the bare
//! replica here and the KV store's replica in `pbft_kv/`. The bare run adds the checks that
//! need its clients (checks.rs: validity, and what a client accepted).
//!
//! State is history, bounded by the seqs of one run.

use std::collections::btree_map::{BTreeMap, Entry};

use distributed_core::NodeId;
use pbft::Digest;

use super::node::{PbftHost, PbftNode};
use sim::hooks::Invariant;
use sim::view::ClusterView;

/// Agreement and checkpoint safety among honest replicas (see the module docs).
#[derive(Default)]
pub struct HonestAgreement {
    /// The first honest history seen at each executed seq, and whose.
    histories: BTreeMap<u64, (Digest, NodeId)>,
    /// The first honest stable checkpoint digest seen at each seq, and whose.
    checkpoints: BTreeMap<u64, (Digest, NodeId)>,
}

fn agree(
    seen: &mut BTreeMap<u64, (Digest, NodeId)>,
    what: &str,
    seq: u64,
    digest: Digest,
    node: NodeId,
) -> Result<(), String> {
    match seen.entry(seq) {
        Entry::Vacant(v) => {
            v.insert((digest, node));
            Ok(())
        }
        Entry::Occupied(o) if o.get().0 == digest => Ok(()),
        Entry::Occupied(o) => {
            let (first, by) = *o.get();
            Err(format!(
                "honest {node} has {what} {digest} at seq {seq}, honest {by} had {first}"
            ))
        }
    }
}

impl<R: PbftHost> Invariant<PbftNode<R>> for HonestAgreement {
    fn name(&self) -> &str {
        "honest-agreement"
    }

    fn check(&mut self, view: &ClusterView<PbftNode<R>>) -> Result<(), String> {
        let Some(id) = view.touched() else {
            return Ok(());
        };
        let Some(node) = view.node(id).filter(|n| n.is_honest()) else {
            return Ok(());
        };
        let core = node.core();
        let executed = core.last_executed();
        if executed > 0 {
            agree(
                &mut self.histories,
                "executed history",
                executed,
                core.history(),
                id,
            )?;
        }
        let stable = core.stable_checkpoint();
        if stable.seq > 0 {
            agree(
                &mut self.checkpoints,
                "stable checkpoint",
                stable.seq,
                stable.digest,
                id,
            )?;
        }
        Ok(())
    }
}
