//! The Merkle tree of one key range (DeCandia et al. §4.7; Merkle 1987): a fixed-depth binary
//! tree over key-hash buckets, so two replicas compare a whole range with one hash and find the
//! keys that differ in `DEPTH` round trips, exchanging hashes only where they differ.
//!
//! ```text
//!   level 0                       root = H(h0 ‖ h1)
//!   level 1              h0 = H(..)              h1 = H(..)
//!   ...                   ...                      ...
//!   level DEPTH   leaf 0   leaf 1   ...  leaf 15       leaf l = H(key ‖ H(version) for every
//!                                                      key of the range in bucket l, key order)
//!   node i of level d has children 2i and 2i+1 of level d+1
//!   an empty subtree hashes to 0, so two empty ranges agree without hashing anything
//! ```
//!
//! Hashes are SHA-256 truncated to 64 bits: a collision would hide one divergent bucket from
//! one exchange (odds 2^-64), where Dynamo keeps full digests; the road not taken for messages
//! a learner can read. A key's bucket is the low bits of its ring position (ring.rs), so keys
//! spread evenly over the leaves.
//!
//! Built from the store on demand and cached per range until a write to the range (node.rs);
//! the road not taken is updating the path from one leaf to the root on every write, which is
//! what a store with millions of keys per range would need.
//!
//! Invariants: `levels[d]` has `2^d` hashes; a parent is 0 exactly when both children are.

use sha2::{Digest, Sha256};

use crate::client::Key;
use crate::quorum::version::Version;

/// Levels below the root: the tree has `2^DEPTH` leaves.
pub const DEPTH: u8 = 4;

/// Buckets (leaves) per range.
pub const LEAVES: u32 = 1 << DEPTH;

/// The hash tree of one range at one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleTree {
    /// `levels[d][i]`: the hash of node `i` at depth `d`; `levels[DEPTH]` are the leaves.
    levels: Vec<Vec<u64>>,
}

/// The first 8 bytes of a SHA-256 digest, never 0 (0 stands for empty).
fn truncate(hasher: Sha256) -> u64 {
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first).max(1)
}

impl MerkleTree {
    /// The tree over `entries`: `(key, leaf, version)` of every key in the range, in key order.
    pub fn build<'a>(entries: impl Iterator<Item = (&'a Key, u32, &'a Version)>) -> MerkleTree {
        let mut leaves: Vec<Option<Sha256>> = (0..LEAVES).map(|_| None).collect();
        for (key, leaf, version) in entries {
            assert!(leaf < LEAVES, "leaf {leaf} out of the tree");
            let hasher = leaves[leaf as usize].get_or_insert_with(Sha256::new);
            hasher.update((key.len() as u32).to_be_bytes());
            hasher.update(key.as_bytes());
            let mut of_version = Sha256::new();
            version.digest_into(&mut of_version);
            hasher.update(of_version.finalize());
        }
        let mut levels = vec![leaves.into_iter().map(|h| h.map_or(0, truncate)).collect()];
        for _ in 0..DEPTH {
            let below: &Vec<u64> = levels.last().expect("at least the leaves");
            let above = below
                .chunks(2)
                .map(|pair| parent(pair[0], pair[1]))
                .collect();
            levels.push(above);
        }
        levels.reverse();
        let tree = MerkleTree { levels };
        for (d, level) in tree.levels.iter().enumerate() {
            assert_eq!(level.len(), 1 << d, "level {d} has 2^{d} nodes");
        }
        tree
    }

    /// The hash of node `index` at `level`, or `None` if there is no such node.
    pub fn hash(&self, level: u8, index: u32) -> Option<u64> {
        self.levels
            .get(level as usize)?
            .get(index as usize)
            .copied()
    }

    /// The root hash: 0 for a range with no keys.
    pub fn root(&self) -> u64 {
        self.levels[0][0]
    }

    /// The two children of node `index` (at the level below).
    pub fn children(index: u32) -> [u32; 2] {
        [2 * index, 2 * index + 1]
    }
}

fn parent(left: u64, right: u64) -> u64 {
    if left == 0 && right == 0 {
        return 0;
    }
    let mut hasher = Sha256::new();
    hasher.update(left.to_be_bytes());
    hasher.update(right.to_be_bytes());
    truncate(hasher)
}

#[cfg(test)]
mod tests {
    use distributed_core::NodeId;

    use super::*;

    fn v(value: &str) -> Version {
        Version::dvv_put(None, value.into(), NodeId(1)).unwrap()
    }

    fn tree(entries: &[(&str, u32, &Version)]) -> MerkleTree {
        let owned: Vec<(Key, u32, Version)> = entries
            .iter()
            .map(|(k, l, v)| (k.to_string(), *l, (*v).clone()))
            .collect();
        MerkleTree::build(owned.iter().map(|(k, l, v)| (k, *l, v)))
    }

    #[test]
    fn an_empty_range_hashes_to_zero_everywhere() {
        let t = tree(&[]);
        assert_eq!(t.root(), 0);
        assert_eq!(t.hash(DEPTH, LEAVES - 1), Some(0));
        assert_eq!(t.hash(DEPTH, LEAVES), None);
        assert_eq!(t.hash(DEPTH + 1, 0), None);
    }

    #[test]
    fn one_differing_key_changes_exactly_the_path_from_its_leaf_to_the_root() {
        let (a, b, c) = (v("a"), v("b"), v("c"));
        let left = tree(&[("x", 3, &a), ("y", 9, &b)]);
        let right = tree(&[("x", 3, &a), ("y", 9, &c)]);
        assert_ne!(left.root(), right.root());
        for level in 0..=DEPTH {
            let on_path = 9 >> (DEPTH - level);
            for i in 0..(1u32 << level) {
                let same = left.hash(level, i) == right.hash(level, i);
                assert_eq!(same, i != on_path, "level {level} node {i}");
            }
        }
    }

    #[test]
    fn the_same_keys_and_versions_give_the_same_tree() {
        let (a, b) = (v("a"), v("b"));
        assert_eq!(
            tree(&[("x", 3, &a), ("y", 3, &b)]),
            tree(&[("x", 3, &a), ("y", 3, &b)])
        );
        assert_eq!(MerkleTree::children(5), [10, 11]);
    }
}
