//! Running a range of seeds on several threads: the one worker pool every adapter's
//! `run_seeds` and `first_violation` use.
//!
//! ```text
//!   run_parallel(a..b, threads, mode, &progress, run_seed)
//!     worker k: loop { offset = next.fetch_add(1)        (a shared counter, no queue)
//!                      offset ≥ len, or (FirstFailure and offset ≥ lowest failing) ─► stop
//!                      r = run_seed(a + offset) ─► progress.record(failed) ─► part.absorb(r) }
//!     join ─► total.merge(part) for every worker ─► total.finish(elapsed)
//! ```
//!
//! Each seed's run is deterministic whatever thread runs it; only the order in which seeds
//! finish varies, and [`Tally::finish`] sorts that away. In `FirstFailure` mode no seed above
//! the lowest failure found so far is started, and every seed below it still runs, so the
//! lowest failing seed is found whatever the thread count, often in a fraction of the range.
//!
//! The wall clock is read once before and once after the batch, for an events-per-second
//! figure; nothing inside a run reads it. The road not taken: a thread-pool crate. The pool
//! is a dozen lines over `std::thread::scope` and an atomic counter, and one seed is
//! milliseconds of work, so work stealing would buy nothing.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::progress::SeedProgress;

/// Upper bound on worker threads, whatever the caller asks.
pub const THREADS_MAX: usize = 256;

/// What a batch adds up: each adapter's summary type.
pub trait Tally: Default + Send {
    /// The outcome of one seed.
    type Seed: Send;

    /// Did this seed fail (an invariant, or the checker)? Counted into the progress, and in
    /// `FirstFailure` mode it stops the seeds above it from starting.
    fn failed(seed: &Self::Seed) -> bool;

    /// Count one seed in.
    fn absorb(&mut self, seed: Self::Seed);

    /// Count in another worker's part.
    fn merge(&mut self, other: Self);

    /// After the last merge: sort what depends on finishing order, keep the wall time.
    fn finish(&mut self, elapsed: Duration);
}

/// Whether a batch runs every seed or stops above its lowest failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Run every seed of the range.
    Every,
    /// Find the lowest failing seed: start no seed above the lowest failure found so far.
    FirstFailure,
}

/// Run `run_seed` for every seed of `seeds` (or up to the lowest failure, see [`Mode`]) on up
/// to `threads` threads (at least one), counting each finished seed into `progress`.
pub fn run_parallel<T: Tally>(
    seeds: Range<u64>,
    threads: usize,
    mode: Mode,
    progress: &SeedProgress,
    run_seed: impl Fn(u64) -> T::Seed + Sync,
) -> T {
    let started = Instant::now();
    let len = seeds.end.saturating_sub(seeds.start);
    let next = AtomicU64::new(0);
    let lowest_failing = AtomicU64::new(u64::MAX);
    let worker = || {
        let mut part = T::default();
        loop {
            // An offset, not a seed: it cannot wrap around `u64::MAX` into seed 0.
            let offset = next.fetch_add(1, Ordering::Relaxed);
            let above_failure =
                mode == Mode::FirstFailure && offset >= lowest_failing.load(Ordering::Relaxed);
            if offset >= len || above_failure {
                return part;
            }
            let r = run_seed(seeds.start + offset);
            let failed = T::failed(&r);
            if failed {
                lowest_failing.fetch_min(offset, Ordering::Relaxed);
            }
            progress.record(failed);
            part.absorb(r);
        }
    };
    let mut total = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.clamp(1, THREADS_MAX))
            .map(|_| scope.spawn(worker))
            .collect();
        let mut total = T::default();
        for h in handles {
            total.merge(
                h.join()
                    .expect("a simulation worker panicked outside a run"),
            );
        }
        total
    });
    total.finish(started.elapsed());
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeds that are multiples of 7 "fail"; the tally keeps every seed it saw.
    #[derive(Default)]
    struct Seen(Vec<u64>, Duration);

    impl Tally for Seen {
        type Seed = u64;
        fn failed(seed: &u64) -> bool {
            seed.is_multiple_of(7)
        }
        fn absorb(&mut self, seed: u64) {
            self.0.push(seed);
        }
        fn merge(&mut self, other: Self) {
            self.0.extend(other.0);
        }
        fn finish(&mut self, elapsed: Duration) {
            self.0.sort_unstable();
            self.1 = elapsed;
        }
    }

    #[test]
    fn every_seed_of_the_range_runs_once_whatever_the_thread_count() {
        for threads in [1, 3, 8] {
            let progress = SeedProgress::default();
            let seen: Seen = run_parallel(10..40, threads, Mode::Every, &progress, |s| s);
            assert_eq!(seen.0, (10..40).collect::<Vec<_>>());
            assert_eq!(progress.done(), 30);
            assert_eq!(progress.failing(), 4, "14, 21, 28 and 35 fail");
        }
    }

    #[test]
    fn first_failure_mode_runs_every_seed_below_the_lowest_failure() {
        for threads in [1, 4] {
            let progress = SeedProgress::default();
            let seen: Seen = run_parallel(8..100, threads, Mode::FirstFailure, &progress, |s| s);
            let below: Vec<u64> = (8..14).collect();
            assert_eq!(&seen.0[..6], below.as_slice());
            assert!(seen.0.contains(&14), "the lowest failing seed itself ran");
        }
    }
}
