//! Snapshots in Raft simulations (§7): the host's compaction policy, and the invariant that a
//! snapshot holds exactly the state the cluster committed up to its index.
//!
//! ```text
//!   the "state machine" of a bare Raft run: a hash chain over the committed entries
//!     chain[i] = FNV-1a(chain[i-1] ‖ term ‖ index ‖ data),  chain[0] = FNV offset basis
//!   snapshot data = snapshot_bytes(chain[i]): the digest repeated to SNAPSHOT_BYTES bytes,
//!     so a transfer spans several SNAPSHOT_CHUNK_BYTES chunks
//!
//!   Compacting<W> (a workload wrapper, playing the host's part):
//!     poll: the inner workload when it is due (its schedule and draws unchanged), else the
//!           first live node with applied ≥ snapshot index + threshold
//!           ──► Input::Snapshot{index = applied, data = snapshot_bytes(chain[applied])}
//!
//!   snapshot-safety (invariant):
//!     Write::Snapshot at node n  ──► data == snapshot_bytes(chain[index]), term == committed term
//! ```
//!
//! The wrapper reads each node's applied and snapshot index from the view: it stands for each
//! node's host, which knows both. It learns the chain from `Committed` outputs, the first node
//! to apply each index setting it (state machine safety makes every node agree).
//!
//! The road not taken: snapshotting inside the `Raft` node itself. The host decides when to
//! compact and owns the state; the simulator plays that host, as the KV replica does for real.

use distributed_core::{NodeId, SeededRng};
use raft::{Bytes, Entry, Index, Input, Output, Raft, Term, Write};

use sim::config::Time;
use sim::hooks::{Invariant, Workload, WorkloadStep};
use sim::view::ClusterView;

/// The size of a simulated snapshot: several chunks of `SNAPSHOT_CHUNK_BYTES`.
pub const SNAPSHOT_BYTES: usize = 64;

/// How often the wrapper looks for a node due for a snapshot while its inner workload waits.
const SNAPSHOT_CHECK_UNITS: Time = 50;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The chain digest after applying `e` to a state whose digest was `prev`.
pub fn chain_digest(prev: u64, e: &Entry) -> u64 {
    let mut h = prev;
    let fields = [
        &prev.to_le_bytes()[..],
        &e.term.to_le_bytes(),
        &e.index.to_le_bytes(),
    ];
    for bytes in fields.into_iter().chain([&e.data[..]]) {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }
    h
}

/// The snapshot bytes of a state with digest `digest`.
pub fn snapshot_bytes(digest: u64) -> Bytes {
    let word = digest.to_le_bytes();
    Bytes::from(word.repeat(SNAPSHOT_BYTES / word.len()))
}

/// The committed chain as outputs reveal it: `digests[k]` is the state after index `k + 1`.
#[derive(Clone, Debug, Default)]
struct Chain {
    /// One digest per committed index, in order, from the first node to apply each.
    digests: Vec<u64>,
    /// The committed term at each index (same positions), for checking snapshot metadata.
    terms: Vec<Term>,
}

impl Chain {
    fn on_committed(&mut self, e: &Entry) {
        if e.index as usize == self.digests.len() + 1 {
            let prev = self.digests.last().copied().unwrap_or(FNV_OFFSET);
            self.digests.push(chain_digest(prev, e));
            self.terms.push(e.term);
        }
    }

    fn at(&self, index: Index) -> Option<(u64, Term)> {
        let k = usize::try_from(index.checked_sub(1)?).ok()?;
        Some((*self.digests.get(k)?, self.terms[k]))
    }
}

/// A workload wrapper that also plays each node's host in compacting its log (see the module
/// docs). `threshold_entries == 0` never snapshots.
pub struct Compacting<W> {
    /// The client workload, polled exactly when it asks to be.
    inner: W,
    /// Snapshot a node once it applied this many entries past its snapshot.
    threshold_entries: u64,
    /// When the inner workload wants its next poll; `None` once it stopped.
    inner_due: Option<Time>,
    /// The committed chain, from outputs.
    chain: Chain,
}

impl<W> Compacting<W> {
    /// Wrap `inner`, snapshotting every `threshold_entries` applied entries (0 = never).
    pub fn new(inner: W, threshold_entries: u64) -> Self {
        Compacting {
            inner,
            threshold_entries,
            inner_due: Some(0),
            chain: Chain::default(),
        }
    }

    /// The first live node (by id) due for a snapshot, with its input.
    fn due_snapshot(&self, view: &ClusterView<Raft>) -> Option<(NodeId, Input)> {
        if self.threshold_entries == 0 {
            return None;
        }
        view.live().find_map(|(id, node)| {
            let index = node.applied_index();
            if index < node.snapshot_index().saturating_add(self.threshold_entries) {
                return None;
            }
            let (digest, _) = self.chain.at(index)?;
            let data = snapshot_bytes(digest);
            Some((id, Input::Snapshot { index, data }))
        })
    }
}

impl<W: Workload<Raft>> Workload<Raft> for Compacting<W> {
    fn poll(&mut self, view: &ClusterView<Raft>, rng: &mut SeededRng) -> WorkloadStep<Input> {
        let now = view.now();
        let mut input = None;
        if self.inner_due.is_some_and(|due| due <= now) {
            let step = self.inner.poll(view, rng);
            input = step.input;
            self.inner_due = step.next_poll_units.map(|u| now + u.max(1));
        }
        if input.is_none() {
            input = self.due_snapshot(view);
        }
        let check = if self.threshold_entries == 0 {
            None
        } else {
            Some(SNAPSHOT_CHECK_UNITS)
        };
        let until_inner = self.inner_due.map(|due| due.saturating_sub(now).max(1));
        let next_poll_units = match (until_inner, check) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        WorkloadStep {
            input,
            next_poll_units,
        }
    }

    fn on_output(&mut self, node: NodeId, output: &Output, now: Time) {
        if let Output::Committed(e) = output {
            self.chain.on_committed(e);
        }
        self.inner.on_output(node, output, now);
    }

    fn on_input_dropped(&mut self, node: NodeId, now: Time) {
        self.inner.on_input_dropped(node, now);
    }
}

/// Snapshot safety (§7): every snapshot a node persists, whether it took it or installed it
/// from a leader, is the state every node reaches by applying the committed log through its
/// index, and ends with the entry committed there.
#[derive(Default)]
pub struct SnapshotSafety {
    /// The committed chain, from `Committed` outputs.
    chain: Chain,
    /// How many snapshots were checked: shows the property was exercised.
    pub checked: u64,
}

impl SnapshotSafety {
    /// A fresh checker.
    pub fn new() -> Self {
        SnapshotSafety::default()
    }
}

impl Invariant<Raft> for SnapshotSafety {
    fn name(&self) -> &str {
        "snapshot-safety"
    }

    fn on_write(&mut self, node: NodeId, write: &Write) -> Result<(), String> {
        let Write::Snapshot(s) = write else {
            return Ok(());
        };
        let index = s.meta.index;
        let Some((digest, term)) = self.chain.at(index) else {
            return Err(format!(
                "{node} persisted a snapshot at {index}, beyond anything applied anywhere"
            ));
        };
        self.checked += 1;
        if s.meta.term != term {
            return Err(format!(
                "{node}'s snapshot ends in ({},{index}), but term {term} committed there",
                s.meta.term
            ));
        }
        if s.data != snapshot_bytes(digest) {
            return Err(format!(
                "{node}'s snapshot at {index} is not the state the committed log reaches there"
            ));
        }
        Ok(())
    }

    fn on_output(&mut self, _node: NodeId, output: &Output) -> Result<(), String> {
        if let Output::Committed(e) = output {
            self.chain.on_committed(e);
        }
        Ok(())
    }

    fn check(&mut self, _view: &ClusterView<Raft>) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::{Snapshot, SnapshotMeta};

    fn e(term: Term, index: Index, data: &'static str) -> Entry {
        Entry::normal(term, index, Bytes::from_static(data.as_bytes()))
    }

    fn snapshot(index: Index, term: Term, data: Bytes) -> Write {
        let meta = SnapshotMeta {
            index,
            term,
            membership: raft::Membership::default(),
        };
        Write::Snapshot(Snapshot { meta, data })
    }

    #[test]
    fn snapshot_safety_accepts_the_committed_state_and_flags_any_other() {
        // Raft §7: a snapshot is the committed state through its last included index.
        let mut inv = SnapshotSafety::new();
        inv.on_output(NodeId(1), &Output::Committed(e(1, 1, "a")))
            .unwrap();
        inv.on_output(NodeId(1), &Output::Committed(e(1, 2, "b")))
            .unwrap();
        let d1 = chain_digest(FNV_OFFSET, &e(1, 1, "a"));
        let d2 = chain_digest(d1, &e(1, 2, "b"));
        inv.on_write(NodeId(2), &snapshot(2, 1, snapshot_bytes(d2)))
            .unwrap();
        let stale = inv.on_write(NodeId(2), &snapshot(2, 1, snapshot_bytes(d1)));
        assert!(stale.unwrap_err().contains("not the state"));
        let wrong_term = inv.on_write(NodeId(3), &snapshot(1, 2, snapshot_bytes(d1)));
        assert!(wrong_term.unwrap_err().contains("term 1 committed there"));
        let ahead = inv.on_write(NodeId(3), &snapshot(3, 1, snapshot_bytes(d2)));
        assert!(ahead.unwrap_err().contains("beyond anything applied"));
    }
}
