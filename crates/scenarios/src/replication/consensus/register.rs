//! A consensus log's KV store seen as registers: the adapter that lets the register harness
//! drive raft-kv and paxos-kv exactly as it drives chain, CRAQ or a Dynamo quorum.
//!
//! ```text
//!   harness client ── ClientRequest{c3.7, put k1=c3.7} ──► KvRegister<P> ── kv::Request ──► P
//!                                                           client_id = 3 + 1, seq = 7,
//!                                                           SET k1 c3.7, tag = (3, 7)
//!   harness client ◄── ClientReply{c3.7, Ok} ────────────── KvRegister<P> ◄── Output::Reply{tag}
//!
//!   P's outcome            the register's reply           why
//!   ─────────────────────  ─────────────────────────────  ────────────────────────────────────
//!   Done(+OK)              Ok                             the SET was committed and applied
//!   Done(bulk v | nil)     Value(Some(v) | None)          the GET's answer
//!   NotLeader{Some(l)}     Redirect{to: l}                not proposed; ask l
//!   NotLeader{None}, Busy  Unavailable                    not proposed: the client may resend
//!   Retry                  (nothing, a trace note)        outcome unknown: the client's timeout
//!                                                         decides, and a resend with the same
//!                                                         OpId is applied at most once (kv's
//!                                                         session table, Raft dissertation §6.3)
//! ```
//!
//! Invariants: the wrapper adds no state of its own beyond a tick count, so everything durable
//! is the inner replica's (`Disk` and `Write` pass through unchanged), and a crash loses
//! exactly what the inner replica would lose. One reply per answered request, with the
//! request's `OpId`.
//!
//! The road not taken: letting a `Retry` through as `Unavailable`. A client may resend a
//! refused put, and here that would be safe (sessions), but `Unavailable` means "not done"
//! in the register vocabulary (`replication::client`), and a `Retry` means "maybe done".

use std::fmt;

use bytes::Bytes;
use distributed_core::{Effects, NodeId, Protocol};
use kv::{Body, Command, Reply, Request as KvRequest};
use replica::{Outcome, Output};
use replication::{ClientReply, ClientRequest, OpId, Request, Response};

use crate::raft_kv::KvNode;

/// A simulated node's wall clock advances this many milliseconds per tick (a tick is about
/// 100 time units, one unit read as one millisecond, as in raft-kv's hosts).
const CLOCK_MS_PER_TICK: u64 = 100;

/// What a consensus replica must offer beyond [`KvNode`] to stand in the register harness.
pub trait ConsensusNode: KvNode {
    /// The host's wall-clock input before a tick, if the replica takes one (Raft's leases
    /// and key expiry do; Paxos's replica has none).
    fn clock(now_ms: u64) -> Option<Self::Input>;

    /// Does this replica believe it leads (for the leader-aimed faults)?
    fn leads(&self) -> bool;

    /// The leader's rank among leaders that believe they lead: term or ballot.
    fn leader_rank(&self) -> u64;
}

/// One consensus replica as a register node (module docs).
pub struct KvRegister<P: ConsensusNode> {
    /// The replica: log, state machine, sessions. Everything durable is its.
    inner: P,
    /// Ticks since this incarnation started: the wall clock it hands the replica.
    ticks: u64,
}

impl<P: ConsensusNode> KvRegister<P> {
    /// Wrap a replica built from its disk.
    pub fn new(inner: P) -> Self {
        KvRegister { inner, ticks: 0 }
    }

    /// The replica inside.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// Run one call on the inner replica and carry its effects out as this node's.
    fn drive(&mut self, out: &mut Effects<Self>, call: impl FnOnce(&mut P, &mut Effects<P>)) {
        let mut inner = if out.notes.is_on() {
            Effects::<P>::with_notes()
        } else {
            Effects::<P>::new()
        };
        call(&mut self.inner, &mut inner);
        out.writes.append(&mut inner.writes);
        out.messages.append(&mut inner.messages);
        out.notes.append(&mut inner.notes);
        for output in inner.outputs.drain(..) {
            if let Some(reply) = register_reply(&output, &mut out.notes) {
                out.outputs.push(reply);
            }
        }
    }
}

/// The tag a request travels under: its `OpId`, so the reply names it without a table.
/// Clients and seqs stay far below 2^32 (the harness bounds both), asserted here.
fn tag_of(id: OpId) -> u64 {
    assert!(
        id.client < 1 << 32 && id.seq < 1 << 32,
        "op id {id} out of the tag's range"
    );
    (id.client << 32) | id.seq
}

fn op_of(tag: u64) -> OpId {
    OpId {
        client: tag >> 32,
        seq: tag & 0xffff_ffff,
    }
}

/// The kv request for a register request: one session per client (ids from 1: kv's 0 is
/// "no session"), the client's seq as the session's seq.
fn kv_request(request: &ClientRequest, now_ms: u64) -> KvRequest {
    let command = match &request.request {
        Request::Get { key } => Command::get(Bytes::from(key.clone())),
        Request::Put { key, value } => {
            Command::set(Bytes::from(key.clone()), Bytes::from(value.clone()))
        }
    };
    KvRequest {
        client_id: request.id.client + 1,
        seq: request.id.seq,
        time_ms: now_ms,
        body: Body::One(command),
    }
}

/// The register reply for one replica output; `None` for outputs that answer no client.
fn register_reply(output: &Output, notes: &mut distributed_core::Notes) -> Option<ClientReply> {
    let Output::Reply { tag, outcome } = output else {
        return None;
    };
    let id = op_of(*tag);
    let response = match outcome {
        Outcome::Done(reply) => done(reply),
        Outcome::NotLeader { leader: Some(l) } => Response::Redirect { to: *l },
        Outcome::NotLeader { leader: None } => Response::Unavailable {
            why: "no leader known",
        },
        Outcome::Busy => Response::Unavailable {
            why: "the leader has too many requests waiting",
        },
        Outcome::Retry => {
            notes.push(format_args!(
                "no reply to {id}: its outcome is unknown (leadership changed); the client's \
                 timeout decides"
            ));
            return None;
        }
    };
    Some(ClientReply { id, response })
}

/// A state machine reply as a register answer.
fn done(reply: &Reply) -> Response {
    match reply {
        Reply::Status(_) => Response::Ok,
        Reply::Null => Response::Value(None),
        Reply::Bulk(v) => Response::Value(Some(String::from_utf8_lossy(v).into_owned())),
        Reply::Error(_) => Response::Unavailable {
            why: "the state machine refused the command",
        },
        _ => Response::Unavailable {
            why: "a reply a register command never gets",
        },
    }
}

impl<P: ConsensusNode> Protocol for KvRegister<P> {
    type Message = P::Message;
    type Input = ClientRequest;
    type Output = ClientReply;
    type Write = P::Write;
    type Disk = P::Disk;

    fn id(&self) -> NodeId {
        self.inner.id()
    }

    fn step(&mut self, from: NodeId, msg: P::Message, out: &mut Effects<Self>) {
        self.drive(out, |p, e| p.step(from, msg, e));
    }

    fn tick(&mut self, out: &mut Effects<Self>) {
        self.ticks += 1;
        let now_ms = self.ticks * CLOCK_MS_PER_TICK;
        self.drive(out, |p, e| {
            if let Some(clock) = P::clock(now_ms) {
                p.input(clock, e);
            }
            p.tick(e);
        });
    }

    fn input(&mut self, request: ClientRequest, out: &mut Effects<Self>) {
        let tag = tag_of(request.id);
        let kv = kv_request(&request, self.ticks * CLOCK_MS_PER_TICK);
        // Reads pick randomly only for commands like SRANDMEMBER; a GET never does.
        let input = P::request(tag, kv, tag);
        self.drive(out, |p, e| p.input(input, e));
    }

    // overlaps_writes stays false: the register host persists every write before it sends
    // anything (contract steps 1–4), which is always safe; the inner replica's overlap would
    // need its own durable-input type, which the register vocabulary has no room for.

    fn persist(disk: &mut P::Disk, write: &P::Write) {
        P::persist(disk, write);
    }
}

impl<P: ConsensusNode> fmt::Debug for KvRegister<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KvRegister({}, tick {})", self.inner.id(), self.ticks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_op_id_survives_the_trip_through_a_tag() {
        let id = OpId {
            client: 7,
            seq: 123,
        };
        assert_eq!(op_of(tag_of(id)), id);
    }

    #[test]
    fn a_put_becomes_a_set_in_the_client_s_own_session() {
        let r = ClientRequest::put(OpId { client: 0, seq: 4 }, "k1", "c0.4");
        let kv = kv_request(&r, 300);
        assert_eq!((kv.client_id, kv.seq, kv.time_ms), (1, 4, 300));
        assert_eq!(kv.command(), Some(&Command::set("k1", "c0.4")));
    }

    #[test]
    fn an_unknown_outcome_answers_nothing_and_says_why() {
        let mut notes = distributed_core::Notes::enabled();
        let id = OpId { client: 2, seq: 9 };
        let retry = Output::Reply {
            tag: tag_of(id),
            outcome: Outcome::Retry,
        };
        assert_eq!(register_reply(&retry, &mut notes), None);
        assert!(notes.lines()[0].contains("c2.9"), "{:?}", notes.lines());
        let redirect = Output::Reply {
            tag: tag_of(id),
            outcome: Outcome::NotLeader {
                leader: Some(NodeId(3)),
            },
        };
        let reply = register_reply(&redirect, &mut notes).unwrap();
        assert_eq!(reply.response, Response::Redirect { to: NodeId(3) });
    }
}
