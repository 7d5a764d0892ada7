//! Snapshot files (Raft §7): the state machine's bytes at (index, term), written so that a
//! crash at any instant leaves either the old set of snapshots or the new one, never half.
//!
//! ```text
//!   save(index, term, bytes):
//!     snap-<index>.tmp ──write──► fsync ──rename──► snap-<index>.snap ──► fsync dir ──► prune
//!     (a crash before the rename leaves a .tmp, removed at the next open;
//!      after it, the directory fsync makes the new name durable before anything is pruned)
//!
//!   snap-00000000000000004000.snap       name = index, 20 digits, so names sort by index
//!   ┌───────────────────────────────────────────────────────────────────────────┐
//!   │ magic "DSNP" │ version:u32 (=1) │ index:u64 │ term:u64 │ len:u64 │ crc:u32 │ 36 bytes
//!   ├───────────────────────────────────────────────────────────────────────────┤
//!   │ data[len]   (opaque: e.g. kv::StateMachine::snapshot())                   │
//!   └───────────────────────────────────────────────────────────────────────────┘
//!   crc = CRC-32(header bytes 0..32 ‖ data); integers little-endian (`distributed_core::wire`)
//! ```
//!
//! **Policy: a corrupt newest snapshot is an error, not skipped.** The WAL segments a snapshot
//! replaced are deleted once it is saved, so an older snapshot plus the WAL may no longer
//! cover everything: falling back would silently lose committed entries. `latest` names the
//! file instead, and the operator decides (move the file aside to fall back knowingly, or wipe
//! the node and let the leader send a snapshot). The older `keep - 1` snapshots are there for
//! exactly that decision, or for a host that can prove its WAL still covers the gap: `load`
//! reads an older one, and `set_aside` renames a damaged file out of the way (kept for a
//! post-mortem, never read again) so later saves are not refused as below it.
//!
//! Invariants: a `.snap` file is complete and synced before its name exists; the newest
//! snapshot is never pruned; indexes only move forward (a save below the newest is refused).

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use distributed_core::wire::{DecodeError, Reader, Sink};

use crate::segment::{create_dir_durably, fsync_dir};

/// The snapshot file format this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;
const MAGIC: [u8; 4] = *b"DSNP";
const HEADER_BYTES: usize = 36;

/// How a [`SnapshotStore`] bounds its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Snapshots kept after a save, newest included (≥ 1). More than one leaves an operator
    /// something to fall back on if the newest is ever found corrupt (see the module docs).
    pub keep: usize,
    /// The largest snapshot accepted, written or read: bounds the memory `latest` allocates,
    /// so a damaged length cannot make it allocate the disk's worth.
    pub bytes_max: u64,
}

impl Default for SnapshotOptions {
    /// Keep 2, up to 1 GiB each.
    fn default() -> Self {
        SnapshotOptions {
            keep: 2,
            bytes_max: 1 << 30,
        }
    }
}

/// A snapshot as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The last log index the snapshot covers (Raft's lastIncludedIndex).
    pub index: u64,
    /// The term of that entry (Raft's lastIncludedTerm), for the log-matching check.
    pub term: u64,
    /// The state machine's bytes.
    pub data: Bytes,
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Snapshot{{index={} term={} bytes={}}}",
            self.index,
            self.term,
            self.data.len()
        )
    }
}

/// Why a snapshot operation failed.
#[derive(Clone, Debug)]
pub enum SnapshotError {
    /// An operating-system call failed.
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error, shared so the error can be cloned.
        source: Arc<io::Error>,
    },
    /// A snapshot file is damaged or is not a snapshot.
    Corrupt {
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Data larger than `bytes_max`.
    TooLarge {
        /// Its size.
        bytes: u64,
        /// The bound.
        max: u64,
    },
    /// A save below the newest snapshot's index: snapshots only move forward.
    NotNewer {
        /// The index offered.
        index: u64,
        /// The newest index stored.
        latest: u64,
    },
    /// The options are unsafe.
    InvalidOptions(String),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Io { op, path, source } => {
                write!(f, "snapshot: {op} {}: {source}", path.display())
            }
            SnapshotError::Corrupt { file, reason } => {
                write!(f, "snapshot: corrupt file {}: {reason}", file.display())
            }
            SnapshotError::TooLarge { bytes, max } => {
                write!(f, "snapshot: {bytes} bytes exceeds bytes_max {max}")
            }
            SnapshotError::NotNewer { index, latest } => write!(
                f,
                "snapshot: index {index} is below the newest stored snapshot {latest}"
            ),
            SnapshotError::InvalidOptions(why) => write!(f, "snapshot: invalid options: {why}"),
        }
    }
}

impl std::error::Error for SnapshotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SnapshotError::Io { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SnapshotError {
    let path = path.to_path_buf();
    move |source| SnapshotError::Io {
        op,
        path,
        source: Arc::new(source),
    }
}

fn corrupt(file: &Path, reason: impl Into<String>) -> SnapshotError {
    SnapshotError::Corrupt {
        file: file.to_path_buf(),
        reason: reason.into(),
    }
}

/// Snapshot files in one directory. See the module docs.
#[derive(Debug)]
pub struct SnapshotStore {
    /// Where the files live (may be the WAL's directory: the name prefixes differ).
    dir: PathBuf,
    /// Retention and size bounds.
    options: SnapshotOptions,
}

impl SnapshotStore {
    /// Open (or create) the store in `dir`, removing `.tmp` files a crash left behind.
    pub fn open(dir: impl AsRef<Path>, options: SnapshotOptions) -> Result<Self, SnapshotError> {
        if options.keep == 0 {
            return Err(SnapshotError::InvalidOptions(
                "keep is 0: the newest snapshot would be deleted right after saving it".into(),
            ));
        }
        let dir = dir.as_ref().to_path_buf();
        create_dir_durably(&dir).map_err(io_err("create directory", &dir))?;
        let mut removed = false;
        for (_, path) in list(&dir, "tmp")? {
            fs::remove_file(&path).map_err(io_err("remove leftover", &path))?;
            removed = true;
        }
        if removed {
            fsync_dir(&dir).map_err(io_err("fsync directory", &dir))?;
        }
        Ok(SnapshotStore { dir, options })
    }

    /// Durably store `data` as the snapshot at (`index`, `term`), then prune to `keep`.
    /// Returns the file's path. Saving the newest index again replaces it.
    pub fn save(&mut self, index: u64, term: u64, data: &[u8]) -> Result<PathBuf, SnapshotError> {
        let max = self.options.bytes_max;
        if data.len() as u64 > max {
            let bytes = data.len() as u64;
            return Err(SnapshotError::TooLarge { bytes, max });
        }
        if let Some(&latest) = self.indexes()?.last() {
            if index < latest {
                return Err(SnapshotError::NotNewer { index, latest });
            }
        }
        let tmp = self.dir.join(file_name(index, "tmp"));
        let path = self.dir.join(file_name(index, "snap"));
        if let Err(err) = write_synced(&tmp, &encode_header(index, term, data), data) {
            let _ = fs::remove_file(&tmp); // best effort; open removes it otherwise
            return Err(err);
        }
        fs::rename(&tmp, &path).map_err(io_err("rename", &tmp))?;
        fsync_dir(&self.dir).map_err(io_err("fsync directory", &self.dir))?;
        self.prune()?;
        Ok(path)
    }

    /// The newest snapshot, checked; `None` if there is none. A damaged newest snapshot is an
    /// error naming the file (see the module docs for why it is not skipped).
    pub fn latest(&self) -> Result<Option<Snapshot>, SnapshotError> {
        match list(&self.dir, "snap")?.pop() {
            Some((index, path)) => read_snapshot(&path, index, self.options.bytes_max).map(Some),
            None => Ok(None),
        }
    }

    /// The snapshot stored at `index`, checked (an older one than `latest`, for a host that
    /// falls back knowingly; see the module docs).
    pub fn load(&self, index: u64) -> Result<Snapshot, SnapshotError> {
        let path = self.path(index);
        if !path.exists() {
            let why = format!("no snapshot at index {index} in {}", self.dir.display());
            return Err(corrupt(&path, why));
        }
        read_snapshot(&path, index, self.options.bytes_max)
    }

    /// The file that holds (or would hold) the snapshot at `index`.
    pub fn path(&self, index: u64) -> PathBuf {
        self.dir.join(file_name(index, "snap"))
    }

    /// Rename the snapshot at `index` to `snap-<index>.corrupt` (durably): the store no longer
    /// lists it, the bytes stay for a post-mortem. Returns the new path.
    pub fn set_aside(&mut self, index: u64) -> Result<PathBuf, SnapshotError> {
        let from = self.path(index);
        let to = self.dir.join(file_name(index, "corrupt"));
        fs::rename(&from, &to).map_err(io_err("rename", &from))?;
        fsync_dir(&self.dir).map_err(io_err("fsync directory", &self.dir))?;
        Ok(to)
    }

    /// The indexes of the stored snapshots, ascending.
    pub fn indexes(&self) -> Result<Vec<u64>, SnapshotError> {
        Ok(list(&self.dir, "snap")?
            .into_iter()
            .map(|(i, _)| i)
            .collect())
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Remove all but the newest `keep` snapshots.
    fn prune(&self) -> Result<(), SnapshotError> {
        let snaps = list(&self.dir, "snap")?;
        let excess = snaps.len().saturating_sub(self.options.keep);
        for (_, path) in &snaps[..excess] {
            fs::remove_file(path).map_err(io_err("remove old snapshot", path))?;
        }
        if excess > 0 {
            fsync_dir(&self.dir).map_err(io_err("fsync directory", &self.dir))?;
        }
        Ok(())
    }
}

fn file_name(index: u64, ext: &str) -> String {
    format!("snap-{index:020}.{ext}")
}

/// Files named `snap-<20 digits>.<ext>` in `dir`, ascending by index. A name with the prefix
/// and extension but a malformed number is an error rather than a file silently ignored.
fn list(dir: &Path, ext: &str) -> Result<Vec<(u64, PathBuf)>, SnapshotError> {
    let mut found = Vec::new();
    let suffix = format!(".{ext}");
    for entry in fs::read_dir(dir).map_err(io_err("list directory", dir))? {
        let entry = entry.map_err(io_err("list directory", dir))?;
        let name = entry.file_name();
        let Some(digits) = name
            .to_str()
            .and_then(|n| n.strip_prefix("snap-")?.strip_suffix(suffix.as_str()))
        else {
            continue;
        };
        let valid = digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit());
        match digits.parse::<u64>() {
            Ok(index) if valid => found.push((index, entry.path())),
            _ => return Err(corrupt(&entry.path(), "name is not snap-<20 digits>")),
        }
    }
    found.sort();
    Ok(found)
}

fn encode_header(index: u64, term: u64, data: &[u8]) -> Vec<u8> {
    let mut header = Vec::with_capacity(HEADER_BYTES);
    header.put_slice(&MAGIC);
    header.put_u32(SNAPSHOT_VERSION);
    header.put_u64(index);
    header.put_u64(term);
    header.put_u64(data.len() as u64);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&header);
    crc.update(data);
    header.put_u32(crc.finalize());
    assert_eq!(
        header.len(),
        HEADER_BYTES,
        "the header layout in the module docs"
    );
    header
}

/// A snapshot file header's fields as read, before any of them is checked.
struct Header {
    /// Should be `MAGIC`.
    magic: [u8; 4],
    /// Should be `SNAPSHOT_VERSION`; checked after the CRC, so a flipped bit reads as one.
    version: u32,
    /// The index the snapshot covers; must agree with the file name.
    index: u64,
    /// The term of that entry.
    term: u64,
    /// The data's length; must be what follows the header.
    len: u64,
    /// CRC-32 of the 32 header bytes before it and the data.
    crc: u32,
}

impl Header {
    fn read(r: &mut Reader<'_>) -> Result<Header, DecodeError> {
        Ok(Header {
            magic: r.array("snapshot magic")?,
            version: r.u32("snapshot version")?,
            index: r.u64("snapshot index")?,
            term: r.u64("snapshot term")?,
            len: r.u64("snapshot length")?,
            crc: r.u32("snapshot CRC")?,
        })
    }
}

fn write_synced(path: &Path, header: &[u8], data: &[u8]) -> Result<(), SnapshotError> {
    let mut file = File::create(path).map_err(io_err("create", path))?;
    file.write_all(header).map_err(io_err("write", path))?;
    file.write_all(data).map_err(io_err("write", path))?;
    file.sync_all().map_err(io_err("fsync", path))
}

/// Read and check one snapshot file; `named` is the index its name promises.
fn read_snapshot(path: &Path, named: u64, bytes_max: u64) -> Result<Snapshot, SnapshotError> {
    let size = fs::metadata(path).map_err(io_err("stat", path))?.len();
    if size > (HEADER_BYTES as u64).saturating_add(bytes_max) {
        let why = format!("{size} bytes exceeds bytes_max {bytes_max} plus the header");
        return Err(corrupt(path, why));
    }
    let buf = fs::read(path).map_err(io_err("read", path))?;
    if buf.len() < HEADER_BYTES {
        let why = format!("{} bytes, the header alone needs {HEADER_BYTES}", buf.len());
        return Err(corrupt(path, why));
    }
    let header = Header::read(&mut Reader::new(&buf)).map_err(|e| corrupt(path, e.to_string()))?;
    if header.magic != MAGIC {
        return Err(corrupt(path, format!("bad magic {:02x?}", header.magic)));
    }
    let stored = header.crc;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&buf[0..32]);
    crc.update(&buf[HEADER_BYTES..]);
    let computed = crc.finalize();
    if stored != computed {
        let why = format!("CRC-32 mismatch: stored {stored:#010x}, computed {computed:#010x}");
        return Err(corrupt(path, why));
    }
    let version = header.version;
    if version != SNAPSHOT_VERSION {
        let why = format!("version {version}, this build reads {SNAPSHOT_VERSION}");
        return Err(corrupt(path, why));
    }
    let (index, term, len) = (header.index, header.term, header.len);
    if len != (buf.len() - HEADER_BYTES) as u64 || index != named {
        let why = format!(
            "header says index {index} len {len}, the file has index {named} len {}",
            buf.len() - HEADER_BYTES
        );
        return Err(corrupt(path, why));
    }
    let data = Bytes::from(buf).slice(HEADER_BYTES..); // no copy
    Ok(Snapshot { index, term, data })
}
