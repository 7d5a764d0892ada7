//! Rebuilding a `raft::Disk` at start-up: the newest snapshot file as the base, then every WAL
//! record in LSN order folded on top (Raft §7, Figure 2 "persistent state").
//!
//! ```text
//!   base = snapshot file at (I, T)       (or none: an empty disk)
//!   WAL (what is left after compaction, oldest first):
//!     … Append[k..] … Marker(I',T') HardState Append[I'+1..] … Append … HardState …
//!       │                │                                  └ folded as Raft's persist would
//!       │                ├ I' < I: covered by the newer base file, skipped
//!       │                ├ I' = I: the base itself; the log after I is kept if the WAL's entry
//!       │                │         at I has term T, else cleared (persist's rule)
//!       │                └ I' > I: no usable file holds it: accepted only if the WAL still holds
//!       │                          entry I' with term T' (the entries are all here), else an error
//!       └ k ≤ I: the part ≤ I is covered by the base; the Append cut the log at k ≤ I, so the
//!                log after I becomes exactly its entries past I
//! ```
//!
//! Why records below the base are legal: compaction removes only whole WAL segments before a
//! marker, so the segment holding a marker still starts with older records, and a crash
//! between saving a snapshot file and writing its marker leaves a file newer than every marker.
//! Folding the WAL with every index ≤ I dropped gives the same log after I as folding it whole
//! and then dropping ≤ I, because an Append that starts at or below I replaces everything after.
//!
//! Checked (errors naming the record, never panics: these are bytes from disk): snapshots named
//! in WAL order move forward; an Append starts after the last snapshot named before it and
//! within the log or right after it; its entries are consecutive; a marker at the base's index
//! carries the base's term; no index passes `raft::INDEX_MAX` (so no `+ 1` here overflows,
//! and `Raft::new` is not handed a log it would refuse without naming the record).
//!
//! Why a [`ReplayError`] and not a bare `DecodeError`: most of what the fold refuses is not
//! about bytes at all (a gap between two well-formed Appends), so a byte offset would mislead;
//! what the operator needs is *which record*. It wraps the `DecodeError` when the bytes are
//! the problem.

use std::fmt;

use distributed_core::wire::DecodeError;
use raft::{Disk, Entry, SnapshotMeta, Write, INDEX_MAX};

use super::wal_records::{decode_record, WalRecord};

/// Why the WAL could not be folded: which record, and what was wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayError {
    /// The record's position among those folded, oldest first (#0 is the oldest record the
    /// WAL still holds after compaction).
    pub record: usize,
    /// What was wrong with it.
    pub fault: ReplayFault,
}

/// What was wrong with one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayFault {
    /// Its bytes do not decode: the error names the field and the byte.
    Decode(DecodeError),
    /// It decodes, but does not follow from the records before it (a gap, a snapshot that
    /// moves backwards, a marker whose entries are gone).
    Sequence(String),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WAL record #{}: ", self.record)?;
        match &self.fault {
            ReplayFault::Decode(e) => write!(f, "{e}"),
            ReplayFault::Sequence(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Fold records (in LSN order) into a disk image, starting from an empty disk, checking what
/// `persist` would assert. A WAL with snapshot markers needs the store: see `Replay::new`.
pub fn replay<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Result<Disk, ReplayError> {
    Replay::new(None).records(records).map(Replay::finish)
}

/// A fold of WAL records over a base snapshot. See the module docs.
#[derive(Debug)]
pub struct Replay {
    /// The disk so far: the base (or a legacy in-WAL snapshot) and the log after it.
    disk: Disk,
    /// The term the WAL gives the entry at the base's index, as of the records folded so far
    /// (`None`: not seen, or cut away). Decides whether the base's own marker keeps the log.
    base_term_seen: Option<u64>,
    /// The highest snapshot index a record named so far, in WAL order: no Append may start at
    /// or below it, and the next snapshot must pass it.
    floor: u64,
    /// The highest marker index beyond the base that the WAL itself covered (0 if none): a
    /// snapshot file that is missing or was set aside, which the host reports.
    marker_beyond_base: u64,
    /// Records folded, to name them in errors.
    records: usize,
}

impl Replay {
    /// Start from `base` (the snapshot file the node restores), or from an empty disk.
    pub fn new(base: Option<raft::Snapshot>) -> Replay {
        Replay {
            disk: Disk {
                snapshot: base,
                ..Disk::default()
            },
            base_term_seen: None,
            floor: 0,
            marker_beyond_base: 0,
            records: 0,
        }
    }

    /// Fold every record of `records`, in order.
    pub fn records<'a>(
        mut self,
        records: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Replay, ReplayError> {
        for record in records {
            self.record(record)?;
        }
        Ok(self)
    }

    /// Decode one record and fold it; the error names the record by its position.
    pub fn record(&mut self, bytes: &[u8]) -> Result<(), ReplayError> {
        let record = self.records;
        self.records += 1;
        let named = |fault| ReplayError { record, fault };
        let decoded = decode_record(bytes).map_err(|e| named(ReplayFault::Decode(e)))?;
        self.apply(decoded)
            .map_err(|why| named(ReplayFault::Sequence(why)))
    }

    /// Fold one decoded record.
    pub fn apply(&mut self, record: WalRecord) -> Result<(), String> {
        match record {
            WalRecord::Write(Write::HardState(hs)) => {
                self.disk.hard_state = hs;
                Ok(())
            }
            WalRecord::Write(Write::Append(entries)) => self.append(entries),
            WalRecord::Write(Write::Snapshot(s)) => self.snapshot(s.meta.clone(), Some(s)),
            WalRecord::SnapshotMarker(meta) => self.snapshot(meta, None),
        }
    }

    /// The highest marker beyond the base that the WAL covered, if any (see the field).
    pub fn marker_beyond_base(&self) -> Option<u64> {
        (self.marker_beyond_base > 0).then_some(self.marker_beyond_base)
    }

    /// The disk the records describe.
    pub fn finish(self) -> Disk {
        self.disk
    }

    /// The index the log starts after.
    fn offset(&self) -> u64 {
        self.disk.snapshot.as_ref().map_or(0, |s| s.meta.index)
    }

    /// The term of the entry at `index` in the log after the base, if it holds one.
    fn term_at(&self, index: u64) -> Option<u64> {
        let at = index.checked_sub(self.offset())?.checked_sub(1)?;
        let entry = self.disk.log.get(usize::try_from(at).ok()?)?;
        (entry.index == index).then_some(entry.term)
    }

    fn append(&mut self, entries: Vec<Entry>) -> Result<(), String> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let first = first.index;
        let consecutive = |w: &[Entry]| w[0].index.checked_add(1) == Some(w[1].index);
        if let Some(w) = entries.windows(2).find(|w| !consecutive(w)) {
            return Err(format!(
                "Append entries jump from index {} to {}",
                w[0].index, w[1].index
            ));
        }
        let last = entries.last().map_or(first, |e| e.index);
        if last > INDEX_MAX {
            return Err(format!(
                "Append entry index {last} is past the largest index Raft holds ({INDEX_MAX})"
            ));
        }
        if first <= self.floor {
            return Err(format!(
                "Append at index {first} does not start past the snapshot at {} named before it",
                self.floor
            ));
        }
        let offset = self.offset();
        if first <= offset {
            // Covered by the base: everything from `first` on was replaced, so the log after
            // the base is this Append's part past it.
            self.base_term_seen = entries.iter().find(|e| e.index == offset).map(|e| e.term);
            self.disk.log.clear();
            self.disk
                .log
                .extend(entries.into_iter().filter(|e| e.index > offset));
            return Ok(());
        }
        let end = offset + self.disk.log.len() as u64;
        if first - 1 > end {
            let hint = match &self.disk.snapshot {
                None if self.disk.log.is_empty() => {
                    " (the WAL starts mid-log and no snapshot file holds the entries before it)"
                }
                _ => "",
            };
            return Err(format!(
                "Append at index {first} would leave a gap after {} entries past the snapshot at {offset}{hint}",
                self.disk.log.len()
            ));
        }
        self.disk.log.truncate((first - offset - 1) as usize);
        self.disk.log.extend(entries);
        Ok(())
    }

    /// A snapshot named by the WAL: a marker (`data` None) or an old in-WAL snapshot record.
    fn snapshot(&mut self, meta: SnapshotMeta, data: Option<raft::Snapshot>) -> Result<(), String> {
        let (index, term) = (meta.index, meta.term);
        if index <= self.floor || term == 0 {
            return Err(format!(
                "Snapshot at ({term},{index}) does not move past the one at {}",
                self.floor
            ));
        }
        if index > INDEX_MAX {
            return Err(format!(
                "Snapshot at ({term},{index}) is past the largest index Raft holds ({INDEX_MAX})"
            ));
        }
        self.floor = index;
        let offset = self.offset();
        if index < offset {
            return Ok(()); // covered by the newer base
        }
        if index == offset {
            return self.reach_base(term);
        }
        match data {
            Some(snapshot) => {
                // Raft's persist: keep the log after it only if it matches at its index.
                let k = (index - offset) as usize;
                if self.term_at(index) == Some(term) {
                    self.disk.log.drain(..k);
                } else {
                    self.disk.log.clear();
                }
                self.disk.snapshot = Some(snapshot);
                self.base_term_seen = Some(term);
                Ok(())
            }
            None if self.term_at(index) == Some(term) => {
                // No usable file holds it, but the entries it covers are all still in the WAL:
                // keep them, and the node replays them from the older base.
                self.marker_beyond_base = index;
                Ok(())
            }
            None => Err(format!(
                "the WAL names a snapshot at index {index} (term {term}), but {}, and the WAL \
                 no longer holds the entries it covers: refusing to start rather than lose them",
                match offset {
                    0 => "no snapshot file is usable".to_string(),
                    o => format!("the newest usable snapshot file is at index {o}"),
                }
            )),
        }
    }

    /// The WAL reaches the marker of the base itself.
    fn reach_base(&mut self, term: u64) -> Result<(), String> {
        let base = self.disk.snapshot.as_ref();
        let base_term = base.map_or(0, |s| s.meta.term);
        if base_term != term {
            return Err(format!(
                "the WAL names the snapshot at index {} with term {term}, but its file says \
                 term {base_term}",
                self.offset()
            ));
        }
        if self.base_term_seen != Some(term) {
            self.disk.log.clear(); // persist's rule: the log did not match the snapshot
        }
        self.base_term_seen = Some(term);
        Ok(())
    }
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
