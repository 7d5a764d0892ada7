//! What a node remembers about requests in flight: the puts it coordinates, the gets it
//! coordinates, the puts it forwarded, and the replicas each was sent to. None of it is
//! durable: a restarted node has no requests in flight, and their clients time out.
//!
//! ```text
//!   Targets of one request (N = 3, home = [n1 n2 n3], fallbacks = [n4 n5]):
//!     n1  self, answered at once          n2  sent t=4, answered
//!     n3  sent t=4, silent past replica_timeout_ticks ──► replaced
//!     n4  sent t=8 as a stand-in for n3 (owner=n3), answered      ◄─ sloppy quorum, §4.6
//! ```
//!
//! Invariants: a target is replaced at most once, so a request asks at most every node once;
//! a stand-in is never a home node; a request answers its client at most once (`answered`).

use std::collections::{BTreeMap, VecDeque};

use distributed_core::{NodeId, Tick};

use crate::client::{Key, OpId, Response, Value};
use crate::quorum::version::Version;

/// Who asked: the node's own client, or another node that forwarded a put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Answer with an output.
    Client,
    /// Answer with `Forwarded` to this node.
    Forwarded { from: NodeId },
}

/// One node a request was sent to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The node.
    pub node: NodeId,
    /// `Some(owner)` when the node stands in for the home node `owner` (it keeps a hint).
    pub owner: Option<NodeId>,
    /// When the request was sent to it (the coordinator's ticks).
    pub sent_at: Tick,
    /// It answered.
    pub answered: bool,
    /// It stayed silent and a stand-in was asked in its place (or none was left).
    pub replaced: bool,
}

/// The nodes one request went to, home nodes first, stand-ins in the order they were asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    /// Every node asked, each at most once.
    pub list: Vec<Target>,
}

impl Targets {
    /// `nodes` asked at `now`; `answered` ones (the coordinator itself) count at once.
    pub fn new(nodes: &[NodeId], now: Tick, answered: Option<NodeId>) -> Targets {
        let list = nodes
            .iter()
            .map(|&node| Target {
                node,
                owner: None,
                sent_at: now,
                answered: Some(node) == answered,
                replaced: false,
            })
            .collect();
        Targets { list }
    }

    /// Record an answer from `from`: the target, if it was asked and had not answered yet.
    pub fn answer(&mut self, from: NodeId) -> Option<&Target> {
        let target = self.list.iter_mut().find(|t| t.node == from)?;
        if target.answered {
            return None;
        }
        target.answered = true;
        Some(target)
    }

    /// How many answered.
    pub fn answered(&self) -> usize {
        self.list.iter().filter(|t| t.answered).count()
    }

    /// Silent targets whose time is up: each is marked replaced and paired with the next
    /// fallback not yet asked, as `(owner, Some(stand-in))`, and the stand-in is added as a
    /// target; a silent target with no fallback left yields `(owner, None)`.
    pub fn stand_ins(
        &mut self,
        now: Tick,
        timeout: Tick,
        fallbacks: &[NodeId],
    ) -> Vec<(NodeId, Option<NodeId>)> {
        let mut asked = Vec::new();
        for k in 0..self.list.len() {
            let t = &self.list[k];
            if t.answered || t.replaced || now < t.sent_at + timeout {
                continue;
            }
            let owner = t.owner.unwrap_or(t.node);
            self.list[k].replaced = true;
            let unused = fallbacks
                .iter()
                .copied()
                .find(|&f| self.list.iter().all(|t| t.node != f));
            if let Some(node) = unused {
                self.list.push(Target {
                    node,
                    owner: Some(owner),
                    sent_at: now,
                    answered: false,
                    replaced: false,
                });
            }
            asked.push((owner, unused));
        }
        asked
    }
}

/// A put this node coordinates.
#[derive(Clone, Debug)]
pub struct PendingWrite {
    /// Who to answer.
    pub origin: Origin,
    /// The key.
    pub key: Key,
    /// The new version, as sent to every target.
    pub version: Version,
    /// The nodes asked; the coordinator is one of them, answered from the start.
    pub targets: Targets,
    /// When it started (ticks).
    pub started_at: Tick,
    /// Ok was sent: the request stays only to collect acks for the N copies (and stand-ins).
    pub answered: bool,
}

/// A get this node coordinates.
#[derive(Clone, Debug)]
pub struct PendingRead {
    /// The key.
    pub key: Key,
    /// The nodes asked.
    pub targets: Targets,
    /// Each reply in arrival order: the home node's version (`None`: never written there).
    /// Stand-ins' replies count towards R but are not repaired, so they are not kept here.
    pub home_replies: Vec<(NodeId, Option<Version>)>,
    /// Every reply merged, in arrival order (the broken merge depends on it).
    pub merged: Option<Version>,
    /// When it started (ticks).
    pub started_at: Tick,
    /// The client has its answer: the read stays only for read repair.
    pub answered: bool,
}

/// A put this node forwarded to a home node of its key.
#[derive(Clone, Debug)]
pub struct PendingForward {
    /// The key.
    pub key: Key,
    /// The value.
    pub value: Value,
    /// Home nodes forwarded to so far, in order; the last one is the one waited for.
    pub tried: Vec<NodeId>,
    /// When the last forward left.
    pub sent_at: Tick,
}

/// The last `max` puts answered Ok, so a retried or duplicated put is answered again instead
/// of written twice.
#[derive(Clone, Debug, Default)]
pub struct Recent {
    /// The remembered answers.
    answers: BTreeMap<OpId, Response>,
    /// Oldest first: the one to forget when full.
    order: VecDeque<OpId>,
}

impl Recent {
    /// The answer given to `op`, if remembered.
    pub fn get(&self, op: OpId) -> Option<&Response> {
        self.answers.get(&op)
    }

    /// Remember `op`'s answer, forgetting the oldest past `max`.
    pub fn remember(&mut self, op: OpId, response: Response, max: usize) {
        if self.answers.insert(op, response).is_none() {
            self.order.push_back(op);
        }
        while self.order.len() > max {
            let oldest = self.order.pop_front().expect("longer than max ≥ 1");
            self.answers.remove(&oldest);
        }
        assert_eq!(self.answers.len(), self.order.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: u64) -> NodeId {
        NodeId(id)
    }

    #[test]
    fn a_silent_home_node_is_replaced_once_by_the_next_unused_fallback() {
        let mut t = Targets::new(&[n(1), n(2), n(3)], 0, Some(n(1)));
        assert!(t.answer(n(2)).is_some());
        assert!(t.stand_ins(3, 4, &[n(4), n(5)]).is_empty(), "not yet");
        assert_eq!(t.stand_ins(4, 4, &[n(4), n(5)]), vec![(n(3), Some(n(4)))]);
        assert!(
            t.stand_ins(5, 4, &[n(4), n(5)]).is_empty(),
            "n3 is replaced already"
        );
        assert_eq!(
            t.stand_ins(8, 4, &[n(4), n(5)]),
            vec![(n(3), Some(n(5)))],
            "a silent stand-in is replaced too, for the same owner"
        );
        assert_eq!(
            t.stand_ins(12, 4, &[n(4), n(5)]),
            vec![(n(3), None)],
            "none left"
        );
        assert!(t.stand_ins(16, 4, &[n(4), n(5)]).is_empty(), "said once");
        assert_eq!(t.answered(), 2);
    }

    #[test]
    fn an_answer_counts_once() {
        let mut t = Targets::new(&[n(1), n(2)], 0, None);
        assert!(t.answer(n(2)).is_some());
        assert!(t.answer(n(2)).is_none(), "a duplicate");
        assert!(t.answer(n(9)).is_none(), "never asked");
        assert_eq!(t.answered(), 1);
    }

    #[test]
    fn recent_answers_forget_the_oldest_past_their_bound() {
        let mut r = Recent::default();
        for seq in 0..3 {
            r.remember(OpId { client: 1, seq }, Response::Ok, 2);
        }
        assert!(r.get(OpId { client: 1, seq: 0 }).is_none());
        assert_eq!(r.get(OpId { client: 1, seq: 2 }), Some(&Response::Ok));
    }
}
