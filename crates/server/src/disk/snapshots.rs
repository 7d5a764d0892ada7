//! Snapshots on disk (Raft §7): a `Write::Snapshot` goes to its own file in
//! `data_dir/snapshots`, the WAL gets a small marker naming it, and the WAL segments before
//! the marker are deleted. At start-up the newest good file plus the WAL rebuild the disk.
//!
//! ```text
//!   a batch's writes  w1 w2 Snapshot(I) w3 …            (node/ flush)  
//!     1. submit(w1 w2) and WAIT: they and every earlier batch are durable (a barrier if none)
//!     2. SnapshotStore::save: snap-I.tmp ─fsync─► rename snap-I.snap ─► fsync dir ─► keep 2
//!     3. records: Marker(I) w3 … HardState(now) Append(the log after I, as Raft holds it now)
//!        submitted as the batch's job; its messages go out once it is durable (persist → send)
//!     4. once durable: remove_segments_before(LSN of Marker(I))   (a blocking task)
//!
//!   start-up:  newest snap file ──load──► base ──► disk/replay.rs folds the WAL over it
//!              damaged newest ──► try the older file; keep it only if the WAL covers the gap
//!                                 (else refuse to start, naming the file), set the bad one aside
//! ```
//!
//! Why the barrier in step 1: `Raft::new` refuses a disk whose hard-state term is below its
//! last log term. A snapshot taken in the same batch as the HardState that raised the term
//! must not be durable before that HardState, or a crash in between leaves such a disk.
//! Why the hard state and tail in step 3: after them every record before the marker is
//! redundant (the file holds the log through I, they hold the rest), so whole segments before
//! the marker can go. The road not taken: saving the file in the background while the loop
//! runs on. Later batches' records would then reach the WAL before the marker and its tail,
//! and the tail (taken earlier) would cut them off; keeping them behind needs a second queue.
//! A snapshot every `snapshot_log_entries_max` entries makes the pause rare and bounded.
//!
//! Invariants: a marker is submitted only after its file is durable; segments are removed only
//! after the marker is durable; the tail written after the last marker starts right after it
//! (asserted).

use std::path::{Path, PathBuf};

use raft::{HardState, Raft, Write};
use storage::{GroupCommit, SnapshotError, SnapshotOptions, SnapshotStore};

use crate::codec::{decode_snapshot_file, encode_snapshot_file, SNAPSHOT_FILE_VERSION};
use crate::disk::replay::Replay;
use crate::disk::wal_records::{encode_snapshot_marker, encode_write};

/// Snapshot files kept: the newest, and one to fall back on if the newest is found damaged.
const SNAPSHOTS_KEPT: usize = 2;
/// The largest snapshot written or read (the store's bound; the file codec's length is u32).
pub(crate) const SNAPSHOT_BYTES_MAX: u64 = 1 << 30;

/// Open the store in `data_dir/snapshots`, removing a save a crash interrupted.
pub fn open_store(data_dir: &Path) -> Result<SnapshotStore, String> {
    let dir = data_dir.join("snapshots");
    let options = SnapshotOptions {
        keep: SNAPSHOTS_KEPT,
        bytes_max: SNAPSHOT_BYTES_MAX,
    };
    SnapshotStore::open(&dir, options)
        .map_err(|e| format!("cannot open the snapshot store in {}: {e}", dir.display()))
}

/// What recovery found.
#[derive(Debug)]
pub struct Recovered {
    /// The disk the node starts from.
    pub disk: raft::Disk,
    /// Things the operator should hear about (a file set aside, a missing file covered).
    pub warnings: Vec<String>,
}

/// Rebuild the disk from the newest usable snapshot file and the WAL's records.
/// `records` is called once per attempt (at most once per stored file, plus one).
pub fn recover<'a, I>(
    store: &mut SnapshotStore,
    records: impl Fn() -> I,
) -> Result<Recovered, String>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let indexes = store.indexes().map_err(|e| e.to_string())?;
    let mut damaged: Vec<(u64, String)> = Vec::new();
    let mut base = None;
    for &index in indexes.iter().rev() {
        match load(store, index) {
            Ok(snapshot) => {
                base = Some(snapshot);
                break;
            }
            Err(Damage::Corrupt(why)) => damaged.push((index, why)),
            Err(Damage::Io(e) | Damage::OlderBuild(e)) => return Err(e),
        }
    }
    let base_index = base.as_ref().map(|s| s.meta.index);
    let replay = Replay::new(base).records(records());
    let mut warnings = Vec::new();
    let replay = match (replay, damaged.first()) {
        (Ok(replay), _) => replay,
        (Err(e), None) => return Err(format!("cannot recover: {e}")),
        (Err(e), Some((index, why))) => {
            return Err(format!(
                "snapshot file {} is damaged ({why}), and falling back to {} is not safe: {e}. \
                 Either wipe this node's data dir (it then catches up from the leader) or \
                 restore the file",
                store.path(*index).display(),
                base_index.map_or("no snapshot".into(), |i| format!("the snapshot at {i}")),
            ))
        }
    };
    for (index, why) in damaged {
        let aside = store.set_aside(index).map_err(|e| e.to_string())?;
        warnings.push(format!(
            "snapshot file at index {index} is damaged ({why}); the WAL covers it, so the node \
             starts from {} and the file is set aside as {}",
            base_index.map_or("an empty disk".into(), |i| format!("the snapshot at {i}")),
            aside.display()
        ));
    }
    if let Some(index) = replay.marker_beyond_base() {
        warnings.push(format!(
            "the WAL names a snapshot at index {index} that no usable file holds; the WAL still \
             holds its entries, so they are replayed instead"
        ));
    }
    Ok(Recovered {
        disk: replay.finish(),
        warnings,
    })
}

/// Why a stored snapshot could not be used.
enum Damage {
    /// The file is damaged or its contents disagree with its name: a fallback may help.
    Corrupt(String),
    /// The disk itself failed: stop.
    Io(String),
    /// A format an older build wrote (big-endian): not damage, so stop and touch nothing
    /// (setting it aside would take it from the build that can still read it).
    OlderBuild(String),
}

/// Read and decode the snapshot at `index`, checking its contents agree with its header.
fn load(store: &SnapshotStore, index: u64) -> Result<raft::Snapshot, Damage> {
    let stored = store.load(index).map_err(|e| match e {
        SnapshotError::Corrupt { reason, .. } => Damage::Corrupt(reason),
        other => Damage::Io(other.to_string()),
    })?;
    let snapshot = decode_snapshot_file(&stored.data).map_err(|e| {
        // The store's CRC held, so the version byte is as written, not a flipped bit.
        match stored.data.first() {
            Some(&v) if v < SNAPSHOT_FILE_VERSION => {
                let path = store.path(index);
                Damage::OlderBuild(format!("snapshot file {}: {e}", path.display()))
            }
            _ => Damage::Corrupt(e.to_string()),
        }
    })?;
    if (snapshot.meta.index, snapshot.meta.term) != (stored.index, stored.term) {
        return Err(Damage::Corrupt(format!(
            "the header says ({},{}), the contents ({},{})",
            stored.term, stored.index, snapshot.meta.term, snapshot.meta.index
        )));
    }
    if snapshot.meta.index > raft::INDEX_MAX {
        return Err(Damage::Corrupt(format!(
            "snapshot index {} is past the largest index Raft holds ({})",
            snapshot.meta.index,
            raft::INDEX_MAX
        )));
    }
    Ok(snapshot)
}

/// The records of a batch whose writes hold at least one snapshot, its files saved.
#[derive(Debug)]
pub(crate) struct SnapshotBatch {
    /// The records to submit as the batch's job (steps 3 in the module docs).
    pub(crate) records: Vec<Vec<u8>>,
    /// How many records of `records` come after the last marker: once the job is durable,
    /// the marker's LSN is the job's last LSN minus this.
    pub(crate) after_marker: u64,
    /// The snapshots saved, oldest first.
    pub(crate) saved: Vec<SavedSnapshot>,
}

/// A snapshot file `persist_with_snapshots` saved, for the node's log line and metrics.
#[derive(Debug)]
pub(crate) struct SavedSnapshot {
    /// The last log index it covers (Raft's lastIncludedIndex).
    pub(crate) index: u64,
    /// Where it lives, `data_dir/snapshots/snap-<index>.snap`.
    pub(crate) path: PathBuf,
}

/// Carry out steps 1–3 of the module docs for `writes` (which hold a `Write::Snapshot`).
/// Blocks on fsyncs: call it from a blocking context. `raft` is the node after this batch.
pub(crate) fn persist_with_snapshots(
    writes: impl IntoIterator<Item = Write>,
    group: &GroupCommit,
    store: &mut SnapshotStore,
    raft: &Raft,
    record_bytes_target: usize,
) -> Result<SnapshotBatch, String> {
    let mut records = Vec::new();
    let mut marker = None;
    let mut saved = Vec::new();
    for write in writes {
        let Write::Snapshot(snapshot) = write else {
            encode_write(&write, record_bytes_target, &mut records);
            continue;
        };
        let (index, term) = (snapshot.meta.index, snapshot.meta.term);
        if snapshot.data.len() as u64 > SNAPSHOT_BYTES_MAX {
            return Err(format!(
                "the snapshot at {index} is {} bytes, above the {SNAPSHOT_BYTES_MAX} a file holds",
                snapshot.data.len()
            ));
        }
        group
            .submit(std::mem::take(&mut records))
            .and_then(storage::Ticket::wait)
            .map_err(|e| format!("WAL write before the snapshot at {index} failed: {e}"))?;
        let path = store
            .save(index, term, &encode_snapshot_file(&snapshot))
            .map_err(|e| format!("saving the snapshot at {index} failed: {e}"))?;
        saved.push(SavedSnapshot { index, path });
        records.push(encode_snapshot_marker(&snapshot.meta));
        marker = Some((records.len(), index));
    }
    let (marker_end, index) = marker.expect("persist_with_snapshots needs a Write::Snapshot");
    assert_eq!(
        raft.snapshot_index(),
        index,
        "the last snapshot written is the one Raft holds"
    );
    let hard_state = HardState {
        term: raft.term(),
        voted_for: raft.voted_for(),
    };
    encode_write(
        &Write::HardState(hard_state),
        record_bytes_target,
        &mut records,
    );
    let tail = raft.entries();
    if let Some(first) = tail.first() {
        assert_eq!(
            first.index,
            index + 1,
            "the log tail starts after the snapshot"
        );
        encode_write(
            &Write::Append(tail.to_vec()),
            record_bytes_target,
            &mut records,
        );
    }
    Ok(SnapshotBatch {
        after_marker: (records.len() - marker_end) as u64,
        records,
        saved,
    })
}

#[cfg(test)]
#[path = "snapshots_tests.rs"]
mod tests;
