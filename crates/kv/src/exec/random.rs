//! "Random" picks: `SPOP` (a write: every replica must pick alike), and the reads
//! `SRANDMEMBER`, `HRANDFIELD`, `ZRANDMEMBER` and `RANDOMKEY`'s starting position
//! (`Picker::from_state(seed)`, `keys.rs`).
//!
//! ```text
//!   seed = FNV-1a-64(key ‖ s ‖ len)    s: the entry's log index     (SPOP; any read inside
//!                                          MULTI/EXEC, which runs in the log)
//!                                      s: the caller's random_seed  (a read outside the log)
//!   SplitMix64(seed) ──► positions in 0..len ──► the members at those positions, byte order
//!     count >= 0: distinct positions (Floyd's algorithm), at most len of them
//!     count <  0: |count| positions, repeats allowed, in draw order
//!
//!   server ──fresh u64 from its own RNG, per read──┐
//!   simulator ──its seeded RNG's next u64──────────┴─► replica Input::Request{random_seed}
//!      ──► StateMachine::read(command, random_seed) ──► ReadCtx{random_seed} ──► Picker
//! ```
//!
//! Why writes draw from the log: applying a log entry must be a pure function of the state and
//! the entry (Raft §5.3), so a command that picks "at random" must pick the same members on
//! every replica, or the replicas' sets fork after one `SPOP`. The picks are a function of the
//! key, the log index and the container's size: deterministic per index, different from one
//! index to the next, and different for two `SPOP`s of one key inside one MULTI/EXEC (the size
//! changed in between). The road not taken: true randomness (`thread_rng`, or the leader
//! drawing and logging its choice). The first forks replicas; the second would work for SPOP
//! but needs the leader to see the state before proposing, which a log of commands does not
//! have.
//!
//! Why reads take a seed from their caller: a read outside the log changes no state, so two
//! calls, or two replicas, may answer differently without forking anything, and Redis' clients
//! (and its test suite's distribution checks) expect two SRANDMEMBERs between writes to pick
//! afresh. Seeding reads from the applied index, as this file once did, answered the same
//! thing until the next write. The seed still comes from outside (the crate has no entropy of
//! its own: determinism), so a simulator that passes its seeded RNG's draws replays exactly.
//!
//! The generator is written here, not borrowed: its output is part of the replicated
//! semantics (a replica built from another version replaying the same log must pick the same
//! members), so it is pinned by a golden test rather than by a dependency's version. SplitMix64
//! is ten lines and passes BigCrush, more than enough to pick set members.
//!
//! Bound: a negative count asks for |count| picks with repeats, a reply that nothing stored
//! bounds, so |count| is capped at `PICKS_WITH_REPEATS_MAX`; Redis streams such replies and
//! only caps `HRANDFIELD … WITHVALUES` (at ±2^62), we build replies in memory, and one huge
//! count inside a MULTI/EXEC would stall or exhaust every replica at once.

use std::collections::BTreeSet;

use distributed_core::wire::Sink;

use super::args::int;
use crate::hash::Fnv64;
use crate::reply::Reply;

/// Most picks a negative count may ask for (see the module docs).
pub(crate) const PICKS_WITH_REPEATS_MAX: u64 = 1 << 20;

/// SplitMix64 (Steele, Lea, Flood 2014), seeded from the key, a seed and the size.
pub(crate) struct Picker {
    /// The generator's state: advanced by a fixed odd constant per draw.
    state: u64,
}

impl Picker {
    /// The picker for `len` elements under `key` from `seed` (a log index, or a read's
    /// `random_seed`: see the module docs).
    pub(crate) fn new(key: &[u8], seed: u64, len: usize) -> Picker {
        let mut h = Fnv64::new();
        h.put_slice(key);
        h.put_slice(&seed.to_le_bytes());
        h.put_slice(&(len as u64).to_le_bytes());
        Picker { state: h.finish() }
    }

    /// The generator from a given state: `RANDOMKEY` starts its walk at the first output from
    /// the read's seed.
    pub(crate) fn from_state(state: u64) -> Picker {
        Picker { state }
    }

    /// The next output.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A position in `0..n` (n > 0), by Lemire's multiply-shift.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Picker::below: nothing to pick from");
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// `k` distinct positions in `0..n`, ascending; all of them if `k >= n`. Robert Floyd's
    /// sampling: k draws, each k-subset equally likely.
    pub(crate) fn distinct(&mut self, n: usize, k: usize) -> BTreeSet<usize> {
        if k >= n {
            return (0..n).collect();
        }
        let mut chosen = BTreeSet::new();
        for j in n - k..n {
            let t = self.below(j + 1);
            if !chosen.insert(t) {
                chosen.insert(j);
            }
        }
        chosen
    }

    /// `k` positions in `0..n` (n > 0), repeats allowed, in draw order.
    pub(crate) fn with_repeats(&mut self, n: usize, k: usize) -> Vec<usize> {
        (0..k).map(|_| self.below(n)).collect()
    }
}

/// How many members a `SRANDMEMBER`/`HRANDFIELD` count asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Count {
    /// `count >= 0`: up to this many distinct members.
    Distinct(usize),
    /// `count < 0`: exactly this many, repeats allowed.
    Repeats(usize),
}

/// Read a random-pick count (see the module docs for the bound on negative ones).
pub(crate) fn count_arg(arg: &[u8]) -> Result<Count, Reply> {
    let n = int(arg)?;
    if n >= 0 {
        return Ok(Count::Distinct(usize::try_from(n).unwrap_or(usize::MAX)));
    }
    if n.unsigned_abs() > PICKS_WITH_REPEATS_MAX {
        return Err(Reply::error(
            "ERR",
            format!(
                "value is out of range, value must between -{PICKS_WITH_REPEATS_MAX} and {}",
                i64::MAX
            ),
        ));
    }
    Ok(Count::Repeats(n.unsigned_abs() as usize))
}

impl Count {
    /// The positions to pick among `n` elements (n > 0), ascending for distinct picks.
    pub(crate) fn positions(self, picker: &mut Picker, n: usize) -> Vec<usize> {
        match self {
            Count::Distinct(k) => picker.distinct(n, k).into_iter().collect(),
            Count::Repeats(k) => picker.with_repeats(n, k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_gives_its_published_sequence() {
        // SplitMix64 from state 0: the reference outputs (Vigna's splitmix64.c).
        let mut p = Picker::from_state(0);
        assert_eq!(p.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(p.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn the_same_key_seed_and_size_pick_the_same_positions() {
        let a = Picker::new(b"s", 7, 100).distinct(100, 5);
        let b = Picker::new(b"s", 7, 100).distinct(100, 5);
        assert_eq!(a, b);
        assert_eq!(a.len(), 5);
        let later = Picker::new(b"s", 8, 100).distinct(100, 5);
        assert_ne!(a, later, "another seed picks otherwise");
    }

    #[test]
    fn distinct_picks_are_distinct_in_range_and_capped_at_the_size() {
        let mut p = Picker::new(b"k", 1, 10);
        for k in 0..12 {
            let picks = p.distinct(10, k);
            assert_eq!(picks.len(), k.min(10));
            assert!(picks.iter().all(|&i| i < 10));
        }
    }

    #[test]
    fn every_position_gets_picked_eventually() {
        let mut p = Picker::new(b"k", 1, 4);
        let seen: BTreeSet<usize> = p.with_repeats(4, 200).into_iter().collect();
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn a_negative_count_is_bounded() {
        assert_eq!(count_arg(b"-3"), Ok(Count::Repeats(3)));
        assert_eq!(count_arg(b"3"), Ok(Count::Distinct(3)));
        assert!(count_arg(b"-1048577").is_err());
        assert!(count_arg(b"-9223372036854775808").is_err());
        assert!(count_arg(b"x").is_err());
    }
}
