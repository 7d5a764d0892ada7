//! What a key holds: one of Redis' five core types, each in an ordered container so that
//! iteration, snapshots and digests are the same on every replica.
//!
//! ```text
//!   Value::Str(bytes)                  GET SET APPEND INCR …
//!   Value::Hash(field → value)         HSET HGET HGETALL …      BTreeMap: fields in byte order
//!   Value::List(deque of elements)     LPUSH RPOP LRANGE …      VecDeque: O(1) at both ends
//!   Value::Set(members)                SADD SMEMBERS …          BTreeSet: members in byte order
//!   Value::ZSet(member → score,        ZADD ZRANGE ZSCORE …     two indexes kept in step
//!               (score, member) order)
//! ```
//!
//! Redis iterates hashes and sets in hash-table order, which differs between two servers; here
//! the order is the bytes' order on every replica. Replies that Redis documents as unordered
//! (`HGETALL`, `SMEMBERS`) are therefore sorted, which every Redis client accepts.
//!
//! Invariants: a container value is never empty (the last element removed deletes the key, as
//! in Redis); a sorted set's two indexes hold exactly the same (member, score) pairs; no score
//! is NaN (commands refuse one before it reaches here).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;

use bytes::Bytes;

/// The value under one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A byte string (also what integers and floats are stored as, in their text form).
    Str(Bytes),
    /// Field → value.
    Hash(BTreeMap<Bytes, Bytes>),
    /// A sequence, pushed and popped at both ends.
    List(VecDeque<Bytes>),
    /// Distinct members.
    Set(BTreeSet<Bytes>),
    /// Members ordered by score, then by member bytes.
    ZSet(ZSet),
}

impl Value {
    /// The type's name as `TYPE` answers it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// True for a container with nothing left in it: the key must be deleted.
    pub fn is_empty_container(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }
}

/// A sorted-set score: an `f64` that is never NaN, ordered totally, with `-0.0` stored as `0.0`
/// (Redis treats them as one score).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(f64);

impl Score {
    /// A score, or `None` for NaN.
    pub fn new(value: f64) -> Option<Score> {
        if value.is_nan() {
            return None;
        }
        Some(Score(if value == 0.0 { 0.0 } else { value }))
    }

    /// The number.
    pub fn get(self) -> f64 {
        self.0
    }

    /// The smallest score above this one; `None` above the largest (`inf`). Stepping the bits
    /// by one is the next `f64` for every non-NaN value (`f64::next_up`, newer than our MSRV).
    fn next_above(self) -> Option<Score> {
        let x = self.0;
        let next = if x == f64::INFINITY {
            return None;
        } else if x == 0.0 {
            f64::from_bits(1)
        } else if x > 0.0 {
            f64::from_bits(x.to_bits() + 1)
        } else {
            f64::from_bits(x.to_bits() - 1)
        };
        Score::new(next)
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A sorted set: members by score, with a member → score index for `ZSCORE` and updates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZSet {
    /// Member → its score.
    scores: BTreeMap<Bytes, Score>,
    /// (score, member), the order `ZRANGE` walks.
    ordered: BTreeSet<(Score, Bytes)>,
}

impl ZSet {
    /// An empty sorted set.
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// True with no members.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// A member's score.
    pub fn score(&self, member: &[u8]) -> Option<Score> {
        self.scores.get(member).copied()
    }

    /// Set `member`'s score; returns the previous one.
    pub fn insert(&mut self, member: Bytes, score: Score) -> Option<Score> {
        let old = self.scores.insert(member.clone(), score);
        if let Some(old) = old {
            self.ordered.remove(&(old, member.clone()));
        }
        self.ordered.insert((score, member));
        old
    }

    /// Remove `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<Score> {
        let (member, score) = self.scores.remove_entry(member)?;
        self.ordered.remove(&(score, member));
        Some(score)
    }

    /// Members in (score, member) order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Bytes, Score)> + '_ {
        self.ordered.iter().map(|(s, m)| (m, *s))
    }

    /// Members in byte order from the first one `>= from`, with their scores (`ZSCAN`).
    pub fn members_from<'a>(
        &'a self,
        from: &'a [u8],
    ) -> impl Iterator<Item = (&'a Bytes, Score)> + 'a {
        self.scores
            .range::<[u8], _>((Bound::Included(from), Bound::Unbounded))
            .map(|(m, s)| (m, *s))
    }

    /// Remove and return the member with the lowest (score, member).
    pub fn pop_first(&mut self) -> Option<(Bytes, Score)> {
        let (score, member) = self.ordered.pop_first()?;
        self.scores.remove(&member);
        Some((member, score))
    }

    /// Remove and return the member with the highest (score, member).
    pub fn pop_last(&mut self) -> Option<(Bytes, Score)> {
        let (score, member) = self.ordered.pop_last()?;
        self.scores.remove(&member);
        Some((member, score))
    }

    /// A member's 0-based position in (score, member) order. O(rank): a `BTreeSet` keeps no
    /// subtree counts. The road not taken: Redis' skiplist with spans (O(log n) ranks), which
    /// std does not have.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let key = (score, Bytes::copy_from_slice(member));
        Some(self.ordered.range(..key).count())
    }

    /// The members whose score lies in `range`, in (score, member) order, from either end.
    pub fn range_by_score(
        &self,
        range: ScoreRange,
    ) -> impl DoubleEndedIterator<Item = (&Bytes, Score)> + '_ {
        // (score, b"") is the smallest pair with that score, so every bound is a pair with an
        // empty member: "above s" starts at the next representable score.
        let low = match (range.min_exclusive, range.min) {
            (false, s) => Some(s),
            (true, s) => s.next_above(),
        };
        let high = match (range.max_exclusive, range.max) {
            (true, s) => Bound::Excluded((s, Bytes::new())),
            (false, s) => s
                .next_above()
                .map_or(Bound::Unbounded, |n| Bound::Excluded((n, Bytes::new()))),
        };
        let ordered = low.filter(|low| match &high {
            Bound::Excluded((high, _)) => low <= high,
            _ => true,
        });
        ordered
            .map(|low| {
                self.ordered
                    .range((Bound::Included((low, Bytes::new())), high))
            })
            .into_iter()
            .flatten()
            .map(|(s, m)| (m, *s))
    }
}

/// A score interval as `ZRANGEBYSCORE` takes it: `1.5` includes 1.5, `(1.5` excludes it,
/// `-inf` and `+inf` are the open ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    /// The lower end.
    pub min: Score,
    /// True for `(min`: the lower end itself is outside.
    pub min_exclusive: bool,
    /// The upper end.
    pub max: Score,
    /// True for `(max`.
    pub max_exclusive: bool,
}

impl ScoreRange {
    /// True if `score` lies inside.
    pub fn contains(&self, score: Score) -> bool {
        let above = if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        };
        let below = if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        };
        above && below
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn a_sorted_set_orders_by_score_then_member_and_keeps_its_indexes_in_step() {
        let mut z = ZSet::new();
        z.insert(b("b"), Score::new(1.0).unwrap());
        z.insert(b("a"), Score::new(1.0).unwrap());
        z.insert(b("c"), Score::new(-2.5).unwrap());
        let order: Vec<&[u8]> = z.iter().map(|(m, _)| m.as_ref()).collect();
        assert_eq!(order, [&b"c"[..], b"a", b"b"]);
        assert_eq!(
            z.insert(b("c"), Score::new(9.0).unwrap()).map(Score::get),
            Some(-2.5)
        );
        assert_eq!(z.iter().last().map(|(m, _)| m.clone()), Some(b("c")));
        assert_eq!(z.remove(b"a").map(Score::get), Some(1.0));
        assert_eq!((z.len(), z.ordered.len()), (2, 2));
    }

    fn zset(pairs: &[(f64, &'static str)]) -> ZSet {
        let mut z = ZSet::new();
        for (s, m) in pairs {
            z.insert(b(m), Score::new(*s).unwrap());
        }
        z
    }

    fn range(min: f64, min_exclusive: bool, max: f64, max_exclusive: bool) -> ScoreRange {
        ScoreRange {
            min: Score::new(min).unwrap(),
            min_exclusive,
            max: Score::new(max).unwrap(),
            max_exclusive,
        }
    }

    #[test]
    fn score_ranges_honour_exclusive_ends_infinities_and_empty_intervals() {
        let z = zset(&[(1.0, "a"), (1.0, "b"), (2.0, "c"), (f64::INFINITY, "d")]);
        let members = |r: ScoreRange| -> Vec<&[u8]> {
            z.range_by_score(r).map(|(m, _)| m.as_ref()).collect()
        };
        assert_eq!(
            members(range(1.0, false, 2.0, false)),
            [&b"a"[..], b"b", b"c"]
        );
        assert_eq!(members(range(1.0, true, 2.0, false)), [&b"c"[..]]);
        assert_eq!(members(range(1.0, false, 2.0, true)), [&b"a"[..], b"b"]);
        assert_eq!(
            members(range(f64::NEG_INFINITY, false, f64::INFINITY, false)).len(),
            4
        );
        assert_eq!(members(range(2.0, true, f64::INFINITY, false)), [&b"d"[..]]);
        assert!(members(range(f64::INFINITY, true, f64::INFINITY, false)).is_empty());
        assert!(
            members(range(2.0, false, 1.0, false)).is_empty(),
            "min above max"
        );
        assert!(members(range(1.0, true, 1.0, true)).is_empty());
        let backwards: Vec<&[u8]> = z
            .range_by_score(range(1.0, false, 2.0, false))
            .rev()
            .map(|(m, _)| m.as_ref())
            .collect();
        assert_eq!(backwards, [&b"c"[..], b"b", b"a"]);
    }

    #[test]
    fn ranks_pops_and_member_order_walks_agree_with_the_indexes() {
        let mut z = zset(&[(3.0, "a"), (1.0, "b"), (2.0, "c")]);
        assert_eq!(z.rank(b"b"), Some(0));
        assert_eq!(z.rank(b"a"), Some(2));
        assert_eq!(z.rank(b"zz"), None);
        let by_member: Vec<&[u8]> = z.members_from(b"b").map(|(m, _)| m.as_ref()).collect();
        assert_eq!(by_member, [&b"b"[..], b"c"]);
        assert_eq!(z.pop_first().map(|(m, _)| m), Some(b("b")));
        assert_eq!(z.pop_last().map(|(m, _)| m), Some(b("a")));
        assert_eq!((z.len(), z.ordered.len(), z.score(b"a")), (1, 1, None));
    }

    #[test]
    fn nan_is_not_a_score_and_negative_zero_is_zero() {
        assert!(Score::new(f64::NAN).is_none());
        assert_eq!(Score::new(-0.0), Score::new(0.0));
        assert_eq!(Score::new(-0.0).unwrap().get().to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn emptied_containers_say_so_and_strings_never_do() {
        assert!(Value::Set(BTreeSet::new()).is_empty_container());
        assert!(!Value::Str(Bytes::new()).is_empty_container());
        assert_eq!(Value::ZSet(ZSet::new()).type_name(), "zset");
    }
}
