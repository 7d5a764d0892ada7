//! The leader: proposals, batched and pipelined replication, heartbeats, and the commit rule.
//!
//! ```text
//!   propose ─► append (term,last+1) ─► Write::Append ─► AppendEntries to every follower that
//!                                                       has room (progress.rs: probe/replicate)
//!   tick ──► check-quorum (quorum.rs), then every heartbeat_interval_ticks a new round:
//!            one AppendEntries per follower (empty in Replicate; in Probe the retried probe)
//!   reply ─► ok:     match_index ↑, commit rule, refill the pipeline
//!            reject: jump next_index using the conflict hint, probe again    (§5.3)
//!   next_index ≤ snapshot index (the entries are compacted away): InstallSnapshot
//!            instead of AppendEntries, see snapshot.rs                        (§7)
//!
//!   commit rule (§5.4.2, Figure 8): N = the highest index stored on a majority;
//!     Correct:       commit N only if log[N].term == current term (older entries follow)
//!     CommitOldTerm: commit N whatever its term (unsafe, for teaching and the simulator)
//! ```
//!
//! Message budget: an append carrying entries goes out only when the follower's progress has
//! room; empty appends go out only once per heartbeat interval. So an idle leader sends one
//! message per follower per interval, and a slow follower never has more than
//! `inflight_appends_max` batches plus one heartbeat outstanding.

use bytes::Bytes;
use distributed_core::NodeId;

use crate::config::Variant;
use crate::log::{Entry, EntryKind, Index, Term};
use crate::message::{AppendEntries, AppendEntriesResponse, AppendResult};
use crate::node::Raft;
use crate::progress::{Progress, ProgressState};
use crate::quorum::Rounds;
use crate::read::LeaderReads;
use crate::ready::{Output, Ready, Write};
use crate::role::{Leader, Role, RoleState};

impl Raft {
    /// Take office: reset every follower's progress, append a no-op of the new term (§8) so
    /// that earlier entries can commit through it, and probe every follower.
    pub(crate) fn become_leader(&mut self, out: &mut Ready) {
        assert_eq!(
            self.role(),
            Role::Candidate,
            "only a candidate wins an election"
        );
        self.leader_contact_elapsed = 0;
        let rounds = Rounds::after(self.last_round);
        let (me, last, now) = (self.config.id, self.log.last_index(), self.ticks);
        // Every follower (learners too: they are fed the log) counts as just heard from:
        // check-quorum gives a new leader one full window to reach a quorum before stepping down.
        let progress = (self.membership.members().into_iter())
            .filter(|&p| p != me)
            .map(|p| (p, Progress::new(last, now)))
            .collect();
        self.role = RoleState::Leader(Leader {
            progress,
            rounds,
            transfer: None,
            heartbeat_elapsed: 0,
            reads: LeaderReads::default(),
        });
        self.append_own(Bytes::new(), EntryKind::Normal, out);
        self.replicate_and_commit(out); // a cluster of one commits at once
                                        // A joint configuration already known committed is finished by this leader (§6).
        self.advance_membership(out);
    }

    /// Send what each follower lacks, then apply the commit rule (a cluster of one commits at
    /// once).
    pub(crate) fn replicate_and_commit(&mut self, out: &mut Ready) {
        self.replicate_to_all(out);
        self.maybe_commit(out);
    }

    /// `Input::Propose`: append and replicate on a leader, redirect elsewhere.
    pub(crate) fn propose(&mut self, data: Bytes, out: &mut Ready) {
        let transfer_to = self.transferring_to();
        if self.role() != Role::Leader || transfer_to.is_some() {
            // While transferring (thesis §3.10) point the client at the target.
            let leader = transfer_to.or(self.leader());
            out.outputs.push(Output::NotLeader { leader });
            return;
        }
        let (index, term) = self.append_own(data, EntryKind::Normal, out);
        out.outputs.push(Output::Accepted { index, term });
        self.replicate_and_commit(out);
    }

    /// Leader clock: step down without a quorum (check-quorum), else start a heartbeat round
    /// every `heartbeat_interval_ticks`.
    pub(crate) fn tick_leader(&mut self, out: &mut Ready) {
        self.leader_contact_elapsed = 0;
        if !self.check_quorum(out) {
            return;
        }
        self.tick_transfer(out);
        let Some(l) = self.role.leader_mut() else {
            return;
        };
        l.heartbeat_elapsed += 1;
        if l.heartbeat_elapsed >= self.config.heartbeat_interval_ticks {
            self.broadcast_round(out);
        }
    }

    /// A follower's answer to an AppendEntries. Of our term and while leading, whatever the
    /// result, it shows the follower is alive and accepted this leader in `round`.
    pub(crate) fn on_append_entries_response(
        &mut self,
        from: NodeId,
        msg: AppendEntriesResponse,
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
        match msg.result {
            AppendResult::Ok { match_index } => self.on_append_ok(from, &msg, match_index, out),
            AppendResult::Reject {
                prev_log_index,
                conflict_term,
                conflict_index,
            } => {
                let guess =
                    self.next_index_after_reject(prev_log_index, conflict_term, conflict_index);
                self.on_append_reject(from, &msg, (prev_log_index, guess), out);
            }
        }
    }

    /// The follower matches through `match_index`: count it for the commit rule, refill its
    /// pipeline, and hand over leadership if it is the transfer's target.
    fn on_append_ok(
        &mut self,
        from: NodeId,
        msg: &AppendEntriesResponse,
        match_index: Index,
        out: &mut Ready,
    ) {
        let last = self.log.last_index();
        let Some(pr) = self.role.progress_mut(from) else {
            return out.note(format_args!(
                "ignored {msg} from {from}: not a member this leader replicates to"
            ));
        };
        if match_index > last {
            return out.note(format_args!(
                "ignored {msg} from {from}: malformed, matches beyond our last index {last}"
            ));
        }
        if pr.on_success(match_index) {
            self.maybe_commit(out);
        }
        self.send_appends(from, out);
        if self.transferring_to() == Some(from) {
            self.maybe_send_timeout_now(out);
        }
    }

    /// The follower rejected the append at `rejected`: retry from `guess` if the rejection
    /// concerns the current search (progress.rs), else it is stale and only its round counted.
    fn on_append_reject(
        &mut self,
        from: NodeId,
        msg: &AppendEntriesResponse,
        (rejected, guess): (Index, Index),
        out: &mut Ready,
    ) {
        let last = self.log.last_index();
        let Some(pr) = self.role.progress_mut(from) else {
            return out.note(format_args!(
                "ignored {msg} from {from}: not a member this leader replicates to"
            ));
        };
        if rejected > last {
            return out.note(format_args!(
                "ignored {msg} from {from}: malformed, rejects beyond our last index {last}"
            ));
        }
        if !pr.on_reject(rejected, guess) {
            return out.note(format_args!(
                "ignored {msg} from {from}: a stale rejection (its round still counts)"
            ));
        }
        self.send_appends(from, out);
    }

    /// Where to retry after a rejection at `rejected` (§5.3, accelerated log backtracking):
    /// - the follower's log is too short (`conflict_term == 0`): just after its last entry;
    /// - we hold entries of `conflict_term`: just after our last one (the follower's run of
    ///   that term may match ours up to there);
    /// - otherwise: the first index of `conflict_term` at the follower, skipping the whole term.
    fn next_index_after_reject(
        &self,
        rejected: Index,
        conflict_term: Term,
        conflict_index: Index,
    ) -> Index {
        if conflict_term == 0 {
            return conflict_index.saturating_add(1);
        }
        match self.log.last_index_of_term(conflict_term, rejected) {
            Some(ours) => ours + 1,
            None => conflict_index,
        }
    }

    /// The commit rule. N is the largest index stored on a quorum of the configuration (the
    /// leader counts itself only while it is a voter, §6; both halves while joint).
    pub(crate) fn maybe_commit(&mut self, out: &mut Ready) {
        let Some(l) = self.role.leader() else {
            return;
        };
        let me = self.config.id;
        let unsynced_counts = self.config.variant == Variant::LeaderCountsUnsyncedWrites;
        let last = match self.config.leader_writes_in_parallel && !unsynced_counts {
            true => self.log.durable_index(), // §10.2.1: only what is on our disk counts
            false => self.log.last_index(),
        };
        let n = self
            .membership
            .quorum_value(|id| match l.progress.get(&id) {
                Some(pr) => pr.match_index,
                None if id == me => last,
                None => 0,
            });
        if n <= self.commit_index {
            return;
        }
        let may_commit = match self.config.variant {
            // §5.4.2: only an entry of the current term is committed by counting replicas.
            Variant::Correct
            | Variant::LeaseIgnoresDrift
            | Variant::OneStepMembership
            | Variant::LeaderCountsUnsyncedWrites => self.log.term_at(n) == Some(self.term),
            Variant::CommitOldTerm => true,
        };
        if may_commit {
            self.commit_to(n, out);
        }
    }

    /// Append an entry of the current term to our own log and queue its durable write. A
    /// config entry takes effect at once, before it commits (Raft §6).
    pub(crate) fn append_own(
        &mut self,
        data: Bytes,
        kind: EntryKind,
        out: &mut Ready,
    ) -> (Index, Term) {
        let entry = Entry {
            term: self.term,
            index: self.log.last_index() + 1,
            data,
            kind,
        };
        let at = (entry.index, entry.term);
        let membership = entry.membership().cloned();
        out.writes.push(Write::Append(vec![entry.clone()]));
        self.log.append(entry);
        if let Some(m) = membership {
            self.set_membership(m, at.0);
        }
        at
    }

    fn replicate_to_all(&mut self, out: &mut Ready) {
        // Collected first: the body needs `&mut self`. Learners are fed too.
        let Some(l) = self.role.leader() else {
            return;
        };
        let peers: Vec<NodeId> = l.progress.keys().copied().collect();
        for peer in peers {
            self.send_appends(peer, out);
        }
    }

    /// Fill the follower's pipeline: send batches until it has no room or nothing is unsent.
    /// Bounded by `inflight_appends_max` iterations (a probe takes one).
    pub(crate) fn send_appends(&mut self, peer: NodeId, out: &mut Ready) {
        for _ in 0..self.config.inflight_appends_max {
            if !self.send_append(peer, out) {
                break;
            }
        }
    }

    /// Send one batch of entries from the follower's `next_index`, if it has room and there are
    /// entries to send. Returns whether a message went out.
    fn send_append(&mut self, peer: NodeId, out: &mut Ready) -> bool {
        let Some(pr) = self.role.progress_mut(peer) else {
            return false;
        };
        let in_transfer = matches!(pr.state, ProgressState::Snapshot { .. });
        if pr.next_index <= self.log.snapshot_index() && !in_transfer {
            self.send_snapshot_chunk(peer, out); // §7: what it needs is only in the snapshot
            return false;
        }
        if pr.is_paused(self.config.inflight_appends_max) {
            return false;
        }
        let entries = self.log.batch(
            pr.next_index,
            self.config.entries_per_append_max,
            self.config.append_bytes_max,
        );
        let Some(last) = entries.last().map(|e| e.index) else {
            return false;
        };
        let prev_log_index = pr.next_index - 1;
        pr.on_append_sent(last, entries.len());
        assert!(
            pr.inflight.len() <= self.config.inflight_appends_max,
            "in-flight appends to {peer} exceed inflight_appends_max"
        );
        self.send_append_message(peer, prev_log_index, entries, out);
        true
    }

    /// The periodic message to one follower: the retried probe in Probe (with entries if there
    /// are any), an empty AppendEntries at `next_index - 1` in Replicate. The empty one also
    /// repairs a pipeline whose appends were all lost: it is rejected (gap) and the follower
    /// falls back to probing; if they all arrived, its success empties the in-flight window.
    pub(crate) fn send_heartbeat(&mut self, peer: NodeId, out: &mut Ready) {
        let Some(pr) = self.role.progress_mut(peer) else {
            return;
        };
        let in_transfer = matches!(pr.state, ProgressState::Snapshot { .. });
        if in_transfer || pr.next_index <= self.log.snapshot_index() {
            // §7: resend the current chunk (a lost one is retried once per interval), or
            // start the transfer: an AppendEntries could not name a compacted `prev`.
            return self.send_snapshot_chunk(peer, out);
        }
        let prev_log_index = pr.next_index - 1;
        if pr.state == ProgressState::Probe {
            pr.on_heartbeat();
            if self.send_append(peer, out) {
                return;
            }
            if let Some(pr) = self.role.progress_mut(peer) {
                pr.on_append_sent(prev_log_index, 0);
            }
        }
        self.send_append_message(peer, prev_log_index, Vec::new(), out);
    }

    fn send_append_message(
        &self,
        peer: NodeId,
        prev_log_index: Index,
        entries: Vec<Entry>,
        out: &mut Ready,
    ) {
        let Some(l) = self.role.leader() else {
            return;
        };
        let prev_log_term = self
            .log
            .term_at(prev_log_index)
            .expect("next_index never passes last_index + 1");
        let msg = AppendEntries {
            term: self.term,
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit: self.commit_index,
            round: l.rounds.current,
        };
        out.send(self.config.id, peer, msg.into());
    }
}
