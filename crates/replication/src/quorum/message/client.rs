//! A put that reached a node other than the first home node of its key (DeCandia et al.
//! §4.5: "that node will forward the request to the first among the top N nodes in the
//! preference list"). Handled in forward.rs (both ends) and write.rs (coordinating).
//!
//! ```text
//!   client ─ Put ─► n4 ── Forward{op key value} ──► n1 (first home node)
//!                                                      coordinates: W acks
//!   client ◄─ Reply ─ n4 ◄── Forwarded{op ok} ──────── n1
//!   no answer in forward_timeout_ticks: n4 forwards to the next home node, n2
//! ```
//!
//! Why forward at all, when any node could stamp a value: the coordinator issues the version's
//! dot over its own copy of the key, so only a node that stores the key can name a put without
//! reusing a dot, and one coordinator per key orders its puts (forward.rs). Gets need no dot
//! and are coordinated where they arrive.

use std::fmt;

use crate::client::{Key, OpId, Response, Value};

/// Coordinate this client put; answer with `Forwarded`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    /// The client's operation: the coordinator's answer names it.
    pub op: OpId,
    /// The key.
    pub key: Key,
    /// The value to write.
    pub value: Value,
}

/// The coordinator's answer to a `Forward`: `Ok` or `Unavailable`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forwarded {
    /// The operation answered.
    pub op: OpId,
    /// What the forwarding node tells its client.
    pub response: Response,
}

impl fmt::Display for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Forward { op, key, value } = self;
        write!(f, "Forward{{op={op} key={key} value={value}}}")
    }
}

impl fmt::Display for Forwarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Forwarded{{op={} ", self.op)?;
        match &self.response {
            Response::Ok => f.write_str("ok")?,
            Response::Unavailable { why } => write!(f, "unavailable: {why}")?,
            other => write!(f, "{other:?}")?,
        }
        f.write_str("}")
    }
}
