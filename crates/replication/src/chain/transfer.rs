//! Extending the chain (OSDI '04 §3, "the addition of a new server at the tail"): the master
//! makes a replica the joining tail; its predecessor, the old tail, sends it the state in
//! chunks of at most `chunk_keys_max` keys, one in flight at a time; once every chunk is in,
//! the new tail commits what it got and says `ready` in its next heartbeat, and the master
//! confirms it with a configuration that no longer marks it joining.
//!
//! ```text
//!   epoch 3 [n1,n2,n4] joining=n4
//!   n2 (frozen: takes no updates)                 n4
//!      ── StateChunk{index=0 through=9 [a..]} ──► Wipe (whatever it held), Chunk
//!      ◄─ ChunkAck{next=1} ─────────────────────
//!      ── StateChunk{index=1 last=true [..z]} ──► Chunk, Installed{through=9}: history 1..=9
//!      ◄─ ChunkAck{next=2}  ◄─ Ack{through=9} ── (it is the tail: all of it is committed)
//!   n2 thaws: updates after 9 flow to n4 as usual    n4 ── Heartbeat{ready=true} ──► master
//!   epoch 4 [n1,n2,n4]: n4 serves reads
//! ```
//!
//! Chunk 0 wipes the receiver: a replica that comes back after being removed may hold updates
//! that never committed (a head that stored a put and fell out before forwarding it), and the
//! seqs it used have since been given to other writes. Starting empty is the only safe merge.
//! A receiver that lost its place (it restarted, or the predecessor changed) asks for chunk 0
//! again; the sender resends an unacknowledged chunk every `resend_interval_ticks`.
//!
//! The road not taken: the paper's old tail keeps processing updates during the copy and
//! forwards the ones it saw since (its Sent list) afterwards, and keeps serving reads until the
//! new tail is ready. Freezing the predecessor is simpler to check, since the snapshot is one
//! fixed history `1..=through`, and costs availability: puts stall (the head's Sent list
//! fills and it refuses more) and nobody serves tail reads until the join is confirmed.

use distributed_core::{NodeId, Tick};

use crate::chain::message::{ChunkAck, StateChunk};
use crate::chain::node::Out;
use crate::chain::replica::Replica;
use crate::chain::store::{Seq, Write};

/// The sending side: the predecessor of a joining tail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TransferOut {
    /// The joining tail.
    pub to: NodeId,
    /// The chunk it asked for last (the one in flight).
    pub next: u32,
    /// When to send it again if no `ChunkAck` arrives.
    pub due_tick: Tick,
}

impl TransferOut {
    /// A transfer to `to`, chunk 0 due at once.
    pub(crate) fn new(to: NodeId) -> TransferOut {
        TransferOut {
            to,
            next: 0,
            due_tick: 0,
        }
    }
}

/// The receiving side: a joining tail whose transfer is not complete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TransferIn {
    /// The chunk it wants next.
    pub next: u32,
    /// The sender's last update, from chunk 0: every chunk must agree.
    pub through: Seq,
}

impl Replica {
    /// Send (or resend) the chunk the joining tail wants.
    pub(crate) fn send_chunk(&mut self, out: &mut Out) {
        let (epoch, through, ticks) = (self.view.epoch, self.store.last_seq(), self.ticks);
        let resend = self.config.resend_interval_ticks;
        let me = self.id();
        let sending = self.sending.as_mut().expect("a transfer is being sent");
        let (entries, last) = self.store.chunk(sending.next, self.config.chunk_keys_max);
        sending.due_tick = ticks + resend;
        let chunk = StateChunk {
            epoch,
            index: sending.next,
            through,
            entries,
            last,
        };
        out.send(me, sending.to, chunk.into());
        self.counters.chunks_sent += 1;
    }

    /// Resend the chunk in flight if its acknowledgement is overdue.
    pub(crate) fn tick_transfer(&mut self, out: &mut Out) {
        if self
            .sending
            .as_ref()
            .is_some_and(|s| self.ticks >= s.due_tick)
        {
            self.send_chunk(out);
        }
    }

    /// The joining tail wants chunk `next`: send it, or, past the last, thaw.
    pub(crate) fn on_chunk_ack(&mut self, from: NodeId, msg: ChunkAck, out: &mut Out) {
        let Some(sending) = self.sending.as_mut() else {
            return out.note(format_args!(
                "ignored {msg} from {from}: no state transfer in progress"
            ));
        };
        if sending.to != from {
            return out.note(format_args!(
                "ignored {msg} from {from}: the transfer goes to {}",
                sending.to
            ));
        }
        let keys = self.store.keys().max(1);
        let chunks = keys.div_ceil(self.config.chunk_keys_max);
        if msg.next as usize >= chunks {
            self.sending = None;
            return;
        }
        sending.next = msg.next;
        self.send_chunk(out);
    }

    /// A chunk of this joining tail's state: take it if it is the next one (chunk 0 always,
    /// starting over), and once the last is in, install the history and commit it.
    pub(crate) fn on_state_chunk(&mut self, from: NodeId, msg: StateChunk, out: &mut Out) {
        let epoch = self.view.epoch;
        if self.view.predecessor(self.id()) != Some(from) || !self.view.is_joining(self.id()) {
            return out.note(format_args!(
                "ignored {msg} from {from}: this replica is not {from}'s joining successor in \
                 epoch {epoch}"
            ));
        }
        if msg.entries.len() > self.config.chunk_keys_max {
            return out.note(format_args!(
                "ignored {msg} from {from}: more than chunk_keys_max entries"
            ));
        }
        let next = msg.index + 1;
        if self.is_ready() {
            out.send(self.id(), from, ChunkAck { epoch, next }.into());
            return out.note(format_args!(
                "ignored {msg} from {from}: the transfer of epoch {epoch} is installed already"
            ));
        }
        if msg.index == 0 {
            self.persist_here(Write::Wipe, out);
            // Nothing is held here (adopting the joining configuration cleared it, and a
            // joining tail takes no updates until installed); cleared again so that no held
            // update ever meets a history other than the one it was sent against.
            self.ahead.clear();
            self.receiving = Some(TransferIn {
                next: 0,
                through: msg.through,
            });
        }
        let me = self.id();
        let receiving = self.receiving.as_mut().expect("a joining tail receives");
        if msg.index != receiving.next || msg.through != receiving.through {
            let want = receiving.next;
            out.send(me, from, ChunkAck { epoch, next: want }.into());
            return out.note(format_args!(
                "ignored {msg} from {from}: chunk {want} of the transfer through {} comes next",
                receiving.through
            ));
        }
        receiving.next = next;
        let StateChunk {
            through,
            entries,
            last,
            ..
        } = msg;
        self.persist_here(Write::Chunk { entries }, out);
        out.send(self.id(), from, ChunkAck { epoch, next }.into());
        if last {
            self.persist_here(Write::Installed { epoch, through }, out);
            self.receiving = None;
            self.commit_all(out);
            self.send_heartbeat(out);
        }
    }

    /// Apply a store write here and ask the host to persist it.
    fn persist_here(&mut self, write: Write, out: &mut Out) {
        self.store.apply(&write);
        out.writes.push(write);
    }
}
