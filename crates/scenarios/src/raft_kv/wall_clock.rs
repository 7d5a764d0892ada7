//! The hosts' wall clocks: what each node's host stamps on the requests it receives and hands
//! its replica on every tick (`replica::Input::Clock`), from which the leader's entries get
//! their log time and active expiry its trigger.
//!
//! ```text
//!   node n's wall clock = simulated time + offset(n)       1 unit is read as 1 ms
//!     faults without skew:              offset(n) = 0 for every node
//!     skew, all, chaos:                 offset(n) in ±WALL_CLOCK_OFFSET_MS_MAX, drawn per seed
//! ```
//!
//! Why: the skew profiles make tick *rates* differ (the lease's assumption, `options.rs`), but
//! expiry reads the wall clock, whose *offset* is what differs between real hosts. With offsets,
//! a leader whose clock is ahead expires keys early, and one elected after it with a clock
//! behind stamps times older than the log's; kv must stay deterministic through both (the
//! machine's clock is the max of the entries' times), and the replica-agreement invariant
//! compares digests that include every key's expiry. The volatile keys (`ops.rs`) are what
//! gives these clocks something to decide: TTLs up to 500 ms against offsets up to 250 ms.
//!
//! Invariant: a wall clock never reads below 0 (an offset is saturated, as the server reads a
//! clock set before 1970 as 0).

use distributed_core::{NodeId, Rng, SeededRng};
use sim::config::Time;

use super::RaftKvOptions;
use crate::faults::FaultProfile;

/// The most a host's wall clock is ahead of or behind the simulated time under skew, in ms:
/// half the volatile keys' longest TTL, so skew decides some expiries and not all of them.
pub const WALL_CLOCK_OFFSET_MS_MAX: u64 = 250;

/// Every node slot's offset (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WallClocks {
    /// Slot `i` holds the offset of node `i + 1`, in ms.
    offsets_ms: Vec<i64>,
}

impl WallClocks {
    /// The clocks of a run of `opts` with `seed`: offsets under the skew profiles, none else.
    pub fn new(seed: u64, opts: &RaftKvOptions) -> Self {
        let slots = opts.raft_options().slots();
        if !opts.faults.has(FaultProfile::Skew) {
            return WallClocks {
                offsets_ms: vec![0; slots],
            };
        }
        // Its own stream: drawing offsets shifts none of the simulator's draws.
        let mut rng = SeededRng::new(seed ^ 0x5741_4c4c_434c_4f43); // "WALLCLOC"
        let span = 2 * WALL_CLOCK_OFFSET_MS_MAX + 1;
        let offsets_ms = (0..slots)
            .map(|_| rng.range(0, span) as i64 - WALL_CLOCK_OFFSET_MS_MAX as i64)
            .collect();
        WallClocks { offsets_ms }
    }

    /// Node `node`'s wall clock at simulated time `now`, in ms.
    pub fn now_ms(&self, node: NodeId, now: Time) -> u64 {
        let slot = (node.0 as usize).checked_sub(1);
        let offset = slot.and_then(|s| self.offsets_ms.get(s)).copied();
        let offset = offset.unwrap_or_else(|| panic!("{node} has no wall clock: not a slot"));
        now.saturating_add_signed(offset)
    }

    /// The offsets, slot by slot (node 1 first).
    pub fn offsets_ms(&self) -> &[i64] {
        &self.offsets_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_agree_without_skew_and_differ_within_the_bound_with_it() {
        let calm = RaftKvOptions {
            faults: FaultProfile::Crashes,
            ..RaftKvOptions::default()
        };
        let w = WallClocks::new(7, &calm);
        assert!(w.offsets_ms().iter().all(|&o| o == 0));
        assert_eq!(w.now_ms(NodeId(1), 1_000), 1_000);
        let skewed = RaftKvOptions {
            faults: FaultProfile::Skew,
            ..RaftKvOptions::default()
        };
        let bound = WALL_CLOCK_OFFSET_MS_MAX as i64;
        let differing = (0..20u64).filter(|&seed| {
            let w = WallClocks::new(seed, &skewed);
            assert!(w.offsets_ms().iter().all(|o| (-bound..=bound).contains(o)));
            let first = w.offsets_ms()[0];
            w.offsets_ms().iter().any(|&o| o != first)
        });
        assert!(differing.count() >= 19, "offsets differ between nodes");
        assert_eq!(WallClocks::new(3, &skewed), WallClocks::new(3, &skewed));
    }

    #[test]
    fn a_clock_behind_never_reads_below_zero() {
        let w = WallClocks {
            offsets_ms: vec![-250, 250],
        };
        assert_eq!(w.now_ms(NodeId(1), 100), 0);
        assert_eq!(w.now_ms(NodeId(2), 100), 350);
    }

    #[test]
    fn under_skewed_wall_clocks_volatile_keys_expire_and_replicas_still_agree() {
        // Replica agreement compares digests over every key's expiry; the checker, the
        // clients' history. Both must hold whichever leader's clock stamped the entries.
        let opts = RaftKvOptions {
            faults: FaultProfile::Skew,
            ..RaftKvOptions::default()
        };
        for seed in 0..3 {
            let offsets = WallClocks::new(seed, &opts);
            assert!(offsets.offsets_ms().iter().any(|&o| o != 0));
            let report = crate::raft_kv::run_seed(seed, &opts);
            assert_eq!(report.failure(), None, "{report}");
            assert!(report.coverage.expiries > 0, "{report}");
        }
    }
}
