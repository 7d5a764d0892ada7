//! The Effects of a node that overlaps writes with sends (contract step 5; Raft thesis
//! §10.2.1), and the fsyncs that complete them: the simulated host does what the real server
//! does (`server/src/node`: `release_early`, `on_durable`).
//!
//! ```text
//!   Effects of node n ─► writes none and DiskQueue empty? ─► send every message now
//!                     └► otherwise: sends_before_durable ─► send now (a leader's AppendEntries)
//!                                   the rest (votes, acks) + the writes ─► DiskQueue::push
//!                                      disk idle ─► Fsync{n, incarnation} at now + fsync delay
//!                     ─► notes, then every output now (trace, workload, on_output)
//!
//!   Fsync{n, incarnation} ─► stale life? nothing (the crash lost the batch)
//!                         └► next batch? its Fsync at now + fsync delay
//!                            persist each write (+ on_write) ─► send the held messages
//!                            ─► node.input(durable_input(writes)) ─► its Effects, as above
//! ```
//!
//! Determinism: fsync delays come from the simulation's own disk stream, drawn only here, so
//! runs whose nodes never overlap writes draw exactly what they drew before this file existed.
//!
//! Invariant: a write reaches the slot's disk (and `Invariant::on_write`) only when its fsync
//! completes, in the order emitted; a held message leaves only after every write the node
//! emitted before it is on disk. So a crash between the send of an AppendEntries and the
//! leader's own fsync leaves the entry on followers' disks and not on the leader's: the case
//! a leader that counts its own unsynced copy toward a commit gets wrong.

use distributed_core::{Effects, NodeId, Protocol};

use super::{draw, index, Failure, Handled, Simulation};
use crate::disk::Pushed;
use crate::queue::EventKind;
use crate::record::Record;

impl<P: Protocol> Simulation<P> {
    /// Carry out the Effects of node `id`, which overlaps writes with sends.
    pub(super) fn apply_overlapped(
        &mut self,
        id: NodeId,
        fx: &mut Effects<P>,
    ) -> Result<(), Failure> {
        let i = index(id);
        if fx.writes.is_empty() && self.slots[i].unsynced.is_empty() {
            // Nothing on its way to disk: nothing to wait for.
            for env in fx.messages.drain(..) {
                self.send(env);
            }
            return self.note_and_deliver(id, fx);
        }
        let node = self.slots[i].node.as_ref().expect("the node just acted");
        let (early, held): (Vec<_>, Vec<_>) = fx
            .messages
            .drain(..)
            .partition(|env| node.sends_before_durable(&env.msg));
        for env in early {
            self.send(env);
        }
        let writes: Vec<P::Write> = fx.writes.drain(..).collect();
        let waits = !writes.is_empty() || !held.is_empty();
        if waits && self.slots[i].unsynced.push(writes, held) == Pushed::StartFsync {
            self.schedule_fsync(id);
        }
        self.note_and_deliver(id, fx)
    }

    /// The fsync under way on `id` completes now, unless a crash since lost it.
    pub(super) fn fsync_done(&mut self, id: NodeId, incarnation: u32) -> Handled {
        let i = index(id);
        let slot = &mut self.slots[i];
        if slot.incarnation != incarnation || slot.node.is_none() {
            return Ok(None); // the crash emptied the queue: these writes never reach the disk
        }
        let (batch, next) = slot
            .unsynced
            .complete()
            .expect("an Fsync of the node's current life has its batch");
        if next {
            self.schedule_fsync(id);
        }
        self.stats.fsyncs += 1;
        for write in &batch.writes {
            self.persist_write(id, write)?;
        }
        let input = (self.slots[i].node.as_ref()).and_then(|n| n.durable_input(&batch.writes));
        if self.recorder.active() {
            self.recorder.push(Record::Durable {
                at: self.now,
                node: id,
                writes: batch.writes.len(),
                held: batch.held.len(),
                input: input.clone(),
            });
        }
        for env in batch.held {
            self.send(env);
        }
        if let Some(input) = input {
            let mut fx = std::mem::take(&mut self.effects);
            if let Some(node) = self.slots[i].node.as_mut() {
                node.input(input, &mut fx);
            }
            self.apply(id, fx)?;
        }
        Ok(Some(id))
    }

    /// Start an fsync on `id`: it completes after a delay drawn from the disk stream.
    fn schedule_fsync(&mut self, id: NodeId) {
        let d = &self.config.disk;
        let delay = draw(&mut self.disk_rng, d.fsync_units_min, d.fsync_units_max);
        let incarnation = self.slots[index(id)].incarnation;
        self.queue.push(
            self.now + delay.max(1),
            EventKind::Fsync {
                node: id,
                incarnation,
            },
        );
    }
}
