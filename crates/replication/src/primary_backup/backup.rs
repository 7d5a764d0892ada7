//! The backup's side: answer probes, receive a state transfer, store forwarded puts in order.
//! A backup answers no client (a request gets `Redirect{primary}`); it exists so that the puts
//! the primary acknowledges survive the primary.
//!
//! ```text
//!   Probe{view}            ──► Probed{through = last_seq if in the view's lineage, else none}
//!   StateChunk{index=0 …}  ──► Stage (an empty copy beside the live store), Chunk,
//!                              ChunkAck{next=1}
//!   StateChunk{index=i}    ──► Chunk, ChunkAck{next=i+1}; after the last: Installed{tenure},
//!                              and the copy replaces the live store at once
//!   Forward{seq=last+1}    ──► persist Put (then Commit through the primary's commit point),
//!                              Forwarded{through=seq}
//! ```
//!
//! **In the lineage or not.** A backup takes forwards only while its store holds the history
//! of the view's tenure (`lineage == since`), which only a state transfer from that tenure's
//! primary makes true. A backup left over from an earlier tenure may hold puts its old primary
//! never committed, at seqs the new primary gives to other puts; storing the new ones on top
//! would fork the history, so it gets the whole state instead, which replaces what it held.
//! A backup in the lineage but behind the commit point (it was out of the view for a while)
//! gets the whole state too. What tells a late duplicate of a finished transfer's chunk from
//! a new transfer: a new one always reaches beyond what the backup holds (the primary starts
//! it only for a backup behind its commit point), a duplicate never does; taking a duplicate
//! through to the end would replace a store the primary counts as holding everything with an
//! older one.
//!
//! **Staged, then swapped** (as Raft's InstallSnapshot writes a temporary file and renames
//! it): the chunks build a copy beside the live store, and the last one swaps it in. A backup
//! whose transfer is cut short keeps a consistent store, if an old one, and is no more in the
//! lineage than before.
//!
//! Invariants (asserted): a backup stores only `last_seq + 1`, so its history is a prefix of
//! its primary's; its commit point never passes its own history or its primary's; a chunk
//! carries at most `chunk_items_max` items.

use distributed_core::NodeId;

use crate::primary_backup::message::{ChunkAck, Forward, Forwarded, Probe, Probed, StateChunk};
use crate::primary_backup::node::Out;
use crate::primary_backup::server::Server;
use crate::primary_backup::store::{Record, Seq, Write};

/// A state transfer being received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Receiving {
    /// The chunk wanted next.
    pub next: u32,
    /// The primary's last put, from chunk 0: every chunk must agree.
    pub through: Seq,
    /// The primary's commit point, from chunk 0: every chunk must agree.
    pub committed: Seq,
}

impl Server {
    /// Is this backup's store the history of its view's tenure?
    fn in_lineage(&self) -> bool {
        self.store.lineage() == self.view.since
    }

    /// The primary asks whether this store is in its lineage, and how far.
    pub(crate) fn on_probe(&mut self, from: NodeId, msg: Probe, out: &mut Out) {
        let through = self.in_lineage().then(|| self.store.last_seq());
        let view = msg.view;
        out.send(self.id(), from, Probed { view, through }.into());
    }

    /// A chunk of the primary's state: take it if it is the next one (chunk 0 always,
    /// starting over); after the last, the store is the lineage.
    pub(crate) fn on_state_chunk(&mut self, from: NodeId, msg: StateChunk, out: &mut Out) {
        let (view, me) = (self.view.num, self.id());
        if msg.items.len() > self.config.chunk_items_max {
            return out.note(format_args!(
                "ignored {msg} from {from}: more than chunk_items_max items"
            ));
        }
        let next = msg.index + 1;
        if self.in_lineage() && msg.through <= self.store.last_seq() {
            out.send(me, from, ChunkAck { view, next }.into());
            return out.note(format_args!(
                "ignored {msg} from {from}: this store is in the lineage and holds its history \
                 through {} already (a duplicate, or the acknowledgement was lost)",
                self.store.last_seq()
            ));
        }
        if msg.index == 0 {
            self.persist(Write::Stage, out);
            self.receiving = Some(Receiving {
                next: 0,
                through: msg.through,
                committed: msg.committed,
            });
        }
        let Some(receiving) = self.receiving.as_mut() else {
            out.send(me, from, ChunkAck { view, next: 0 }.into());
            return out.note(format_args!(
                "ignored {msg} from {from}: no transfer under way here (restarted?): chunk 0 \
                 comes first"
            ));
        };
        let same = msg.through == receiving.through && msg.committed == receiving.committed;
        if msg.index != receiving.next || !same {
            let want = receiving.next;
            out.send(me, from, ChunkAck { view, next: want }.into());
            return out.note(format_args!(
                "ignored {msg} from {from}: chunk {want} of the transfer through {} comes next",
                receiving.through
            ));
        }
        receiving.next = next;
        let StateChunk {
            through,
            committed,
            items,
            last,
            ..
        } = msg;
        self.persist(Write::Chunk { items }, out);
        if last {
            let tenure = self.view.since;
            let installed = Write::Installed {
                tenure,
                through,
                committed,
            };
            self.persist(installed, out);
            self.receiving = None;
            self.counters.transfers_installed += 1;
        }
        out.send(me, from, ChunkAck { view, next }.into());
    }

    /// A forwarded put: store it if it is the next one, learn the commit point, say how far
    /// this store holds the history.
    pub(crate) fn on_forward(&mut self, from: NodeId, msg: Forward, out: &mut Out) {
        if !self.in_lineage() {
            return out.note(format_args!(
                "ignored {msg} from {from}: this store is not in the lineage of tenure {} yet; \
                 the primary's state comes first",
                self.view.since
            ));
        }
        let last = self.store.last_seq();
        if msg.seq > last + 1 {
            return out.note(format_args!(
                "ignored {msg} from {from}: a gap, seq {} comes first (lost or overtaken)",
                last + 1
            ));
        }
        let Forward {
            seq,
            key,
            value,
            op,
            committed,
            view,
        } = msg;
        if seq == last + 1 {
            let evict = self.store.eviction_for(op.client, self.config.sessions_max);
            let record = Record { key, value, op };
            self.persist(Write::Put { seq, record, evict }, out);
            self.counters.puts_stored += 1;
        } else {
            out.note(format_args!(
                "seq {seq} from {from} is stored already: acknowledged again, in case the \
                 acknowledgement was lost"
            ));
        }
        let commit = committed.min(self.store.last_seq());
        if commit > self.store.committed_seq() {
            self.persist(Write::Commit { through: commit }, out);
        }
        let through = self.store.last_seq();
        out.send(self.id(), from, Forwarded { view, through }.into());
    }
}
