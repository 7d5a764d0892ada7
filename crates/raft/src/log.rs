//! The replicated log, in memory: entries, their terms, and the searches replication needs.
//!
//! ```text
//!   index:   0 (sentinel)   1      2      3      4      5
//!   term:    0            [ 1 ] [ 1 ] [ 2 ] [ 2 ] [ 4 ]
//!                          └─ entries[0]          └─ last_index = 5, last_term = 4
//! ```
//!
//! Index 0 is a virtual entry of term 0 that every log shares, so `prev_log_index = 0` always
//! matches (Figure 2). There are no snapshots yet, so the log always starts at index 1.
//!
//! Invariants (asserted, on in release):
//! - contiguity: `entries[k].index == k + 1`;
//! - terms never decrease along the log (a leader appends only entries of its current term,
//!   and terms only grow), which is what lets the term searches below be binary searches.
//!
//! The road not taken: a `BTreeMap<Index, Entry>`. A `Vec` is contiguous by construction and the
//! index arithmetic is O(1); with snapshots it will grow an offset, not a different structure.

use std::fmt;

use bytes::Bytes;

use crate::membership::Membership;

/// A Raft term: a logical epoch with at most one leader (§5.1).
pub type Term = u64;
/// A position in the log, starting at 1; 0 means "before the first entry".
pub type Index = u64;

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

/// The in-memory log of one node.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log {
    /// `entries[k]` holds index `k + 1`. The source of truth is the host's `Disk`; this copy is
    /// kept in step with every `Write::Append` the node queues.
    entries: Vec<Entry>,
}

impl Log {
    /// Rebuild from a disk image, rejecting one that breaks the log invariants (the disk is
    /// untrusted input: a bad image is an error, not a crash).
    pub(crate) fn from_entries(entries: &[Entry]) -> Result<Log, String> {
        let mut prev_term = 0;
        for (k, e) in entries.iter().enumerate() {
            let expected = k as Index + 1;
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
            entries: entries.to_vec(),
        })
    }

    pub(crate) fn last_index(&self) -> Index {
        self.entries.len() as Index
    }

    pub(crate) fn last_term(&self) -> Term {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// The term at `index`: `Some(0)` for the sentinel, `None` past the end.
    pub(crate) fn term_at(&self, index: Index) -> Option<Term> {
        if index == 0 {
            return Some(0);
        }
        self.entry(index).map(|e| e.term)
    }

    pub(crate) fn entry(&self, index: Index) -> Option<&Entry> {
        let k = usize::try_from(index.checked_sub(1)?).ok()?;
        self.entries.get(k)
    }

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

    /// Drop every entry at `index` and after (a follower resolving a conflict, §5.3).
    pub(crate) fn truncate_from(&mut self, index: Index) {
        assert!(index >= 1, "the sentinel at index 0 cannot be truncated");
        self.entries.truncate((index - 1) as usize);
    }

    /// The first index of the run of `term` that contains `at` (which must hold `term`).
    /// This is the follower's conflict hint (§5.3, accelerated log backtracking).
    pub(crate) fn first_index_of_term(&self, term: Term, at: Index) -> Index {
        let upto = &self.entries[..at.min(self.last_index()) as usize];
        upto.partition_point(|e| e.term < term) as Index + 1
    }

    /// The last index at or before `at` whose entry has exactly `term`, if any. The leader uses
    /// it to skip a follower's whole conflicting term in one round trip.
    pub(crate) fn last_index_of_term(&self, term: Term, at: Index) -> Option<Index> {
        let upto = &self.entries[..at.min(self.last_index()) as usize];
        let p = upto.partition_point(|e| e.term <= term);
        (p > 0 && upto[p - 1].term == term).then_some(p as Index)
    }

    /// Entries from `from` on, at most `count_max` of them and at most `bytes_max` data bytes,
    /// but always at least one if any exist, or an oversized entry could never be sent.
    pub(crate) fn batch(&self, from: Index, count_max: usize, bytes_max: usize) -> Vec<Entry> {
        let start = (from.max(1) - 1) as usize;
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
