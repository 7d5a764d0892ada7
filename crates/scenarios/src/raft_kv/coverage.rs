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
//! ```
//!
//! Not a safety property: an observer on the invariant hooks, so it never fails a run. Shared
//! through an `Rc<Cell>` because the simulation owns its hooks.

use std::cell::Cell;
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
}

impl Coverage {
    /// Add another run's counts.
    pub fn add(&mut self, other: &Coverage) {
        self.snapshots += other.snapshots;
        self.installs += other.installs;
    }
}

/// The observer that fills a shared [`Coverage`].
pub struct CoverageProbe(pub Rc<Cell<Coverage>>);

impl Invariant<KvReplica> for CoverageProbe {
    fn name(&self) -> &str {
        "coverage"
    }

    fn check(&mut self, _view: &ClusterView<KvReplica>) -> Result<(), String> {
        Ok(())
    }

    fn on_write(&mut self, _node: NodeId, write: &Write) -> Result<(), String> {
        if matches!(write, Write::Snapshot(_)) {
            let mut c = self.0.get();
            c.snapshots += 1;
            self.0.set(c);
        }
        Ok(())
    }

    fn on_output(&mut self, _node: NodeId, output: &ReplicaOutput) -> Result<(), String> {
        if matches!(output, ReplicaOutput::Restored { .. }) {
            let mut c = self.0.get();
            c.installs += 1;
            self.0.set(c);
        }
        Ok(())
    }
}
