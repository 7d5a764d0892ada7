//! The observer: an [`Invariant`] that never fails and only records what the cluster did, so a
//! scenario can judge the whole run afterwards.
//!
//! ```text
//!   after every event ──► check(view): role and term of every node; a change ─► timeline
//!   Committed output  ──► on_output: buffered, stamped with the time in the same event's check
//!                           ─► applied[node] (this incarnation) and history (every incarnation)
//!   RestoreSnapshot   ──► applied[node] starts again after the snapshot, noted in restores
//!   restart           ──► on_restart: applied[node] starts again after its disk snapshot
//! ```
//!
//! Why an invariant and not a workload: an invariant sees every node's outputs *and* runs after
//! every event, which is what a timeline needs. The road not taken: polling the view from the
//! workload every few units, which would miss short-lived leaders and add events to the run.
//!
//! Invariant of the records: `timeline` is ordered by time and its first moment is at time 0
//! or at the first event, `applied[n][k]` holds index `base[n] + k + 1`.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use distributed_core::NodeId;
use raft::{Bytes, Entry, Index, Output, Raft, Role, Term};
use sim::{ClusterView, Invariant, Time};

/// What the timeline remembers of one live node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Brief {
    /// Follower, candidate or leader.
    pub role: Role,
    /// The node's current term.
    pub term: Term,
}

/// The cluster's roles from `at` until the next moment. `nodes[k]` is `n(k+1)`, `None` when down.
#[derive(Clone, Debug)]
pub struct Moment {
    /// When this picture started to hold.
    pub at: Time,
    /// Every node's role and term, or `None` while it is crashed.
    pub nodes: Vec<Option<Brief>>,
}

impl Moment {
    /// The nodes that lead in this moment, with their terms.
    pub fn leaders(&self) -> Vec<(NodeId, Term)> {
        (self.nodes.iter().enumerate())
            .filter_map(|(k, b)| {
                b.filter(|b| b.role == Role::Leader)
                    .map(|b| (id(k), b.term))
            })
            .collect()
    }

    /// The highest term any live node is in.
    pub fn term_max(&self) -> Term {
        self.nodes
            .iter()
            .flatten()
            .map(|b| b.term)
            .max()
            .unwrap_or(0)
    }
}

impl fmt::Display for Moment {
    /// `t=1211 n1=leader/1 n2=follower/1 n3=down`: who is what, in which term.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}", self.at)?;
        for (k, b) in self.nodes.iter().enumerate() {
            match b {
                Some(b) => write!(f, " {}={:?}/{}", id(k), b.role, b.term)?,
                None => write!(f, " {}=down", id(k))?,
            }
        }
        Ok(())
    }
}

/// One entry applied by one node.
#[derive(Clone, Debug)]
pub struct Applied {
    /// When the node applied it.
    pub at: Time,
    /// Who applied it.
    pub node: NodeId,
    /// The entry.
    pub entry: Entry,
}

impl fmt::Display for Applied {
    /// `t=1234 n2 applied (3,7) "cmd5"`: the entry as `(term,index)`, then its command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = String::from_utf8_lossy(&self.entry.data);
        write!(
            f,
            "t={} {} applied {} {data:?}",
            self.at, self.node, self.entry
        )
    }
}

/// Everything the observer recorded in one run.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Roles and terms over time, one moment per change.
    pub timeline: Vec<Moment>,
    /// Every entry every node applied, in order, across restarts.
    pub history: Vec<Applied>,
    /// Per node, what its current incarnation applied after `base` (index base+k+1 at
    /// position k).
    pub applied: Vec<Vec<Entry>>,
    /// Per node, the snapshot index its state machine last started from (Raft §7): its disk
    /// snapshot at a restart, or a snapshot the leader sent. 0 without one.
    pub base: Vec<Index>,
    /// Every snapshot a node restored from a leader, with when (stamped like `history`).
    pub restores: Vec<(Time, NodeId, Index)>,
    /// Per node, the index of its durable snapshot: where a restart starts.
    durable: Vec<Index>,
    /// Committed outputs of the current event, waiting for the event's time.
    pending: Vec<(NodeId, Entry)>,
    /// Snapshots restored in the current event, waiting for the event's time.
    pending_restores: Vec<(NodeId, Index)>,
}

fn id(k: usize) -> NodeId {
    NodeId(k as u64 + 1)
}

impl Observed {
    /// The moment current at time `t` (the picture before time 0 is "all followers of term 0").
    pub fn at(&self, t: Time) -> Moment {
        let k = self.timeline.partition_point(|m| m.at <= t);
        match k.checked_sub(1) {
            Some(k) => self.timeline[k].clone(),
            None => Moment {
                at: 0,
                nodes: vec![None; self.applied.len()],
            },
        }
    }

    /// Every moment that holds at some time in `from..=to`, the one current at `from` first.
    pub fn during(&self, from: Time, to: Time) -> impl Iterator<Item = &Moment> {
        let first = self.timeline.partition_point(|m| m.at <= from).max(1) - 1;
        self.timeline[first..]
            .iter()
            .take_while(move |m| m.at <= to)
    }

    /// The first time at or after `from` when `pred` holds of the cluster's roles.
    pub fn first_time(&self, from: Time, pred: impl Fn(&Moment) -> bool) -> Option<Time> {
        self.during(from, Time::MAX)
            .find(|m| pred(m))
            .map(|m| m.at.max(from))
    }

    /// The first time at or after `from` when some node leads the highest term any live node
    /// is in: a leader the whole connected cluster will follow. Without pre-vote (thesis §9.6)
    /// a node that campaigned alone while cut off forces one more election when it returns;
    /// with it the leader usually just carries on. Either way "the cluster has a leader
    /// again" is measured from here.
    pub fn current_leader_from(&self, from: Time) -> Option<Time> {
        self.first_time(from, |m| {
            m.leaders().iter().any(|&(_, t)| t == m.term_max())
        })
    }

    /// The index at which `node`'s current incarnation applied `command`, if it did.
    pub fn applied_index(&self, node: NodeId, command: &Bytes) -> Option<Index> {
        let log = self.applied.get(node.0 as usize - 1)?;
        log.iter().find(|e| e.data == *command).map(|e| e.index)
    }

    /// How many times `node`'s current incarnation applied `command`.
    pub fn applied_count(&self, node: NodeId, command: &Bytes) -> usize {
        let log = &self.applied[node.0 as usize - 1];
        log.iter().filter(|e| e.data == *command).count()
    }

    /// Every application of `command`, by anyone, ever.
    pub fn applications<'a>(&'a self, command: &'a Bytes) -> impl Iterator<Item = &'a Applied> {
        self.history
            .iter()
            .filter(move |a| a.entry.data == *command)
    }

    /// When `node` first applied `command` (any incarnation), if ever.
    pub fn applied_at(&self, node: NodeId, command: &Bytes) -> Option<Time> {
        self.applications(command)
            .find(|a| a.node == node)
            .map(|a| a.at)
    }
}

/// The recording invariant; the scenario keeps the other end of the `Rc`.
pub struct Observer(pub Rc<RefCell<Observed>>);

impl Observer {
    /// An observer of a cluster of `nodes` nodes, and the handle to read it with.
    pub fn new(nodes: usize) -> (Observer, Rc<RefCell<Observed>>) {
        let observed = Observed {
            applied: vec![Vec::new(); nodes],
            base: vec![0; nodes],
            durable: vec![0; nodes],
            ..Observed::default()
        };
        let shared = Rc::new(RefCell::new(observed));
        (Observer(shared.clone()), shared)
    }
}

impl Invariant<Raft> for Observer {
    fn name(&self) -> &str {
        "scenario-observer"
    }

    fn on_write(&mut self, node: NodeId, write: &raft::Write) -> Result<(), String> {
        if let raft::Write::Snapshot(s) = write {
            self.0.borrow_mut().durable[node.0 as usize - 1] = s.meta.index;
        }
        Ok(())
    }

    fn on_output(&mut self, node: NodeId, output: &Output) -> Result<(), String> {
        let mut o = self.0.borrow_mut();
        match output {
            Output::Committed(e) => o.pending.push((node, e.clone())),
            Output::RestoreSnapshot(s) => {
                let k = node.0 as usize - 1;
                o.applied[k].clear();
                o.base[k] = s.meta.index;
                o.pending_restores.push((node, s.meta.index));
            }
            _ => {}
        }
        Ok(())
    }

    fn on_restart(&mut self, node: NodeId) {
        let mut o = self.0.borrow_mut();
        let k = node.0 as usize - 1;
        o.applied[k].clear();
        o.base[k] = o.durable[k];
    }

    fn check(&mut self, view: &ClusterView<Raft>) -> Result<(), String> {
        let mut o = self.0.borrow_mut();
        let o = &mut *o;
        for (node, index) in o.pending_restores.drain(..) {
            o.restores.push((view.now(), node, index));
        }
        for (node, entry) in o.pending.drain(..) {
            o.applied[node.0 as usize - 1].push(entry.clone());
            o.history.push(Applied {
                at: view.now(),
                node,
                entry,
            });
        }
        let brief = |id| {
            view.node(id).map(|n| Brief {
                role: n.role(),
                term: n.term(),
            })
        };
        let changed = match o.timeline.last() {
            None => true,
            Some(last) => view
                .ids()
                .any(|id| last.nodes[id.0 as usize - 1] != brief(id)),
        };
        if changed {
            let nodes = view.ids().map(brief).collect();
            o.timeline.push(Moment {
                at: view.now(),
                nodes,
            });
        }
        Ok(())
    }
}
