//! Segment files in a directory: their names, listing them in LSN order, creating one durably,
//! and fsyncing the directory that holds them.
//!
//! ```text
//!   dir/
//!     wal-00000000000000000001.log     records 1 ..= 4710       (sealed: complete, synced)
//!     wal-00000000000000004711.log     records 4711 ..= 9000    (sealed)
//!     wal-00000000000000009001.log     records 9001 ..          (active: appends go here)
//!     snap-….snap, notes.txt, …        not `wal-*.log`: ignored
//! ```
//!
//! Creating a file is a change to the *directory*: until the directory itself is fsynced, a
//! crash may forget the file even though its data was fdatasynced. So every create and every
//! remove here is followed by `sync_dir` before anyone relies on it (the lesson of ALICE,
//! "All File Systems Are Not Created Equal", OSDI '14).
//!
//! Invariant: a segment file exists on disk (directory entry durable) with a valid, synced
//! header before any record is written into it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::WalError;
use crate::format::{encode_segment_header, Lsn};

const PREFIX: &str = "wal-";
const SUFFIX: &str = ".log";

/// The file name of the segment whose first record is `first`.
pub(crate) fn segment_name(first: Lsn) -> String {
    format!("{PREFIX}{:020}{SUFFIX}", first.0)
}

/// The first LSN a file name promises: `None` if the file is not a segment at all, an error if
/// it looks like one but the number is malformed or outside `1..=Lsn::MAX` (better refuse than
/// skip a segment; the header must then name the same LSN, so this bounds it too).
fn parse_segment_name(name: &str) -> Option<Result<Lsn, String>> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let valid = digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit());
    Some(match digits.parse::<u64>() {
        Ok(n) if valid && (1..=Lsn::MAX.0).contains(&n) => Ok(Lsn(n)),
        Ok(n) if valid => Err(format!(
            "segment name {name:?}: first LSN {n} is outside 1..={}",
            Lsn::MAX
        )),
        _ => Err(format!("segment name {name:?} is not wal-<20 digits>.log")),
    })
}

/// Every segment in `dir`, oldest first, as (first LSN from the name, path).
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(Lsn, PathBuf)>, WalError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(WalError::io("list directory", dir))? {
        let entry = entry.map_err(WalError::io("list directory", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue; // not UTF-8, so not a name this crate wrote
        };
        match parse_segment_name(name) {
            None => {}
            Some(Ok(first)) => found.push((first, entry.path())),
            Some(Err(why)) => return Err(WalError::corrupt(&entry.path(), 0, why)),
        }
    }
    found.sort();
    Ok(found)
}

/// Create `dir` (and its parents) if needed, and fsync its parent so a fresh directory's own
/// entry survives a crash: otherwise every segment in it could vanish with it.
pub(crate) fn create_dir_durably(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => fsync_dir(parent),
        _ => fsync_dir(Path::new(".")),
    }
}

/// Make the directory's entries (creates, renames, removes) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    fsync_dir(dir).map_err(WalError::io("fsync directory", dir))
}

/// fsync a directory (Linux and the BSDs allow opening one read-only and fsyncing it).
pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Create the segment whose first record is `first`, write and sync its header, then sync the
/// directory. Returns the file, opened for appending, and its path.
///
/// `create_new` refuses to reuse a name: a leftover file of that name means someone skipped
/// recovery, and overwriting it could destroy records.
pub(crate) fn create_segment(dir: &Path, first: Lsn) -> Result<(File, PathBuf), WalError> {
    let path = dir.join(segment_name(first));
    let mut file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(WalError::io("create segment", &path))?;
    file.write_all(&encode_segment_header(first))
        .map_err(WalError::io("write segment header", &path))?;
    file.sync_all()
        .map_err(WalError::io("fsync new segment", &path))?;
    sync_dir(dir)?;
    Ok((file, path))
}

/// Open an existing segment for appending at its end.
pub(crate) fn open_for_append(path: &Path) -> Result<File, WalError> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(WalError::io("open segment", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_like_their_lsns() {
        let small = segment_name(Lsn(9));
        let big = segment_name(Lsn(10));
        assert_eq!(small, "wal-00000000000000000009.log");
        assert!(small < big);
        assert_eq!(parse_segment_name(&big), Some(Ok(Lsn(10))));
    }

    #[test]
    fn other_files_are_not_segments_but_a_malformed_segment_name_is_an_error() {
        assert_eq!(parse_segment_name("snap-00000000000000000001.snap"), None);
        assert_eq!(parse_segment_name("wal-1.txt"), None);
        assert!(matches!(parse_segment_name("wal-12.log"), Some(Err(_))));
        assert!(matches!(
            parse_segment_name("wal-+0000000000000000001.log"),
            Some(Err(_))
        ));
    }
}
