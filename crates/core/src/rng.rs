//! The seeded random number generator every protocol and the simulator share.
//!
//! Randomness is *injected*: a protocol receives a [`SeededRng`] when it is built and draws from it
//! for randomized election timeouts, gossip targets and the like. Given the same seed, it makes
//! the same draws, so a simulator run replays bit for bit.
//!
//! Behind the trait is `rand_xoshiro`'s Xoshiro256++: small state, fast, good statistical quality,
//! and a documented, stable output sequence. The road not taken: ChaCha (cryptographic strength
//! we do not need, at several times the cost per draw in a simulator that draws millions of
//! times a second).

use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// What a protocol may ask of its random source. Kept tiny so a learner can see every use.
pub trait Rng {
    /// A uniformly random 64-bit value.
    fn next_u64(&mut self) -> u64;

    /// A uniform value in `lo..hi` (half-open). Panics if the range is empty: a caller that
    /// asks for a value from nothing has a bug, not an expected failure.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo < hi, "Rng::range: empty range {lo}..{hi}");
        let span = hi - lo;
        // Lemire's multiply-shift: unbiased enough for spans far below 2^64, and branch-free.
        // The road not taken: `% span`, which is biased towards small values for large spans.
        lo + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as u64
    }

    /// True with probability `per_million / 1_000_000`. Integer odds, not `f64`, so that a
    /// probability written in a config file means exactly the same thing on every machine.
    fn chance(&mut self, per_million: u32) -> bool {
        assert!(
            per_million <= 1_000_000,
            "Rng::chance: odds above one: {per_million}"
        );
        self.range(0, 1_000_000) < u64::from(per_million)
    }
}

/// The workspace's one concrete RNG: Xoshiro256++ seeded from a `u64`.
#[derive(Clone, Debug)]
pub struct SeededRng {
    /// The generator state. Cloning it clones the future sequence of draws, which the
    /// simulator uses to fork independent streams per node from one run seed.
    inner: Xoshiro256PlusPlus,
}

impl SeededRng {
    /// A generator whose whole output sequence is decided by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng {
            inner: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    /// A new, independent generator derived from this one. Use it to give each node its own
    /// stream, so that adding a draw in one node's code does not shift every other node's draws.
    pub fn fork(&mut self) -> SeededRng {
        SeededRng::new(self.inner.next_u64())
    }
}

impl Rng for SeededRng {
    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_draws() {
        let mut a = SeededRng::new(42);
        let mut b = SeededRng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn different_seeds_give_different_draws() {
        let mut a = SeededRng::new(1);
        let mut b = SeededRng::new(2);
        let same = (0..64).filter(|_| a.next_u64() == b.next_u64()).count();
        assert!(same < 2);
    }

    #[test]
    fn range_stays_inside_its_bounds_and_reaches_both_ends() {
        let mut r = SeededRng::new(7);
        let mut seen = [false; 5];
        for _ in 0..10_000 {
            let v = r.range(10, 15);
            assert!((10..15).contains(&v));
            seen[(v - 10) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn chance_of_zero_never_fires_and_chance_of_one_always_does() {
        let mut r = SeededRng::new(9);
        for _ in 0..1000 {
            assert!(!r.chance(0));
            assert!(r.chance(1_000_000));
        }
    }

    #[test]
    fn forked_streams_differ_from_their_parent() {
        let mut parent = SeededRng::new(3);
        let mut child = parent.fork();
        assert_ne!(parent.next_u64(), child.next_u64());
    }
}
