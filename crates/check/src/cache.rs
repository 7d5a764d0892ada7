//! The search's memory: which (set of linearized operations, model state) pairs were seen.
//!
//! Lowe's observation (*Testing for linearizability*, 2017, §4) that makes Wing & Gong's search
//! practical: two search paths that linearized the *same set* of operations and reached the
//! *same state* have the same future, so the second one can be cut. The cache holds those pairs.
//!
//! ```text
//!   path A: put(x) get->x put(y)   ─┐
//!                                    ├─► linearized {0,1,2}, state "y"  → explore once
//!   path B: put(x) put(y)?? ...     ─┘   (B differs in order, not in future)
//! ```
//!
//! The set is a bitset over the partition's operations. Its hash is kept up to date as bits
//! flip (Zobrist hashing: XOR of one random word per set bit), so probing costs O(1) plus the
//! state's hash, and only a true hash match compares whole bitsets.
//!
//! The road not taken: `HashSet<(Vec<u64>, State)>`, which must clone the bitset and the state
//! just to ask whether they are present; a probe here clones nothing and inserts only on a miss.
//! Std's `HashMap` is fine here: the checker is not a protocol crate, and the cache is only ever
//! probed, never iterated, so its order cannot reach any output.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A fixed-size set of operation indices with an incrementally maintained hash.
#[derive(Clone, Debug)]
pub struct Bitset {
    /// One bit per operation of the partition, 64 to a word.
    words: Vec<u64>,
    /// XOR of `zobrist(i)` over the set bits: the set's hash, updated in O(1) per flip.
    hash: u64,
}

impl Bitset {
    /// An empty set able to hold indices `0..len`.
    pub fn new(len: usize) -> Self {
        Bitset {
            words: vec![0; len.div_ceil(64)],
            hash: 0,
        }
    }

    /// Add `i` (which must be absent).
    pub fn set(&mut self, i: usize) {
        let (w, b) = (i / 64, 1u64 << (i % 64));
        assert!(self.words[w] & b == 0, "bit {i} set twice");
        self.words[w] |= b;
        self.hash ^= zobrist(i);
    }

    /// Whether `i` is in the set.
    pub fn contains(&self, i: usize) -> bool {
        self.words[i / 64] & (1u64 << (i % 64)) != 0
    }

    /// Remove `i` (which must be present).
    pub fn clear(&mut self, i: usize) {
        let (w, b) = (i / 64, 1u64 << (i % 64));
        assert!(self.words[w] & b != 0, "bit {i} cleared twice");
        self.words[w] &= !b;
        self.hash ^= zobrist(i);
    }
}

/// A fixed pseudo-random word per index (SplitMix64 of the index): deterministic across runs.
fn zobrist(i: usize) -> u64 {
    let mut z = (i as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A multiply-rotate hasher (the FxHash recipe) for model states: fast, and hash flooding is
/// not a threat to a checker reading its own histories.
#[derive(Default)]
pub struct FastHasher {
    /// The running hash.
    hash: u64,
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.hash = (self.hash.rotate_left(5) ^ n).wrapping_mul(0x51_7C_C1_B7_27_22_0A_95);
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A hasher for keys that are already hashes: passes the `u64` through.
#[derive(Default)]
pub struct IdentityHasher {
    /// The key itself.
    hash: u64,
}

impl Hasher for IdentityHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with this hasher; fold anything else in defensively.
        for &b in bytes {
            self.hash = self.hash.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.hash = n;
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// The (bitset words, state) pairs whose combined hash is equal.
type Bucket<S> = Vec<(Vec<u64>, S)>;

/// The set of (linearized set, state) pairs already explored.
pub struct Cache<S> {
    /// Combined hash → every pair with that hash (almost always exactly one).
    buckets: HashMap<u64, Bucket<S>, BuildHasherDefault<IdentityHasher>>,
    /// How many pairs are stored: the search's memory use, reported in its stats.
    len: usize,
}

impl<S: Clone + Eq + Hash> Cache<S> {
    /// An empty cache.
    pub fn new() -> Self {
        Cache {
            buckets: HashMap::default(),
            len: 0,
        }
    }

    /// Record `(set, state)`; returns `false` if it was already there (the path can be cut).
    pub fn insert(&mut self, set: &Bitset, state: &S) -> bool {
        let mut h = FastHasher::default();
        state.hash(&mut h);
        let key = h.finish() ^ set.hash;
        let bucket = self.buckets.entry(key).or_default();
        if bucket
            .iter()
            .any(|(words, s)| *words == set.words && s == state)
        {
            return false;
        }
        bucket.push((set.words.clone(), state.clone()));
        self.len += 1;
        true
    }

    /// How many pairs are stored.
    pub fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_is_new_once_and_then_known() {
        let mut cache = Cache::new();
        let mut set = Bitset::new(70);
        set.set(3);
        set.set(69);
        assert!(cache.insert(&set, &"x".to_string()));
        assert!(!cache.insert(&set, &"x".to_string()));
        assert!(cache.insert(&set, &"y".to_string()));
        set.clear(69);
        assert!(cache.insert(&set, &"x".to_string()));
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn the_set_hash_depends_only_on_the_members_not_the_order_they_came_in() {
        let mut a = Bitset::new(10);
        let mut b = Bitset::new(10);
        a.set(1);
        a.set(7);
        b.set(7);
        b.set(1);
        assert_eq!(a.hash, b.hash);
        a.clear(7);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    #[should_panic(expected = "set twice")]
    fn setting_a_bit_twice_is_a_broken_invariant() {
        let mut a = Bitset::new(4);
        a.set(2);
        a.set(2);
    }
}
