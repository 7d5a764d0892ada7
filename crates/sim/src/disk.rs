//! The simulated disk of a node that overlaps writes with sends (contract step 5 of
//! `distributed_core::Protocol`; Raft thesis §10.2.1): one fsync at a time, group commit behind it.
//!
//! A node that answers `overlaps_writes()` lets some messages leave before its writes are
//! durable. Its host keeps everything else in order here, as the real server's pipeline does:
//!
//! ```text
//!   node call ─► Effects { writes, messages, outputs }
//!                 sends_before_durable ─► network now      outputs ─► delivered now
//!                 writes + held messages ─► DiskQueue:
//!
//!   ┌──────────────── batches (at most 2) ─────────────────┐
//!   │ [0] fsync under way: writes W1, held H1 │ [1] gathering: W2, H2 │ ◄── next call's W, H
//!   └──────────────────────────────────────────────────────┘
//!     Fsync event (after a drawn delay) ─► persist W1 ─► send H1 ─► input(durable_input(W1))
//!                                          [1] becomes [0], its fsync starts
//!   crash ─► both batches gone: W never reach the disk, H never leave
//! ```
//!
//! Why two batches and no more: the disk does one fsync at a time; writes that arrive while
//! it is busy join the next one (group commit), so a third batch would only ever be merged into
//! the second. A call with messages to hold but no writes joins the newest batch: its messages
//! promise only what earlier writes hold, and those are all in it or already durable.
//!
//! Invariants: at most two batches; every batch has at least one write (a call with no writes
//! and nothing queued sends its messages at once, never reaching here); writes reach the disk
//! in the order the node emitted them, and a held message leaves only after every write
//! emitted before it is on disk.
//!
//! The road not taken: one batch per node call, each with its own fsync, completing in order.
//! It is the same model with more events and a queue that a busy leader can grow without
//! bound; group commit bounds it by construction and is what the real server does.

use std::collections::VecDeque;

use distributed_core::{Envelope, Protocol};

/// The writes of one or more node calls, and the messages that wait for them.
pub(crate) struct Batch<P: Protocol> {
    /// Writes in the order the node emitted them; on disk only when the batch completes.
    pub(crate) writes: Vec<P::Write>,
    /// Messages that may leave only once these writes (and every earlier one) are durable.
    pub(crate) held: Vec<Envelope<P::Message>>,
}

/// What [`DiskQueue::push`] asks of the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// The disk was idle: start this batch's fsync (schedule its completion).
    StartFsync,
    /// An fsync is under way; the batch waits behind it, or joined the one that does.
    Queued,
}

/// One node's writes not yet on disk, with their held messages (see the module docs).
pub(crate) struct DiskQueue<P: Protocol> {
    /// `[0]`: the batch whose fsync is under way; `[1]`: the batch gathering behind it.
    batches: VecDeque<Batch<P>>,
}

/// Most batches a queue holds: one fsync under way, one gathering.
const BATCHES_MAX: usize = 2;

impl<P: Protocol> DiskQueue<P> {
    pub(crate) fn new() -> Self {
        DiskQueue {
            batches: VecDeque::with_capacity(BATCHES_MAX),
        }
    }

    /// True when every write the node emitted is on disk and nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Writes not yet on disk.
    pub(crate) fn writes(&self) -> usize {
        self.batches.iter().map(|b| b.writes.len()).sum()
    }

    /// Messages waiting for the disk.
    pub(crate) fn held(&self) -> usize {
        self.batches.iter().map(|b| b.held.len()).sum()
    }

    /// Queue one node call's `writes` and `held` messages behind everything queued before.
    /// The caller sends `held` at once instead when there are no writes and nothing is queued.
    pub(crate) fn push(
        &mut self,
        writes: Vec<P::Write>,
        held: Vec<Envelope<P::Message>>,
    ) -> Pushed {
        assert!(
            !(writes.is_empty() && self.batches.is_empty()),
            "a call with no writes and an idle disk sends its messages at once"
        );
        if self.batches.is_empty() {
            self.batches.push_back(Batch { writes, held });
            return Pushed::StartFsync;
        }
        if writes.is_empty() || self.batches.len() == BATCHES_MAX {
            let newest = self.batches.back_mut().expect("not empty");
            newest.writes.extend(writes);
            newest.held.extend(held);
        } else {
            self.batches.push_back(Batch { writes, held });
        }
        assert!(self.batches.len() <= BATCHES_MAX);
        Pushed::Queued
    }

    /// The fsync under way completed: hand back its batch. True in the second place if the
    /// next batch's fsync starts now.
    pub(crate) fn complete(&mut self) -> Option<(Batch<P>, bool)> {
        let done = self.batches.pop_front()?;
        Some((done, !self.batches.is_empty()))
    }

    /// The node crashed: forget everything, returning how many writes and held messages
    /// were lost.
    pub(crate) fn clear(&mut self) -> (usize, usize) {
        let lost = (self.writes(), self.held());
        self.batches.clear();
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distributed_core::{Effects, NodeId};

    /// A protocol with numbered writes and messages: the queue needs only its types.
    struct Numbers;
    impl Protocol for Numbers {
        type Message = u32;
        type Input = u32;
        type Output = u32;
        type Write = u32;
        type Disk = ();
        fn id(&self) -> NodeId {
            NodeId(1)
        }
        fn step(&mut self, _: NodeId, _: u32, _: &mut Effects<Self>) {}
        fn tick(&mut self, _: &mut Effects<Self>) {}
        fn input(&mut self, _: u32, _: &mut Effects<Self>) {}
        fn persist(_: &mut (), _: &u32) {}
    }

    fn msg(n: u32) -> Envelope<u32> {
        Envelope {
            from: NodeId(1),
            to: NodeId(2),
            msg: n,
        }
    }

    fn held(b: &Batch<Numbers>) -> Vec<u32> {
        b.held.iter().map(|e| e.msg).collect()
    }

    #[test]
    fn writes_that_arrive_during_an_fsync_gather_into_the_next_one() {
        let mut q: DiskQueue<Numbers> = DiskQueue::new();
        assert_eq!(q.push(vec![1], vec![msg(1)]), Pushed::StartFsync);
        assert_eq!(q.push(vec![2], vec![msg(2)]), Pushed::Queued);
        assert_eq!(q.push(vec![3], vec![]), Pushed::Queued);
        assert_eq!((q.writes(), q.held()), (3, 2));
        let (first, next) = q.complete().expect("an fsync under way");
        assert_eq!((held(&first), first.writes, next), (vec![1], vec![1], true));
        let (second, next) = q.complete().expect("the gathered batch");
        assert_eq!(
            (held(&second), second.writes, next),
            (vec![2], vec![2, 3], false)
        );
        assert!(q.is_empty() && q.complete().is_none());
    }

    #[test]
    fn a_held_message_without_writes_waits_only_for_the_writes_before_it() {
        let mut q: DiskQueue<Numbers> = DiskQueue::new();
        q.push(vec![1], vec![]);
        assert_eq!(q.push(vec![], vec![msg(7)]), Pushed::Queued);
        let (first, next) = q.complete().expect("an fsync under way");
        assert_eq!((held(&first), next), (vec![7], false));
    }

    #[test]
    fn a_crash_loses_every_write_and_held_message_not_yet_on_disk() {
        let mut q: DiskQueue<Numbers> = DiskQueue::new();
        q.push(vec![1, 2], vec![msg(1)]);
        q.push(vec![3], vec![msg(2), msg(3)]);
        assert_eq!(q.clear(), (3, 3));
        assert!(q.is_empty());
    }
}
