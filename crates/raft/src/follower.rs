//! The receiving end of AppendEntries: the consistency check, conflict resolution, the
//! conflict hint, and learning the commit index (§5.3, Figure 2 "AppendEntries RPC").
//!
//! ```text
//!   AppendEntries{term prev=(pt,pi) entries commit=c}
//!     term < current ─────────────────────────► reject (carries our term: the leader steps down)
//!     pi > last_index ────────────────────────► reject hint=(0, last_index)         log too short
//!     term_at(pi) = t ≠ pt ───────────────────► reject hint=(t, first index of t)   conflict
//!     otherwise: for each entry, skip it if we hold the same (term,index); at the first that
//!       differs, truncate from there and append the rest (one Write::Append), then
//!       commit_index = max(commit_index, min(c, pi + entries.len())) and reply ok match=pi+n
//!   every reply echoes the request's `round`; any AppendEntries of our term also restarts the
//!   leader-contact clock that pre-votes and check-quorum read (thesis §9.6, §4.2.3)
//! ```
//!
//! Never truncate on a match: a delayed, shorter AppendEntries must not erase entries a later
//! one added, or an acknowledged entry could vanish (Figure 2 rule 3 says "if an existing entry
//! conflicts", not "replace the suffix").
//!
//! After a snapshot (§7) the consistency check starts at the snapshot point: an AppendEntries
//! whose `prev_log_index` lies inside the snapshot is checked from the point on, because
//! everything before it is committed and so matches any legitimate leader.
//!
//! The "last new entry" bound on the commit index matters: entries beyond `pi + n` have not
//! been checked against this leader's log, so they must not be committed on its say-so.

use distributed_core::NodeId;

use crate::config::Variant;
use crate::log::{Entry, Index, Term, INDEX_MAX};
use crate::message::{AppendEntries, AppendEntriesResponse, AppendResult, Round};
use crate::node::Raft;
use crate::ready::{Ready, Write};
use crate::role::{Role, RoleState};

impl Raft {
    /// Handle an AppendEntries (any term; higher terms were already adopted by `step`).
    pub(crate) fn on_append_entries(&mut self, from: NodeId, msg: AppendEntries, out: &mut Ready) {
        if msg.term < self.term {
            // §5.1: answer with our term, so the stale leader steps down.
            let result = reject(msg.prev_log_index, 0, 0);
            return self.reply_append(from, result, msg.round, out);
        }
        if !self.follow_leader_of_this_term(from, out) {
            let term = self.term;
            return out.note(format_args!(
                "ignored {msg} from {from}: this node leads term {term}, two leaders in one term (§5.2 broken elsewhere)"
            ));
        }
        if !entries_are_well_formed(
            msg.term,
            msg.prev_log_index,
            msg.prev_log_term,
            &msg.entries,
        ) {
            return out.note(format_args!(
                "ignored {msg} from {from}: malformed entries (a gap, or terms out of order)"
            ));
        }
        if self.contradicts_snapshot(&msg) {
            let point = (self.log.snapshot_term(), self.log.snapshot_index());
            return out.note(format_args!(
                "ignored {msg} from {from}: malformed, its entries after our snapshot point {point:?} have a lower term"
            ));
        }
        if let Some(index) = self.overwrites_committed(&msg) {
            let commit = self.commit_index;
            return out.note(format_args!(
                "ignored {msg} from {from}: malformed, its entry at {index} differs from ours, which is committed (commit index {commit}); a leader holds every committed entry (§5.4.1)"
            ));
        }
        let round = msg.round;
        let result = self.check_and_store(msg, out);
        self.reply_append(from, result, round, out);
    }

    /// A leader of our term (its AppendEntries or InstallSnapshot) is heard: stop campaigning
    /// (§5.2: a legitimate leader exists), follow it, and restart the election and
    /// leader-contact clocks. False if this node leads the term itself: two leaders in one term
    /// means election safety was broken elsewhere (e.g. a host lost a vote write); network
    /// input must not crash us, and the simulator's checker reports it.
    pub(crate) fn follow_leader_of_this_term(&mut self, from: NodeId, out: &mut Ready) -> bool {
        match &mut self.role {
            RoleState::Leader(_) => return false,
            RoleState::Follower(f) => f.leader = Some(from),
            // §5.2: a legitimate leader exists; stop campaigning.
            RoleState::PreCandidate(_) | RoleState::Candidate(_) => {
                self.become_follower(self.term, Some(from), out);
            }
        }
        self.election_elapsed = 0;
        self.leader_contact_elapsed = 0;
        true
    }

    /// The consistency check (§5.3) on a well-formed AppendEntries of our leader: store the
    /// entries and learn the commit index if it passes, else say where it failed.
    fn check_and_store(&mut self, msg: AppendEntries, out: &mut Ready) -> AppendResult {
        let (prev_log_index, prev_log_term, entries) =
            self.skip_snapshotted(msg.prev_log_index, msg.prev_log_term, msg.entries);
        match self.log.term_at(prev_log_index) {
            None => reject(prev_log_index, 0, self.log.last_index()),
            Some(t) if t != prev_log_term => {
                let first = self.log.first_index_of_term(t, prev_log_index);
                reject(prev_log_index, t, first)
            }
            Some(_) => {
                let match_index = prev_log_index + entries.len() as Index;
                self.store_entries(entries, out);
                let learned = msg.leader_commit.min(match_index);
                if learned > self.commit_index {
                    self.commit_to(learned, out);
                }
                AppendResult::Ok { match_index }
            }
        }
    }

    /// True if the entries after our snapshot point cannot follow it (a term going down): the
    /// point is committed, so no legitimate leader sends that (§7).
    fn contradicts_snapshot(&self, msg: &AppendEntries) -> bool {
        let (point, point_term) = (self.log.snapshot_index(), self.log.snapshot_term());
        msg.prev_log_index < point
            && (msg.entries.iter())
                .find(|e| e.index > point)
                .is_some_and(|e| e.term < point_term)
    }

    /// The first of the message's entries that conflicts with one we hold at or below our
    /// commit index. A legitimate leader holds every committed entry (Leader Completeness,
    /// §5.4.1), so it never sends one; storing it would truncate committed entries and leave
    /// `commit_index` past the log's end. Entries inside the snapshot are `contradicts_snapshot`'s.
    ///
    /// Not under the variants that break Leader Completeness on purpose: there a follower obeys
    /// as Raft's rules say, so the simulator's invariants see the overwrite the variant causes
    /// (Figure 8), instead of a follower quietly refusing it.
    fn overwrites_committed(&self, msg: &AppendEntries) -> Option<Index> {
        let guarded = match self.config.variant {
            Variant::Correct | Variant::LeaseIgnoresDrift => true,
            Variant::CommitOldTerm
            | Variant::OneStepMembership
            | Variant::LeaderCountsUnsyncedWrites => false,
        };
        if !guarded {
            return None;
        }
        let (point, commit) = (self.log.snapshot_index(), self.commit_index);
        (msg.entries.iter())
            .filter(|e| e.index > point && e.index <= commit)
            .find(|e| self.log.term_at(e.index).is_some_and(|t| t != e.term))
            .map(|e| e.index)
    }

    /// §7: entries at or below our snapshot point are committed and inside the snapshot, so
    /// their terms are gone: check from the snapshot point instead, with the entries after it.
    /// `contradicts_snapshot` has already refused entries that cannot follow the point.
    fn skip_snapshotted(
        &self,
        prev_log_index: Index,
        prev_log_term: Term,
        entries: Vec<Entry>,
    ) -> (Index, Term, Vec<Entry>) {
        let (point, point_term) = (self.log.snapshot_index(), self.log.snapshot_term());
        if prev_log_index >= point {
            return (prev_log_index, prev_log_term, entries);
        }
        let kept: Vec<Entry> = entries.into_iter().filter(|e| e.index > point).collect();
        (point, point_term, kept)
    }

    /// Keep the entries we already hold, truncate at the first conflict, append the rest, and
    /// queue the change as one durable write before the reply.
    fn store_entries(&mut self, entries: Vec<Entry>, out: &mut Ready) {
        let first_new = entries
            .iter()
            .position(|e| self.log.term_at(e.index) != Some(e.term));
        let Some(k) = first_new else {
            return; // everything already present: nothing to write
        };
        let new: Vec<Entry> = entries.into_iter().skip(k).collect();
        let from = new[0].index;
        if from <= self.log.last_index() {
            assert_ne!(
                self.role(),
                Role::Leader,
                "a leader never overwrites its log (§5.3)"
            );
            self.log.truncate_from(from);
        }
        for e in &new {
            self.log.append(e.clone());
        }
        self.reload_membership(from); // latest config entry wins; a truncated one reverts (§6)
        out.writes.push(Write::Append(new));
    }

    fn reply_append(&self, to: NodeId, result: AppendResult, round: Round, out: &mut Ready) {
        let response = AppendEntriesResponse {
            term: self.term,
            result,
            round,
        };
        out.send(self.config.id, to, response.into());
    }
}

fn reject(prev_log_index: Index, conflict_term: Term, conflict_index: Index) -> AppendResult {
    AppendResult::Reject {
        prev_log_index,
        conflict_term,
        conflict_index,
    }
}

/// Untrusted input check: entries are contiguous from `prev_log_index + 1` up to at most
/// `INDEX_MAX`, their terms are at least 1, never decrease, start at or above `prev_log_term`
/// and stay at or below the leader's `term`. Anything else would break the log's invariants
/// if stored.
fn entries_are_well_formed(
    term: Term,
    prev_log_index: Index,
    prev_log_term: Term,
    entries: &[Entry],
) -> bool {
    let mut expected_index = prev_log_index;
    let mut floor_term = prev_log_term.max(1);
    for e in entries {
        let Some(next) = expected_index.checked_add(1) else {
            return false;
        };
        if e.index != next || next > INDEX_MAX || e.term < floor_term || e.term > term {
            return false;
        }
        expected_index = next;
        floor_term = e.term;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::EntryKind;
    use bytes::Bytes;

    fn entry(term: Term, index: Index) -> Entry {
        Entry {
            term,
            index,
            data: Bytes::new(),
            kind: EntryKind::Normal,
        }
    }

    #[test]
    fn well_formed_entries_are_contiguous_and_within_the_leaders_term() {
        assert!(entries_are_well_formed(
            3,
            4,
            2,
            &[entry(2, 5), entry(3, 6)]
        ));
        assert!(entries_are_well_formed(3, 0, 0, &[]));
        assert!(!entries_are_well_formed(3, 4, 2, &[entry(2, 6)]), "gap");
        assert!(
            !entries_are_well_formed(3, 4, 2, &[entry(4, 5)]),
            "term above the leader's"
        );
        assert!(
            !entries_are_well_formed(3, 4, 2, &[entry(1, 5)]),
            "term below prev"
        );
        assert!(
            !entries_are_well_formed(3, 4, 2, &[entry(3, 5), entry(2, 6)]),
            "term going down"
        );
        assert!(
            !entries_are_well_formed(3, u64::MAX, 2, &[entry(3, 0)]),
            "index overflow"
        );
    }
}
