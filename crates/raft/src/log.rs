//! The replicated log, in memory: entries, their terms, and the searches replication needs.
//!
//! ```text
//!   index:   0 (sentinel)   1      2      3      4      5
//!   term:    0            [ 1 ] [ 1 ] [ 2 ] [ 2 ] [ 4 ]
//!                          └─ entries[0]          └─ last_index = 5, last_term = 4
//! ```
//!
//! Index 0 is a virtual entry of term 0 that every log shares, so `prev_log_index = 0` always
//! matches (Figure 2). After a snapshot (§7) the log has an offset: the snapshot point
//! `(snapshot_index, snapshot_term)` takes the sentinel's place, and only the entries after it
//! are kept:
//!
//! ```text
//!   snapshot (3,120)          retained entries
//!   ┌──────────────────┐  ┌─────────┬─────────┬─────────┐
//!   │ 1 ..= 120 (gone) │  │ (3,121) │ (4,122) │ (4,123) │   term_at(120) = Some(3)
//!   └──────────────────┘  └─────────┴─────────┴─────────┘   term_at(119) = None
//! ```
//!
//! Invariants (asserted, on in release):
//! - contiguity: `entries[k].index == snapshot_index + 1 + k`;
//! - nothing at or below `snapshot_index` is ever truncated (it is committed);
//! - terms never decrease along the log (a leader appends only entries of its current term,
//!   and terms only grow), which is what lets the term searches below be binary searches.
//!
//! The road not taken: a `BTreeMap<Index, Entry>`. A `Vec` is contiguous by construction and the
//! index arithmetic is O(1); snapshots grew it an offset, not a different structure.

use std::fmt;

use bytes::Bytes;

use crate::membership::Membership;

/// A Raft term: a logical epoch with at most one leader (§5.1).
pub type Term = u64;
/// A position in the log, starting at 1; 0 means "before the first entry".
pub type Index = u64;

/// The largest index a node holds: half the u64 range. Indexes count entries ever appended, so
/// a real log never comes near it (2^63 entries at a million a second take 292,000 years),
/// while every `index + 1` and `index + n` in this crate keeps room to spare. Only a damaged or
/// forged disk or a hostile peer names more: `Raft::new` refuses such a disk, a follower drops
/// such an InstallSnapshot or AppendEntries. The road not taken: checked arithmetic at every
/// `+ 1` of the log, which would turn each into a failure path nothing real can reach.
pub const INDEX_MAX: Index = u64::MAX >> 1;

/// What a log entry carries: a state-machine command, or a configuration (membership.rs).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum EntryKind {
    /// `data` is a command for the state machine (empty: a leader's no-op, §8).
    #[default]
    Normal,
    /// A cluster configuration (Raft §6); `data` is empty and never reaches the state machine.
    Config(Membership),
}

/// One log entry. Empty `data` is a no-op, which a new leader appends to commit its term (§8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The term of the leader that created the entry: the key of the Log Matching property.
    pub term: Term,
    /// The entry's position. Carried in the entry so a `Write::Append` is self-describing.
    pub index: Index,
    /// The command for the state machine; empty for a no-op and for a config entry.
    pub data: Bytes,
    /// Normal, or a configuration change (membership.rs). Only Normal entries are commands.
    pub kind: EntryKind,
}

impl Entry {
    /// A normal entry carrying `data`.
    pub fn normal(term: Term, index: Index, data: Bytes) -> Entry {
        Entry {
            term,
            index,
            data,
            kind: EntryKind::Normal,
        }
    }

    /// The configuration this entry carries, if it is a config entry.
    pub fn membership(&self) -> Option<&Membership> {
        match &self.kind {
            EntryKind::Config(m) => Some(m),
            EntryKind::Normal => None,
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", self.term, self.index)
    }
}

/// The in-memory log of one node: the entries after its latest snapshot.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log {
    /// The last index the snapshot covers (0 without one): entries up to it are compacted
    /// away (§7). Everything at or below it is committed, so it never needs a term search.
    snapshot_index: Index,
    /// The term of the entry at `snapshot_index`, kept so the consistency check of an
    /// AppendEntries whose `prev_log_index` is exactly the snapshot point still works (§7).
    snapshot_term: Term,
    /// `entries[k]` holds index `snapshot_index + 1 + k`. The source of truth is the host's
    /// `Disk`; this copy is kept in step with every `Write::Append` / `Write::Snapshot` queued.
    entries: Vec<Entry>,
    /// Through this index the log as held now is known to be on the host's disk: everything
    /// read from disk at start, then what the host reports (`Input::LogDurable`). Only a leader
    /// that writes in parallel with its followers (thesis §10.2.1) needs it: it may count
    /// itself toward a commit only for entries at or below it. Lowered by every truncation.
    durable_index: Index,
}

impl Log {
    /// Rebuild from a disk image: the snapshot point `(index, term)` (`(0, 0)` without one)
    /// and the entries after it, rejecting an image that breaks the log invariants (the disk
    /// is untrusted input: a bad image is an error, not a crash).
    pub(crate) fn from_parts(snapshot: (Index, Term), entries: &[Entry]) -> Result<Log, String> {
        let (snapshot_index, snapshot_term) = snapshot;
        if (snapshot_index == 0) != (snapshot_term == 0) {
            return Err(format!(
                "snapshot at ({snapshot_term},{snapshot_index}): index and term must both be 0 or both be >= 1"
            ));
        }
        let last = snapshot_index.checked_add(entries.len() as Index);
        if !matches!(last, Some(last) if last <= INDEX_MAX) {
            return Err(format!(
                "snapshot at index {snapshot_index} with {} entries after it: indexes stop at \
                 {INDEX_MAX}",
                entries.len()
            ));
        }
        let mut prev_term = snapshot_term;
        for (k, e) in entries.iter().enumerate() {
            let expected = snapshot_index + k as Index + 1;
            if e.index != expected {
                return Err(format!(
                    "log[{k}] has index {}, expected {expected}",
                    e.index
                ));
            }
            if e.term < prev_term || e.term == 0 {
                return Err(format!(
                    "log[{k}] has term {} after term {prev_term}: terms must be >= 1 and never decrease",
                    e.term
                ));
            }
            prev_term = e.term;
        }
        Ok(Log {
            snapshot_index,
            snapshot_term,
            entries: entries.to_vec(),
            durable_index: snapshot_index + entries.len() as Index,
        })
    }

    /// Rebuild from a disk image without a snapshot (the log from index 1).
    #[cfg(test)]
    pub(crate) fn from_entries(entries: &[Entry]) -> Result<Log, String> {
        Log::from_parts((0, 0), entries)
    }

    /// The last index covered by the snapshot (0 without one).
    pub(crate) fn snapshot_index(&self) -> Index {
        self.snapshot_index
    }

    /// The term at `snapshot_index` (0 without a snapshot).
    pub(crate) fn snapshot_term(&self) -> Term {
        self.snapshot_term
    }

    pub(crate) fn last_index(&self) -> Index {
        self.snapshot_index + self.entries.len() as Index
    }

    pub(crate) fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    /// The term at `index`: the snapshot's term at the snapshot point (`Some(0)` for the
    /// sentinel), `None` past the end or below the snapshot point (compacted).
    pub(crate) fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.entry(index).map(|e| e.term)
    }

    /// The entry at `index`, if it is retained (above the snapshot point, within the log).
    pub(crate) fn entry(&self, index: Index) -> Option<&Entry> {
        let k = usize::try_from(index.checked_sub(self.snapshot_index + 1)?).ok()?;
        self.entries.get(k)
    }

    /// The retained entries, from `snapshot_index + 1`.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Append one entry at `last_index + 1`.
    pub(crate) fn append(&mut self, entry: Entry) {
        assert_eq!(
            entry.index,
            self.last_index() + 1,
            "log must stay contiguous"
        );
        assert!(
            entry.term >= self.last_term(),
            "log terms must never decrease"
        );
        self.entries.push(entry);
    }

    /// Drop every entry at `index` and after (a follower resolving a conflict, §5.3). Never
    /// below the snapshot point: those entries are committed.
    pub(crate) fn truncate_from(&mut self, index: Index) {
        assert!(
            index > self.snapshot_index,
            "truncating at {index} would cut into the snapshot at {} (§7: it holds committed entries)",
            self.snapshot_index
        );
        self.entries
            .truncate((index - self.snapshot_index - 1) as usize);
        self.durable_index = self.durable_index.min(index - 1);
    }

    /// The last index known durable (see the field), never past the last entry.
    pub(crate) fn durable_index(&self) -> Index {
        self.durable_index.min(self.last_index())
    }

    /// The host's write of the entry `(index, term)` is durable, and with it every write
    /// queued before it. True if that moved `durable_index`. A report about an entry the log
    /// no longer holds (truncated and rewritten since) says nothing about the entry there now,
    /// and is ignored: the same (index, term) is the same entry (Log Matching, §5.3).
    pub(crate) fn mark_durable(&mut self, index: Index, term: Term) -> bool {
        let moves = index > self.durable_index && self.term_at(index) == Some(term);
        if moves {
            self.durable_index = index;
        }
        moves
    }

    /// Make `(index, term)` the new snapshot point (§7). If the log holds that entry, the suffix
    /// after it is kept (the host compacting, or a follower whose log already matches); if not,
    /// the whole log is discarded, because nothing in it is known to follow the snapshot.
    /// `persist` applies the same rule to the disk.
    pub(crate) fn compact_to(&mut self, index: Index, term: Term) {
        assert!(
            index > self.snapshot_index,
            "a snapshot at {index} does not move past the one at {}",
            self.snapshot_index
        );
        if self.term_at(index) == Some(term) {
            let drop = (index - self.snapshot_index) as usize;
            self.entries.drain(..drop);
        } else {
            self.entries.clear();
            // Only the old snapshot's point is known durable until the new one is reported.
            self.durable_index = self.durable_index.min(self.snapshot_index);
        }
        self.snapshot_index = index;
        self.snapshot_term = term;
    }

    /// The first index of the run of `term` that contains `at` (which must hold `term`).
    /// This is the follower's conflict hint (§5.3, accelerated log backtracking). Within the
    /// retained entries only: the run may have started inside the snapshot.
    pub(crate) fn first_index_of_term(&self, term: Term, at: Index) -> Index {
        let upto = &self.entries[..self.retained_upto(at)];
        self.snapshot_index + upto.partition_point(|e| e.term < term) as Index + 1
    }

    /// The last index at or before `at` whose entry has exactly `term`, if any. The leader uses
    /// it to skip a follower's whole conflicting term in one round trip.
    pub(crate) fn last_index_of_term(&self, term: Term, at: Index) -> Option<Index> {
        let upto = &self.entries[..self.retained_upto(at)];
        let p = upto.partition_point(|e| e.term <= term);
        if p > 0 && upto[p - 1].term == term {
            return Some(self.snapshot_index + p as Index);
        }
        let snapshot_holds_it = p == 0 && at >= self.snapshot_index && term == self.snapshot_term;
        (snapshot_holds_it && self.snapshot_index > 0).then_some(self.snapshot_index)
    }

    /// How many retained entries lie at or below `at`.
    fn retained_upto(&self, at: Index) -> usize {
        at.min(self.last_index())
            .saturating_sub(self.snapshot_index) as usize
    }

    /// Entries from `from` on, at most `count_max` of them and at most `bytes_max` data bytes,
    /// but always at least one if any exist, or an oversized entry could never be sent.
    /// `from` must be above the snapshot point: the caller sends a snapshot otherwise.
    pub(crate) fn batch(&self, from: Index, count_max: usize, bytes_max: usize) -> Vec<Entry> {
        assert!(
            from > self.snapshot_index,
            "a batch from {from} reaches into the snapshot at {}",
            self.snapshot_index
        );
        let start = (from - self.snapshot_index - 1) as usize;
        let mut batch = Vec::new();
        let mut bytes = 0usize;
        for e in self.entries.iter().skip(start).take(count_max) {
            bytes = bytes.saturating_add(e.data.len());
            if !batch.is_empty() && bytes > bytes_max {
                break;
            }
            batch.push(e.clone());
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(term: Term, index: Index, len: usize) -> Entry {
        Entry::normal(term, index, Bytes::from(vec![7u8; len]))
    }

    fn log_of_terms(terms: &[Term]) -> Log {
        let mut log = Log::default();
        for (k, t) in terms.iter().enumerate() {
            log.append(entry(*t, k as Index + 1, 1));
        }
        log
    }

    #[test]
    fn a_durability_report_about_an_overwritten_entry_moves_nothing() {
        // Thesis §10.2.1 bookkeeping: (2, term 1) was written, then replaced by (2, term 2)
        // before its fsync completed; the late report must not vouch for the new entry.
        let mut log = log_of_terms(&[1, 1]);
        log.durable_index = 1;
        log.truncate_from(2);
        log.append(entry(2, 2, 1));
        assert!(!log.mark_durable(2, 1));
        assert_eq!(log.durable_index(), 1);
        assert!(log.mark_durable(2, 2));
        assert_eq!(log.durable_index(), 2);
    }

    #[test]
    fn a_truncation_lowers_what_is_known_durable() {
        let mut log = log_of_terms(&[1, 1, 1]);
        assert!(log.mark_durable(3, 1));
        log.truncate_from(2);
        assert_eq!(log.durable_index(), 1);
    }

    #[test]
    fn index_zero_is_a_sentinel_of_term_zero() {
        // Raft Figure 2: prevLogIndex 0 always matches.
        let log = log_of_terms(&[1, 1]);
        assert_eq!(log.term_at(0), Some(0));
        assert_eq!(log.term_at(2), Some(1));
        assert_eq!(log.term_at(3), None);
    }

    #[test]
    fn a_disk_image_with_a_gap_or_a_term_going_down_is_rejected() {
        let gap = vec![entry(1, 1, 0), entry(1, 3, 0)];
        assert!(Log::from_entries(&gap)
            .unwrap_err()
            .contains("log[1] has index 3"));
        let down = vec![entry(2, 1, 0), entry(1, 2, 0)];
        assert!(Log::from_entries(&down)
            .unwrap_err()
            .contains("never decrease"));
    }

    #[test]
    fn the_conflict_hint_is_the_first_index_of_the_conflicting_term() {
        // Raft §5.3, accelerated log backtracking.
        let log = log_of_terms(&[1, 1, 2, 2, 2, 3]);
        assert_eq!(log.first_index_of_term(2, 5), 3);
        assert_eq!(log.first_index_of_term(1, 2), 1);
        assert_eq!(log.first_index_of_term(3, 6), 6);
    }

    #[test]
    fn the_leader_finds_the_last_index_of_a_term_it_holds() {
        let log = log_of_terms(&[1, 1, 2, 2, 4]);
        assert_eq!(log.last_index_of_term(2, 5), Some(4));
        assert_eq!(log.last_index_of_term(2, 3), Some(3));
        assert_eq!(log.last_index_of_term(3, 5), None);
        assert_eq!(log.last_index_of_term(1, 9), Some(2));
    }

    #[test]
    fn a_batch_stops_at_the_count_or_byte_bound_but_holds_at_least_one_entry() {
        let mut log = Log::default();
        for i in 1..=5 {
            log.append(entry(1, i, 10));
        }
        assert_eq!(log.batch(1, 3, 1000).len(), 3);
        assert_eq!(log.batch(1, 64, 25).len(), 2);
        assert_eq!(
            log.batch(2, 64, 1).len(),
            1,
            "an oversized entry still goes alone"
        );
        assert!(log.batch(6, 64, 1000).is_empty());
    }

    #[test]
    fn truncation_drops_the_suffix_only() {
        let mut log = log_of_terms(&[1, 1, 2]);
        log.truncate_from(2);
        assert_eq!(log.last_index(), 1);
        assert_eq!(log.last_term(), 1);
    }
}
