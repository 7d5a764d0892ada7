//! How far a batch of seeds has got, for a host that shows it while the batch runs.
//!
//! ```text
//!   run_seeds_with_progress(a..b, opts, threads, &progress)
//!     each worker, after each seed ──► progress.record(failed)
//!   the host, on a thread of its own, whenever it likes ──► done(), failing() ──► its display
//! ```
//!
//! The library never prints: `distributed sim` draws a line from these counters on a terminal
//! and draws nothing otherwise. The road not taken is a callback per seed, which would run the
//! host's code on the simulation workers and make it care about their threads; two counters
//! cost a worker two atomic adds per seed and let the host read at its own pace. The counts
//! are relaxed: a reading may lag the workers by a seed or two, and after the batch returns
//! both are exact.

use std::sync::atomic::{AtomicU64, Ordering};

/// Seeds finished so far, and how many of them failed. Shared by reference with the workers.
#[derive(Debug, Default)]
pub struct SeedProgress {
    /// Seeds whose run (and check) has finished.
    done: AtomicU64,
    /// Among them, seeds that broke an invariant (or, for raft-kv, failed the checker).
    failing: AtomicU64,
}

impl SeedProgress {
    /// Seeds finished so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Failing seeds so far.
    pub fn failing(&self) -> u64 {
        self.failing.load(Ordering::Relaxed)
    }

    /// One more seed finished; `failed` says whether it failed.
    pub(crate) fn record(&self, failed: bool) {
        self.failing.fetch_add(u64::from(failed), Ordering::Relaxed);
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}
