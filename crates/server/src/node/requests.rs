//! The request side of the node task: a client's request goes into the replica under a fresh
//! tag, and the replica's answer for that tag goes back to whoever waits, once its batch is
//! durable (`mod.rs` calls `deliver` from `release`).
//!
//! ```text
//!   Event::Client{request, reply} ──► input: tag = next_tag++ ──► waiters[tag] = Waiter
//!   Forward{id, request} (forward.rs) ┘                            │ replica.input(Request{tag})
//!                                                                  ▼
//!   release ──► Output::Reply{tag, outcome} ──► deliver(tag, outcome)
//!                 NotLeader{leader=n} for a local client, n known ──► forward.rs (one hop)
//!                 NotLeader{leader=None} for a local client ──► awaiting_leader.rs (waits)
//!                 anything else ──► status::outcome_frame ──► answer(reply_to, frame)
//!                                    Local(oneshot) ──► the connection
//!                                    Peer{node, id} ──► ForwardReply{id, RESP bytes} ──► node
//!                                      (resp::encode_for_peer: RESP3 shapes, both nulls)
//! ```
//!
//! Invariants: every tag the replica answers is in `waiters` (asserted: the replica answers a
//! tag exactly once); a waiter is removed when answered or handed on to `forward.rs`, so
//! `waiters` holds only requests the replica has not answered yet, or whose answer waits in
//! the pipeline for its batch to be durable.

use distributed_core::{NodeId, Protocol, Rng};
use kv::Request;
use replica::{Input as ReplicaInput, Outcome};
use tokio::sync::oneshot;
use tracing::debug;

use super::{status, Node};
use crate::clients::resp::{self, Frame};
use crate::peers::frames::PeerFrame;

/// Who waits for the reply to a request the replica holds.
#[derive(Debug)]
pub(super) enum ReplyTo {
    /// A client connection on this node.
    Local(oneshot::Sender<Frame>),
    /// A follower that forwarded the request, under its id.
    Peer {
        /// The follower.
        node: NodeId,
        /// The follower's id for the forward.
        id: u64,
    },
}

/// A request inside the replica, by tag.
#[derive(Debug)]
pub(super) struct Waiter {
    /// Where the answer goes.
    pub(super) reply_to: ReplyTo,
    /// Kept so a `NotLeader` answer can be forwarded to the leader as is.
    pub(super) request: Request,
}

impl Node {
    /// Hand `request` to the replica under a fresh tag, stamped with this node's clock: if
    /// this node leads, that is the log time the entry carries (kv judges expiry by it); if
    /// not, the leader stamps it again when the request is forwarded there.
    pub(super) fn input(&mut self, reply_to: ReplyTo, mut request: Request) {
        let tag = self.next_tag;
        self.next_tag += 1;
        request.time_ms = wall_clock_ms();
        self.count_input(&request.body);
        let input = ReplicaInput::Request {
            tag,
            request: request.clone(),
            random_seed: self.read_seeds.next_u64(),
        };
        self.waiters.insert(tag, Waiter { reply_to, request });
        self.replica.input(input, &mut self.fx);
    }

    /// Answer the request under `tag`, forwarding it first if a leader is known elsewhere.
    pub(super) fn deliver(&mut self, tag: u64, outcome: Outcome) {
        let waiter = self.waiters.remove(&tag);
        let waiter = waiter.expect("the replica answered a tag it was never given");
        if let (
            Outcome::NotLeader {
                leader: Some(leader),
            },
            ReplyTo::Local(_),
        ) = (&outcome, &waiter.reply_to)
        {
            if *leader != self.config.id && self.transport.knows(*leader) {
                return self.forward(*leader, waiter);
            }
        }
        let waiter = match outcome {
            Outcome::NotLeader { leader: None } => match self.park(waiter) {
                Some(waiter) => waiter,
                None => return, // awaiting_leader.rs sends it on once a leader is known
            },
            _ => waiter,
        };
        self.count_outcome(&outcome);
        let frame = status::outcome_frame(&outcome);
        self.answer(waiter.reply_to, frame);
    }

    /// Send `frame` to whoever waits: the local connection, or the follower that forwarded.
    pub(super) fn answer(&mut self, reply_to: ReplyTo, frame: Frame) {
        match reply_to {
            ReplyTo::Local(tx) => {
                let _ = tx.send(frame); // the client may have gone
            }
            ReplyTo::Peer { node, id } => {
                // The lossless dialect: the client at the other end may speak RESP2 or RESP3.
                let mut bytes = bytes::BytesMut::new();
                resp::encode_for_peer(&frame, &mut bytes);
                let reply = PeerFrame::ForwardReply {
                    id,
                    resp: bytes.freeze(),
                };
                self.count_sent("ForwardReply");
                if !self.transport.send(node, reply) {
                    self.metrics.error("peer_send_dropped");
                    debug!("dropped a forwarded reply to {node}");
                }
            }
        }
    }

    /// A request enters the replica: a read on the configured path (on any node, since
    /// followers serve reads too), or a proposal (counted on the leader only: a follower's
    /// replica answers NotLeader and the request is forwarded, not proposed here).
    fn count_input(&self, body: &kv::Body) {
        let reads = self.replica.config().reads;
        let read_only = matches!(body, kv::Body::One(c) if c.is_read_only());
        if read_only {
            let path = match reads {
                replica::ReadPath::Lease => "lease",
                replica::ReadPath::ReadIndex => "read-index",
                replica::ReadPath::Log => "log",
            };
            self.metrics.reads.with_label_values(&[path]).inc();
        }
        let proposes = !read_only || reads == replica::ReadPath::Log;
        if proposes && self.replica.raft().role() == raft::Role::Leader {
            self.metrics.proposals.inc();
        }
    }

    /// An answer that is a failure, by kind.
    fn count_outcome(&self, outcome: &Outcome) {
        let kind = match outcome {
            Outcome::Done(kv::Reply::Error(_)) => "command",
            Outcome::Done(_) => return,
            Outcome::NotLeader { .. } => "not_leader",
            Outcome::Retry => "retry",
            Outcome::Busy => "busy",
        };
        self.metrics.error(kind);
    }
}

/// Milliseconds since the Unix epoch, the clock a leader stamps on its entries (the log's time,
/// `kv::Request::time_ms`) and hands its replica on every tick (`Input::Clock`, active expiry). A clock set before 1970 reads as 0: kv's clock never goes back,
/// so such a leader only delays expiry, it cannot revive a key.
pub(super) fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
