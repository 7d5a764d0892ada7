//! The scripted client: proposes given commands at given times to a given node or to "the
//! leader", records every answer, and optionally retries a command that did not commit.
//!
//! ```text
//!   poll (every POLL_UNITS, or next unit while requests are due)
//!     ├─ the oldest due request: target = Node(n), or Leader = the highest-term live leader
//!     │     (no leader yet: wait for the next poll) ──► Propose(command) ──► Attempt
//!     └─ a retrying request not applied by anyone within retry_units ──► propose it again
//!   on_output: Accepted / NotLeader ─► the attempt just made;  Committed(command) ─► committed_at
//! ```
//!
//! Unlike the simulator's own `Client`, this one peeks at the view to find the leader: a scenario
//! says "propose to the leader at t", the way the lab tests call `Start` on the server that
//! believes it leads. The poll schedule depends only on requests due at or before each poll, so
//! a prefix run (see `plan.rs`) sees exactly the polls the full run sees up to its end.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use distributed_core::{NodeId, SeededRng};
use raft::{Bytes, Index, Input, Output, Raft, Term};
use scenarios::raft::raft_leader;
use sim::{ClusterView, Time, Workload, WorkloadStep};

/// How often the client looks at its script when nothing is due.
pub const POLL_UNITS: Time = 25;

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The live node that leads the highest term at the time of sending.
    Leader,
    /// This node, whatever its role.
    Node(NodeId),
}

/// A node's answer to one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Appended at `(index, term)`; not committed yet.
    Accepted { index: Index, term: Term },
    /// Not the leader; its guess.
    NotLeader { leader: Option<NodeId> },
    /// The node was down: the input was lost.
    Down,
}

/// One sending of a request.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// When it was sent.
    pub at: Time,
    /// To whom.
    pub node: NodeId,
    /// The answer, if the node gave one in the same event.
    pub reply: Option<Reply>,
}

/// A command the script proposes, and what became of it.
#[derive(Clone, Debug)]
pub struct Request {
    /// When it is due.
    pub at: Time,
    /// Where it goes.
    pub to: Target,
    /// The command; unique within a plan.
    pub command: Bytes,
    /// Propose again to the leader if no node applied it this long after the last attempt.
    pub retry_units: Option<Time>,
    /// Every sending, in order.
    pub attempts: Vec<Attempt>,
    /// When some node first applied it.
    pub committed_at: Option<Time>,
}

impl Request {
    /// The first `Accepted` answer, if any.
    pub fn accepted(&self) -> Option<(NodeId, Index, Term)> {
        self.attempts.iter().find_map(|a| match a.reply {
            Some(Reply::Accepted { index, term }) => Some((a.node, index, term)),
            _ => None,
        })
    }
}

/// The workload that plays a list of requests.
pub struct Script {
    /// The requests, sorted by `at`; shared with the plan that reads the outcome.
    requests: Rc<RefCell<Vec<Request>>>,
    /// The first request not sent yet.
    next: usize,
    /// Command → request, to mark commits.
    by_command: BTreeMap<Bytes, usize>,
    /// The request whose attempt was just sent: the node answers within the same event.
    sending: Option<usize>,
}

impl Script {
    /// A client playing `requests` (sorted by `at` here).
    pub fn new(requests: Rc<RefCell<Vec<Request>>>) -> Script {
        requests.borrow_mut().sort_by_key(|r| r.at);
        let by_command = (requests.borrow().iter().enumerate())
            .map(|(k, r)| (r.command.clone(), k))
            .collect();
        Script {
            requests,
            next: 0,
            by_command,
            sending: None,
        }
    }

    /// The next request to send now and where, if any: the oldest due one, else a retry.
    fn pick(&mut self, view: &ClusterView<Raft>) -> Option<(usize, NodeId)> {
        let now = view.now();
        let requests = self.requests.borrow();
        let resolve = |to: Target| match to {
            Target::Leader => raft_leader(view),
            Target::Node(n) => Some(n),
        };
        if let Some(r) = requests.get(self.next).filter(|r| r.at <= now) {
            let node = resolve(r.to)?;
            self.next += 1;
            return Some((self.next - 1, node));
        }
        let retry = requests[..self.next].iter().position(|r| {
            let last = r.attempts.last().map_or(r.at, |a| a.at);
            r.committed_at.is_none() && r.retry_units.is_some_and(|u| last + u <= now)
        })?;
        Some((retry, raft_leader(view)?))
    }
}

impl Workload<Raft> for Script {
    fn poll(&mut self, view: &ClusterView<Raft>, _rng: &mut SeededRng) -> WorkloadStep<Input> {
        let now = view.now();
        let input = self.pick(view).map(|(k, node)| {
            let mut requests = self.requests.borrow_mut();
            requests[k].attempts.push(Attempt {
                at: now,
                node,
                reply: None,
            });
            self.sending = Some(k);
            (node, Input::Propose(requests[k].command.clone()))
        });
        let more_due =
            input.is_some() && (self.requests.borrow().get(self.next)).is_some_and(|r| r.at <= now);
        let next = if more_due {
            1
        } else {
            POLL_UNITS - now % POLL_UNITS
        };
        WorkloadStep {
            input,
            next_poll_units: Some(next),
        }
    }

    fn on_output(&mut self, _node: NodeId, output: &Output, now: Time) {
        let mut requests = self.requests.borrow_mut();
        let reply = match output {
            Output::Accepted { index, term } => Reply::Accepted {
                index: *index,
                term: *term,
            },
            Output::NotLeader { leader } => Reply::NotLeader { leader: *leader },
            Output::Committed(e) => {
                if let Some(&k) = self.by_command.get(&e.data) {
                    requests[k].committed_at.get_or_insert(now);
                }
                return;
            }
            // This client never sends reads or membership changes; snapshots are the host's.
            Output::ReadReady { .. }
            | Output::ReadFailed { .. }
            | Output::ChangeRejected { .. }
            | Output::RestoreSnapshot(_) => return,
        };
        if let Some(k) = self.sending.take() {
            if let Some(a) = requests[k].attempts.last_mut() {
                a.reply = Some(reply);
            }
        }
    }

    fn on_input_dropped(&mut self, _node: NodeId, _now: Time) {
        if let Some(k) = self.sending.take() {
            if let Some(a) = self.requests.borrow_mut()[k].attempts.last_mut() {
                a.reply = Some(Reply::Down);
            }
        }
    }
}
