//! Bounds and errors: what every clock and CRDT in this crate refuses, and why.
//!
//! Logical time and CRDT metadata grow with the system: one vector entry per node that ever
//! wrote, one dot per live add, one tombstone per deleted character. Nothing here grows
//! silently past a bound, and nothing wraps around: a counter at `u64::MAX`, a vector that
//! would name more than [`NODES_MAX`] nodes, a set that would hold more than [`ELEMENTS_MAX`]
//! elements, a timestamp from further in the future than the drift bound, all come back as a
//! [`ClockError`] that says what and by how much. A refused operation leaves its target
//! unchanged, so a caller can report the error and carry on.
//!
//! ```text
//!   input from a peer or client ──► check bounds ──► Err(ClockError): nothing changed
//!                                        │
//!                                        └─ ok ──► mutate ──► assert! invariants (bugs, not input)
//! ```
//!
//! Invariants that only a bug could break (a vector entry decreasing through a merge, a
//! sibling whose dot its own context does not cover) are `assert!`s, on in release builds.
//!
//! The bounds are constants, not configuration: the road not taken is a `Limits` value carried
//! by every CRDT, which would make two replicas with different limits disagree on whether a
//! merge is allowed, and a join that depends on who runs it is no longer a join.

use std::fmt;

use distributed_core::NodeId;

/// Most node entries a vector clock, version vector, counter or causal context may hold.
///
/// Vectors grow by one entry per node that ever wrote. Riak and Dynamo bound them by giving
/// entries to *servers* (the replica set of a key), not to clients: that is what dotted
/// version vectors make safe (see `dvv.rs`). 1024 servers is far beyond one key's replica set.
pub const NODES_MAX: usize = 1024;

/// Most elements one collection CRDT may hold: OR-Set elements, RGA nodes *including
/// tombstones*, and the loose dots of a causal context.
pub const ELEMENTS_MAX: usize = 1 << 20;

/// Most concurrent siblings a dotted-version-vector store keeps for one key. Riak's default
/// `object.siblings.maximum` is 100 too: a write that would make a 101st sibling is refused,
/// because so many siblings means clients write blind (without reading first).
pub const SIBLINGS_MAX: usize = 100;

/// Why a clock or CRDT refused an operation. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClockError {
    /// A per-node counter (a vector entry, a Lamport time, a dot counter) would pass `u64::MAX`.
    CounterOverflow {
        /// What overflowed, e.g. `"vector clock entry"`.
        what: &'static str,
        /// Whose counter it is.
        node: NodeId,
    },
    /// An HLC's logical component would pass its width; only reachable with hostile input.
    LogicalOverflow {
        /// The wall-clock part the logical counter belongs to.
        wall: u64,
    },
    /// A vector would name more nodes than [`NODES_MAX`].
    TooManyNodes {
        /// What would grow, e.g. `"version vector"`.
        what: &'static str,
        /// How many entries it would hold.
        nodes: usize,
    },
    /// A collection would hold more than its bound ([`ELEMENTS_MAX`] or [`SIBLINGS_MAX`]).
    TooManyElements {
        /// What would grow, e.g. `"OR-Set elements"`.
        what: &'static str,
        /// How many it would hold.
        count: usize,
        /// The bound it would pass.
        max: usize,
    },
    /// A received hybrid-logical timestamp is further ahead of local physical time than the
    /// drift bound allows (Kulkarni et al. 2014 assume clocks within ε; CockroachDB refuses
    /// such a message rather than let one fast clock drag every node's time forward).
    ClockDriftExceeded {
        /// The received wall-clock component.
        received_wall: u64,
        /// Local physical time when it arrived.
        physical: u64,
        /// `received_wall - physical`.
        ahead_by: u64,
        /// The bound it passed.
        max_offset: u64,
    },
    /// A causal context names a dot of this node that this node never issued: the client
    /// (or a peer) claims to have seen the future.
    ContextAheadOfNode {
        /// The node the context is about.
        node: NodeId,
        /// What the context claims for it.
        claimed: u64,
        /// The most this node has issued.
        issued: u64,
    },
    /// Two states carry the same identifier (a dot, a timestamp, an RGA id) for different
    /// content: an identifier was reused, so the states cannot be joined.
    ConflictingContent {
        /// What collided, e.g. `"LWW write"`.
        what: &'static str,
        /// The identifier, as its `Display` prints it.
        id: String,
    },
    /// An operation names an element this replica does not have.
    UnknownElement {
        /// What was looked for, e.g. `"RGA anchor"`.
        what: &'static str,
        /// The identifier, as its `Display` prints it.
        id: String,
    },
    /// A position past the end of a sequence.
    IndexOutOfRange {
        /// The position asked for.
        index: usize,
        /// The visible length.
        len: usize,
    },
}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClockError::CounterOverflow { what, node } => {
                write!(f, "{what} of {node} is at u64::MAX and cannot advance")
            }
            ClockError::LogicalOverflow { wall } => {
                write!(f, "HLC logical counter at wall time {wall} is at u32::MAX")
            }
            ClockError::TooManyNodes { what, nodes } => {
                write!(
                    f,
                    "{what} would name {nodes} nodes, more than NODES_MAX={NODES_MAX}"
                )
            }
            ClockError::TooManyElements { what, count, max } => {
                write!(f, "{what} would hold {count}, more than the bound of {max}")
            }
            ClockError::ClockDriftExceeded {
                received_wall,
                physical,
                ahead_by,
                max_offset,
            } => write!(
                f,
                "received timestamp wall={received_wall} is {ahead_by} ahead of physical \
                 time {physical}, more than max_offset={max_offset}: refused"
            ),
            ClockError::ContextAheadOfNode {
                node,
                claimed,
                issued,
            } => write!(
                f,
                "context claims {node}:{claimed} but {node} has issued only up to {issued}"
            ),
            ClockError::ConflictingContent { what, id } => {
                write!(f, "{what} {id} arrived with two different contents")
            }
            ClockError::UnknownElement { what, id } => write!(f, "{what} {id} is not known here"),
            ClockError::IndexOutOfRange { index, len } => {
                write!(f, "index {index} is past the end of a sequence of {len}")
            }
        }
    }
}

impl std::error::Error for ClockError {}

/// `Ok` if a collection of `count` stays within `max`, else the error naming `what`.
pub(crate) fn check_elements(
    what: &'static str,
    count: usize,
    max: usize,
) -> Result<(), ClockError> {
    if count > max {
        return Err(ClockError::TooManyElements { what, count, max });
    }
    Ok(())
}

/// `Ok` if a vector of `nodes` entries stays within [`NODES_MAX`].
pub(crate) fn check_nodes(what: &'static str, nodes: usize) -> Result<(), ClockError> {
    if nodes > NODES_MAX {
        return Err(ClockError::TooManyNodes { what, nodes });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drift_error_says_by_how_much_the_timestamp_was_ahead() {
        let e = ClockError::ClockDriftExceeded {
            received_wall: 1500,
            physical: 1000,
            ahead_by: 500,
            max_offset: 250,
        };
        assert_eq!(
            e.to_string(),
            "received timestamp wall=1500 is 500 ahead of physical time 1000, more than \
             max_offset=250: refused"
        );
    }

    #[test]
    fn bounds_refuse_one_past_the_limit_and_accept_the_limit() {
        assert!(check_nodes("vector", NODES_MAX).is_ok());
        assert_eq!(
            check_nodes("vector", NODES_MAX + 1),
            Err(ClockError::TooManyNodes {
                what: "vector",
                nodes: NODES_MAX + 1
            })
        );
        assert!(check_elements("set", 3, 3).is_ok());
        assert!(check_elements("set", 4, 3).is_err());
    }
}
