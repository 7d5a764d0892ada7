//! One simulated client, Jepsen-style: sequential, one op at a time, and honest about what it
//! does not know. This file decides what a client does with each answer (and each silence);
//! `client.rs` runs the clients as the simulator's workload and records the history.
//!
//! ```text
//!   new op (c3.7): a get, or a put of the unique value "c3.7"; invoke recorded now
//!     │ send ──► learned target (a redirect taught it) │ first contact │ any contact at random
//!     ├─ Ok (put) / Value (get) ─────────► complete: return recorded now; think; next op
//!     ├─ Redirect{to} ───────────────────► resend to `to` at once (and remember it)
//!     ├─ Unavailable, a get or a void put ► resend elsewhere after a backoff
//!     ├─ Unavailable, a put that may land ► indeterminate: no return; next op
//!     ├─ silence past the timeout, a get ─► resend elsewhere (a get changes nothing)
//!     ├─ silence past the timeout, a put ─► indeterminate: no return; next op
//!     └─ the node was down ──────────────► resend elsewhere after a backoff (it never arrived)
//!   op_attempts_max sends without a final answer ──► abandoned: no return; next op
//! ```
//!
//! Why a timed-out put is not retried: the chain does not dedupe a retry of a put that
//! already completed, so a second copy could write the same value twice, and a read could
//! then see "c3.7" both before and after another write: a history no single put explains.
//! So a put is sent again only when the first copy surely did nothing (a redirect, a refusal
//! the scheme calls void, a node that was down), exactly as a Jepsen client records an
//! indeterminate op as `:info` and moves on. The checkers read "no return" as "may or may not
//! have happened, at any time after the invoke".
//!
//! Replies are matched to the op by its `OpId` alone. A value for the open get from an
//! earlier send is still its answer (every send lies inside the op's interval); a redirect or
//! refusal from a send the client already gave up on is stale and ignored.

use distributed_core::NodeId;
use replication::{ClientRequest, OpId, Request, Response};
use sim::config::Time;

use super::scheme::Contact;

/// The least a refused client waits before it sends again.
pub(super) const BACKOFF_UNITS_MIN: Time = 50;

/// A redirect is followed after this long: not zero, so two nodes that point at each other
/// cannot spin a client through its attempts in one instant.
pub(super) const REDIRECT_UNITS: Time = 2;

/// The send an op waits on.
#[derive(Clone, Copy, Debug)]
pub(super) struct Waiting {
    /// Where it went.
    pub(super) node: NodeId,
    /// When: the timeout runs from here.
    pub(super) since: Time,
}

/// The op a client has open.
#[derive(Clone, Debug)]
pub(super) struct Op {
    /// What it asks, under its unique id.
    pub(super) request: ClientRequest,
    /// Its place in the history.
    pub(super) history: check::OpId,
    /// When it was invoked: its latency runs from here.
    pub(super) invoked: Time,
    /// Sends so far.
    pub(super) attempts: u32,
    /// The current send, while it waits.
    pub(super) waiting: Option<Waiting>,
    /// Where the next send goes, if a redirect said so.
    pub(super) next_to: Option<NodeId>,
    /// A node that just failed this op: a random pick avoids it.
    pub(super) avoid: Option<NodeId>,
    /// Drawn at invoke: the think time after the op and the base of its backoffs.
    pub(super) pause: Time,
}

impl Op {
    /// Is it a put?
    pub(super) fn is_put(&self) -> bool {
        self.request.request.is_put()
    }

    /// The wait before the next send after a refusal or a drop: the pause plus a floor,
    /// doubled every 4 sends up to 8 times, so a long outage does not use up the attempts.
    pub(super) fn backoff(&self) -> Time {
        (BACKOFF_UNITS_MIN + self.pause) << (self.attempts / 4).min(3)
    }
}

/// What an answer (or a silence) means for the open op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The op completed with this outcome.
    Complete(check::Outcome),
    /// Send again, after this long.
    Resend { after: Time },
    /// A put with no answer it can trust: it may still take effect. No return.
    Indeterminate,
    /// A get answered with several values: a register history cannot state it. No return.
    Siblings,
    /// An answer of the wrong kind, in words. No return.
    Unexpected(String),
    /// An answer to a send the client already gave up on: nothing changes.
    Stale,
}

/// One client's state between ops.
#[derive(Clone, Debug)]
pub(super) struct Session {
    /// Its number: requests are `c{client}.{seq}`; its lane in the history.
    pub(super) client: u64,
    /// The last seq used.
    pub(super) seq: u64,
    /// Ops started.
    pub(super) issued: u64,
    /// Where puts go now, as a redirect taught it (for fixed first contacts).
    pub(super) put_to: Option<NodeId>,
    /// Where gets go now, likewise.
    pub(super) get_to: Option<NodeId>,
    /// When to act next if no send waits; `Time::MAX` once retired.
    pub(super) due: Time,
    /// The op in flight, if any.
    pub(super) op: Option<Op>,
}

impl Session {
    /// Client `client` (1-based), idle from time 0.
    pub(super) fn new(client: u64) -> Self {
        Session {
            client,
            seq: 0,
            issued: 0,
            put_to: None,
            get_to: None,
            due: 0,
            op: None,
        }
    }

    /// The next request id.
    pub(super) fn next_id(&mut self) -> OpId {
        self.seq += 1;
        OpId {
            client: self.client,
            seq: self.seq,
        }
    }

    /// What `response` to `id`, from `node`, means for the open op.
    pub(super) fn on_response(
        &mut self,
        node: NodeId,
        id: OpId,
        response: &Response,
        refused_put_is_void: bool,
        first: (Contact, Contact),
    ) -> Verdict {
        let Some(op) = self.op.as_mut().filter(|op| op.request.id == id) else {
            return Verdict::Stale;
        };
        let current = op.waiting.is_some_and(|w| w.node == node);
        let put = op.is_put();
        match (response, put) {
            (Response::Ok, true) => Verdict::Complete(check::Outcome::Done),
            (Response::Value(v), false) => Verdict::Complete(check::Outcome::Value(v.clone())),
            (Response::Siblings(vs), false) if vs.len() <= 1 => {
                Verdict::Complete(check::Outcome::Value(vs.first().cloned()))
            }
            (Response::Siblings(_), false) => Verdict::Siblings,
            (Response::Redirect { .. } | Response::Unavailable { .. }, _) if !current => {
                Verdict::Stale
            }
            (Response::Redirect { to }, _) => {
                op.next_to = Some(*to);
                let fixed = if put { first.0 } else { first.1 };
                if let Contact::Fixed(_) = fixed {
                    *(if put {
                        &mut self.put_to
                    } else {
                        &mut self.get_to
                    }) = Some(*to);
                }
                Verdict::Resend {
                    after: REDIRECT_UNITS,
                }
            }
            (Response::Unavailable { .. }, true) if !refused_put_is_void => Verdict::Indeterminate,
            (Response::Unavailable { .. }, _) => {
                self.forget(node);
                let op = self.op.as_ref().expect("open");
                Verdict::Resend {
                    after: op.backoff(),
                }
            }
            (other, _) => Verdict::Unexpected(format!(
                "{node} answered {} ({}) with {other:?}",
                id,
                if put { "a put" } else { "a get" }
            )),
        }
    }

    /// The open op's send timed out: a get goes again elsewhere, a put is indeterminate.
    pub(super) fn on_timeout(&mut self, node: NodeId) -> Verdict {
        let put = self.op.as_ref().is_some_and(Op::is_put);
        self.forget(node);
        if put {
            return Verdict::Indeterminate;
        }
        Verdict::Resend { after: 0 }
    }

    /// The open op's send found its node down: it never arrived, so it goes again elsewhere.
    pub(super) fn on_dropped(&mut self, node: NodeId) -> Verdict {
        self.forget(node);
        let after = self.op.as_ref().map_or(0, Op::backoff);
        Verdict::Resend { after }
    }

    /// `node` failed the open op: forget it as a target, avoid it next time.
    fn forget(&mut self, node: NodeId) {
        if self.put_to == Some(node) {
            self.put_to = None;
        }
        if self.get_to == Some(node) {
            self.get_to = None;
        }
        if let Some(op) = self.op.as_mut() {
            op.waiting = None;
            op.next_to = None;
            op.avoid = Some(node);
        }
    }

    /// Where the open op's next send goes, given a random pick among the contacts that
    /// `pick` makes (avoiding the node that just failed it).
    pub(super) fn target(
        &mut self,
        first: (Contact, Contact),
        pick: impl FnOnce(Option<NodeId>) -> NodeId,
    ) -> NodeId {
        let op = self.op.as_mut().expect("an open op");
        if let Some(to) = op.next_to.take() {
            return to;
        }
        let (learned, contact) = match &op.request.request {
            Request::Put { .. } => (self.put_to, first.0),
            Request::Get { .. } => (self.get_to, first.1),
        };
        match (learned, contact, op.avoid) {
            (Some(to), _, _) => to,
            (None, Contact::Fixed(to), avoid) if avoid != Some(to) => to,
            (None, _, avoid) => pick(avoid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_with(request: ClientRequest) -> Session {
        let mut s = Session::new(1);
        s.op = Some(Op {
            request,
            history: check::HistoryBuilder::new().invoke(1, check::Command::get("k0"), 0),
            invoked: 0,
            attempts: 1,
            waiting: Some(Waiting {
                node: NodeId(2),
                since: 0,
            }),
            next_to: None,
            avoid: None,
            pause: 10,
        });
        s
    }

    const CHAIN: (Contact, Contact) = (Contact::Fixed(NodeId(1)), Contact::Fixed(NodeId(3)));
    const ID: OpId = OpId { client: 1, seq: 1 };

    #[test]
    fn a_redirect_is_followed_and_remembered_for_later_ops() {
        let mut s = session_with(ClientRequest::put(ID, "k0", "c1.1"));
        let v = s.on_response(
            NodeId(2),
            ID,
            &Response::Redirect { to: NodeId(4) },
            true,
            CHAIN,
        );
        assert_eq!(v, Verdict::Resend { after: 2 });
        assert_eq!(s.target(CHAIN, |_| unreachable!()), NodeId(4));
        assert_eq!(s.put_to, Some(NodeId(4)));
    }

    #[test]
    fn a_timed_out_put_is_indeterminate_but_a_timed_out_get_is_sent_again_elsewhere() {
        let mut put = session_with(ClientRequest::put(ID, "k0", "c1.1"));
        assert_eq!(put.on_timeout(NodeId(2)), Verdict::Indeterminate);
        let mut get = session_with(ClientRequest::get(ID, "k0"));
        get.get_to = Some(NodeId(2));
        assert_eq!(get.on_timeout(NodeId(2)), Verdict::Resend { after: 0 });
        assert_eq!(get.target(CHAIN, |_| unreachable!()), NodeId(3));
    }

    #[test]
    fn a_refused_put_is_retried_only_where_the_scheme_says_the_refusal_is_void() {
        let refusal = Response::Unavailable { why: "busy" };
        let mut s = session_with(ClientRequest::put(ID, "k0", "c1.1"));
        assert!(matches!(
            s.on_response(NodeId(2), ID, &refusal, true, CHAIN),
            Verdict::Resend { .. }
        ));
        let mut s = session_with(ClientRequest::put(ID, "k0", "c1.1"));
        assert_eq!(
            s.on_response(NodeId(2), ID, &refusal, false, CHAIN),
            Verdict::Indeterminate
        );
    }

    #[test]
    fn an_answer_to_another_op_or_a_send_given_up_on_is_stale() {
        let mut s = session_with(ClientRequest::get(ID, "k0"));
        let other = OpId { client: 1, seq: 9 };
        assert_eq!(
            s.on_response(NodeId(2), other, &Response::Value(None), true, CHAIN),
            Verdict::Stale
        );
        let redirect = Response::Redirect { to: NodeId(3) };
        assert_eq!(
            s.on_response(NodeId(5), ID, &redirect, true, CHAIN),
            Verdict::Stale
        );
        assert_eq!(
            s.on_response(NodeId(5), ID, &Response::Value(None), true, CHAIN),
            Verdict::Complete(check::Outcome::Value(None)),
            "a value from any send of the open get is its answer"
        );
    }

    #[test]
    fn an_answer_of_the_wrong_kind_is_unexpected() {
        let mut s = session_with(ClientRequest::get(ID, "k0"));
        assert!(matches!(
            s.on_response(NodeId(2), ID, &Response::Ok, true, CHAIN),
            Verdict::Unexpected(_)
        ));
    }
}
