//! Pub/Sub through the log: `PUBLISH` is a command that changes no key, so every replica sees
//! every message at the same log index and delivers it to its own subscribers, in log order.
//!
//! ```text
//!   PUBLISH ch msg ──► the log ──► every replica: apply ──► exec: answers 0, changes nothing
//!                                                  └─► machine.rs: outbox = [(ch, msg)]
//!                                  replica: drains the outbox after apply ──► Output::Published
//!                                  host (server): routes it to this node's subscribers
//!   reply: the number of receivers on the node that answers the client (its front end
//!          replaces this 0 with its own count: Redis Cluster's semantics)
//! ```
//!
//! Why the log and not a broadcast between nodes: a message published on any node must reach
//! subscribers on every node, and the log already gets bytes to every node, in one order, with
//! retries and exactly-once (a retried PUBLISH replays its reply instead of publishing twice).
//! The cost: a message is as durable as a write (one fsync on a majority) and stays in the log
//! until the next snapshot compacts it. The road not taken: a gossip fan-out of messages, which
//! is cheaper but unordered, and would need its own retries and dedup.
//!
//! What it does not promise, like Redis: delivery to a subscriber that is not connected when its
//! node applies the entry (a node that catches up from a snapshot skips the messages inside it,
//! and a restarted node does not deliver the entries that were in its log before the restart).
//!
//! Invariants: `PUBLISH` never changes the keyspace and always answers `Int(0)`; the machine
//! records exactly the messages of the entry it applied last (`StateMachine::published`).

use bytes::Bytes;

use super::WriteCtx;
use crate::command::table::{Exec, Flags, Group, KeySpec, Spec};
use crate::reply::Reply;

/// The pub/sub family's rows of the command table.
pub(crate) const SPECS: &[Spec] = &[Spec {
    name: "publish",
    arity: 3,
    // WRITE because it goes through the log (every node must see it), though no key changes.
    flags: Flags::WRITE.with(Flags::FAST),
    keys: KeySpec::NONE,
    group: Group::PubSub,
    summary: "Posts a message to a channel, on every node of the cluster.",
    since: "2.0.0",
    exec: Exec::Write(publish),
}];

/// The name `machine.rs` looks for when it fills the outbox after an entry applies.
pub(crate) const PUBLISH: &str = "publish";

fn publish(_ctx: &mut WriteCtx<'_>, _args: &[Bytes]) -> Reply {
    // The state machine has no subscribers: the front end that answers counts its own.
    Reply::Int(0)
}
