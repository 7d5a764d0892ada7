//! # The client's vocabulary: one request, one reply, for every scheme
//!
//! Every replication scheme here stores registers: a key names a value, a put replaces it, a
//! get reads it. A client sends a [`ClientRequest`] to one node (the host passes it to
//! `Protocol::input`) and hears back one [`ClientReply`] with the same [`OpId`] (the node's
//! output). Which node a client should ask differs per scheme, and a node asked in the wrong
//! place says where to go instead:
//!
//! ```text
//!   scheme           put goes to           get goes to             wrong node answers
//!   ───────────────  ────────────────────  ──────────────────────  ──────────────────────
//!   primary-backup   the primary           the primary             Redirect{primary}
//!   chain            the head              the tail                Redirect{head | tail}
//!   CRAQ             the head              any replica             Redirect{head}
//!   quorum (Dynamo)  any coordinator       any coordinator         (never: every node is one)
//! ```
//!
//! Invariants:
//! - One reply per request, carrying its `OpId`; a node that cannot answer says why
//!   (`Unavailable`), so a client never mistakes silence for failure it cannot explain.
//!   (It still hears silence when the node crashes or the network drops the reply: then the
//!   client's own timeout decides, and the operation's outcome is unknown.)
//! - A value is at most [`VALUE_BYTES_MAX`] bytes; a node refuses a bigger one.
//!
//! The road not taken: byte-string keys and values. The consistency checkers read register
//! histories whose values are unique strings, and a learner reads a trace of `put x=c3.7`
//! more easily than one of byte arrays, so both are `String`.

use std::fmt;

/// A register's name.
pub type Key = String;
/// A register's content.
pub type Value = String;

/// The largest value a node accepts, in bytes: a bound on every stored and sent value.
pub const VALUE_BYTES_MAX: usize = 4096;

/// Names one client request: the client's id and its own count of requests. A retry of the
/// same request keeps its `OpId`, so a node that already applied it can say so instead of
/// applying it twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId {
    pub client: u64,
    pub seq: u64,
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}.{}", self.client, self.seq)
    }
}

/// What a client asks of a register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Read the register.
    Get { key: Key },
    /// Replace the register's value.
    Put { key: Key, value: Value },
}

impl Request {
    /// The register this request touches.
    pub fn key(&self) -> &str {
        match self {
            Request::Get { key } | Request::Put { key, .. } => key,
        }
    }

    /// Is this a write?
    pub fn is_put(&self) -> bool {
        matches!(self, Request::Put { .. })
    }
}

/// One client request, as a node's `Protocol::Input`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    pub id: OpId,
    pub request: Request,
}

impl ClientRequest {
    /// A read of `key`.
    pub fn get(id: OpId, key: impl Into<Key>) -> Self {
        ClientRequest {
            id,
            request: Request::Get { key: key.into() },
        }
    }

    /// A write of `value` to `key`.
    pub fn put(id: OpId, key: impl Into<Key>, value: impl Into<Value>) -> Self {
        ClientRequest {
            id,
            request: Request::Put {
                key: key.into(),
                value: value.into(),
            },
        }
    }
}

impl fmt::Display for ClientRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.request {
            Request::Get { key } => write!(f, "Get{{op={} key={key}}}", self.id),
            Request::Put { key, value } => {
                write!(f, "Put{{op={} key={key} value={value}}}", self.id)
            }
        }
    }
}

/// How a node answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// A get's answer: the value, or `None` if the register was never written.
    Value(Option<Value>),
    /// A get's answer from a scheme that keeps concurrent writes side by side (Dynamo with
    /// version vectors): every sibling, sorted. Empty means never written.
    Siblings(Vec<Value>),
    /// A put is acknowledged: the scheme promises it is stored as that scheme promises.
    Ok,
    /// Wrong node for this request; `to` is where this node believes the client should go.
    Redirect { to: distributed_core::NodeId },
    /// The node cannot serve the request now (no quorum, no view, too big); `why` says so.
    Unavailable { why: &'static str },
}

/// One answer, as a node's `Protocol::Output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientReply {
    pub id: OpId,
    pub response: Response,
}

impl fmt::Display for ClientReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.response {
            Response::Value(Some(v)) => write!(f, "Reply{{op={} value={v}}}", self.id),
            Response::Value(None) => write!(f, "Reply{{op={} value=nil}}", self.id),
            Response::Siblings(vs) => {
                write!(f, "Reply{{op={} siblings=[{}]}}", self.id, vs.join(","))
            }
            Response::Ok => write!(f, "Reply{{op={} ok}}", self.id),
            Response::Redirect { to } => write!(f, "Reply{{op={} redirect={to}}}", self.id),
            Response::Unavailable { why } => {
                write!(f, "Reply{{op={} unavailable: {why}}}", self.id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_print_one_line_each() {
        let id = OpId { client: 3, seq: 7 };
        assert_eq!(
            ClientRequest::put(id, "x", "c3.7").to_string(),
            "Put{op=c3.7 key=x value=c3.7}"
        );
        assert_eq!(
            ClientRequest::get(id, "x").to_string(),
            "Get{op=c3.7 key=x}"
        );
        let reply = ClientReply {
            id,
            response: Response::Siblings(vec!["a".into(), "b".into()]),
        };
        assert_eq!(reply.to_string(), "Reply{op=c3.7 siblings=[a,b]}");
    }
}
