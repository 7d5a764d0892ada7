//! Forwarding: a follower passes a client's request to the leader it believes in, once, and
//! relays the leader's RESP answer; the leader treats it like a local request (Raft §8).
//!
//! ```text
//!   client ─SET─► n2 (follower): replica says NotLeader{leader=n1}
//!                 n2 ── Forward{id=7, request bytes} ──────────► n1 (leader): input, commit
//!                 n2 ◄─ ForwardReply{id=7, "+OK\r\n"} ───────── n1
//!   client ◄─+OK─ n2
//!
//!   no answer within forward_timeout_ticks ─► -TRYAGAIN … outcome unknown
//!   the leader is not leader any more ──────► its TRYAGAIN answer is relayed (one hop only)
//! ```
//!
//! One hop only: a forwarded request that meets `NotLeader` on the receiver is answered with
//! `TRYAGAIN`, never forwarded again, so two nodes that each think the other leads cannot
//! bounce a request forever. The (client_id, seq) travel with the request, so a client that
//! retries after a timeout is still deduplicated by the session table.

use distributed_core::NodeId;
use kv::Request;
use tracing::debug;

use super::requests::{ReplyTo, Waiter};
use super::Node;
use crate::clients::resp::{parse_frame, Frame};
use crate::peers::frames::PeerFrame;

/// Most forwarded requests one follower keeps waiting; past it clients get `TRYAGAIN` at once.
const FORWARDED_MAX: usize = 16 * 1024;

/// Where this boot's forward ids start. A peer may answer a forward of the previous boot after
/// this one started (the reply was queued, or the leader was slow); if ids restarted at 1, that
/// late `ForwardReply` would match one of this boot's forwards and reach the wrong client. A
/// random 63-bit start (from the boot nonce) makes a match as unlikely as a nonce collision and
/// leaves 2^63 ids before any overflow.
pub(super) fn first_forward_id(boot_nonce: u64) -> u64 {
    (boot_nonce >> 1).max(1)
}

/// A request this follower forwarded and is waiting on.
#[derive(Debug)]
pub(super) struct Forwarded {
    /// The client connection waiting.
    reply: tokio::sync::oneshot::Sender<Frame>,
    /// The leader it went to, for the timeout message.
    leader: NodeId,
    /// The tick after which the client is told the outcome is unknown.
    deadline_tick: u64,
}

impl Node {
    /// Send a local client's request to `leader`, or answer TRYAGAIN if that is impossible.
    pub(super) fn forward(&mut self, leader: NodeId, waiter: Waiter) {
        let ReplyTo::Local(reply) = waiter.reply_to else {
            unreachable!("only local requests are forwarded (one hop)");
        };
        if self.forwarded.len() >= FORWARDED_MAX {
            let why = format!("{FORWARDED_MAX} requests already wait on the leader {leader}");
            let _ = reply.send(Frame::error("TRYAGAIN", why));
            return;
        }
        let id = self.next_forward;
        self.next_forward += 1;
        let frame = PeerFrame::Forward {
            id,
            request: waiter.request.encode(),
        };
        self.count_sent("Forward");
        if !self.transport.send(leader, frame) {
            self.metrics.error("peer_send_dropped");
            let why = format!("not leader; leader is {leader}, and its queue is full");
            let _ = reply.send(Frame::error("TRYAGAIN", why));
            return;
        }
        let deadline_tick = self.ticks + self.config.forward_timeout_ticks;
        self.forwarded.insert(
            id,
            Forwarded {
                reply,
                leader,
                deadline_tick,
            },
        );
    }

    /// A follower's request arrived: run it here as if a local client sent it.
    pub(super) fn on_forward(&mut self, from: NodeId, id: u64, bytes: &[u8]) {
        let limits = &self.replica.machine().config().limits;
        match Request::decode(bytes, limits) {
            Ok(request) => self.input(ReplyTo::Peer { node: from, id }, request),
            Err(e) => {
                let frame = Frame::error("ERR", format!("malformed forwarded request: {e}"));
                self.answer(ReplyTo::Peer { node: from, id }, frame);
            }
        }
    }

    /// The leader answered a forward: relay it to the client, unless it already timed out.
    pub(super) fn on_forward_reply(&mut self, id: u64, resp: &[u8]) {
        let Some(waiting) = self.forwarded.remove(&id) else {
            debug!("a forwarded reply {id} arrived after its timeout");
            return;
        };
        let mut buf = bytes::BytesMut::from(resp);
        let frame = match parse_frame(&mut buf, &self.config.resp_limits()) {
            Ok(Some(frame)) if buf.is_empty() => frame,
            _ => Frame::error("ERR", format!("{} sent a malformed reply", waiting.leader)),
        };
        let _ = waiting.reply.send(frame);
    }

    /// Tell clients whose forwarded requests got no answer in time that the outcome is unknown.
    pub(super) fn expire_forwards(&mut self) {
        // Ids grow with time and every deadline is `ticks + timeout`, so the oldest id expires first.
        while let Some(entry) = self.forwarded.first_entry() {
            if entry.get().deadline_tick > self.ticks {
                break;
            }
            let waiting = entry.remove();
            let ms = self.config.forward_timeout_ticks * self.config.tick_ms;
            let why = format!(
                "forwarded to the leader {}, no answer within {ms} ms; the outcome is unknown",
                waiting.leader
            );
            self.metrics.error("forward_timeout");
            let _ = waiting.reply.send(Frame::error("TRYAGAIN", why));
        }
    }
}
