//! What the doors hand the node task: one enum, so the task owns the replica and everything
//! else only sends it events through bounded channels.
//!
//! ```text
//!   clients/connection.rs ── Client{request, reply} ───┐
//!                          ── StaleRead{command, reply} ┤
//!                          ── Status{reply} ────────────┼──► node task (node/mod.rs)
//!   peers/transport.rs    ── Peer{from, frame} ─────────┘
//! ```
//!
//! Every variant that wants an answer carries its own `oneshot` sender: the node task answers
//! exactly once, or drops the sender (the connection then sees the node stop).

use distributed_core::NodeId;
use kv::{Command, Request};
use tokio::sync::oneshot;

use crate::clients::resp::Frame;
use crate::peers::frames::PeerFrame;

/// Something for the node task to do.
#[derive(Debug)]
pub enum Event {
    /// A frame from a peer (a Raft message, a forwarded request, or a forwarded reply).
    Peer {
        /// The sender, as its connection's Hello said.
        from: NodeId,
        /// What it sent.
        frame: PeerFrame,
    },
    /// A command from a client connection on this node.
    Client {
        /// The request: command plus (client_id, seq) for exactly-once.
        request: Request,
        /// Where the RESP answer goes.
        reply: oneshot::Sender<Frame>,
    },
    /// A read from a READONLY connection: answered at once from the local state machine,
    /// which may lag the cluster (no Raft round, not linearizable).
    StaleRead {
        /// A read-only command (`Command::is_read_only`).
        command: Command,
        /// Where the RESP answer goes.
        reply: oneshot::Sender<Frame>,
    },
    /// INFO / DISTRIBUTED.STATUS: answered at once from the replica's state.
    Status {
        /// Where the status goes.
        reply: oneshot::Sender<Frame>,
    },
}
