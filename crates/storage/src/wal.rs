//! The write-ahead log: append opaque records, make them durable with one fdatasync, roll to a
//! new segment when one is full, and drop whole old segments after a snapshot.
//!
//! ```text
//!   append(r) ──► buffer (memory) ──flush()──► active segment (page cache) ──sync()──► disk
//!     returns the                    write(2)                                fdatasync(2)
//!     record's LSN                                                          returns the
//!                                                                           durable LSN
//!   LSNs:   1 ………… durable_lsn ………… written_lsn ………… last_lsn
//!           └ survives power loss ┘└ survives kill -9 ┘└ lost by either ┘
//!
//!   roll:   sync the active segment ─► create the next (header fsynced, directory fsynced)
//!           ─► the old one is sealed: complete and durable, never written again
//! ```
//!
//! Invariants: `durable_lsn <= written_lsn <= last_lsn`; every sealed segment is complete and
//! synced (recovery relies on this to call damage there corruption, not a torn tail); a record
//! is never split across segments.
//!
//! **Errors are sticky (the fsyncgate lesson).** When `fdatasync` fails, Linux may already have
//! marked the dirty pages clean and dropped the error: a retried fsync then "succeeds" while the
//! data never reached the disk (PostgreSQL lost data this way in 2018). A failed `write` may
//! have left half a record in the file, after which appended records would sit behind garbage.
//! Either way the only honest state is "unknown", so after the first failed write or sync the
//! WAL refuses every further append, flush and sync with [`WalError::Poisoned`]. The way out is
//! the way out of a crash: drop the `Wal` and `open` it again, letting recovery read what is
//! really on disk. The road not taken, retrying, is exactly the bug.
//!
//! Dropping a `Wal` writes nothing: records not yet synced were never promised, and a
//! destructor cannot report an error. Call `sync` first.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::WalError;
use crate::format::{encode_record, Lsn, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES};
use crate::options::WalOptions;
use crate::recovery::{recover, Recovered, Recovery};
use crate::segment::{create_segment, open_for_append, sync_dir};

/// A segmented write-ahead log of opaque records in one directory. See the module docs.
pub struct Wal {
    /// The directory that holds the segments; fsynced after every create and remove.
    dir: PathBuf,
    /// Segment and record bounds, validated at open.
    options: WalOptions,
    /// Segments before the active one as (first LSN, path), oldest first: complete and synced.
    /// Kept so compaction knows each one's LSN range without listing the directory.
    sealed: VecDeque<(Lsn, PathBuf)>,
    /// The newest segment, open for appending; the only file this WAL ever writes records to.
    active: File,
    /// The active segment's path, for error messages.
    active_path: PathBuf,
    /// LSN of the active segment's first record.
    active_first: Lsn,
    /// Bytes in the active segment file (header included), to decide when to roll.
    active_len: u64,
    /// Encoded records not yet handed to the OS. One `write` per sync instead of one per
    /// record; bounded by `segment_bytes_max` because a roll flushes it.
    buffer: Vec<u8>,
    /// The LSN the next `append` returns.
    next_lsn: Lsn,
    /// The last LSN handed to the OS with `write`: survives a process crash, not power loss.
    written_lsn: Lsn,
    /// The last LSN covered by an fdatasync: survives power loss.
    durable_lsn: Lsn,
    /// The first write or sync failure. Once set, every write is refused (see the module docs).
    poisoned: Option<String>,
    /// Counters, so tests and benches can see how many fdatasyncs carried how many records.
    stats: WalStats,
    /// A failure the next fdatasync reports instead of syncing: the only way a test can show
    /// what happens when the disk says EIO.
    fault: Option<io::ErrorKind>,
}

/// What a [`Wal`] has done since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Records appended.
    pub appends: u64,
    /// fdatasync calls on segments (directory fsyncs are not counted).
    pub syncs: u64,
    /// Bytes handed to the OS, headers included.
    pub bytes_written: u64,
    /// Segments created by rolling.
    pub segments_created: u64,
    /// Segments removed by compaction.
    pub segments_removed: u64,
}

impl fmt::Display for WalStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WalStats{{appends={} syncs={} bytes={} rolled={} removed={}}}",
            self.appends,
            self.syncs,
            self.bytes_written,
            self.segments_created,
            self.segments_removed
        )
    }
}

impl fmt::Debug for Wal {
    /// The positions that matter, not the (possibly megabytes of) buffered bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Wal{{dir={} segments={} first={} durable={} written={} last={} poisoned={}}}",
            self.dir.display(),
            self.segments(),
            self.first_lsn(),
            self.durable_lsn,
            self.written_lsn,
            self.last_lsn(),
            self.poisoned.is_some()
        )
    }
}

impl Wal {
    /// Open (or create) the WAL in `dir`: recover every valid record, truncate a torn tail, and
    /// refuse to open on corruption before the tail or a missing segment.
    ///
    /// The returned [`Recovery`] holds the records for the caller to replay, in LSN order, and
    /// says what was truncated. New appends continue at `recovery.last_lsn() + 1`.
    pub fn open(dir: impl AsRef<Path>, options: WalOptions) -> Result<(Wal, Recovery), WalError> {
        options.validate()?;
        let dir = dir.as_ref().to_path_buf();
        let Recovered {
            recovery,
            sealed,
            active: (active_first, active_path, active_len),
        } = recover(&dir)?;
        let active = open_for_append(&active_path)?;
        let last = recovery.last_lsn();
        let wal = Wal {
            dir,
            options,
            sealed: sealed.into(),
            active,
            active_path,
            active_first,
            active_len,
            buffer: Vec::new(),
            next_lsn: last.next(),
            written_lsn: last,
            durable_lsn: last,
            poisoned: None,
            stats: WalStats::default(),
            fault: None,
        };
        Ok((wal, recovery))
    }

    /// Buffer one record and return its LSN. Nothing is durable until [`Wal::sync`].
    ///
    /// Refuses a record over `record_bytes_max` (the WAL stays usable). If the record would
    /// overflow the active segment, first seals it (write + fdatasync) and creates the next.
    pub fn append(&mut self, record: &[u8]) -> Result<Lsn, WalError> {
        self.check()?;
        if record.len() > self.options.record_bytes_max {
            return Err(WalError::RecordTooLarge {
                bytes: record.len(),
                max: self.options.record_bytes_max,
            });
        }
        let used = self.active_len + self.buffer.len() as u64;
        let size = (RECORD_HEADER_BYTES + record.len()) as u64;
        if used > SEGMENT_HEADER_BYTES as u64 && used + size > self.options.segment_bytes_max {
            self.roll()?;
        }
        encode_record(record, &mut self.buffer);
        let lsn = self.next_lsn;
        self.next_lsn = lsn.next();
        self.stats.appends += 1;
        Ok(lsn)
    }

    /// Hand every buffered record to the OS (`write`, no fdatasync) and return the last LSN
    /// written. Such records survive the process being killed, not the machine losing power.
    pub fn flush(&mut self) -> Result<Lsn, WalError> {
        self.check()?;
        if !self.buffer.is_empty() {
            if let Err(e) = self.active.write_all(&self.buffer) {
                let err = WalError::io("write", &self.active_path)(e);
                return Err(self.poison(err));
            }
            self.active_len += self.buffer.len() as u64;
            self.stats.bytes_written += self.buffer.len() as u64;
            self.buffer.clear();
        }
        self.written_lsn = Lsn(self.next_lsn.0 - 1);
        Ok(self.written_lsn)
    }

    /// Write every buffered record and fdatasync the active segment; return the durable LSN.
    /// Costs no I/O at all when everything appended is already durable.
    pub fn sync(&mut self) -> Result<Lsn, WalError> {
        let written = self.flush()?;
        if self.durable_lsn < written {
            let synced = match self.fault.take() {
                Some(kind) => Err(io::Error::from(kind)),
                None => self.active.sync_data(),
            };
            if let Err(e) = synced {
                let err = WalError::io("fdatasync", &self.active_path)(e);
                return Err(self.poison(err));
            }
            self.stats.syncs += 1;
            self.durable_lsn = written;
        }
        Ok(self.durable_lsn)
    }

    /// Delete every whole segment whose records all have LSNs below `lsn` (call it once a
    /// snapshot covering them is durable). The active segment is never removed. Returns how
    /// many files were removed.
    ///
    /// Oldest first, fsyncing the directory after each removal: a crash part way leaves a
    /// shorter prefix removed, never a gap in the middle that recovery would refuse.
    pub fn remove_segments_before(&mut self, lsn: Lsn) -> Result<usize, WalError> {
        let mut removed = 0;
        while let Some((_, path)) = self.sealed.front() {
            let next_first = self.sealed.get(1).map_or(self.active_first, |s| s.0);
            if next_first > lsn {
                break; // this segment's last record, next_first - 1, is not below lsn
            }
            fs::remove_file(path).map_err(WalError::io("remove segment", path))?;
            sync_dir(&self.dir)?;
            self.sealed.pop_front();
            self.stats.segments_removed += 1;
            removed += 1;
        }
        Ok(removed)
    }

    /// LSN of the oldest record still stored (or of the next append, when there is none).
    pub fn first_lsn(&self) -> Lsn {
        self.sealed.front().map_or(self.active_first, |s| s.0)
    }

    /// LSN of the last record appended, durable or not (`Lsn::ZERO` if none ever was).
    pub fn last_lsn(&self) -> Lsn {
        Lsn(self.next_lsn.0 - 1)
    }

    /// LSN of the last record covered by an fdatasync.
    pub fn durable_lsn(&self) -> Lsn {
        self.durable_lsn
    }

    /// How many segment files the WAL spans.
    pub fn segments(&self) -> usize {
        self.sealed.len() + 1
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the WAL was opened with.
    pub fn options(&self) -> &WalOptions {
        &self.options
    }

    /// Counters since open.
    pub fn stats(&self) -> WalStats {
        self.stats
    }

    /// The failure that poisoned the WAL, if one did.
    pub fn poisoned(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    /// Make the next fdatasync fail with `kind` (for tests of the sticky-error rule).
    #[cfg(test)]
    pub(crate) fn fail_next_sync(&mut self, kind: io::ErrorKind) {
        self.fault = Some(kind);
    }

    /// Seal the active segment (everything written and fdatasynced) and start the next one.
    fn roll(&mut self) -> Result<(), WalError> {
        self.sync()?;
        let first = self.next_lsn;
        let (file, path) = match create_segment(&self.dir, first) {
            Ok(created) => created,
            Err(err) => return Err(self.poison(err)),
        };
        let old_path = std::mem::replace(&mut self.active_path, path);
        self.sealed.push_back((self.active_first, old_path));
        self.active = file;
        self.active_first = first;
        self.active_len = SEGMENT_HEADER_BYTES as u64;
        self.stats.segments_created += 1;
        Ok(())
    }

    /// Refuse to write once poisoned.
    fn check(&self) -> Result<(), WalError> {
        match &self.poisoned {
            Some(cause) => Err(WalError::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Remember the first failure for ever, and pass the error on.
    fn poison(&mut self, err: WalError) -> WalError {
        self.poisoned.get_or_insert_with(|| err.to_string());
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> Wal {
        Wal::open(dir, WalOptions::default()).expect("open").0
    }

    #[test]
    fn after_a_failed_fdatasync_every_later_write_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = open(dir.path());
        wal.append(b"one").expect("append");
        wal.fail_next_sync(io::ErrorKind::Other);
        let first = wal.sync().unwrap_err();
        assert!(first.to_string().contains("fdatasync"), "{first}");
        // The retry that fsyncgate warns about must not "succeed".
        assert!(matches!(wal.sync(), Err(WalError::Poisoned { .. })));
        assert!(matches!(wal.append(b"two"), Err(WalError::Poisoned { .. })));
        assert!(matches!(wal.flush(), Err(WalError::Poisoned { .. })));
        assert!(wal.poisoned().expect("poisoned").contains("fdatasync"));
        assert_eq!(wal.durable_lsn(), Lsn::ZERO);
    }

    #[test]
    fn sync_with_nothing_new_costs_no_fdatasync() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = open(dir.path());
        assert_eq!(wal.sync().expect("sync"), Lsn::ZERO);
        wal.append(b"a").expect("append");
        wal.append(b"b").expect("append");
        assert_eq!(wal.sync().expect("sync"), Lsn(2));
        assert_eq!(wal.sync().expect("sync"), Lsn(2));
        assert_eq!(wal.stats().syncs, 1);
        assert_eq!(wal.stats().appends, 2);
    }

    #[test]
    fn flush_writes_without_making_anything_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = open(dir.path());
        wal.append(b"a").expect("append");
        assert_eq!(wal.flush().expect("flush"), Lsn(1));
        assert_eq!(wal.durable_lsn(), Lsn::ZERO);
        assert_eq!(wal.stats().syncs, 0);
        let len = fs::metadata(&wal.active_path).expect("stat").len();
        assert_eq!(len as usize, SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 1);
    }

    #[test]
    fn rolling_seals_the_old_segment_with_an_fdatasync() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = WalOptions {
            segment_bytes_max: 64,
            record_bytes_max: 32,
        };
        let (mut wal, _) = Wal::open(dir.path(), options).expect("open");
        wal.append(&[1; 30]).expect("first fits");
        assert_eq!(wal.segments(), 1);
        wal.append(&[2; 30]).expect("second rolls");
        assert_eq!(wal.segments(), 2);
        assert_eq!(wal.durable_lsn(), Lsn(1), "the sealed segment is durable");
        assert_eq!(wal.stats().segments_created, 1);
    }

    #[test]
    fn a_record_larger_than_a_segment_gets_a_segment_of_its_own_and_recovers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = WalOptions {
            segment_bytes_max: 64,
            record_bytes_max: 1000,
        };
        let (mut wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
        wal.append(&[1; 10]).expect("a small record");
        wal.append(&[2; 500]).expect("a record past the roll size");
        wal.append(&[3; 10]).expect("then a small one again");
        wal.sync().expect("sync");
        assert_eq!(
            wal.segments(),
            3,
            "the large record sits alone in its segment"
        );
        drop(wal);
        let (_, recovery) = Wal::open(dir.path(), options).expect("reopen");
        let sizes: Vec<usize> = recovery.records().map(|(_, r)| r.len()).collect();
        assert_eq!(sizes, [10, 500, 10]);
    }
}
