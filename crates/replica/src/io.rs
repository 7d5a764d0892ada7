//! What a replica's host hands in ([`Input`]) and gets back ([`Output`]), with their one-line
//! `Display`.
//!
//! ```text
//!   Input::Request{tag, request, random_seed}
//!                             ──► KvReplica ──► Output::Reply{tag, outcome}   exactly once
//!                                        │          per request, unless the node crashes first
//!                                        ├───────► Output::Applied{index, term}  once per
//!                                        │         committed entry, in index order
//!                                        └───────► Output::Published{index, channel, message}
//!                                                  after its Applied, one per PUBLISH it ran
//!   Input::Clock{now_ms}  the host's wall clock, before every tick: a leader proposes active
//!                         expiry by it (expiry.rs); it answers nothing
//!
//!   Request{tag=7 client=3 seq=9 cmd=Put{key=k1 bytes=3}}
//!   Reply{tag=7 Done(Status{OK})}   Reply{tag=7 NotLeader(n2)}   Reply{tag=7 Retry}   Reply{tag=7 Busy}
//!   Applied{index=12 term=3}   Restored{index=40 term=2}   (a leader's snapshot, Raft §7)
//!   Published{index=12 channel=news bytes=5}
//! ```
//!
//! What each outcome tells a client (and a linearizability checker):
//!
//! ```text
//!   Done(reply)   the request took effect exactly once (or was refused: an Error reply)
//!   NotLeader     the request was NOT proposed: send it elsewhere (the hint, if any)
//!   Busy          the request was NOT proposed: too many requests wait on this leader
//!   Retry         unknown: the request may or may not take effect; send it again with the
//!                 same (client_id, seq), which exactly-once makes safe (dissertation §6.3)
//! ```

use std::fmt;

use distributed_core::NodeId;
use raft::{ChangeError, Index, MembershipChange, Term};

use kv::Reply;
use kv::Request;

/// A request from a client, as the host hands it to a replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Run `request` on the replicated map.
    Request {
        /// Chosen by the host and echoed in the one `Output::Reply` for this request, so the
        /// host can find the waiting client without the replica knowing what a connection is.
        tag: u64,
        /// What the client asks, with the (client_id, seq) that makes retries safe.
        request: Request,
        /// Where a read's random picks start (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER,
        /// RANDOMKEY): fresh per request from the host's RNG, since a read changes no state and
        /// may answer differently per call (`kv::StateMachine::read`). A host that replays
        /// (the simulator) draws it from its seeded RNG. Writes ignore it: their picks come
        /// from the log index, the same on every replica. Left out of `Display`: it is noise
        /// in a trace, which the seed of the run already decides.
        random_seed: u64,
    },
    /// An operator's membership change, handed to Raft as is (Raft §6). Refused with
    /// `Output::ChangeRejected`; complete when a plain config entry is applied.
    ChangeMembership(MembershipChange),
    /// An operator's leadership transfer, handed to Raft as is (thesis §3.10).
    TransferLeadership {
        /// The voter that should take over.
        to: NodeId,
    },
    /// The host's clock, which it stamps into the replica on every tick (sans-IO: time only
    /// arrives as input). A leader whose clock passed the earliest expiry in its state machine
    /// proposes a `DISTRIBUTED.EXPIRE` entry stamped with it (`expiry.rs`). Never answered.
    Clock {
        /// Milliseconds since the Unix epoch, the unit of `kv::Request::time_ms`.
        now_ms: u64,
    },
    /// The host's writes through the log entry `(index, term)` are durable: handed to Raft
    /// as `raft::Input::LogDurable`. A host that sends a leader's AppendEntries before its own
    /// fsync (`raft::Config::leader_writes_in_parallel`, thesis §10.2.1) must report every
    /// completed write batch so; the leader's commits, and the replies they carry, wait on it.
    LogDurable {
        /// The last entry's index.
        index: Index,
        /// Its term.
        term: Term,
    },
}

/// What a replica tells its host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// The answer to the request that came in with `tag`.
    Reply {
        /// The host's correlation id, as it came in.
        tag: u64,
        /// What happened to the request.
        outcome: Outcome,
    },
    /// The entry at `index`, of `term`, was applied to this replica's state machine. Cheap (no
    /// digest, no data) so it can be emitted for every entry; invariants compare `(index, term)`
    /// across replicas and read `KvReplica::machine()` when they want the state itself.
    Applied {
        /// The entry's log index; contiguous within one incarnation of the replica, from
        /// the one after its disk snapshot (or 1), and from the one after each `Restored`.
        index: Index,
        /// The entry's term: two replicas that applied different terms at one index diverged.
        term: Term,
    },
    /// The entry at `index` published `message` on `channel` (kv `exec/pubsub.rs`): the host
    /// hands it to its local subscribers. Every replica emits it for every PUBLISH it applies,
    /// in log order, right after the entry's `Applied` and before its reply.
    Published {
        /// The entry's log index: a host that restarted skips what it may have delivered before.
        index: Index,
        /// The channel.
        channel: bytes::Bytes,
        /// The message.
        message: bytes::Bytes,
    },
    /// Raft refused (or abandoned) a membership change or leadership transfer.
    ChangeRejected {
        /// Why, as Raft said it.
        reason: ChangeError,
    },
    /// The state machine was replaced by a snapshot a leader sent (Raft §7): it now holds
    /// every entry through `index`, and the next `Applied` is `index + 1`.
    Restored {
        /// The snapshot's last index: the machine's new `applied_index`.
        index: Index,
        /// The term of that entry.
        term: Term,
    },
}

/// What happened to one request. See the module docs for what each means to a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The request's entry committed and was applied (or the request was refused as malformed
    /// without being proposed): here is the state machine's reply.
    Done(Reply),
    /// This node does not lead; the request was not proposed.
    NotLeader {
        /// The leader this node believes in, if any: where the client should go next.
        leader: Option<NodeId>,
    },
    /// The outcome is unknown: the node stopped leading, or the entry was overwritten, while
    /// the request waited. Retry with the same (client_id, seq).
    Retry,
    /// This leader already has `pending_requests_max` requests waiting; the request was not
    /// proposed. Back off and retry.
    Busy,
}

impl Outcome {
    /// True for the outcomes after which the request certainly did not take effect.
    pub fn is_not_proposed(&self) -> bool {
        matches!(self, Outcome::NotLeader { .. } | Outcome::Busy)
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Request { tag, request, .. } => write!(
                f,
                "Request{{tag={tag} client={} seq={} cmd={}}}",
                request.client_id, request.seq, request.body
            ),
            Input::ChangeMembership(change) => write!(f, "ChangeMembership{{{change}}}"),
            Input::TransferLeadership { to } => write!(f, "TransferLeadership{{to={to}}}"),
            Input::Clock { now_ms } => write!(f, "Clock{{now_ms={now_ms}}}"),
            Input::LogDurable { index, term } => {
                write!(f, "LogDurable{{index={index} term={term}}}")
            }
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done(reply) => write!(f, "Done({reply})"),
            Outcome::NotLeader { leader: Some(id) } => write!(f, "NotLeader({id})"),
            Outcome::NotLeader { leader: None } => write!(f, "NotLeader(none)"),
            Outcome::Retry => write!(f, "Retry"),
            Outcome::Busy => write!(f, "Busy"),
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Reply { tag, outcome } => write!(f, "Reply{{tag={tag} {outcome}}}"),
            Output::Applied { index, term } => write!(f, "Applied{{index={index} term={term}}}"),
            Output::Published {
                index,
                channel,
                message,
            } => write!(
                f,
                "Published{{index={index} channel={} bytes={}}}",
                String::from_utf8_lossy(channel),
                message.len()
            ),
            Output::ChangeRejected { reason } => write!(f, "ChangeRejected{{{reason}}}"),
            Output::Restored { index, term } => {
                write!(f, "Restored{{index={index} term={term}}}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kv::Command;

    #[test]
    fn inputs_print_as_one_line_with_their_tag_and_request() {
        let input = Input::Request {
            tag: 7,
            request: Request::in_session(
                3,
                9,
                Command::set(Bytes::from_static(b"k1"), Bytes::from_static(b"abc")),
            ),
            random_seed: 0,
        };
        assert_eq!(
            input.to_string(),
            "Request{tag=7 client=3 seq=9 cmd=SET{key=k1 bytes=3}}"
        );
        let clock = Input::Clock { now_ms: 1500 };
        assert_eq!(clock.to_string(), "Clock{now_ms=1500}");
    }

    #[test]
    fn outputs_print_as_one_line_with_their_outcome() {
        let reply = |outcome| Output::Reply { tag: 7, outcome }.to_string();
        assert_eq!(
            reply(Outcome::Done(Reply::ok())),
            "Reply{tag=7 Done(Status{OK})}"
        );
        let hinted = Outcome::NotLeader {
            leader: Some(NodeId(2)),
        };
        assert_eq!(reply(hinted), "Reply{tag=7 NotLeader(n2)}");
        assert_eq!(
            reply(Outcome::NotLeader { leader: None }),
            "Reply{tag=7 NotLeader(none)}"
        );
        assert_eq!(reply(Outcome::Retry), "Reply{tag=7 Retry}");
        assert_eq!(reply(Outcome::Busy), "Reply{tag=7 Busy}");
        let applied = Output::Applied { index: 12, term: 3 };
        assert_eq!(applied.to_string(), "Applied{index=12 term=3}");
        let published = Output::Published {
            index: 12,
            channel: Bytes::from_static(b"news"),
            message: Bytes::from_static(b"hello"),
        };
        assert_eq!(
            published.to_string(),
            "Published{index=12 channel=news bytes=5}"
        );
    }

    #[test]
    fn only_not_leader_and_busy_promise_the_request_was_not_proposed() {
        assert!(Outcome::Busy.is_not_proposed());
        assert!(Outcome::NotLeader { leader: None }.is_not_proposed());
        assert!(!Outcome::Retry.is_not_proposed());
        assert!(!Outcome::Done(Reply::ok()).is_not_proposed());
    }
}
