//! Merge-join of two sorted maps: the one loop under every `compare` and `merge` here.
//!
//! Vectors, G-Counters and OR-Sets are `BTreeMap`s, so both sides of a merge iterate in key
//! order. Walking them side by side visits each key once, in order, with what each side holds:
//!
//! ```text
//!   left  n1:3  n2:1           ──►  (n1, Both(3, 2))  (n2, Left(1))  (n3, Right(1))
//!   right n1:2        n3:1
//! ```
//!
//! The road not taken: for each key of one side, look it up in the other (`O(n log m)`, and a
//! cache miss per lookup). The OR-Set also builds its merged map from the join's sorted output
//! in one pass (`collect` into a `BTreeMap` bulk-loads sorted pairs); counters count the union
//! with it, then merge in place, since between replicas that mostly agree few entries change.
//! Invariant: keys come out strictly ascending, each once.

use std::cmp::Ordering;
use std::collections::btree_map;
use std::collections::BTreeMap;
use std::iter::Peekable;

/// What the two maps hold for one key.
pub(crate) enum Side<'a, V> {
    /// Only the left map has the key.
    Left(&'a V),
    /// Only the right map has the key.
    Right(&'a V),
    /// Both have it.
    Both(&'a V, &'a V),
}

/// The keys of two maps in ascending order, each with what each side holds.
pub(crate) struct MergeJoin<'a, K, V> {
    /// The left map's entries not yet visited.
    left: Peekable<btree_map::Iter<'a, K, V>>,
    /// The right map's entries not yet visited.
    right: Peekable<btree_map::Iter<'a, K, V>>,
}

/// Walks `left` and `right` side by side.
pub(crate) fn merge_join<'a, K: Ord, V>(
    left: &'a BTreeMap<K, V>,
    right: &'a BTreeMap<K, V>,
) -> MergeJoin<'a, K, V> {
    MergeJoin {
        left: left.iter().peekable(),
        right: right.iter().peekable(),
    }
}

impl<'a, K: Ord, V> Iterator for MergeJoin<'a, K, V> {
    type Item = (&'a K, Side<'a, V>);

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.left.peek(), self.right.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((l, _)), Some((r, _))) => l.cmp(r),
        };
        match order {
            Ordering::Less => self.left.next().map(|(k, v)| (k, Side::Left(v))),
            Ordering::Greater => self.right.next().map(|(k, v)| (k, Side::Right(v))),
            Ordering::Equal => {
                let (k, l) = self.left.next()?;
                let (_, r) = self.right.next()?;
                Some((k, Side::Both(l, r)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_either_map_comes_once_in_order_with_both_sides() {
        let a = BTreeMap::from([(1, 'a'), (2, 'b'), (5, 'e')]);
        let b = BTreeMap::from([(2, 'B'), (3, 'C')]);
        let seen: Vec<String> = merge_join(&a, &b)
            .map(|(k, side)| match side {
                Side::Left(v) => format!("{k}:{v}-"),
                Side::Right(v) => format!("{k}:-{v}"),
                Side::Both(l, r) => format!("{k}:{l}{r}"),
            })
            .collect();
        assert_eq!(seen, ["1:a-", "2:bB", "3:-C", "5:e-"]);
    }
}
