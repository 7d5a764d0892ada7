//! # storage: the durable half of a node
//!
//! A Raft node may only send a vote or acknowledge an entry after the write is on stable
//! storage (Raft §5.2, §5.3, Figure 2 "persistent state"; the host contract in `raft::Ready`).
//! This crate is that stable storage: a segmented write-ahead log of opaque records with a CRC
//! per record, group commit so many writers share one fdatasync, snapshot files written with
//! atomic rename, and recovery that cuts a torn tail but refuses real corruption.
//!
//! ```text
//!   server (tokio) ── spawn_blocking / callback ──► GroupCommit::submit(records) ─► Ticket
//!                                                        │ flusher thread
//!                                                        ▼
//!                            Wal::append × n, then ONE Wal::sync (fdatasync) per batch
//!                                                        │
//!   wal/  wal-00000000000000000001.log  wal-00000000000000004711.log  …   (format.rs)
//!   snap/ snap-00000000000000004000.snap                                 (snapshot.rs)
//!
//!   restart:  Wal::open ──► Recovery: every valid record in LSN order, torn tail reported
//!             SnapshotStore::latest ──► newest snapshot (index, term, bytes)
//!   host:     restore the snapshot, then fold each record into its state (e.g. a raft::Disk)
//! ```
//!
//! ## Layout
//!
//! ```text
//! lib.rs        this map and the durability contract
//! format.rs     Lsn; the segment header and record framing (magic, length, CRC-32)
//! segment.rs    segment file names, listing, creating durably, directory fsync
//! recovery.rs   Recovery, Truncation: torn tail vs corruption, missing segments
//! wal.rs        Wal: append, flush, sync, roll, remove_segments_before; sticky errors
//! group.rs      GroupCommit, Ticket: a flusher thread, one fdatasync per batch, backpressure
//! options.rs    WalOptions, GroupCommitOptions and their validate()
//! error.rs      WalError
//! snapshot.rs   SnapshotStore, Snapshot, SnapshotError: tmp → fsync → rename → fsync dir
//! ```
//!
//! Headers and record framing are written and read with `distributed_core::wire` (`Sink`,
//! the bounded `Reader`): the one little-endian vocabulary `kv` and `server` use too.
//!
//! ## The durability contract
//!
//! - A record is durable once `Wal::sync` (or a `Ticket`, or a `submit_with` callback) has
//!   returned its LSN. Only then may the host send a message that depends on it.
//! - After `kill -9` or power loss, `Wal::open` returns every durable record, in order, plus
//!   possibly some later records that reached the disk anyway; never a record that was not
//!   appended, never a gap.
//! - A torn tail is cut and reported; damage anywhere else refuses to open, naming the file
//!   and byte offset. Data is never dropped silently.
//! - Compaction order: `SnapshotStore::save` (durable on return) *before*
//!   `Wal::remove_segments_before`, or a crash between them loses the compacted records.
//!
//! ## A host's life cycle
//!
//! ```
//! use storage::{GroupCommit, GroupCommitOptions, Lsn, SnapshotOptions, SnapshotStore};
//! use storage::{Wal, WalOptions};
//!
//! let data = tempfile::tempdir()?;
//! let (wal_dir, snap_dir) = (data.path().join("wal"), data.path().join("snap"));
//!
//! // Start: restore the newest snapshot, then replay every record after it.
//! let mut snapshots = SnapshotStore::open(&snap_dir, SnapshotOptions::default())?;
//! assert!(snapshots.latest()?.is_none());
//! let (wal, recovery) = Wal::open(&wal_dir, WalOptions::default())?;
//! if let Some(torn) = recovery.truncated() {
//!     eprintln!("recovered after a crash: {torn}"); // a server logs this
//! }
//! for (_lsn, _record) in recovery { /* fold into the node's durable state */ }
//!
//! // Run: producers submit, and act only once the ticket says durable.
//! let group = GroupCommit::new(wal, GroupCommitOptions::default())?;
//! let lsn = group.submit(vec![b"HardState{term=3 vote=n2}".to_vec()])?.wait()?;
//! assert_eq!(lsn, Lsn(1));
//!
//! // Compact: the snapshot is durable first, then the records it covers may go.
//! snapshots.save(1, 3, b"state machine bytes")?;
//! group.remove_segments_before(lsn.next())?;
//! let wal = group.close()?;
//! assert_eq!(wal.durable_lsn(), Lsn(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Rules this crate keeps
//!
//! It does I/O, but plain `std::fs` and threads, no tokio: the async server drives it from a
//! blocking task or through the callback hook. Every queue and record is bounded; bad bytes on
//! disk are errors, never panics; `assert!`s guard only this crate's own invariants.

#![forbid(unsafe_code)]

mod error;
mod format;
mod group;
mod options;
mod recovery;
mod segment;
mod snapshot;
mod wal;

pub use error::WalError;
pub use format::{
    Lsn, RECORD_BYTES_LIMIT, RECORD_HEADER_BYTES, RECORD_MAGIC, SEGMENT_HEADER_BYTES,
    SEGMENT_MAGIC, SEGMENT_VERSION,
};
pub use group::{GroupCommit, GroupCommitStats, Ticket};
pub use options::{GroupCommitOptions, WalOptions};
pub use recovery::{IntoRecords, Recovery, Truncation};
pub use snapshot::{Snapshot, SnapshotError, SnapshotOptions, SnapshotStore, SNAPSHOT_VERSION};
pub use wal::{Wal, WalStats};
