//! Why a WAL operation failed, in words an operator can act on.
//!
//! ```text
//!   Io              the OS said no (open, write, fdatasync, rename, …): op + path + OS error
//!   Corrupt         damaged bytes before the tail: refuse to open, name file + byte offset
//!   MissingSegment  a gap in the LSN sequence: a segment file was lost or deleted
//!   RecordTooLarge  bad input, refused before anything is written; the WAL stays usable
//!   BatchTooLarge   a group-commit submission larger than the whole queue
//!   QueueFull       try_submit found no room (submit would have blocked)
//!   Poisoned        an earlier write or fdatasync failed: every later write is refused
//!   Closed          the group-commit flusher has stopped
//!   InvalidOptions  the options are unsafe, and why
//! ```
//!
//! Invariant: only `Io` raised by a write or a sync, and `Poisoned`, describe a WAL that can
//! no longer be written; the others leave it as it was.
//!
//! `WalError` is `Clone` because group commit hands one fdatasync failure to every waiter that
//! the failed sync covered; `io::Error` is not `Clone`, so it travels in an `Arc`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::format::Lsn;

/// Why a WAL operation failed.
#[derive(Clone, Debug)]
pub enum WalError {
    /// An operating-system call failed.
    Io {
        /// What was being done (`"fdatasync"`, `"open segment"`, …).
        op: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The OS error, shared so the error can be cloned to many waiters.
        source: Arc<io::Error>,
    },
    /// Bytes before the torn tail do not form a valid record. Opening refuses: dropping them
    /// would silently lose records that were acknowledged as durable.
    Corrupt {
        /// The segment file.
        file: PathBuf,
        /// Byte offset in `file` where the first bad record (or header) starts.
        offset: u64,
        /// What exactly is wrong there.
        reason: String,
    },
    /// The segments do not cover one unbroken LSN range: a file is missing.
    MissingSegment {
        /// The segment whose first LSN is not the one expected.
        file: PathBuf,
        /// The LSN the previous segment ends before.
        expected: Lsn,
        /// The first LSN `file` actually holds.
        found: Lsn,
    },
    /// A record larger than `record_bytes_max`; nothing was written.
    RecordTooLarge {
        /// The record's size.
        bytes: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A group-commit submission that could never fit in the queue.
    BatchTooLarge {
        /// Records in the submission.
        records: usize,
        /// Payload bytes in the submission.
        bytes: usize,
        /// The queue's record bound.
        records_max: usize,
        /// The queue's byte bound.
        bytes_max: usize,
    },
    /// `try_submit` found the group-commit queue full; retry later or use `submit`.
    QueueFull,
    /// An earlier write or fdatasync failed, so the WAL refuses every later write.
    Poisoned {
        /// The first failure, as it was reported.
        cause: String,
    },
    /// The group-commit flusher has stopped (closed, or it panicked).
    Closed,
    /// The options are unsafe; the message says which and why.
    InvalidOptions(String),
}

impl WalError {
    /// An `Io` error builder for `map_err`: `.map_err(WalError::io("fdatasync", &path))`.
    pub(crate) fn io(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WalError {
        let path = path.to_path_buf();
        move |source| WalError::Io {
            op,
            path,
            source: Arc::new(source),
        }
    }

    /// A `Corrupt` error.
    pub(crate) fn corrupt(file: &Path, offset: u64, reason: impl Into<String>) -> WalError {
        WalError::Corrupt {
            file: file.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for WalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalError::Io { op, path, source } => {
                write!(f, "wal: {op} {}: {source}", path.display())
            }
            WalError::Corrupt {
                file,
                offset,
                reason,
            } => write!(
                f,
                "wal: corrupt record in {} at byte offset {offset}: {reason} \
                 (not a torn tail: refusing to open rather than drop acknowledged records)",
                file.display()
            ),
            WalError::MissingSegment {
                file,
                expected,
                found,
            } => write!(
                f,
                "wal: missing segment: expected one starting at LSN {expected}, \
                 but the next file is {} starting at LSN {found}",
                file.display()
            ),
            WalError::RecordTooLarge { bytes, max } => {
                write!(
                    f,
                    "wal: record of {bytes} bytes exceeds record_bytes_max {max}"
                )
            }
            WalError::BatchTooLarge {
                records,
                bytes,
                records_max,
                bytes_max,
            } => write!(
                f,
                "wal: submission of {records} records / {bytes} bytes can never fit the queue \
                 ({records_max} records / {bytes_max} bytes); split it"
            ),
            WalError::QueueFull => write!(f, "wal: group-commit queue is full"),
            WalError::Poisoned { cause } => write!(
                f,
                "wal: refusing writes after an earlier failure ({cause}); \
                 restart so recovery re-reads what is really on disk"
            ),
            WalError::Closed => write!(f, "wal: the group-commit flusher has stopped"),
            WalError::InvalidOptions(why) => write!(f, "wal: invalid options: {why}"),
        }
    }
}

impl std::error::Error for WalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WalError::Io { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_error_names_the_file_and_the_byte_offset() {
        let err = WalError::corrupt(Path::new("/d/wal-1.log"), 4096, "bad magic");
        let text = err.to_string();
        assert!(text.contains("/d/wal-1.log"), "{text}");
        assert!(text.contains("byte offset 4096"), "{text}");
        assert!(text.contains("bad magic"), "{text}");
    }

    #[test]
    fn an_io_error_names_the_operation_and_the_path() {
        let err = WalError::io("fdatasync", Path::new("/d/wal-1.log"))(io::Error::other("EIO"));
        assert_eq!(err.to_string(), "wal: fdatasync /d/wal-1.log: EIO");
    }
}
