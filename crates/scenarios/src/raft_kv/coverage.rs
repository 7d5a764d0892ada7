//! Coverage: did a run actually exercise the features it claims to mix?
//!
//! A seed range "with snapshots and membership changes" proves nothing about them if no
//! replica ever compacted, installed a snapshot or committed a config entry: the thresholds
//! could be too high, or a refactor could silently turn a feature off. So the KV runs count
//! what happened, the summary prints it, and tests assert it is not zero.
//!
//! ```text
//!   Write::Snapshot  ──► snapshots += 1   (a replica compacted, or installed a leader's)
//!   Output::Restored ──► installs  += 1   (a replica replaced its state by a leader's snapshot)
//!   Write::Append of a DISTRIBUTED.EXPIRE entry not seen before (by index and term)
//!                    ──► expiries += 1    (a leader proposed active expiry)
//!   a leader's noop_writes_answered() grew ──► noop_writes += growth
//!                                          (writes answered off the log, replica noop.rs)
//! ```
//!
//! Not a safety property: an observer on the invariant hooks, so it never fails a run. Shared
//! through an `Rc<Cell>` because the simulation owns its hooks.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use distributed_core::NodeId;
use raft::Write;
use replica::{KvReplica, Output as ReplicaOutput};

use sim::hooks::Invariant;
use sim::view::ClusterView;

/// What a run (or a batch of runs) exercised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Snapshots persisted: taken by a replica's own compaction or installed from a leader.
    pub snapshots: u64,
    /// Snapshots a replica restored from a leader's InstallSnapshot (Raft §7).
    pub installs: u64,
    /// Distinct `DISTRIBUTED.EXPIRE` entries appended (active expiry proposals; one entry is
    /// counted once however many replicas append it).
    pub expiries: u64,
    /// Writes a leader answered off the log because they would change nothing (replica
    /// `noop.rs`): the checker judges those replies like any other.
    pub noop_writes: u64,
    /// The highest epoch an applied entry carried (Raft's term, a Paxos ballot round, a PBFT
    /// view): how many leader (or primary) changes the run went through, about. Summed over
    /// seeds in a batch, like the other counts.
    pub epochs: u64,
}

impl Coverage {
    /// Add another run's counts.
    pub fn add(&mut self, other: &Coverage) {
        self.snapshots += other.snapshots;
        self.installs += other.installs;
        self.expiries += other.expiries;
        self.noop_writes += other.noop_writes;
        self.epochs += other.epochs;
    }
}

/// The observer that fills a shared [`Coverage`].
pub struct CoverageProbe {
    /// The counts, shared with the runner.
    pub counts: Rc<Cell<Coverage>>,
    /// (index, term) of every expiry entry counted, so that each counts once.
    expiry_entries: BTreeSet<(u64, u64)>,
    /// Each node's `noop_writes_answered()` when last looked at (it restarts at 0 with the
    /// node after a crash, so a drop means "counted from 0 again").
    noop_seen: BTreeMap<NodeId, u64>,
}

impl CoverageProbe {
    /// A probe filling `counts`.
    pub fn new(counts: Rc<Cell<Coverage>>) -> CoverageProbe {
        CoverageProbe {
            counts,
            expiry_entries: BTreeSet::new(),
            noop_seen: BTreeMap::new(),
        }
    }

    fn bump(&self, f: impl FnOnce(&mut Coverage)) {
        let mut c = self.counts.get();
        f(&mut c);
        self.counts.set(c);
    }
}

/// True if `data` is a `DISTRIBUTED.EXPIRE` request.
fn is_expiry(data: &[u8]) -> bool {
    let request = kv::Request::decode(data, &kv::Limits::default());
    let command = request
        .ok()
        .and_then(|r| r.command().map(kv::Command::name));
    command == Some("distributed.expire")
}

impl Invariant<KvReplica> for CoverageProbe {
    fn name(&self) -> &str {
        "coverage"
    }

    fn check(&mut self, view: &ClusterView<KvReplica>) -> Result<(), String> {
        for (id, node) in view.live() {
            let now = node.noop_writes_answered();
            let seen = self.noop_seen.insert(id, now).unwrap_or(0);
            let grown = if now >= seen { now - seen } else { now };
            if grown > 0 {
                self.bump(|c| c.noop_writes += grown);
            }
        }
        Ok(())
    }

    fn on_write(&mut self, _node: NodeId, write: &Write) -> Result<(), String> {
        match write {
            Write::Snapshot(_) => self.bump(|c| c.snapshots += 1),
            Write::Append(entries) => {
                for e in entries.iter().filter(|e| is_expiry(&e.data)) {
                    if self.expiry_entries.insert((e.index, e.term)) {
                        self.bump(|c| c.expiries += 1);
                    }
                }
            }
            Write::HardState(_) => {}
        }
        Ok(())
    }

    fn on_output(&mut self, _node: NodeId, output: &ReplicaOutput) -> Result<(), String> {
        match output {
            ReplicaOutput::Restored { .. } => self.bump(|c| c.installs += 1),
            ReplicaOutput::Applied { term, .. } => self.bump(|c| c.epochs = c.epochs.max(*term)),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::raft_kv::{run_seed, RaftKvOptions};
    use crate::FaultProfile;

    #[test]
    fn a_run_with_volatile_keys_expires_them_through_the_leader_under_faults() {
        let opts = RaftKvOptions {
            faults: FaultProfile::All,
            ..RaftKvOptions::default()
        };
        for seed in 0..3 {
            let report = run_seed(seed, &opts);
            assert_eq!(report.failure(), None, "{report}");
            assert!(report.coverage.expiries > 0, "{report}");
        }
    }

    #[test]
    fn leaders_answer_some_writes_off_the_log_and_the_checker_accepts_them() {
        let opts = RaftKvOptions {
            faults: FaultProfile::All,
            ..RaftKvOptions::default()
        };
        let mut noop_writes = 0;
        for seed in 0..5 {
            let report = run_seed(seed, &opts);
            assert_eq!(report.failure(), None, "{report}");
            noop_writes += report.coverage.noop_writes;
        }
        assert!(
            noop_writes > 0,
            "no write was answered off the log in seeds 0..5"
        );
    }
}
