//! Log compaction for a replica (Raft §7): snapshot the state machine when the log since the
//! last snapshot grows past a threshold, and restore from a snapshot, at start-up (the disk's)
//! or when a leader sends one (`RestoreSnapshot`).
//!
//! ```text
//!   absorb, after applying this call's Committed entries:
//!     since.entries ≥ snapshot_log_entries_max  or  since.bytes ≥ snapshot_log_bytes_max
//!       ──► raft.input(Snapshot{index = applied_index, data = machine.snapshot()})
//!       ──► Raft: Write::Snapshot (persisted with this call's other writes), log forgets ..=index
//!
//!   step(InstallSnapshot, last chunk) ──► machine.check_snapshot(held ++ chunk)
//!       refused ──► dropped with a note: Raft never installs it, keeps its log, and the
//!                   leader resends on its next heartbeat (a stuck follower, not a dead one)
//!   Raft Output::RestoreSnapshot(s) ──► machine = StateMachine::restore(s.data) ──► Restored
//!   KvReplica::new(disk)            ──► machine = StateMachine::restore(disk.snapshot)
//!                                       then Raft re-delivers the entries after it
//! ```
//!
//! The snapshot is kv's own CRC'd format (`snapshot.rs`) and carries the session table, so a
//! restored replica keeps answering retried requests exactly once (dissertation §6.3).
//!
//! Invariants (asserted): a snapshot is taken only at the machine's applied index, which is
//! Raft's applied index (every `Committed` of the call was applied first); a restored machine's
//! applied index is exactly the snapshot's.
//!
//! The road not taken: snapshotting on a timer. Counting applied entries and bytes ties the
//! cost of a snapshot to the log it saves, and keeps runs deterministic without a clock.

use distributed_core::{Machine, Protocol};
use raft::{Index, InstallSnapshot, Snapshot};

use crate::io::Output;
use crate::KvReplica;

/// How much log the replica applied since its last snapshot (or since it started).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SinceSnapshot {
    /// Entries applied, no-ops included.
    pub(super) entries: u64,
    /// Their data bytes.
    pub(super) bytes: u64,
}

/// Rebuild the state machine a snapshot holds into `machine`, checking it stands at the
/// snapshot's index. Written against the `Machine` seam: nothing here is KV-specific.
pub(super) fn restore<M: Machine>(machine: &mut M, snapshot: &Snapshot) -> Result<(), String> {
    machine.restore(&snapshot.data).map_err(|e| e.to_string())?;
    if machine.applied_index() != snapshot.meta.index {
        return Err(format!(
            "the state machine inside is at index {}, but the snapshot claims {}",
            machine.applied_index(),
            snapshot.meta.index
        ));
    }
    Ok(())
}

impl KvReplica {
    /// Count one applied entry toward the next snapshot.
    pub(super) fn count_applied(&mut self, data_bytes: usize) {
        self.since_snapshot.entries += 1;
        self.since_snapshot.bytes = self.since_snapshot.bytes.saturating_add(data_bytes as u64);
    }

    /// After a call's entries are applied: snapshot if the log since the last one is too long.
    /// Raft answers with a `Write::Snapshot` in `scratch`, which the caller moves to `out`.
    pub(super) fn maybe_snapshot(&mut self) {
        let since = self.since_snapshot;
        let due = since.entries >= self.config.snapshot_log_entries_max
            || since.bytes >= self.config.snapshot_log_bytes_max;
        if !due {
            return;
        }
        let index: Index = self.machine.applied_index();
        assert_eq!(
            index,
            self.raft.applied_index(),
            "the machine has applied every entry Raft delivered"
        );
        let data = Machine::snapshot(&self.machine).into();
        self.raft
            .input(raft::Input::Snapshot { index, data }, &mut self.scratch);
        self.since_snapshot = SinceSnapshot::default();
    }

    /// The last chunk of a leader's snapshot is about to reach Raft, which would install it at
    /// once and cut its log: why the bytes Raft would then hold do not restore, if they don't.
    /// `None` too when Raft would not complete an assembly from this chunk (another snapshot,
    /// a gap): it restarts or resumes then, and installs nothing.
    ///
    /// Such bytes came from a peer running other code, or were damaged past every checksum
    /// on the way. Checking here turns "the follower panics in the middle of installing" into
    /// "the follower refuses, keeps its log, and says why".
    pub(super) fn refuses_snapshot(&self, chunk: &InstallSnapshot) -> Option<String> {
        if !chunk.done {
            return None;
        }
        let held: &[u8] = match self.raft.snapshot_in_progress() {
            Some((term, meta, data)) if term == chunk.term && *meta == chunk.meta => data,
            _ => &[],
        };
        if held.len() as u64 != chunk.offset {
            return None;
        }
        let refused = if held.is_empty() {
            self.machine.check_snapshot(&chunk.data)
        } else {
            self.machine
                .check_snapshot(&[held, &chunk.data[..]].concat())
        };
        refused.err().map(|e| e.to_string())
    }

    /// A leader's snapshot was installed by Raft: replace the machine with it. The bytes passed
    /// `refuses_snapshot` before Raft saw the last chunk, and restore is a pure function of
    /// them, so a failure here is a bug in this replica, and it stops loudly.
    pub(super) fn on_restore_snapshot(&mut self, snapshot: Snapshot, out: &mut Vec<Output>) {
        let before = Machine::applied_index(&self.machine);
        restore(&mut self.machine, &snapshot).unwrap_or_else(|e| {
            panic!(
                "{}: the snapshot at {} from the leader does not restore: {e}",
                self.raft.id(),
                snapshot.meta.index
            )
        });
        assert!(
            Machine::applied_index(&self.machine) > before,
            "a restored snapshot moves the machine forward (§7)"
        );
        self.since_snapshot = SinceSnapshot::default();
        out.push(Output::Restored {
            index: snapshot.meta.index,
            term: snapshot.meta.term,
        });
    }
}
