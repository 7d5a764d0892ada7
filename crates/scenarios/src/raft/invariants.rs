//! Raft's safety properties (Figure 3), checked after every simulated event.
//!
//! ```text
//!   property              fed by                       remembers across the run
//!   ────────────────────  ───────────────────────────  ─────────────────────────────────────
//!   election-safety       check: who is Leader         term → leader                 (§5.2)
//!   log-matching          on_write(Append), check      (index, term) → (prev term, data);
//!                                                      each node's persisted log terms (§5.3);
//!                                                      memory log ends where the disk's does
//!                                                      (once no write is on its way, §10.2.1)
//!   leader-completeness   on_output(Committed), check  committed terms; highest commit known
//!                                                      while the highest leader term was H (§5.4.1)
//!   state-machine-safety  on_output(Committed)         index → (term, data); per incarnation,
//!                                                      the last applied index        (§5.4.3)
//!   commit-monotonic      check (touched node)         per incarnation commit_index
//! ```
//!
//! Cost: every `check` is O(nodes) or O(1), and every write or output is O(entries in it), so
//! the invariants stay a small part of an event's cost. The road not taken: comparing all logs
//! pairwise after each event, which is O(nodes² × log length) and would cap the simulator at a
//! few thousand events per second.
//!
//! Each property keeps history the cluster itself may have forgotten (a leader that crashed, an
//! entry that was overwritten): a violation that happened and was then repaired still counts.

use std::collections::btree_map::{BTreeMap, Entry as MapEntry};

use distributed_core::NodeId;
use raft::{Bytes, Entry, Index, Output, Raft, Role, Term, Write};

use sim::hooks::Invariant;
use sim::view::ClusterView;

fn slot(id: NodeId) -> usize {
    id.0 as usize - 1
}

/// Election safety (§5.2): at most one leader per term, ever.
pub struct ElectionSafety {
    /// The leader of every term that had one, for the whole run.
    leaders: BTreeMap<Term, NodeId>,
    /// Per node, the term in which it was last recorded as leader: skips the map lookup on
    /// every event of a steady leadership.
    recorded: Vec<Term>,
}

impl ElectionSafety {
    /// For a cluster of `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        ElectionSafety {
            leaders: BTreeMap::new(),
            recorded: vec![0; nodes],
        }
    }
}

impl Invariant<Raft> for ElectionSafety {
    fn name(&self) -> &str {
        "election-safety"
    }

    fn check(&mut self, view: &ClusterView<Raft>) -> Result<(), String> {
        for (id, node) in view.live() {
            let term = node.term();
            if node.role() != Role::Leader || self.recorded[slot(id)] == term {
                continue;
            }
            match self.leaders.entry(term) {
                MapEntry::Vacant(v) => {
                    v.insert(id);
                }
                MapEntry::Occupied(o) if *o.get() != id => {
                    return Err(format!("{id} and {} both led term {term}", o.get()));
                }
                MapEntry::Occupied(_) => {}
            }
            self.recorded[slot(id)] = term;
        }
        Ok(())
    }
}

/// One (index, term) as first seen in any node's persisted log.
struct Seen {
    /// The term of the entry just before it: log matching by induction (§5.3).
    prev_term: Term,
    /// The command; two entries with the same index and term must carry the same one.
    data: Bytes,
    /// Who first persisted it, for the report.
    node: NodeId,
}

/// Log matching (§5.3): two entries with the same index and term hold the same command and
/// follow entries of the same term, so (by induction) the logs agree up to them. Also checks
/// that each node's in-memory log ends where its persisted log ends. With snapshots (§7) only
/// the retained log is compared; the snapshot point stands in for the entries before it.
pub struct LogMatching {
    /// Per node, the term of every entry on its disk after its snapshot (index `s + k + 1` at
    /// position k), maintained from `Write::Append` / `Write::Snapshot` as `persist` applies them.
    disk_terms: Vec<Vec<Term>>,
    /// Per node, its durable snapshot point `(index, term)`, `(0, 0)` without one.
    disk_points: Vec<(Index, Term)>,
    /// Per index (k at position k-1), every distinct term seen there, with its evidence.
    seen: Vec<Vec<(Term, Seen)>>,
}

impl LogMatching {
    /// For a cluster of `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        LogMatching {
            disk_terms: vec![Vec::new(); nodes],
            disk_points: vec![(0, 0); nodes],
            seen: Vec::new(),
        }
    }

    fn register(&mut self, node: NodeId, e: &Entry, prev_term: Term) -> Result<(), String> {
        let k = e.index as usize - 1;
        if self.seen.len() <= k {
            self.seen.resize_with(k + 1, Vec::new);
        }
        let at = &mut self.seen[k];
        match at.iter().find(|(t, _)| *t == e.term) {
            None => {
                at.push((
                    e.term,
                    Seen {
                        prev_term,
                        data: e.data.clone(),
                        node,
                    },
                ));
                Ok(())
            }
            Some((_, s)) if s.prev_term != prev_term || s.data != e.data => Err(format!(
                "{node} persisted ({},{}) after term {prev_term} with {} bytes, \
                 but {} has it after term {} with {} bytes",
                e.term,
                e.index,
                e.data.len(),
                s.node,
                s.prev_term,
                s.data.len()
            )),
            Some(_) => Ok(()),
        }
    }
}

impl Invariant<Raft> for LogMatching {
    fn name(&self) -> &str {
        "log-matching"
    }

    fn on_write(&mut self, node: NodeId, write: &Write) -> Result<(), String> {
        let entries = match write {
            Write::Append(entries) => entries,
            Write::Snapshot(s) => {
                self.on_snapshot(node, s.meta.index, s.meta.term);
                return Ok(());
            }
            Write::HardState(_) => return Ok(()),
        };
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let (offset, point_term) = self.disk_points[slot(node)];
        let mut terms = std::mem::take(&mut self.disk_terms[slot(node)]);
        terms.truncate(first.index.saturating_sub(offset + 1) as usize);
        let mut result = Ok(());
        for e in entries {
            if e.index != offset + terms.len() as Index + 1 {
                result = Err(format!(
                    "{node} appended index {} after {} entries past its snapshot at {offset}",
                    e.index,
                    terms.len()
                ));
                break;
            }
            let prev_term = terms.last().copied().unwrap_or(point_term);
            result = self.register(node, e, prev_term);
            if result.is_err() {
                break;
            }
            terms.push(e.term);
        }
        self.disk_terms[slot(node)] = terms;
        result
    }

    fn check(&mut self, view: &ClusterView<Raft>) -> Result<(), String> {
        let Some(id) = view.touched() else {
            return Ok(());
        };
        let Some(node) = view.node(id) else {
            return Ok(());
        };
        if view.unsynced_writes(id) > 0 {
            // A leader writing in parallel (thesis §10.2.1): memory runs ahead of the disk
            // until the fsync completes, and that event checks again.
            return Ok(());
        }
        let disk = &self.disk_terms[slot(id)];
        let (offset, point_term) = self.disk_points[slot(id)];
        let disk_last = (
            disk.last().copied().unwrap_or(point_term),
            offset + disk.len() as Index,
        );
        let mem_last = (node.last_term(), node.last_index());
        if mem_last != disk_last {
            return Err(format!(
                "{id}'s in-memory log ends at {mem_last:?} but its persisted log ends at {disk_last:?}"
            ));
        }
        Ok(())
    }
}

impl LogMatching {
    /// `Write::Snapshot` as `persist` applies it (§7): keep the entries after the snapshot if
    /// the disk holds its last entry, else drop them all.
    fn on_snapshot(&mut self, node: NodeId, index: Index, term: Term) {
        let (offset, _) = self.disk_points[slot(node)];
        let terms = &mut self.disk_terms[slot(node)];
        let k = index.saturating_sub(offset) as usize;
        if k >= 1 && terms.get(k - 1) == Some(&term) {
            terms.drain(..k);
        } else {
            terms.clear();
        }
        self.disk_points[slot(node)] = (index, term);
    }
}

/// Leader completeness (§5.4.1): a leader of term T holds every entry committed in a term
/// before T. Checked when a node is first seen leading a term, against the highest entry known
/// committed while every leader so far had a term below T (log matching covers the rest).
pub struct LeaderCompleteness {
    /// The term of every committed index (k at position k-1), from `Committed` outputs.
    committed_terms: Vec<Term>,
    /// `(H, i)`: while the highest leader term seen was `H`, the highest committed index seen
    /// was `i`. An entry first seen committed at `H` was committed by a leader of term ≤ `H`.
    /// Both components only grow, so a lookup is a binary search.
    bounds: Vec<(Term, Index)>,
    /// The highest term any node has been seen leading.
    leader_term_max: Term,
    /// Per node, the leader term last checked, so each leadership is checked once.
    checked: Vec<Term>,
}

impl LeaderCompleteness {
    /// For a cluster of `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        LeaderCompleteness {
            committed_terms: Vec::new(),
            bounds: Vec::new(),
            leader_term_max: 0,
            checked: vec![0; nodes],
        }
    }

    /// The highest index known committed by a leader of a term below `term`.
    fn committed_before(&self, term: Term) -> Index {
        let n = self.bounds.partition_point(|(h, _)| *h < term);
        if n == 0 {
            0
        } else {
            self.bounds[n - 1].1
        }
    }
}

impl Invariant<Raft> for LeaderCompleteness {
    fn name(&self) -> &str {
        "leader-completeness"
    }

    fn on_output(&mut self, _node: NodeId, output: &Output) -> Result<(), String> {
        let Output::Committed(e) = output else {
            return Ok(());
        };
        if e.index as usize == self.committed_terms.len() + 1 {
            self.committed_terms.push(e.term);
        }
        let h = self.leader_term_max;
        match self.bounds.last_mut() {
            Some((last_h, i)) if *last_h == h => *i = (*i).max(e.index),
            Some((_, i)) => {
                let i = (*i).max(e.index);
                self.bounds.push((h, i));
            }
            None => self.bounds.push((h, e.index)),
        }
        Ok(())
    }

    fn check(&mut self, view: &ClusterView<Raft>) -> Result<(), String> {
        for (id, node) in view.live() {
            let term = node.term();
            if node.role() != Role::Leader || self.checked[slot(id)] == term {
                continue;
            }
            self.checked[slot(id)] = term;
            self.leader_term_max = self.leader_term_max.max(term);
            let i = self.committed_before(term);
            let Some(&want) = i
                .checked_sub(1)
                .and_then(|k| self.committed_terms.get(k as usize))
            else {
                continue;
            };
            if i < node.snapshot_index() {
                continue; // inside its snapshot (§7); snapshot-safety checks snapshots
            }
            if node.term_at(i) != Some(want) {
                return Err(format!(
                    "{id} leads term {term} without committed entry ({want},{i}): it has {:?}",
                    node.term_at(i)
                ));
            }
        }
        Ok(())
    }
}

/// State machine safety (§5.4.3): every node that applies index i applies the same entry, and
/// each incarnation applies s+1, s+2, … with no gap and no repeat, where s is the snapshot it
/// restarted from (§7); a restored snapshot only moves its applied index forward.
pub struct StateMachineSafety {
    /// The first entry applied at each index (k at position k-1), by anyone.
    committed: Vec<(Term, Bytes, NodeId)>,
    /// Per node, the last index this incarnation applied (or restored from a snapshot).
    applied: Vec<Index>,
    /// Per node, the index of its durable snapshot: where a restart resumes applying.
    durable_snapshot: Vec<Index>,
}

impl StateMachineSafety {
    /// For a cluster of `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        StateMachineSafety {
            committed: Vec::new(),
            applied: vec![0; nodes],
            durable_snapshot: vec![0; nodes],
        }
    }
}

impl Invariant<Raft> for StateMachineSafety {
    fn name(&self) -> &str {
        "state-machine-safety"
    }

    fn on_write(&mut self, node: NodeId, write: &Write) -> Result<(), String> {
        if let Write::Snapshot(s) = write {
            self.durable_snapshot[slot(node)] = s.meta.index;
        }
        Ok(())
    }

    fn on_output(&mut self, node: NodeId, output: &Output) -> Result<(), String> {
        let e = match output {
            Output::Committed(e) => e,
            Output::RestoreSnapshot(s) => return self.on_restore(node, s.meta.index, s.meta.term),
            _ => return Ok(()),
        };
        let last = &mut self.applied[slot(node)];
        if e.index != *last + 1 {
            return Err(format!(
                "{node} applied index {} right after index {last}",
                e.index
            ));
        }
        *last = e.index;
        let k = e.index as usize - 1;
        match self.committed.get(k) {
            None => self.committed.push((e.term, e.data.clone(), node)),
            Some((t, d, first)) if *t != e.term || *d != e.data => {
                return Err(format!(
                    "index {} applied as term {} ({} bytes) on {node}, but as term {t} ({} bytes) on {first}",
                    e.index,
                    e.term,
                    e.data.len(),
                    d.len()
                ));
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn on_restart(&mut self, node: NodeId) {
        self.applied[slot(node)] = self.durable_snapshot[slot(node)];
    }

    fn check(&mut self, _view: &ClusterView<Raft>) -> Result<(), String> {
        Ok(())
    }
}

impl StateMachineSafety {
    /// A node replaced its state machine with a snapshot through `index` (§7): that must move
    /// it forward, and the snapshot must end with the entry the cluster committed there.
    fn on_restore(&mut self, node: NodeId, index: Index, term: Term) -> Result<(), String> {
        let last = &mut self.applied[slot(node)];
        if index <= *last {
            return Err(format!(
                "{node} restored a snapshot at {index} after applying up to {last}: applied went backwards"
            ));
        }
        *last = index;
        match index.checked_sub(1).and_then(|k| self.committed.get(k as usize)) {
            Some((t, _, first)) if *t != term => Err(format!(
                "{node} restored a snapshot ending in ({term},{index}), but {first} applied term {t} there"
            )),
            _ => Ok(()),
        }
    }
}

/// Within one incarnation, `commit_index` never decreases and never passes the log's end.
pub struct CommitMonotonic {
    /// Per node, the commit index after its last event in this incarnation.
    last: Vec<Index>,
}

impl CommitMonotonic {
    /// For a cluster of `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        CommitMonotonic {
            last: vec![0; nodes],
        }
    }
}

impl Invariant<Raft> for CommitMonotonic {
    fn name(&self) -> &str {
        "commit-monotonic"
    }

    fn on_restart(&mut self, node: NodeId) {
        self.last[slot(node)] = 0;
    }

    fn check(&mut self, view: &ClusterView<Raft>) -> Result<(), String> {
        let Some(id) = view.touched() else {
            return Ok(());
        };
        let Some(node) = view.node(id) else {
            return Ok(());
        };
        let (before, now) = (self.last[slot(id)], node.commit_index());
        if now < before {
            return Err(format!(
                "{id}'s commit_index went from {before} down to {now}"
            ));
        }
        if now > node.last_index() {
            return Err(format!(
                "{id}'s commit_index {now} is past its last index {}",
                node.last_index()
            ));
        }
        self.last[slot(id)] = now;
        Ok(())
    }
}

#[cfg(test)]
#[path = "invariants_tests.rs"]
mod tests;
