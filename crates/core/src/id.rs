//! Node identities and logical time.
//!
//! A [`NodeId`] names one replica. It prints as `n1`, `n2`, … in every trace, which is the
//! notation the papers' figures use (S1..S5) adapted to our logs.
//!
//! A [`Tick`] is one step of a node's local logical clock. Protocols count timeouts in ticks
//! (`election_timeout_ticks_min`), never in milliseconds: the host decides how long a tick is
//! (the server: a few milliseconds of wall time; the simulator: whatever its clock-skew model
//! says for that node). That is what lets the simulator give each node a different clock rate.

use std::fmt;

/// The identity of one node in a cluster.
///
/// A newtype rather than a bare `u64` so that a node id can never be mixed up with a term or a
/// log index, which are also `u64`s and appear next to it in every message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NodeId(pub u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl From<u64> for NodeId {
    fn from(v: u64) -> Self {
        NodeId(v)
    }
}

/// A count of logical clock ticks. Used for timeouts and for the simulator's global time.
pub type Tick = u64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_print_the_way_traces_show_them() {
        assert_eq!(NodeId(3).to_string(), "n3");
    }

    #[test]
    fn node_ids_order_by_number_so_btree_iteration_is_stable() {
        let mut ids = vec![NodeId(5), NodeId(1), NodeId(3)];
        ids.sort();
        assert_eq!(ids, vec![NodeId(1), NodeId(3), NodeId(5)]);
    }
}
