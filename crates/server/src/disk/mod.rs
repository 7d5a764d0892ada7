//! The disk's door: Raft's durable writes as WAL records, the snapshot files beside them, and
//! the recovery that rebuilds a `raft::Disk` from both at start-up (Raft Figure 2, §7).
//!
//! ```text
//!   raft::Write ──wal_records.rs──► storage::GroupCommit (one fdatasync per batch)
//!   Write::Snapshot ──snapshots.rs──► storage::SnapshotStore file + a WAL marker
//!   start-up: data_dir/LOCK ──lock.rs──► this process alone (flock), then
//!             newest snapshot file + WAL records ──replay.rs──► raft::Disk
//! ```
//!
//! The segment files, group commit and fsync live in the `storage` crate; this folder knows
//! what the records mean.

pub mod lock;
pub mod replay;
pub mod snapshots;
pub mod wal_records;
