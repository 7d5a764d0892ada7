//! Opening a WAL after a crash: read every segment, keep every valid record, cut off a torn
//! tail, and refuse anything that looks like damage to acknowledged data.
//!
//! ```text
//!   segments:  [wal-1 ✓✓✓✓] [wal-5 ✓✓✓✓] [wal-9 ✓✓✓✗?]
//!                sealed         sealed      active (last)
//!
//!   bad record in a sealed segment ─────────────────────────► Corrupt (refuse to open)
//!   bad record in the active segment, a valid record after it ► Corrupt (refuse to open)
//!   bad record in the active segment, nothing valid after it ─► torn tail: truncate there,
//!        (partial record, CRC mismatch in the last record,       report it in Recovery
//!         trailing zeros)
//!   next segment does not start where the previous ended ─────► MissingSegment
//!   a segment name (so its header) outside LSN 1..=Lsn::MAX ───► Corrupt (segment.rs)
//! ```
//!
//! Why the tail is special: a crash during `write` + `fdatasync` can leave any prefix of the
//! unsynced bytes on disk, in any state, but only at the end of the newest segment. Sealed
//! segments were fdatasynced completely before the next one was created (see `wal.rs`), and
//! a record followed by a valid record was written before it, so neither can be torn: damage
//! there is bit rot or a bug, and dropping it would silently lose acknowledged writes.
//!
//! The limit of this rule, stated plainly: a flipped bit in the very last record looks exactly
//! like a torn write, so that record is dropped even if it had been synced. Telling the two
//! apart needs a separately synced "durable up to" marker, the road not taken here because it
//! doubles the fsyncs per commit.
//!
//! Invariant: after `recover` returns, the active segment ends exactly after its last valid
//! record and is fsynced, so the recovered records are durable before anyone acts on them (they
//! might otherwise have been only in the page cache of a process killed before its fdatasync).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::WalError;
use crate::format::{
    find_valid_record, parse_record, parse_segment_header, Lsn, SEGMENT_HEADER_BYTES,
};
use crate::segment::{
    create_dir_durably, create_segment, list_segments, open_for_append, sync_dir,
};

/// Everything `Wal::open` found: the valid records in LSN order, and what it cut off.
#[derive(Clone)]
pub struct Recovery {
    /// LSN of `records[0]`: where the oldest surviving segment starts (1 until compaction).
    first_lsn: Lsn,
    /// Every valid record, oldest first. Held in memory because the host rebuilds its whole
    /// durable state (e.g. `raft::Disk`) from them anyway; the road not taken is a second,
    /// streaming pass over the files, which would read everything twice at every start.
    records: Vec<Vec<u8>>,
    /// The torn tail that was cut off, if any: the host should log it.
    truncated: Option<Truncation>,
    /// How many segment files were read.
    segments: usize,
}

/// A torn tail that recovery removed from the newest segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Truncation {
    /// The segment that was cut.
    pub file: PathBuf,
    /// Where the file now ends: the byte offset of the first bad byte.
    pub offset: u64,
    /// How many bytes were cut off.
    pub bytes: u64,
    /// What was wrong at `offset` (partial record, CRC mismatch, trailing zeros, …).
    pub reason: String,
}

impl Recovery {
    /// LSN of the first record (or of the next append, when there are no records).
    pub fn first_lsn(&self) -> Lsn {
        self.first_lsn
    }

    /// LSN of the last record; `first_lsn() - 1` when there are none.
    pub fn last_lsn(&self) -> Lsn {
        // In range at both ends: `first_lsn` is in 1..=Lsn::MAX (segment names outside it are
        // refused as corrupt, and each header must match its name).
        Lsn(self.first_lsn.0 + self.records.len() as u64 - 1)
    }

    /// How many records were recovered.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when no record was recovered.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The record at `lsn`, if it was recovered.
    pub fn get(&self, lsn: Lsn) -> Option<&[u8]> {
        let k = lsn.0.checked_sub(self.first_lsn.0)?;
        self.records
            .get(usize::try_from(k).ok()?)
            .map(Vec::as_slice)
    }

    /// Every record with its LSN, oldest first.
    pub fn records(&self) -> impl Iterator<Item = (Lsn, &[u8])> + '_ {
        let first = self.first_lsn.0;
        (first..)
            .map(Lsn)
            .zip(self.records.iter().map(Vec::as_slice))
    }

    /// The torn tail recovery cut off, if there was one.
    pub fn truncated(&self) -> Option<&Truncation> {
        self.truncated.as_ref()
    }

    /// How many segment files were read.
    pub fn segments(&self) -> usize {
        self.segments
    }
}

impl IntoIterator for Recovery {
    type Item = (Lsn, Vec<u8>);
    type IntoIter = IntoRecords;

    /// Consume the records one by one, so a host can drop each after folding it into its state.
    fn into_iter(self) -> IntoRecords {
        IntoRecords {
            next: self.first_lsn,
            records: self.records.into_iter(),
        }
    }
}

/// The records of a [`Recovery`], by value, with their LSNs.
#[derive(Debug)]
pub struct IntoRecords {
    /// The LSN of the record `records` yields next.
    next: Lsn,
    /// The records not yet yielded.
    records: std::vec::IntoIter<Vec<u8>>,
}

impl Iterator for IntoRecords {
    type Item = (Lsn, Vec<u8>);

    fn next(&mut self) -> Option<(Lsn, Vec<u8>)> {
        let record = self.records.next()?;
        let lsn = self.next;
        self.next = lsn.next();
        Some((lsn, record))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.records.size_hint()
    }
}

impl fmt::Debug for Recovery {
    /// The Display line: printing every record of a large log helps nobody.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Truncation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Truncation{{file={} offset={} bytes={} reason={}}}",
            self.file.display(),
            self.offset,
            self.bytes,
            self.reason
        )
    }
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Recovery{{segments={} records={}..={} n={} ",
            self.segments,
            self.first_lsn,
            self.last_lsn(),
            self.records.len()
        )?;
        match &self.truncated {
            Some(t) => write!(f, "truncated={t}}}"),
            None => write!(f, "truncated=none}}"),
        }
    }
}

/// What `recover` hands to `Wal::open`: the caller's `Recovery` and the files to continue with.
pub(crate) struct Recovered {
    /// For the caller.
    pub(crate) recovery: Recovery,
    /// Every segment but the newest, oldest first: complete and synced.
    pub(crate) sealed: Vec<(Lsn, PathBuf)>,
    /// The newest segment: its first LSN, path and length after truncation.
    pub(crate) active: (Lsn, PathBuf, u64),
}

/// One segment as read from disk.
struct Scan {
    /// Its valid records, in order.
    records: Vec<Vec<u8>>,
    /// Where its valid bytes end (0 when even the header is torn).
    valid_len: u64,
    /// The torn tail, if the file goes on past `valid_len`.
    torn: Option<Truncation>,
}

/// Read and check every segment in `dir` (creating the directory and a first segment if there
/// are none), truncate a torn tail, and sync what remains.
pub(crate) fn recover(dir: &Path) -> Result<Recovered, WalError> {
    create_dir_durably(dir).map_err(WalError::io("create directory", dir))?;
    let segments = list_segments(dir)?;
    let Some(first_lsn) = segments.first().map(|s| s.0) else {
        let (_, path) = create_segment(dir, Lsn(1))?;
        let recovery = Recovery {
            first_lsn: Lsn(1),
            records: Vec::new(),
            truncated: None,
            segments: 1,
        };
        let active = (Lsn(1), path, SEGMENT_HEADER_BYTES as u64);
        return Ok(Recovered {
            recovery,
            sealed: Vec::new(),
            active,
        });
    };
    let mut records = Vec::new();
    let mut truncated = None;
    let mut active_len = 0;
    for (i, (first, path)) in segments.iter().enumerate() {
        let expected = Lsn(first_lsn.0 + records.len() as u64);
        if *first != expected {
            return Err(WalError::MissingSegment {
                file: path.clone(),
                expected,
                found: *first,
            });
        }
        let scan = scan_segment(path, *first, i + 1 == segments.len())?;
        records.extend(scan.records);
        truncated = scan.torn;
        active_len = scan.valid_len;
    }
    let (active_first, active_path) = segments.last().cloned().expect("not empty");
    let active_len = repair_tail(dir, active_first, &active_path, active_len, &truncated)?;
    let recovery = Recovery {
        first_lsn,
        records,
        truncated,
        segments: segments.len(),
    };
    let sealed = segments[..segments.len() - 1].to_vec();
    let active = (active_first, active_path, active_len);
    Ok(Recovered {
        recovery,
        sealed,
        active,
    })
}

/// Cut the newest segment back to its valid bytes (recreating it when even its header was
/// torn), then fsync it and the directory. Returns the segment's length.
fn repair_tail(
    dir: &Path,
    first: Lsn,
    path: &Path,
    valid_len: u64,
    torn: &Option<Truncation>,
) -> Result<u64, WalError> {
    if torn.is_some() && valid_len == 0 {
        fs::remove_file(path).map_err(WalError::io("remove torn segment", path))?;
        sync_dir(dir)?;
        create_segment(dir, first)?;
        return Ok(SEGMENT_HEADER_BYTES as u64);
    }
    let file = open_for_append(path)?;
    if torn.is_some() {
        file.set_len(valid_len)
            .map_err(WalError::io("truncate torn tail", path))?;
    }
    file.sync_all()
        .map_err(WalError::io("fsync recovered segment", path))?;
    sync_dir(dir)?;
    Ok(valid_len)
}

/// Read one segment and classify its first bad byte, if any (see the module docs).
fn scan_segment(path: &Path, first: Lsn, is_last: bool) -> Result<Scan, WalError> {
    let buf = fs::read(path).map_err(WalError::io("read segment", path))?;
    match parse_segment_header(&buf) {
        Ok(named) if named == first => {}
        Ok(named) => {
            let why = format!("header says first LSN {named}, the file name says {first}");
            return Err(WalError::corrupt(path, 0, why));
        }
        // A header is synced before any record is written, so a bad header with nothing (or
        // only zeros) after it is a creation that a crash interrupted: nothing was lost.
        Err(why) if is_last && header_is_torn(&buf) => {
            return Ok(Scan {
                records: Vec::new(),
                valid_len: 0,
                torn: Some(Truncation {
                    file: path.to_path_buf(),
                    offset: 0,
                    bytes: buf.len() as u64,
                    reason: format!("segment header torn, creation interrupted ({why})"),
                }),
            })
        }
        Err(why) => return Err(WalError::corrupt(path, 0, why)),
    }
    let mut records = Vec::new();
    let mut at = SEGMENT_HEADER_BYTES;
    while at < buf.len() {
        match parse_record(&buf, at) {
            Ok((payload, next)) => {
                records.push(payload.to_vec());
                at = next;
            }
            Err(why) => return torn_tail_or_corrupt(path, &buf, at, why, is_last, records),
        }
    }
    let valid_len = buf.len() as u64;
    Ok(Scan {
        records,
        valid_len,
        torn: None,
    })
}

/// A bad record at `at`: a torn tail if this is the newest segment and no valid record follows,
/// otherwise corruption that must stop the open.
fn torn_tail_or_corrupt(
    path: &Path,
    buf: &[u8],
    at: usize,
    why: String,
    is_last: bool,
    records: Vec<Vec<u8>>,
) -> Result<Scan, WalError> {
    if !is_last {
        let why = format!("{why} (in a sealed segment, which is always complete)");
        return Err(WalError::corrupt(path, at as u64, why));
    }
    if let Some(next) = find_valid_record(buf, at + 1) {
        let why = format!("{why}; a valid record follows at offset {next}");
        return Err(WalError::corrupt(path, at as u64, why));
    }
    let reason = if buf[at..].iter().all(|&b| b == 0) {
        format!("{} trailing zero bytes", buf.len() - at)
    } else {
        why
    };
    let torn = Truncation {
        file: path.to_path_buf(),
        offset: at as u64,
        bytes: (buf.len() - at) as u64,
        reason,
    };
    Ok(Scan {
        records,
        valid_len: at as u64,
        torn: Some(torn),
    })
}

/// True when a segment with a bad header holds nothing but that header (or zeros).
fn header_is_torn(buf: &[u8]) -> bool {
    buf.len() <= SEGMENT_HEADER_BYTES || buf[SEGMENT_HEADER_BYTES..].iter().all(|&b| b == 0)
}
