//! The read path and read repair (DeCandia et al. §4.5; read repair as Dynamo's §4.7 "read
//! repair" and Riak run it). Any node coordinates a get: a read issues no dot.
//!
//! ```text
//!   coordinator n4 (home = [n1 n2 n3], R = 2)
//!     ── Fetch{op x} ──► n1, n2, n3
//!     ◄─ Fetched{op x [a@n1:1]{n1:1}} ── n1
//!     ◄─ Fetched{op x [b@n2:1]{n2:1}} ── n2      2 replies ≥ R: merge ──► Siblings[a, b]
//!     ◄─ Fetched{op x version=none} ──── n3      all N replied: read repair
//!     ── Repair{x [a@n1:1 b@n2:1]{n1:1 n2:1}} ──► n1, n2, n3 (each answered less)
//! ```
//!
//! The merge is the store's own (`Version::merge`), in reply arrival order: under DVV any order
//! gives the same siblings (a join); under the broken `vc-concurrent-as-ordered` the last
//! concurrent reply wins. One value answers `Value`, several `Siblings` (sorted, one per
//! distinct value), none `Value(None)`.
//!
//! Read repair happens when the read closes: once N replies are in, or at
//! `request_timeout_ticks`, so replies that come after the client's answer still count (Dynamo
//! waits "for a small period of time" after answering for the same reason). Every home node
//! whose reply differs from the merge gets the merge; stand-ins are not repaired (they hold
//! hints, which hinted handoff delivers). A lost repair costs nothing but time: the next read,
//! handoff or anti-entropy exchange does it again.
//!
//! Invariants: one answer per get; a repair carries the merge of every reply heard, so it
//! covers what the repaired node answered.

use distributed_core::NodeId;

use crate::client::{ClientReply, Key, OpId, Response};
use crate::quorum::message::{Fetch, Fetched, Repair};
use crate::quorum::node::{Out, Quorum};
use crate::quorum::pending::{PendingRead, Targets};
use crate::quorum::version::{MergeError, MergeRule, Version};

/// Merge `incoming` into `merged`, starting from the first reply that holds anything.
fn merge_reply(
    merged: &mut Option<Version>,
    incoming: Option<&Version>,
    rule: MergeRule,
) -> Result<(), MergeError> {
    match (merged.as_mut(), incoming) {
        (_, None) => Ok(()),
        (None, Some(v)) => {
            *merged = Some(v.clone());
            Ok(())
        }
        (Some(m), Some(v)) => m.merge(v, rule).map(|_| ()),
    }
}

impl Quorum {
    /// Coordinate a get of `key`: ask its N home nodes (this node answers itself if home).
    pub(crate) fn start_get(&mut self, op: OpId, key: Key, out: &mut Out) {
        let me = self.config.id;
        self.counters.gets_coordinated += 1;
        let home: Vec<NodeId> = self.ring.home(self.ring.place(&key).range).to_vec();
        let is_home = home.contains(&me);
        let mut p = PendingRead {
            key: key.clone(),
            targets: Targets::new(&home, self.now, is_home.then_some(me)),
            home_replies: Vec::new(),
            merged: None,
            started_at: self.now,
            answered: false,
        };
        if is_home {
            let mine = self.version(&key).cloned();
            p.merged = mine.clone();
            p.home_replies.push((me, mine));
        }
        for &node in home.iter().filter(|&&n| n != me) {
            self.send(
                out,
                node,
                Fetch {
                    op,
                    key: key.clone(),
                },
            );
        }
        self.reads.insert(op, p);
        self.check_read(op, out);
    }

    /// A coordinator asks what this node holds for a key: its copy as a home node, or the
    /// merge of its hints for the key as a stand-in.
    pub(crate) fn on_fetch(&mut self, from: NodeId, m: Fetch, out: &mut Out) {
        let range = self.ring.place(&m.key).range;
        let version = if self.ring.is_home(range, self.config.id) {
            self.version(&m.key).cloned()
        } else {
            self.hints.merged_for(&m.key, self.rule)
        };
        self.send(
            out,
            from,
            Fetched {
                op: m.op,
                key: m.key,
                version,
            },
        );
    }

    /// A replica answered a get this node coordinates.
    pub(crate) fn on_fetched(&mut self, from: NodeId, m: Fetched, out: &mut Out) {
        if let Some(v) = &m.version {
            self.observe(v, out);
        }
        let rule = self.rule;
        let Some(p) = self.reads.get_mut(&m.op) else {
            return out.note(format_args!(
                "ignored {m} from {from}: get {} is not in flight (closed, or from before a restart)",
                m.op
            ));
        };
        let Some(target) = p.targets.answer(from) else {
            return out.note(format_args!(
                "ignored {m} from {from}: a duplicate, or never asked"
            ));
        };
        let stand_in = target.owner.is_some();
        if let Err(e) = merge_reply(&mut p.merged, m.version.as_ref(), rule) {
            out.note(format_args!("reply {m} from {from} not merged: {e}"));
        }
        if !stand_in {
            p.home_replies.push((from, m.version));
        }
        self.check_read(m.op, out);
    }

    /// Answer once R replies are in; close (and repair) once N are.
    fn check_read(&mut self, op: OpId, out: &mut Out) {
        let (r, n) = (self.config.read_quorum, self.config.replicas);
        let p = self.reads.get_mut(&op).expect("a get in flight");
        let replies = p.targets.answered();
        if !p.answered && replies >= r {
            p.answered = true;
            let response = Version::response(p.merged.as_ref());
            out.outputs.push(ClientReply { id: op, response });
        }
        if replies >= n {
            self.close_read(op, out);
        }
    }

    /// Forget a get: answer `Unavailable` if it never reached R, and repair every home node
    /// whose reply differs from the merge of all replies.
    fn close_read(&mut self, op: OpId, out: &mut Out) {
        let p = self.reads.remove(&op).expect("a get in flight");
        if !p.answered {
            let why = "fewer than R replicas answered in time";
            out.outputs.push(ClientReply {
                id: op,
                response: Response::Unavailable { why },
            });
            self.counters.unavailable += 1;
        }
        let Some(merged) = p.merged else { return };
        for (node, held) in &p.home_replies {
            // The coordinator's own copy may have moved on since it replied to itself.
            let mine = (*node == self.config.id).then(|| self.version(&p.key));
            if mine.unwrap_or(held.as_ref()) == Some(&merged) {
                continue;
            }
            self.counters.read_repairs += 1;
            if *node == self.config.id {
                if let Err(why) = self.store_merge(&p.key, &merged, out) {
                    out.note(format_args!("own read repair of {} failed: {why}", p.key));
                }
            } else {
                self.send(
                    out,
                    *node,
                    Repair {
                        key: p.key.clone(),
                        version: merged.clone(),
                    },
                );
            }
        }
    }

    /// A coordinator repairs this node's stale copy.
    pub(crate) fn on_repair(&mut self, from: NodeId, m: Repair, out: &mut Out) {
        let range = self.ring.place(&m.key).range;
        if !self.ring.is_home(range, self.config.id) {
            return out.note(format_args!(
                "ignored {m} from {from}: not a home node of {}",
                m.key
            ));
        }
        match self.store_merge(&m.key, &m.version, out) {
            Ok(true) => {}
            Ok(false) => out.note(format_args!("{m} from {from} brought nothing new")),
            Err(why) => out.note(format_args!("ignored {m} from {from}: {why}")),
        }
    }

    /// Every get's timers: close the ones past `request_timeout_ticks`, and ask a stand-in for
    /// each home node silent past `replica_timeout_ticks`.
    pub(crate) fn tick_reads(&mut self, out: &mut Out) {
        let (now, timeout) = (self.now, self.config.request_timeout_ticks);
        let expired: Vec<OpId> = self
            .reads
            .iter()
            .filter(|(_, p)| now >= p.started_at + timeout)
            .map(|(&op, _)| op)
            .collect();
        for op in expired {
            self.close_read(op, out);
        }
        if !self.config.sloppy_quorum {
            return;
        }
        let (me, timeout) = (self.config.id, self.config.replica_timeout_ticks);
        let mut stand_ins = Vec::new();
        for (&op, p) in self.reads.iter_mut() {
            // A coordinator outside the home list may be a fallback itself: it asks others.
            let range = self.ring.place(&p.key).range;
            let fallbacks: Vec<NodeId> = self
                .ring
                .fallbacks(range)
                .iter()
                .copied()
                .filter(|&n| n != me)
                .collect();
            for (owner, node) in p.targets.stand_ins(now, timeout, &fallbacks) {
                stand_ins.push((
                    op,
                    owner,
                    node,
                    Fetch {
                        op,
                        key: p.key.clone(),
                    },
                ));
            }
        }
        for (op, owner, node, msg) in stand_ins {
            match node {
                Some(node) => {
                    self.counters.stand_ins_asked += 1;
                    self.send(out, node, msg);
                }
                None => out.note(format_args!(
                    "get {op}: {owner} is silent and no node is left on the ring to stand in"
                )),
            }
        }
    }
}
