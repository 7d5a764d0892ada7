//! Persistence for the node task: step 1 of the host contract. A batch's `raft::Write`s become
//! WAL records submitted to group commit as one job; the flusher reports the job durable (or
//! failed) through `durable_tx`, and `mod.rs` releases the batch then.
//!
//! ```text
//!   flush ──► submit_writes
//!               │ no Write::Snapshot: disk/wal_records::encode_write each write
//!               │ a Write::Snapshot:  persist_snapshots ──► disk/snapshots::persist_with_snapshots
//!               │                     (blocks on fsyncs: earlier records, the file, its rename)
//!               ▼
//!             submit(records) ──► GroupCommit::submit_with(records, cb) ──► Job{submitted, …}
//!
//!   on_durable ──► job_durable: wal_sync_duration_seconds, wal_fsyncs_total;
//!                  a job with a marker ──► remove_segments_before(marker LSN) (blocking task)
//!   any WAL error ──► wal_failed: /health says "wal failed", the loop stops with the error
//! ```
//!
//! Invariants: this task is the only submitter, so room `would_block` saw is still there when
//! the job is submitted; a marker's segments are removed only after the job holding it is
//! durable (the LSN arithmetic relies on GroupCommit giving a job consecutive LSNs).

use std::sync::Arc;
use std::time::Instant;

use raft::Write;
use replica::Output as ReplicaOutput;
use storage::{GroupCommit, Lsn, SnapshotStore};
use tracing::{error, info, warn};

use super::Node;
use crate::disk::snapshots::{persist_with_snapshots, SnapshotBatch};
use crate::disk::wal_records::encode_write;

/// Where a node's durable state lives: the two halves of `data_dir` it writes.
#[derive(Debug)]
pub(crate) struct Storage {
    /// The WAL (`data_dir/wal`) behind its flusher thread: every `raft::Write` but snapshots,
    /// and the markers naming them. Shared with the blocking task that removes old segments.
    pub(crate) wal: Arc<GroupCommit>,
    /// Where `Write::Snapshot`s go (`data_dir/snapshots`); the WAL only names them.
    pub(crate) snapshots: SnapshotStore,
}

/// A batch's records in the WAL, waiting for their fdatasync.
#[derive(Clone, Copy, Debug)]
pub(super) struct Job {
    /// When the records were submitted: feeds `wal_sync_duration_seconds`.
    submitted: Instant,
    /// For a job that wrote a snapshot marker: how many of its records follow the marker, so
    /// its LSN is known once the job is durable and the segments before it can go.
    after_marker: Option<u64>,
    /// The (index, term) of the last log entry (or snapshot point) the job writes: reported
    /// to the replica once durable, when the leader writes in parallel (thesis §10.2.1).
    pub(super) log_through: Option<(u64, u64)>,
}

impl Node {
    /// Encode and submit the writes gathered so far as one job; they are drained from `fx`.
    pub(super) fn submit_writes(&mut self) -> Result<Job, String> {
        let submitted = Instant::now();
        let log_through = Write::last_log_point(&self.fx.writes);
        let has_snapshot = self
            .fx
            .writes
            .iter()
            .any(|w| matches!(w, Write::Snapshot(_)));
        let (records, after_marker) = if has_snapshot {
            let batch = self.persist_snapshots()?;
            (batch.records, Some(batch.after_marker))
        } else {
            let mut records = Vec::new();
            for write in self.fx.writes.drain(..) {
                encode_write(&write, self.record_bytes_target, &mut records);
            }
            (records, None)
        };
        self.metrics.wal_batch_records.observe(records.len() as f64);
        self.submit(records)?;
        Ok(Job {
            submitted,
            after_marker,
            log_through,
        })
    }

    /// Hand `records` to the flusher; its callback reports on `durable_tx`.
    fn submit(&self, records: Vec<Vec<u8>>) -> Result<(), String> {
        let tx = self.durable_tx.clone();
        let wal = &self.storage.wal;
        // Leave the runtime's thread only if the queue is full: `block_in_place` hands the
        // worker to another thread each call. This task is the only submitter, so room
        // seen here is still there below.
        let blocks = wal.would_block(&records);
        let submit = move || {
            wal.submit_with(records, move |result| {
                let _ = tx.send(result); // the node may have stopped: nobody waits
            })
        };
        let submitted = if blocks {
            tokio::task::block_in_place(submit)
        } else {
            submit()
        };
        submitted.map_err(|e| self.wal_failed(format!("WAL submit failed, stopping: {e}")))
    }

    /// The writes hold a snapshot: save its file and build the job's records (`snapshots.rs`).
    /// Blocks this task on fsyncs, off the reactor (`block_in_place`), before any message of
    /// the batch can go out.
    fn persist_snapshots(&mut self) -> Result<SnapshotBatch, String> {
        let writes: Vec<Write> = self.fx.writes.drain(..).collect();
        let events = snapshot_events(&writes, &self.fx.outputs);
        let (wal, store) = (&self.storage.wal, &mut self.storage.snapshots);
        let (raft, target) = (self.replica.raft(), self.record_bytes_target);
        let started = Instant::now();
        let batch = tokio::task::block_in_place(|| {
            persist_with_snapshots(writes, wal, store, raft, target)
        })
        .map_err(|e| self.wal_failed(format!("snapshot persist failed, stopping: {e}")))?;
        let pause_ms = started.elapsed().as_millis() as u64;
        for (saved, event) in batch.saved.iter().zip(events) {
            let index = saved.index;
            self.metrics.snapshots.with_label_values(&[event]).inc();
            self.metrics.snapshot_index.set(index as i64);
            info!(target: "snapshot", node = self.config.id.0, index, event, pause_ms,
                "snapshot {event} at index {index}: {} (the loop paused {pause_ms} ms)",
                saved.path.display());
        }
        Ok(batch)
    }

    /// `job` is durable through LSN `last`: count the sync, and compact behind its marker.
    pub(super) fn job_durable(&mut self, job: Job, last: Lsn) {
        self.metrics
            .wal_sync_seconds
            .observe(job.submitted.elapsed().as_secs_f64());
        let syncs = self.storage.wal.stats().syncs;
        self.metrics
            .wal_fsyncs
            .inc_by(syncs.saturating_sub(self.wal_syncs_seen));
        self.wal_syncs_seen = syncs;
        if let Some(after) = job.after_marker {
            self.remove_segments_before(Lsn(last.0 - after));
        }
    }

    /// The marker at `marker` is durable: every WAL segment wholly before it is redundant.
    /// Removed on a blocking task (unlinks and directory fsyncs, queued on the flusher) so the
    /// loop runs on; a failure leaves the files for the next snapshot to remove, and is logged.
    fn remove_segments_before(&self, marker: Lsn) {
        let (wal, metrics) = (Arc::clone(&self.storage.wal), Arc::clone(&self.metrics));
        let node = self.config.id.0;
        tokio::task::spawn_blocking(move || match wal.remove_segments_before(marker) {
            Ok(removed) => {
                metrics.wal_segments_removed.inc_by(removed as u64);
                if removed > 0 {
                    info!(target: "snapshot", node, removed, "removed {removed} WAL segments before LSN {}", marker.0);
                }
            }
            Err(e) => {
                warn!(target: "snapshot", node, "WAL segments before LSN {} stay: {e}", marker.0)
            }
        });
    }

    /// The WAL failed: say so in /health and the logs, and give the error back to stop on.
    pub(super) fn wal_failed(&self, why: String) -> String {
        self.metrics.wal_healthy.set(0);
        self.metrics.error("wal");
        error!(target: "wal", node = self.config.id.0, error = %why, "WAL failure");
        why
    }
}

/// For each `Write::Snapshot` in `writes`, in order: "installed" if the batch's outputs restore
/// the state machine at its index (a leader's InstallSnapshot), else "taken" (compaction).
fn snapshot_events(writes: &[Write], outputs: &[ReplicaOutput]) -> Vec<&'static str> {
    let installed = |index| {
        outputs
            .iter()
            .any(|o| matches!(o, ReplicaOutput::Restored { index: i, .. } if *i == index))
    };
    writes
        .iter()
        .filter_map(|w| match w {
            Write::Snapshot(s) if installed(s.meta.index) => Some("installed"),
            Write::Snapshot(_) => Some("taken"),
            _ => None,
        })
        .collect()
}
