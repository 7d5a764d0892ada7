//! Puts are coordinated by the first home node of their key that answers (DeCandia et al.
//! §4.5: "typically, this is the first among the top N nodes in the preference list"); every
//! other node forwards, and passes the answer back to its client, so a client never hears
//! `Redirect` from a Dynamo node.
//!
//! ```text
//!   n4 (not first) ── Forward{op x v} ──► n1 (home[0])      n1 coordinates (write.rs)
//!                  ◄─ Forwarded{op ok} ──                   n4 answers its client Ok
//!   silent for forward_timeout_ticks ──► Forward to n2 (home[1]), then n3, then Unavailable
//!   (a home node whose turn comes coordinates the put itself instead of forwarding it)
//! ```
//!
//! Why one coordinator per key rather than any home node: the coordinator names a put with a
//! dot over what *it* holds (version.rs, "read your context"), and the client carries no
//! context of its own. Through one coordinator, every put of a key, acknowledged or still in
//! flight, is in the context of the next one, so puts supersede each other in the order the
//! coordinator took them, and a client's later put always supersedes its earlier one.
//! Siblings then mean what Dynamo means by them: two coordinators took puts for one key
//! without seeing each other's (a partition, a crash, a slow first home node). The cost is
//! one more hop for puts that arrive elsewhere; Dynamo §6.4 spreads coordination over the
//! top N instead, with client contexts to keep it safe, the road not taken here.
//!
//! A forward retried at the next home node may run the put twice, at two coordinators: two
//! dots, one value. A get then sees the value once (siblings are deduplicated by value), and
//! the next put through either coordinator supersedes both. The first coordinator's late
//! answer is taken if it comes first: any answer for the op will do.
//!
//! Invariants: a put is forwarded to each home node at most once; one answer per put.

use distributed_core::NodeId;

use crate::client::{Key, OpId, Response, Value, VALUE_BYTES_MAX};
use crate::quorum::message::{Forward, Forwarded};
use crate::quorum::node::{Out, Quorum};
use crate::quorum::pending::{Origin, PendingForward};

impl Quorum {
    /// Forward a client's put to the first home node of its key.
    pub(crate) fn start_forward(&mut self, op: OpId, key: Key, value: Value, out: &mut Out) {
        let first = self.ring.home(self.ring.place(&key).range)[0];
        self.counters.puts_forwarded += 1;
        self.send(
            out,
            first,
            Forward {
                op,
                key: key.clone(),
                value: value.clone(),
            },
        );
        let pending = PendingForward {
            key,
            value,
            tried: vec![first],
            sent_at: self.now,
        };
        self.forwards.insert(op, pending);
    }

    /// Another node asks this one, a home node of the key, to coordinate a put.
    pub(crate) fn on_forward(&mut self, from: NodeId, m: Forward, out: &mut Out) {
        let refuse = |why: &'static str| Forwarded {
            op: m.op,
            response: Response::Unavailable { why },
        };
        let range = self.ring.place(&m.key).range;
        if !self.ring.is_home(range, self.config.id) {
            let why = "forwarded to a node that is not home for the key";
            return self.send(out, from, refuse(why));
        }
        if let Some(response) = self.recent.get(m.op).cloned() {
            return self.send(out, from, Forwarded { op: m.op, response });
        }
        if self.writes.contains_key(&m.op) {
            return out.note(format_args!(
                "ignored {m} from {from}: put {} in flight here already",
                m.op
            ));
        }
        if m.value.len() > VALUE_BYTES_MAX {
            return self.send(out, from, refuse("value longer than VALUE_BYTES_MAX"));
        }
        if self.in_flight() >= self.config.pending_requests_max {
            let why = "too many requests in flight (pending_requests_max)";
            return self.send(out, from, refuse(why));
        }
        self.start_put(m.op, m.key, m.value, Origin::Forwarded { from }, out);
    }

    /// A coordinator answered a put this node forwarded: pass it on to the client.
    pub(crate) fn on_forwarded(&mut self, from: NodeId, m: Forwarded, out: &mut Out) {
        let asked = self
            .forwards
            .get(&m.op)
            .is_some_and(|p| p.tried.contains(&from));
        if !asked {
            return out.note(format_args!(
                "ignored {m} from {from}: no put {} forwarded there in flight",
                m.op
            ));
        }
        self.forwards.remove(&m.op);
        self.answer(m.op, Origin::Client, m.response, out);
    }

    /// Forward again to the next home node once `forward_timeout_ticks` pass without an answer
    /// (or coordinate here, if this node is next); give up once every home node was tried.
    pub(crate) fn tick_forwards(&mut self, out: &mut Out) {
        let (now, timeout) = (self.now, self.config.forward_timeout_ticks);
        let due: Vec<OpId> = self
            .forwards
            .iter()
            .filter(|(_, p)| now >= p.sent_at + timeout)
            .map(|(&op, _)| op)
            .collect();
        for op in due {
            let me = self.config.id;
            let p = self.forwards.get_mut(&op).expect("listed above");
            let home = self.ring.home(self.ring.place(&p.key).range);
            match home.iter().find(|n| !p.tried.contains(n)) {
                Some(&next) if next == me => {
                    let p = self.forwards.remove(&op).expect("listed above");
                    self.start_put(op, p.key, p.value, Origin::Client, out);
                }
                Some(&next) => {
                    p.tried.push(next);
                    p.sent_at = now;
                    let msg = Forward {
                        op,
                        key: p.key.clone(),
                        value: p.value.clone(),
                    };
                    self.send(out, next, msg);
                }
                None => {
                    self.forwards.remove(&op);
                    let why = "no home node answered the forwarded put; it may still be applied";
                    self.answer(op, Origin::Client, Response::Unavailable { why }, out);
                }
            }
        }
    }
}
