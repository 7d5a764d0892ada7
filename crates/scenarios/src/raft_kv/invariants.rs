//! Safety properties of a KV cluster: Raft's own (Figure 3), reused, plus replica agreement.
//!
//! A `KvReplica` writes exactly Raft's writes and reports each committed entry it applies as
//! `Applied{index, term}`, so Raft's invariants are reused through one adapter,
//! [`OnReplica`], rather than written again:
//!
//! ```text
//!   hook                     Raft invariant sees
//!   on_write(w)          ──► on_write(w)                          (the same raft::Write)
//!   on_output(Applied)   ──► on_output(Committed{index, term, data: empty})
//!   on_output(Restored)  ──► on_output(RestoreSnapshot{index, term, data: empty})   (§7)
//!   on_restart           ──► on_restart
//!   check(kv view)       ──► hooks only: nothing
//!                            new leaders: check(view of the nodes that just took office)
//! ```
//!
//! The Raft invariants are written against `ClusterView<Raft>`, which a KV cluster cannot lend
//! (its slots hold replicas, not bare Raft nodes). Election safety and leader completeness only
//! look at leaders, once per (node, term), so the adapter clones a node's Raft the first time it
//! is seen leading a term and shows the invariant a view of just those new leaders: the same
//! verdicts, at one log clone per election. Commit monotonicity and log-on-disk need every
//! touched node on every event, so [`ReplicaProgress`] re-states them (a few lines) instead.
//!
//! ```text
//!   property              how                                  fed by
//!   election-safety       OnReplica::leaders(ElectionSafety)   new leaders          (§5.2)
//!   leader-completeness   OnReplica::leaders(LeaderCompl.)     Applied, new leaders (§5.4.1)
//!   log-matching          OnReplica::hooks(LogMatching)        writes               (§5.3)
//!   state-machine-safety  OnReplica::hooks(StateMachineSafety) Applied              (§5.4.3)
//!   replica-progress      ReplicaProgress                      touched node: commit never
//!                                                              falls; applied ≤ commit ≤ last;
//!                                                              memory log ends = disk log ends
//!   replica-agreement     ReplicaAgreement                     touched node's machine digest
//! ```
//!
//! Replica agreement is State Machine Safety stated on the state itself: two replicas that
//! applied the same prefix hold the same map and sessions, so the same `digest()`. A digest is
//! O(state), so a node is digested only when its applied index crosses a multiple of
//! `every_entries`, at the index it reached; the first digest seen at an index is the
//! reference, and every later one at that index must equal it.

use std::cell::Cell;
use std::collections::btree_map::{BTreeMap, Entry as MapEntry};
use std::rc::Rc;

use bytes::Bytes;
use distributed_core::NodeId;
use raft::{Entry, EntryKind, Index, Raft, Role, Term, Write};
use replica::{KvReplica, Output as ReplicaOutput};

use super::kv_node::KvNode;

use sim::hooks::Invariant;
use sim::view::{ClusterView, Slot};

fn slot(id: NodeId) -> usize {
    id.0 as usize - 1
}

/// The leader hook for KV clusters: the node that leads the highest term.
pub fn kv_leader(view: &ClusterView<KvReplica>) -> Option<NodeId> {
    view.live()
        .filter(|(_, n)| n.raft().role() == Role::Leader)
        .max_by_key(|(_, n)| n.raft().term())
        .map(|(id, _)| id)
}

/// Which part of a Raft invariant's `check` the adapter can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// None: the invariant does its work in its hooks.
    HooksOnly,
    /// Its check looks only at leaders, once per (node, term).
    NewLeaders,
}

/// A Raft invariant, run on a cluster of `KvReplica`s (see the module docs).
pub struct OnReplica<I> {
    /// The Raft invariant itself, unchanged.
    inner: I,
    /// How much of its `check` can run here.
    reach: Reach,
    /// Per node, the term in which it was last shown to `inner` as leader.
    shown: Vec<Term>,
    /// One slot per node, empty except while new leaders are shown: the `ClusterView<Raft>`
    /// the inner check reads.
    scratch: Vec<Slot<Raft>>,
}

impl<I: Invariant<Raft>> OnReplica<I> {
    /// For an invariant whose hooks do all the work (log matching, state machine safety).
    pub fn hooks(inner: I) -> Self {
        OnReplica {
            inner,
            reach: Reach::HooksOnly,
            shown: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// For an invariant whose check reads only leaders (election safety, leader
    /// completeness), in a cluster of `nodes` nodes.
    pub fn leaders(inner: I, nodes: usize) -> Self {
        let scratch = (1..=nodes as u64)
            .map(|i| Slot::detached(NodeId(i), None))
            .collect();
        OnReplica {
            inner,
            reach: Reach::NewLeaders,
            shown: vec![0; nodes],
            scratch,
        }
    }

    fn show_new_leaders(&mut self, view: &ClusterView<KvReplica>) -> Result<(), String> {
        let mut any = false;
        for (id, replica) in view.live() {
            let r = replica.raft();
            if r.role() == Role::Leader && self.shown[slot(id)] != r.term() {
                self.shown[slot(id)] = r.term();
                self.scratch[slot(id)].replace_node(Some(r.clone()));
                any = true;
            }
        }
        if !any {
            return Ok(());
        }
        let leaders = ClusterView::new(view.now(), &self.scratch, view.partition(), None);
        let result = self.inner.check(&leaders);
        for s in &mut self.scratch {
            s.replace_node(None);
        }
        result
    }
}

impl<I: Invariant<Raft>> Invariant<KvReplica> for OnReplica<I> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn on_write(&mut self, node: NodeId, write: &Write) -> Result<(), String> {
        self.inner.on_write(node, write)
    }

    fn on_output(&mut self, node: NodeId, output: &ReplicaOutput) -> Result<(), String> {
        let (index, term) = match *output {
            ReplicaOutput::Applied { index, term } => (index, term),
            ReplicaOutput::Restored { index, term } => {
                // Raft §7: only the point matters to Raft's invariants, not the state bytes
                // (replica-agreement compares the restored state itself).
                let meta = raft::SnapshotMeta {
                    index,
                    term,
                    membership: raft::Membership::default(),
                };
                let snapshot = raft::Snapshot {
                    meta,
                    data: Bytes::new(),
                };
                return self
                    .inner
                    .on_output(node, &raft::Output::RestoreSnapshot(snapshot));
            }
            ReplicaOutput::Reply { .. }
            | ReplicaOutput::ChangeRejected { .. }
            | ReplicaOutput::Published { .. } => return Ok(()),
        };
        // The data is not carried: log matching already ties (index, term) to one command.
        let entry = Entry {
            term,
            index,
            data: Bytes::new(),
            kind: EntryKind::Normal,
        };
        self.inner.on_output(node, &raft::Output::Committed(entry))
    }

    fn on_restart(&mut self, node: NodeId) {
        self.inner.on_restart(node);
    }

    fn check(&mut self, view: &ClusterView<KvReplica>) -> Result<(), String> {
        match self.reach {
            Reach::HooksOnly => Ok(()),
            Reach::NewLeaders => self.show_new_leaders(view),
        }
    }
}

/// Per touched node, within one incarnation: `commit_index` never falls; the machine never
/// applies past the commit index, which never passes the log's end; and the in-memory log ends
/// where the persisted log ends (what a restart would rebuild from), whenever no write of the
/// node is still on its way to disk (a leader writing in parallel, thesis §10.2.1).
pub struct ReplicaProgress {
    /// Per node, the commit index after its last event in this incarnation.
    commit: Vec<Index>,
}

impl ReplicaProgress {
    /// For a cluster of `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        ReplicaProgress {
            commit: vec![0; nodes],
        }
    }
}

impl Invariant<KvReplica> for ReplicaProgress {
    fn name(&self) -> &str {
        "replica-progress"
    }

    fn on_restart(&mut self, node: NodeId) {
        self.commit[slot(node)] = 0;
    }

    fn check(&mut self, view: &ClusterView<KvReplica>) -> Result<(), String> {
        let Some(id) = view.touched() else {
            return Ok(());
        };
        let (Some(replica), Some(disk)) = (view.node(id), view.disk(id)) else {
            return Ok(());
        };
        let r = replica.raft();
        let (before, commit) = (self.commit[slot(id)], r.commit_index());
        let applied = replica.machine().applied_index();
        if commit < before {
            return Err(format!(
                "{id}'s commit_index went from {before} down to {commit}"
            ));
        }
        if applied > commit || commit > r.last_index() {
            return Err(format!(
                "{id} has applied {applied}, commit_index {commit}, last index {}: \
                 want applied ≤ commit ≤ last",
                r.last_index()
            ));
        }
        self.commit[slot(id)] = commit;
        if view.unsynced_writes(id) > 0 {
            // Writes on their way to disk (thesis §10.2.1): compared once they land.
            return Ok(());
        }
        let point = disk
            .snapshot
            .as_ref()
            .map_or((0, 0), |s| (s.meta.term, s.meta.index));
        let on_disk = disk.log.last().map_or(point, |e| (e.term, e.index));
        if on_disk != (r.last_term(), r.last_index()) {
            return Err(format!(
                "{id}'s log ends at {:?} in memory but at {on_disk:?} on disk",
                (r.last_term(), r.last_index())
            ));
        }
        Ok(())
    }
}

/// Replicas that applied the same prefix of the log hold the same state (see the module docs).
pub struct ReplicaAgreement {
    /// Digest a node when its applied index crosses a multiple of this.
    every_entries: Index,
    /// The first digest seen at each applied index, and whose it was.
    digests: BTreeMap<Index, (u64, NodeId)>,
    /// Per node, its applied index when last considered, in this incarnation.
    considered: Vec<Index>,
    /// How many digests were compared with an earlier one: shows the property was exercised.
    comparisons: Rc<Cell<u64>>,
}

impl ReplicaAgreement {
    /// For `nodes` nodes, digesting every `every_entries` applied entries (at least 1).
    pub fn new(nodes: usize, every_entries: Index) -> Self {
        ReplicaAgreement {
            every_entries: every_entries.max(1),
            digests: BTreeMap::new(),
            considered: vec![0; nodes],
            comparisons: Rc::new(Cell::new(0)),
        }
    }

    /// A live count of the comparisons made, readable after the simulation owns `self`.
    pub fn comparisons(&self) -> Rc<Cell<u64>> {
        self.comparisons.clone()
    }
}

impl<P: KvNode> Invariant<P> for ReplicaAgreement {
    fn name(&self) -> &str {
        "replica-agreement"
    }

    fn on_restart(&mut self, node: NodeId) {
        self.considered[slot(node)] = 0;
    }

    fn check(&mut self, view: &ClusterView<P>) -> Result<(), String> {
        let Some(id) = view.touched() else {
            return Ok(());
        };
        let Some(replica) = view.node(id).filter(|r| r.is_honest()) else {
            return Ok(());
        };
        let applied = replica.machine().applied_index();
        let last = std::mem::replace(&mut self.considered[slot(id)], applied);
        if applied / self.every_entries == last / self.every_entries {
            return Ok(());
        }
        let digest = replica.machine().digest();
        match self.digests.entry(applied) {
            MapEntry::Vacant(v) => {
                v.insert((digest, id));
                Ok(())
            }
            MapEntry::Occupied(o) => {
                self.comparisons.set(self.comparisons.get() + 1);
                let (reference, first) = *o.get();
                if digest == reference {
                    return Ok(());
                }
                Err(format!(
                    "{id} applied up to index {applied} with state digest {digest:016x}, \
                     but {first} had {reference:016x} there"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::ElectionSafety;
    use distributed_core::{Effects, Protocol, SeededRng};
    use kv::{Command, Request};
    use replica::{Input as ReplicaInput, ReplicaConfig};

    /// A replica that is its own one-voter cluster, leading term 1, with `value` put at `k`.
    fn lone_leader_with(id: u64, value: &'static str) -> Slot<KvReplica> {
        let id = NodeId(id);
        let config = ReplicaConfig::new(raft::Config::new(id, vec![id]));
        let mut node = KvReplica::new(config, &raft::Disk::default(), SeededRng::new(id.0))
            .expect("valid config");
        let mut out = Effects::new();
        while node.raft().role() != Role::Leader {
            node.tick(&mut out);
        }
        let request = Request::once(Command::set(
            Bytes::from_static(b"k"),
            Bytes::from_static(value.as_bytes()),
        ));
        let input = ReplicaInput::Request {
            tag: 1,
            request,
            random_seed: 0,
        };
        node.input(input, &mut out);
        assert_eq!(node.machine().applied_index(), 2, "no-op, then the put");
        Slot::detached(id, Some(node))
    }

    fn view(slots: &[Slot<KvReplica>], touched: u64) -> ClusterView<'_, KvReplica> {
        ClusterView::new(0, slots, None, Some(NodeId(touched)))
    }

    #[test]
    fn replica_agreement_flags_two_states_at_one_applied_index() {
        // Raft §5.4.3, on the state: the same applied prefix must give the same map.
        let slots = vec![lone_leader_with(1, "x"), lone_leader_with(2, "y")];
        let mut inv = ReplicaAgreement::new(2, 2);
        inv.check(&view(&slots, 1)).unwrap();
        let err = inv.check(&view(&slots, 2)).unwrap_err();
        assert!(
            err.starts_with("n2 applied up to index 2 with state digest"),
            "{err}"
        );
        assert_eq!(inv.comparisons().get(), 1);
    }

    #[test]
    fn replica_agreement_accepts_equal_states_and_skips_nodes_that_did_not_cross() {
        let slots = vec![lone_leader_with(1, "x"), lone_leader_with(2, "x")];
        let mut inv = ReplicaAgreement::new(2, 2);
        inv.check(&view(&slots, 1)).unwrap();
        inv.check(&view(&slots, 2)).unwrap();
        inv.check(&view(&slots, 2)).unwrap();
        assert_eq!(
            inv.comparisons().get(),
            1,
            "n2 did not move, so it is not digested again"
        );
    }

    #[test]
    fn election_safety_runs_on_replicas_through_the_leader_adapter() {
        // Raft §5.2: two one-node "clusters" in one view both lead term 1.
        let slots = vec![lone_leader_with(1, "x"), lone_leader_with(2, "x")];
        let mut inv = OnReplica::leaders(ElectionSafety::new(2), 2);
        let err = inv.check(&view(&slots, 1)).unwrap_err();
        assert_eq!(err, "n2 and n1 both led term 1");
        assert_eq!(inv.name(), "election-safety");
    }

    #[test]
    fn the_leader_hook_names_the_leader_of_the_highest_term() {
        let slots = vec![lone_leader_with(1, "x")];
        assert_eq!(kv_leader(&view(&slots, 1)), Some(NodeId(1)));
    }
}
