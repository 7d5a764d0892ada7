//! Snapshots and log compaction (§7): the host compacts, the leader ships snapshots in chunks to
//! followers that fell behind its log, and a follower installs one.
//!
//! ```text
//!   host ── Input::Snapshot{index data} ──► node: log forgets ..=index ──► Write::Snapshot
//!
//!   leader (follower's next_index ≤ snapshot index: the entries it needs are gone)
//!     progress ─► Snapshot{index offset}: no appends; one chunk in flight
//!     ── InstallSnapshot{term snap=(t,i) off=0 n=chunk more} ──────────────► follower
//!     ◄─ InstallSnapshotResponse{term snap=i received=chunk round} ───────── assembles
//!     ── InstallSnapshot{.. off=chunk n=rest done} ─────────────────────────►
//!     ◄─ InstallSnapshotResponse{.. installed} ─── Write::Snapshot, Output::RestoreSnapshot
//!     progress ─► Probe at i + 1
//!
//!   lost chunk or reply: the current chunk is sent again each heartbeat interval
//!   offset mismatch:     the follower answers with what it holds; the leader resumes there
//!   other snapshot/term: a chunk at offset 0 restarts assembly; any other one drops it
//! ```
//!
//! §7's receiver rules: reply at once if the term is stale; create a new snapshot at offset 0;
//! write data at the given offset; wait for more unless `done`; then keep the log suffix after
//! the snapshot's last entry if the log holds that entry (same index and term), else discard
//! the whole log; reset the state machine from the snapshot.
//!
//! Invariants (asserted): a snapshot only moves forward (its index grows); it covers only
//! applied (hence committed) entries on the node that takes it; after an install, `commit_index`
//! and the applied index equal the snapshot's index, never moving backwards.
//!
//! The road not taken: sending the whole snapshot in one message. It can be far larger than any
//! frame the transport accepts, and a lost giant message is retried whole.

use std::fmt;

use bytes::Bytes;
use distributed_core::NodeId;

use crate::log::{Index, Term, INDEX_MAX};
use crate::membership::Membership;
use crate::message::{InstallSnapshot, InstallSnapshotResponse, Round};
use crate::node::Raft;
use crate::progress::ProgressState;
use crate::ready::{Output, Ready, Write};
use crate::role::Role;

/// What a snapshot covers: the point in the log it replaces, and the configuration there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// The last index the snapshot covers (§7 `lastIncludedIndex`).
    pub index: Index,
    /// The term of that entry (§7 `lastIncludedTerm`): the consistency check of the first
    /// AppendEntries after the snapshot compares against it.
    pub term: Term,
    /// The configuration in force at `index` (the latest config entry at or below it, §6):
    /// the log that named it is gone, so a node restarting from or installing the snapshot
    /// learns its configuration here (§7).
    pub membership: Membership,
}

/// A state machine image and the log point it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Where in the log this snapshot stands.
    pub meta: SnapshotMeta,
    /// The serialized state machine, in the host's own format; Raft never looks inside.
    pub data: Bytes,
}

/// A follower's half-received snapshot.
#[derive(Clone, Debug)]
pub(crate) struct Incoming {
    /// The term of the leader sending it: a chunk of another term restarts assembly.
    pub(crate) term: Term,
    /// The snapshot being received: a chunk of another snapshot restarts assembly.
    pub(crate) meta: SnapshotMeta,
    /// The bytes received so far, contiguous from offset 0; bounded by `snapshot_bytes_max`.
    pub(crate) data: Vec<u8>,
}

impl Raft {
    /// `Input::Snapshot`: the host's state machine is saved through `index`; forget the log up
    /// to there. Ignored when `index` is not above the current snapshot or not yet applied.
    pub(crate) fn take_snapshot(&mut self, index: Index, data: Bytes, out: &mut Ready) {
        let (snapshot_index, applied) = (self.log.snapshot_index(), self.delivered_index);
        if index <= snapshot_index || index > applied {
            let bytes = data.len();
            return out.note(format_args!(
                "ignored input Snapshot{{index={index} bytes={bytes}}}: not in (snapshot {snapshot_index}, applied {applied}]"
            ));
        }
        let term = self
            .log
            .term_at(index)
            .expect("an applied entry above the snapshot is in the log");
        let snapshot = Snapshot {
            meta: SnapshotMeta {
                index,
                term,
                membership: self.membership_at(index),
            },
            data,
        };
        self.log.compact_to(index, term);
        out.writes.push(Write::Snapshot(snapshot.clone()));
        self.snapshot = Some(snapshot);
    }

    /// Leader: send `peer` the chunk its progress points at, starting over at offset 0 when it
    /// was not yet receiving our latest snapshot.
    pub(crate) fn send_snapshot_chunk(&mut self, peer: NodeId, out: &mut Ready) {
        let Some(snapshot) = &self.snapshot else {
            return;
        };
        let Some(l) = self.role.leader_mut() else {
            return;
        };
        let Some(pr) = l.progress.get_mut(&peer) else {
            return;
        };
        let offset = match pr.state {
            ProgressState::Snapshot { index, offset } if index == snapshot.meta.index => offset,
            _ => {
                pr.become_snapshot(snapshot.meta.index);
                0
            }
        };
        let len = snapshot.data.len();
        let start = usize::try_from(offset).map_or(len, |o| o.min(len));
        let end = start
            .saturating_add(self.config.snapshot_chunk_bytes_max)
            .min(len);
        let msg = InstallSnapshot {
            term: self.term,
            meta: snapshot.meta.clone(),
            offset: start as u64,
            data: snapshot.data.slice(start..end),
            done: end == len,
            round: l.rounds.current,
        };
        out.send(self.config.id, peer, msg.into());
    }

    /// Leader: a follower answered a chunk. Installed: probe just after the snapshot. Not yet:
    /// send the chunk at the offset it asks for. Stale answers (another snapshot) are ignored.
    pub(crate) fn on_install_snapshot_response(
        &mut self,
        from: NodeId,
        msg: InstallSnapshotResponse,
        out: &mut Ready,
    ) {
        if msg.term < self.term {
            let term = self.term;
            return out.note(format_args!(
                "ignored {msg} from {from}: stale term {} < {term} (§5.1)",
                msg.term
            ));
        }
        if self.role() != Role::Leader {
            return out.note(format_args!("ignored {msg} from {from}: not leader"));
        }
        self.on_round_ack(from, msg.round, out);
        let last = self.log.last_index();
        let Some(pr) = self.role.progress_mut(from) else {
            return out.note(format_args!(
                "ignored {msg} from {from}: not a member this leader replicates to"
            ));
        };
        let ProgressState::Snapshot { index: sending, .. } = pr.state else {
            return out.note(format_args!(
                "ignored {msg} from {from}: no snapshot is being sent to it (its round still counts)"
            ));
        };
        if sending != msg.index || msg.index > last {
            return out.note(format_args!(
                "ignored {msg} from {from}: answers another snapshot than {sending} (its round still counts)"
            ));
        }
        if msg.installed {
            pr.on_snapshot_installed(msg.index);
            self.send_appends(from, out);
        } else {
            pr.state = ProgressState::Snapshot {
                index: msg.index,
                offset: msg.received,
            };
            self.send_snapshot_chunk(from, out);
        }
    }

    /// Follower: one chunk of a snapshot (§7 receiver rules).
    pub(crate) fn on_install_snapshot(
        &mut self,
        from: NodeId,
        msg: InstallSnapshot,
        out: &mut Ready,
    ) {
        let index = msg.meta.index;
        if msg.term < self.term {
            // §5.1: answer with our term, so the stale leader steps down.
            return self.reply_snapshot(from, index, 0, false, msg.round, out);
        }
        if !self.follow_leader_of_this_term(from, out) {
            let term = self.term;
            return out.note(format_args!(
                "ignored {msg} from {from}: this node leads term {term}, two leaders in one term (§5.2 broken elsewhere)"
            ));
        }
        let meta = &msg.meta;
        if meta.index == 0 || meta.index > INDEX_MAX || meta.term == 0 || meta.term > msg.term {
            return out.note(format_args!(
                "ignored {msg} from {from}: malformed snapshot point"
            ));
        }
        if index <= self.commit_index {
            // Everything it covers is committed here already: nothing to install.
            let end = msg.offset.saturating_add(msg.data.len() as u64);
            return self.reply_snapshot(from, index, end, true, msg.round, out);
        }
        let (round, done) = (msg.round, msg.done);
        match self.assemble(msg) {
            Ok(received) if done => {
                self.install_snapshot(out);
                self.reply_snapshot(from, index, received, true, round, out);
            }
            Ok(received) | Err(Some(received)) => {
                self.reply_snapshot(from, index, received, false, round, out)
            }
            // Refused: no answer, so the leader retries once per heartbeat, not in a loop.
            Err(None) => {
                let max = self.config.snapshot_bytes_max;
                out.note(format_args!(
                    "ignored a chunk of snapshot {index} from {from}: larger than snapshot_bytes_max {max}"
                ));
            }
        }
    }

    /// Add a chunk to the snapshot being assembled. `Ok(bytes held)` if it fit at the end,
    /// `Err(Some(bytes held))` (0 after a reset) if the leader must resend from there, and
    /// `Err(None)` if the snapshot is larger than `snapshot_bytes_max` allows.
    fn assemble(&mut self, chunk: InstallSnapshot) -> Result<u64, Option<u64>> {
        let same =
            (self.incoming.as_ref()).is_some_and(|a| a.term == chunk.term && a.meta == chunk.meta);
        if chunk.offset == 0 && !same {
            self.incoming = Some(Incoming {
                term: chunk.term,
                meta: chunk.meta,
                data: Vec::new(),
            });
        } else if !same {
            self.incoming = None; // a chunk of another snapshot or term: start over
            return Err(Some(0));
        }
        let bytes_max = self.config.snapshot_bytes_max;
        let incoming = self.incoming.as_mut().expect("assembly started above");
        let held = incoming.data.len() as u64;
        if chunk.offset != held {
            return Err(Some(held)); // a duplicate or a gap: resume where we are
        }
        if incoming.data.len().saturating_add(chunk.data.len()) > bytes_max {
            self.incoming = None; // larger than this node accepts: refuse
            return Err(None);
        }
        incoming.data.extend_from_slice(&chunk.data);
        Ok(incoming.data.len() as u64)
    }

    /// The snapshot this follower is assembling: the sending leader's term, its point, and the
    /// bytes held so far (contiguous from offset 0). A host that can check its state machine's
    /// bytes looks here before stepping the last chunk: Raft never looks inside `data`, and once
    /// it installs a snapshot it has already cut its log.
    pub fn snapshot_in_progress(&self) -> Option<(Term, &SnapshotMeta, &[u8])> {
        (self.incoming.as_ref()).map(|a| (a.term, &a.meta, a.data.as_slice()))
    }

    /// The host refused the snapshot being assembled (its bytes do not restore): forget what
    /// was received. The leader's next chunk then gets `received = 0` and it starts over from
    /// offset 0, rather than this node keeping a prefix it already knows leads nowhere.
    pub fn drop_snapshot_in_progress(&mut self) {
        self.incoming = None;
    }

    /// The assembled snapshot is complete: persist it, cut the log per §7, and hand the state
    /// to the host. Commit and applied indices jump forward to the snapshot's index.
    fn install_snapshot(&mut self, out: &mut Ready) {
        let incoming = self.incoming.take().expect("a complete assembly");
        let snapshot = Snapshot {
            meta: incoming.meta,
            data: Bytes::from(incoming.data),
        };
        let (index, term) = (snapshot.meta.index, snapshot.meta.term);
        assert!(
            index > self.commit_index && index > self.delivered_index,
            "an installed snapshot moves applied forward (§7)"
        );
        self.log.compact_to(index, term);
        out.writes.push(Write::Snapshot(snapshot.clone()));
        self.snapshot = Some(snapshot.clone());
        // The kept suffix (if any) may hold a later config entry; else the snapshot's rules.
        self.reload_membership(0);
        self.commit_index = index;
        self.delivered_index = index;
        out.outputs.push(Output::RestoreSnapshot(snapshot));
        self.on_commit_advanced(out);
    }

    fn reply_snapshot(
        &self,
        to: NodeId,
        index: Index,
        received: u64,
        installed: bool,
        round: Round,
        out: &mut Ready,
    ) {
        let msg = InstallSnapshotResponse {
            term: self.term,
            index,
            received,
            installed,
            round,
        };
        out.send(self.config.id, to, msg.into());
    }
}

impl fmt::Display for SnapshotMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({},{}) voters={}",
            self.term,
            self.index,
            self.membership.voters.len()
        )
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Snapshot{{snap={} bytes={}}}",
            self.meta,
            self.data.len()
        )
    }
}
