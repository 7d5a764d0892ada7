//! The message log between the watermarks (PBFT §4.2, §4.3): per sequence number, what this
//! replica accepted, the prepares and commits it collected, and the certificates it formed.
//!
//! ```text
//!   slot(seq):  pre_prepare ──(+2f matching prepares from backups)──► prepared  ──► Commit sent
//!               prepared ──(+2f+1 matching commits, own included)──► committed ──► execute
//! ```
//!
//! Prepares and commits are kept per sender, the latest view's replacing an older one, so a
//! slot holds at most n of each: the bound on what a faulty replica can add. Counting filters
//! by (view, digest) of the slot's pre-prepare, so a message that arrived before its
//! pre-prepare still counts once it comes.
//!
//! Invariant (asserted in normal.rs): a slot's pre-prepare for a view is never replaced by one
//! with another digest in the same view.

use std::collections::BTreeMap;

use distributed_core::NodeId;

use crate::auth::Digest;
use crate::host::DurableSlot;
use crate::message::{Commit, PrePrepare, Prepare, PreparedCert, Seq, View};

/// What one replica knows about one sequence number.
#[derive(Clone, Debug, Default)]
pub(crate) struct Slot {
    /// The pre-prepare accepted in the latest view (persisted before any Prepare is sent).
    pub pre_prepare: Option<PrePrepare>,
    /// Prepares received (and this replica's own), the latest per sender.
    pub prepares: BTreeMap<NodeId, Prepare>,
    /// Commits received (and this replica's own), the latest per sender.
    pub commits: BTreeMap<NodeId, Commit>,
    /// The highest-view prepared certificate: what a view change reports (persisted).
    pub prepared: Option<PreparedCert>,
    /// The view this replica sent its Commit in, so it sends one per view.
    pub commit_sent: Option<View>,
    /// The pre-prepare that committed here: the request to execute (persisted).
    pub committed: Option<PrePrepare>,
    /// Retransmission rounds this slot has seen (retransmit.rs): its messages are resent
    /// from the second on, so a round does not resend what is merely still in flight.
    pub rounds: u32,
}

impl Slot {
    /// Rebuild a slot from its durable part.
    pub fn from_disk(d: &DurableSlot) -> Slot {
        Slot {
            pre_prepare: d.pre_prepare.clone(),
            prepared: d.prepared.clone(),
            committed: d.committed.clone(),
            ..Slot::default()
        }
    }

    /// The prepares matching (view, digest) from replicas other than the view's primary.
    pub fn matching_prepares(&self, view: View, digest: &Digest, primary: NodeId) -> Vec<Prepare> {
        self.prepares
            .values()
            .filter(|p| p.view == view && p.digest == *digest && p.sig.signer != primary)
            .cloned()
            .collect()
    }

    /// How many prepares match (view, digest), from replicas other than the view's primary:
    /// counted without building the certificate, which is built once, when it is complete.
    pub fn count_prepares(&self, view: View, digest: &Digest, primary: NodeId) -> usize {
        self.prepares
            .values()
            .filter(|p| p.view == view && p.digest == *digest && p.sig.signer != primary)
            .count()
    }

    /// How many commits match (view, digest).
    pub fn matching_commits(&self, view: View, digest: &Digest) -> usize {
        self.commits
            .values()
            .filter(|c| c.view == view && c.digest == *digest)
            .count()
    }

    /// Is this slot prepared in `view` (a certificate of that view)?
    pub fn prepared_in(&self, view: View) -> bool {
        self.prepared.as_ref().is_some_and(|c| c.view() == view)
    }
}

/// The slots above the low watermark, in seq order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log {
    /// Slot by seq. Only seqs above the stable checkpoint are held.
    slots: BTreeMap<Seq, Slot>,
}

impl Log {
    /// Rebuild the log from the durable slots.
    pub fn from_disk(slots: &BTreeMap<Seq, DurableSlot>) -> Log {
        Log {
            slots: slots
                .iter()
                .map(|(&s, d)| (s, Slot::from_disk(d)))
                .collect(),
        }
    }
    /// The slot at `seq`, if any.
    pub fn get(&self, seq: Seq) -> Option<&Slot> {
        self.slots.get(&seq)
    }
    /// The slot at `seq`, created empty if absent.
    pub fn slot(&mut self, seq: Seq) -> &mut Slot {
        self.slots.entry(seq).or_default()
    }
    /// Drop every slot at or below `seq` (garbage collection at a stable checkpoint, §4.3).
    pub fn collect_through(&mut self, seq: Seq) {
        self.slots = self.slots.split_off(&(seq + 1));
    }
    /// Every slot, in seq order.
    pub fn iter(&self) -> impl Iterator<Item = (&Seq, &Slot)> {
        self.slots.iter()
    }
    /// Every slot, mutably, in seq order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Seq, &mut Slot)> {
        self.slots.iter_mut()
    }
    /// The lowest seq held, if any.
    pub fn first_seq(&self) -> Option<Seq> {
        self.slots.keys().next().copied()
    }
    /// How many slots are held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }
}
