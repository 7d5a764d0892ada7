//! The KV clients as a simulator workload: which client acts at each poll, the copies of a
//! resend to every node, replies in, inputs lost.
//!
//! ```text
//!   poll ──► a copy of a resend to all waiting? send it, poll again in 1 unit
//!        ──► expire sends past their timeout ──► the due client with the lowest (due, index)
//!            acts (client.rs: act) ──► next poll at the earliest wake-up, within 1..=10 units
//!   on_output(Reply{tag}) ──► on_reply          on_input_dropped ──► back off, avoid the node
//! ```

use distributed_core::{NodeId, SeededRng};
use replica::Output;

use super::client::{KvClients, NEVER, POLL_UNITS_MAX};
use super::kv_node::KvNode;
use super::tag::Tag;
use sim::config::Time;
use sim::hooks::{Workload, WorkloadStep};
use sim::view::ClusterView;

impl<P: KvNode> Workload<P> for KvClients {
    fn poll(&mut self, view: &ClusterView<P>, rng: &mut SeededRng) -> WorkloadStep<P::Input> {
        let now = view.now();
        self.last_sent = None;
        if let Some((node, tag, request, seed)) = self.fanout.pop() {
            // A copy of a resend: its loss changes nothing the timeout does not cover.
            return WorkloadStep {
                input: Some((node, P::request(tag, request, seed))),
                next_poll_units: Some(1),
            };
        }
        self.expire(now);
        let due = (0..self.clients.len())
            .filter(|&i| {
                self.clients[i]
                    .op
                    .as_ref()
                    .and_then(|op| op.waiting)
                    .is_none()
            })
            .filter(|&i| self.clients[i].due <= now)
            .min_by_key(|&i| (self.clients[i].due, i));
        let input = due.and_then(|i| self.act(i, view, rng));
        let next = self
            .clients
            .iter()
            .map(|c| self.wake(c))
            .min()
            .unwrap_or(NEVER);
        WorkloadStep {
            input,
            next_poll_units: (next != NEVER)
                .then(|| next.saturating_sub(now).clamp(1, POLL_UNITS_MAX)),
        }
    }

    fn on_output(&mut self, node: NodeId, output: &Output, now: Time) {
        if let Output::Reply { tag, outcome } = output {
            self.on_reply(node, Tag::decode(*tag), outcome, now);
        }
    }

    fn on_input_dropped(&mut self, node: NodeId, now: Time) {
        let Some((i, attempt)) = self.last_sent.take() else {
            return;
        };
        let c = &mut self.clients[i];
        let Some(op) = c.op.as_mut().filter(|op| op.attempt == attempt) else {
            return;
        };
        op.waiting = None;
        c.leader = None;
        c.avoid = Some(node);
        c.due = now + op.backoff();
    }
}
