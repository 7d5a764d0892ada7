//! The primary's side of keeping its backups: bringing each into its lineage (a probe, and a
//! state transfer in chunks when the probe says no), then keeping it there (forwards, acks,
//! resends). A backup counts towards commits, and towards the view's acknowledgement, only
//! once it is in the lineage.
//!
//! ```text
//!   Probing ── Probe ──► backup ── Probed{through=t} ─┬─ t ≥ committed ──► Synced{t}: resend t+1..
//!      ▲                                               └─ none, or t < committed ──► Sending{0}
//!      │ (new backup; every backup after a
//!      │  restart or a new tenure)          Sending{i} ── StateChunk{i} ──► ChunkAck{i+1}
//!      │                                                 … past the last ──► Synced{through}
//!   Synced{t} ── Forward ──► Forwarded{t'} ──► Synced{t'}; commit through the lowest t
//! ```
//!
//! **Why a probe first.** A backup that stays from one view to the next under the same
//! primary, or whose primary restarted, already holds a prefix of the primary's history; it
//! only needs what it missed. Only a backup outside the lineage (new, or left behind by a new
//! tenure, whose uncommitted puts may differ from the new primary's at the same seqs) needs
//! the whole state. A backup that answers a through below the commit point needs it too: the
//! primary's log holds only the puts after the commit point.
//!
//! **The transfer** sends registers, log and sessions, at most `chunk_items_max` items per
//! chunk, one chunk in flight, resent every `resend_interval_ticks` until acknowledged. Chunk
//! 0 starts a staging copy at the receiver, the last swaps it in (backup.rs). While it runs
//! the primary refuses puts and commits
//! nothing, so its store is one fixed state, which is what makes chunking by index correct.
//! The road not taken: a copy-on-write snapshot that lets puts go on during the transfer and
//! forwards them afterwards (chain replication's Sent list does this); freezing costs
//! availability for as many round trips as there are chunks, and is simpler to check.
//!
//! Invariants (asserted): a backup in the lineage never holds more than the primary; the
//! store does not move during a transfer; at most `pending_max` forwards are resent at once.

use distributed_core::NodeId;

use crate::primary_backup::message::{ChunkAck, Forwarded, Probe, Probed, StateChunk};
use crate::primary_backup::node::Out;
use crate::primary_backup::primary::Sync;
use crate::primary_backup::server::Server;

impl Server {
    /// Do whatever is due with each backup: a probe, a chunk, or resending what it lacks.
    pub(crate) fn sync_backups(&mut self, out: &mut Out) {
        let Some(primary) = self.primary.as_ref() else {
            return;
        };
        let (now, last) = (self.ticks, self.store.last_seq());
        let due: Vec<(NodeId, Sync)> = primary
            .backups
            .iter()
            .filter(|(_, s)| match **s {
                Sync::Probing { due_tick } | Sync::Sending { due_tick, .. } => now >= due_tick,
                Sync::Synced { through, due_tick } => through < last && now >= due_tick,
            })
            .map(|(&b, &s)| (b, s))
            .collect();
        for (backup, sync) in due {
            match sync {
                Sync::Probing { .. } => self.send_probe(backup, out),
                Sync::Sending { .. } => self.send_chunk(backup, out),
                Sync::Synced { through, .. } => self.resend_after(backup, through, out),
            }
        }
    }

    /// Set `backup`'s sync state.
    fn set_sync(&mut self, backup: NodeId, sync: Sync) {
        let primary = self.primary.as_mut().expect("the primary of its tenure");
        primary.backups.insert(backup, sync);
    }

    fn send_probe(&mut self, backup: NodeId, out: &mut Out) {
        let due_tick = self.ticks + self.config.resend_interval_ticks;
        self.set_sync(backup, Sync::Probing { due_tick });
        out.send(
            self.id(),
            backup,
            Probe {
                view: self.view.num,
            }
            .into(),
        );
    }

    /// Send (or send again) the chunk `backup` wants.
    fn send_chunk(&mut self, backup: NodeId, out: &mut Out) {
        let primary = self.primary.as_ref().expect("the primary of its tenure");
        let Some(&Sync::Sending { next, through, .. }) = primary.backups.get(&backup) else {
            unreachable!("a chunk goes only to a backup receiving the state");
        };
        assert_eq!(
            through,
            self.store.last_seq(),
            "the store does not move during a transfer"
        );
        let (items, last) = self.store.chunk(next, self.config.chunk_items_max);
        let due_tick = self.ticks + self.config.resend_interval_ticks;
        self.set_sync(
            backup,
            Sync::Sending {
                next,
                through,
                due_tick,
            },
        );
        let chunk = StateChunk {
            view: self.view.num,
            index: next,
            through,
            committed: self.store.committed_seq(),
            items,
            last,
        };
        out.send(self.id(), backup, chunk.into());
        self.counters.chunks_sent += 1;
    }

    /// Send `backup` every put of the log after `through`, again.
    fn resend_after(&mut self, backup: NodeId, through: u64, out: &mut Out) {
        let due_tick = self.ticks + self.config.resend_interval_ticks;
        self.set_sync(backup, Sync::Synced { through, due_tick });
        let records: Vec<_> = self
            .store
            .log_after(through)
            .map(|(seq, r)| (seq, r.clone()))
            .collect();
        assert!(records.len() <= self.config.pending_max);
        for (seq, record) in records {
            self.forward(backup, seq, &record, out);
            self.counters.forwards_resent += 1;
        }
    }

    /// A backup's answer to a probe: in the lineage far enough (catch it up), or not (send it
    /// the state).
    pub(crate) fn on_probed(&mut self, from: NodeId, msg: Probed, out: &mut Out) {
        let primary = self.primary.as_ref().expect("checked by the view gate");
        if !matches!(primary.backups.get(&from), Some(Sync::Probing { .. })) {
            return out.note(format_args!(
                "ignored {msg} from {from}: not being probed (a duplicate, or answered already)"
            ));
        }
        let (committed, last) = (self.store.committed_seq(), self.store.last_seq());
        match msg.through {
            Some(through) if through >= committed => {
                assert!(
                    through <= last,
                    "{from} holds seq {through} of this primary's lineage, which stored only \
                     through {last}"
                );
                self.resend_after(from, through, out);
                self.try_commit(out);
            }
            _ => {
                let sync = Sync::Sending {
                    next: 0,
                    through: last,
                    due_tick: 0,
                };
                self.set_sync(from, sync);
                self.send_chunk(from, out);
            }
        }
    }

    /// The backup wants chunk `next`: send it, or, past the last, count it in the lineage.
    pub(crate) fn on_chunk_ack(&mut self, from: NodeId, msg: ChunkAck, out: &mut Out) {
        let primary = self.primary.as_ref().expect("checked by the view gate");
        let Some(&Sync::Sending { next, through, .. }) = primary.backups.get(&from) else {
            return out.note(format_args!(
                "ignored {msg} from {from}: no state transfer to it in progress"
            ));
        };
        if msg.next == next {
            return out.note(format_args!(
                "ignored {msg} from {from}: chunk {next} is in flight already"
            ));
        }
        let items = self.store.items().max(1);
        let chunks = items.div_ceil(self.config.chunk_items_max);
        if msg.next as usize >= chunks {
            self.resend_after(from, through, out);
            return self.try_commit(out);
        }
        let due_tick = 0;
        let next = msg.next;
        self.set_sync(
            from,
            Sync::Sending {
                next,
                through,
                due_tick,
            },
        );
        self.send_chunk(from, out);
    }

    /// A backup holds the history through `through`: count it, and commit what every backup
    /// now holds.
    pub(crate) fn on_forwarded(&mut self, from: NodeId, msg: Forwarded, out: &mut Out) {
        let primary = self.primary.as_ref().expect("checked by the view gate");
        let Some(&Sync::Synced { through, .. }) = primary.backups.get(&from) else {
            return out.note(format_args!(
                "ignored {msg} from {from}: it is not counted in the lineage yet"
            ));
        };
        if msg.through <= through {
            return out.note(format_args!(
                "ignored {msg} from {from}: known to hold through {through} already"
            ));
        }
        let last = self.store.last_seq();
        assert!(
            msg.through <= last,
            "{from} acked seq {} but this primary stored only through {last}",
            msg.through
        );
        let due_tick = self.ticks + self.config.resend_interval_ticks;
        let sync = Sync::Synced {
            through: msg.through,
            due_tick,
        };
        self.set_sync(from, sync);
        self.try_commit(out);
    }
}
