//! The consistent-hashing ring and each key's preference list (DeCandia et al. §4.2, §4.3),
//! in the smallest deterministic form that shows the idea.
//!
//! ```text
//!   positions are the first 8 bytes of SHA-256 (the paper: MD5), as a u64 around a circle
//!
//!          token n3 ●───────────● token n1          a key at position p belongs to the
//!                 ╱    range r0  ╲                  range ending at the first token
//!                ╱  key x ×       ╲                 clockwise from p: here r1 (n1's)
//!        token n4 ●                ● token n2
//!                 ╲                ╱               its preference list walks on from there:
//!                  ╲──────────────╱                home = first N distinct nodes  [n1 n2 n4]
//!                                                   fallbacks = the rest, in order [n3]
//! ```
//!
//! Every key of one range has the same preference list, so a range is also the unit of the
//! Merkle trees (§4.7): a node keeps one tree per range it is a home node of. A key's *leaf* in
//! that tree comes from the low bits of the same position.
//!
//! Fixed membership and `tokens_per_node` virtual nodes per node (§4.2's first refinement);
//! tokens placed by hashing `n<id>#<k>`. The placement crate of issue 17 (rendezvous, jump,
//! Maglev, bounded loads, joins and leaves) replaces this; the road not taken here is any of
//! them, to keep the quorum lesson about quorums.
//!
//! Invariants (asserted in `new`): every walk names every node exactly once, so the home list
//! has N distinct nodes and the fallbacks are all the others; tokens are sorted.

use std::fmt;

use distributed_core::NodeId;
use sha2::{Digest, Sha256};

/// A key range: the index of the token that ends it, in ring order.
pub type RangeId = u32;

/// Where a key lives: its range, and its leaf in that range's Merkle tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// The range whose preference list stores the key.
    pub range: RangeId,
    /// The key's leaf (bucket) in the range's Merkle tree.
    pub leaf: u32,
}

/// The ring: every node's tokens, and every range's walk of the nodes.
#[derive(Clone, Debug)]
pub struct Ring {
    /// `(position, owner)`, sorted by position.
    tokens: Vec<(u64, NodeId)>,
    /// Per range: every node once, in ring order from the range's token. The first N are the
    /// home nodes, the rest the fallbacks a sloppy quorum walks on to.
    walks: Vec<Vec<NodeId>>,
    /// N.
    replicas: usize,
}

/// A position on the ring: the first 8 bytes of SHA-256, big-endian.
pub fn position(bytes: &[u8]) -> u64 {
    let digest = Sha256::digest(bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

impl Ring {
    /// The ring of `nodes`, each with `tokens_per_node` tokens, storing each key on `replicas`.
    pub fn new(nodes: &[NodeId], tokens_per_node: usize, replicas: usize) -> Ring {
        assert!(replicas >= 1 && replicas <= nodes.len(), "validated config");
        let mut tokens: Vec<(u64, NodeId)> = nodes
            .iter()
            .flat_map(|&n| {
                (0..tokens_per_node).map(move |k| (position(format!("{n}#{k}").as_bytes()), n))
            })
            .collect();
        tokens.sort();
        let walks = (0..tokens.len())
            .map(|start| walk_from(&tokens, start, nodes.len()))
            .collect();
        let ring = Ring {
            tokens,
            walks,
            replicas,
        };
        for walk in &ring.walks {
            let mut sorted = walk.clone();
            sorted.sort();
            let mut all = nodes.to_vec();
            all.sort();
            assert_eq!(sorted, all, "a walk names every node once");
        }
        ring
    }

    /// How many ranges there are (one per token).
    pub fn ranges(&self) -> RangeId {
        self.tokens.len() as RangeId
    }

    /// Where `key` lives.
    pub fn place(&self, key: &str) -> Place {
        let p = position(key.as_bytes());
        let next = self.tokens.partition_point(|&(t, _)| t < p);
        Place {
            range: (next % self.tokens.len()) as RangeId,
            leaf: (p as u32) & (crate::quorum::merkle::LEAVES - 1),
        }
    }

    /// The N home nodes of `range`, first one first (the preference list's top N).
    pub fn home(&self, range: RangeId) -> &[NodeId] {
        &self.walks[range as usize][..self.replicas]
    }

    /// The nodes after the home nodes, in ring order: the stand-ins of a sloppy quorum.
    pub fn fallbacks(&self, range: RangeId) -> &[NodeId] {
        &self.walks[range as usize][self.replicas..]
    }

    /// Is `node` a home node of `range`?
    pub fn is_home(&self, range: RangeId, node: NodeId) -> bool {
        self.home(range).contains(&node)
    }

    /// The ranges `node` is a home node of, in ring order.
    pub fn ranges_of(&self, node: NodeId) -> Vec<RangeId> {
        (0..self.ranges())
            .filter(|&r| self.is_home(r, node))
            .collect()
    }
}

/// Every node once, walking the tokens clockwise from `start`.
fn walk_from(tokens: &[(u64, NodeId)], start: usize, nodes: usize) -> Vec<NodeId> {
    let mut walk: Vec<NodeId> = Vec::with_capacity(nodes);
    for k in 0..tokens.len() {
        let owner = tokens[(start + k) % tokens.len()].1;
        if !walk.contains(&owner) {
            walk.push(owner);
        }
    }
    walk
}

/// One line per range: `r0 ..3fa2 home=[n1 n2 n3] fallbacks=[n4]` (the token's top 16 bits).
impl fmt::Display for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |ns: &[NodeId]| {
            ns.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        for (r, (token, owner)) in self.tokens.iter().enumerate() {
            if r > 0 {
                writeln!(f)?;
            }
            let r = r as RangeId;
            write!(
                f,
                "r{r} ..{:04x} ({owner}) home=[{}] fallbacks=[{}]",
                token >> 48,
                names(self.home(r)),
                names(self.fallbacks(r))
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u64) -> Vec<NodeId> {
        (1..=n).map(NodeId).collect()
    }

    #[test]
    fn every_preference_list_has_n_distinct_home_nodes_and_every_other_node_after_them() {
        // §4.3: "the preference list ... contains only distinct physical nodes".
        for tokens in [1, 3, 8] {
            let ring = Ring::new(&ids(5), tokens, 3);
            assert_eq!(ring.ranges() as usize, 5 * tokens);
            for r in 0..ring.ranges() {
                assert_eq!(ring.home(r).len(), 3);
                assert_eq!(ring.fallbacks(r).len(), 2);
            }
        }
    }

    #[test]
    fn a_key_always_lands_in_the_same_place() {
        let ring = Ring::new(&ids(4), 2, 3);
        let again = Ring::new(&ids(4), 2, 3);
        for key in ["x", "y", "cart:alice", ""] {
            assert_eq!(ring.place(key), again.place(key));
            assert!(ring.place(key).leaf < crate::quorum::merkle::LEAVES);
        }
    }

    #[test]
    fn a_key_belongs_to_the_first_token_clockwise_from_its_position() {
        let ring = Ring::new(&ids(4), 1, 2);
        for key in ["a", "b", "c", "d", "e", "f"] {
            let p = position(key.as_bytes());
            let r = ring.place(key).range as usize;
            let token = ring.tokens[r].0;
            let previous = ring.tokens[(r + ring.tokens.len() - 1) % ring.tokens.len()].0;
            let inside = if previous < token {
                previous < p && p <= token
            } else {
                p > previous || p <= token
            };
            assert!(inside, "{key} at {p:x} is not in r{r}");
        }
    }

    #[test]
    fn with_n_equal_to_the_nodes_every_node_is_home_for_every_range() {
        let ring = Ring::new(&ids(3), 1, 3);
        for n in ids(3) {
            assert_eq!(ring.ranges_of(n), vec![0, 1, 2]);
        }
    }
}
