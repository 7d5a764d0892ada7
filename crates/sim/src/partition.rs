//! Network partitions: who can still talk to whom.
//!
//! A partition gives every node a side. Two nodes can exchange messages when they are on the
//! same side, or when one of them is the *bridge*, a node that both sides can reach:
//!
//! ```text
//!   split   {n1,n2} | {n3,n4,n5}          bridge   {n1,n2} | {n4,n5} bridge=n3
//!
//!      n1──n2      n3──n4──n5                n1──n2──n3──n4──n5
//!                                              └────┘ ╳ └────┘     n1,n2 cannot reach n4,n5
//! ```
//!
//! The bridge shape is the one that breaks protocols which assume connectivity is transitive:
//! n3 hears from everyone, so it may help elect a leader that half of the cluster never hears.
//!
//! The check happens when a message would be *delivered*, not when it is sent: a message in
//! flight when the link is cut is lost, and one sent before a heal but arriving after it gets
//! through. That matches what a real network does to packets in its queues.
//!
//! Invariant: `sides` has one entry per node, and `Display` lists each side in node order, so
//! the same partition always prints the same line.

use std::fmt;

use distributed_core::{NodeId, Rng, SeededRng};

/// Which side of a partition a node is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// The first listed group.
    A,
    /// The second listed group.
    B,
    /// Reaches, and is reached by, both groups.
    Bridge,
}

/// One partition of the cluster's nodes `n1..=nN`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// The side of node `n(i+1)` at position `i`: a flat array so that the per-delivery check
    /// is two loads and a compare. The road not taken: a set of cut links, which would make
    /// the check a lookup and the Display a reconstruction.
    sides: Vec<Side>,
}

impl Partition {
    /// Nodes in `a` on one side, every other node of `n1..=n{nodes}` on the other.
    pub fn split(nodes: usize, a: &[NodeId]) -> Partition {
        let mut sides = vec![Side::B; nodes];
        for id in a {
            sides[index(*id, nodes)] = Side::A;
        }
        Partition { sides }
    }

    /// `a` and `b` can only talk through `bridge`. Nodes in neither list join `b`.
    pub fn bridge(nodes: usize, a: &[NodeId], bridge: NodeId) -> Partition {
        let mut p = Partition::split(nodes, a);
        p.sides[index(bridge, nodes)] = Side::Bridge;
        p
    }

    /// The current leader alone against everyone else.
    pub fn isolate(nodes: usize, node: NodeId) -> Partition {
        Partition::split(nodes, &[node])
    }

    /// A random minority (at least one node, fewer than half) cut off from the rest.
    pub fn random_minority(nodes: usize, rng: &mut SeededRng) -> Partition {
        let minority = ((nodes - 1) / 2).max(1);
        let k = rng.range(1, minority as u64 + 1) as usize;
        Partition::split(nodes, &shuffled(nodes, rng)[..k])
    }

    /// Split brain: a random half (rounded down) against the other half.
    pub fn halves(nodes: usize, rng: &mut SeededRng) -> Partition {
        let k = (nodes / 2).max(1);
        Partition::split(nodes, &shuffled(nodes, rng)[..k])
    }

    /// A random bridge node, with the remaining nodes shuffled into two halves.
    pub fn random_bridge(nodes: usize, rng: &mut SeededRng) -> Partition {
        let order = shuffled(nodes, rng);
        let rest = &order[1..];
        let k = (rest.len() / 2).max(1).min(rest.len());
        Partition::bridge(nodes, &rest[..k], order[0])
    }

    /// Can a message from `from` reach `to` while this partition stands?
    pub fn connected(&self, from: NodeId, to: NodeId) -> bool {
        let a = self.side(from);
        let b = self.side(to);
        a == b || a == Side::Bridge || b == Side::Bridge
    }

    /// Number of nodes this partition covers.
    pub fn nodes(&self) -> usize {
        self.sides.len()
    }

    fn side(&self, id: NodeId) -> Side {
        // Ids outside the cluster sit on no side: treat them as cut off from everyone.
        match (id.0 as usize)
            .checked_sub(1)
            .and_then(|i| self.sides.get(i))
        {
            Some(s) => *s,
            None => Side::A,
        }
    }

    fn write_side(&self, f: &mut fmt::Formatter<'_>, side: Side) -> fmt::Result {
        f.write_str("{")?;
        let mut first = true;
        for (i, s) in self.sides.iter().enumerate() {
            if *s == side {
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                write!(f, "n{}", i + 1)?;
            }
        }
        f.write_str("}")
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_side(f, Side::A)?;
        f.write_str(" | ")?;
        self.write_side(f, Side::B)?;
        if let Some(i) = self.sides.iter().position(|s| *s == Side::Bridge) {
            write!(f, " bridge=n{}", i + 1)?;
        }
        Ok(())
    }
}

fn index(id: NodeId, nodes: usize) -> usize {
    let i = id.0 as usize;
    assert!(
        i >= 1 && i <= nodes,
        "partition names {id}, outside n1..=n{nodes}"
    );
    i - 1
}

/// The ids `n1..=nN` in a seed-decided order (Fisher–Yates).
fn shuffled(nodes: usize, rng: &mut SeededRng) -> Vec<NodeId> {
    let mut ids: Vec<NodeId> = (1..=nodes as u64).map(NodeId).collect();
    for i in (1..ids.len()).rev() {
        let j = rng.range(0, i as u64 + 1) as usize;
        ids.swap(i, j);
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[u64]) -> Vec<NodeId> {
        v.iter().copied().map(NodeId).collect()
    }

    #[test]
    fn a_split_prints_both_sides_in_node_order() {
        let p = Partition::split(5, &ids(&[2, 1]));
        assert_eq!(p.to_string(), "{n1,n2} | {n3,n4,n5}");
    }

    #[test]
    fn nodes_on_different_sides_cannot_talk() {
        let p = Partition::split(5, &ids(&[1, 2]));
        assert!(p.connected(NodeId(1), NodeId(2)));
        assert!(p.connected(NodeId(4), NodeId(3)));
        assert!(!p.connected(NodeId(1), NodeId(3)));
        assert!(!p.connected(NodeId(5), NodeId(2)));
    }

    #[test]
    fn a_bridge_node_reaches_both_halves_but_the_halves_do_not_reach_each_other() {
        let p = Partition::bridge(5, &ids(&[1, 2]), NodeId(3));
        assert_eq!(p.to_string(), "{n1,n2} | {n4,n5} bridge=n3");
        assert!(p.connected(NodeId(1), NodeId(3)));
        assert!(p.connected(NodeId(3), NodeId(5)));
        assert!(!p.connected(NodeId(1), NodeId(5)));
    }

    #[test]
    fn random_shapes_leave_both_sides_non_empty() {
        let mut rng = SeededRng::new(11);
        for _ in 0..200 {
            for p in [
                Partition::random_minority(5, &mut rng),
                Partition::halves(5, &mut rng),
                Partition::random_bridge(5, &mut rng),
            ] {
                assert!(p.sides.contains(&Side::A), "{p}");
                assert!(p.sides.contains(&Side::B), "{p}");
            }
        }
    }
}
