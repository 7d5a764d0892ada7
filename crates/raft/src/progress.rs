//! What the leader knows about one follower's log, and how fast it may send to it.
//!
//! Modelled on etcd's `Progress`: two states, so that a follower whose log is unknown is probed
//! with one message at a time, and a follower known to match is fed a pipeline of appends.
//!
//! ```text
//!            success (follower matches through m ≥ match_index)
//!   ┌───────┐ ─────────────────────────────────────────────► ┌───────────┐
//!   │ Probe │                                                │ Replicate │
//!   └───────┘ ◄───────────────────────────────────────────── └───────────┘
//!    one append in flight;    rejection of an index above     up to inflight_appends_max
//!    next_index moves only    match_index (a gap or a         appends in flight; next_index
//!    on replies (the hint)    conflict): back to probing      advances as soon as one is sent
//!        │  ▲
//!        │  │ installed: probe at index + 1
//!        ▼  │
//!   ┌──────────┐  entered from any state when next_index ≤ the leader's snapshot index (§7):
//!   │ Snapshot │  no appends; one snapshot chunk in flight, resent each heartbeat interval
//!   └──────────┘
//! ```
//!
//! Invariants: `match_index < next_index`; in Replicate, `inflight` is ascending, every element
//! lies in `(match_index, next_index)`, and its length never exceeds the configured maximum.
//! A leader starts every follower in Probe with `next_index = last_index + 1` (Figure 2).

use std::collections::VecDeque;

use distributed_core::Tick;

use crate::log::Index;
use crate::message::Round;

/// How the leader is currently feeding one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProgressState {
    /// The follower's match point is being searched for: one append at a time.
    Probe,
    /// The follower is known to match: appends are pipelined.
    Replicate,
    /// The follower needs entries the leader compacted away: it is being sent the snapshot at
    /// `index`, and holds its bytes up to `offset` as far as the leader knows (§7).
    Snapshot {
        /// The snapshot being sent; a newer one restarts the transfer.
        index: Index,
        /// The next byte to send: the follower's last reported `received`.
        offset: u64,
    },
}

/// The leader's volatile state for one follower (Figure 2 "volatile state on leaders", plus
/// flow control).
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    /// Highest index known to be replicated on the follower (Figure 2 `matchIndex`).
    /// Only the commit rule reads it; it never decreases within one leadership.
    pub(crate) match_index: Index,
    /// Index of the next entry to send (Figure 2 `nextIndex`). Optimistic in Replicate.
    pub(crate) next_index: Index,
    /// Probe or Replicate; decides how many appends may be in flight.
    pub(crate) state: ProgressState,
    /// Probe only: an append is outstanding, so wait for its reply (or the next heartbeat,
    /// which clears this flag so that a lost probe is retried once per interval, not in a storm).
    pub(crate) probe_sent: bool,
    /// Replicate only: the last index of each unacknowledged append, oldest first. Its length is
    /// the pipeline depth that `inflight_appends_max` bounds.
    pub(crate) inflight: VecDeque<Index>,
    /// The highest heartbeat round the follower has answered in this term: ReadIndex counts a
    /// quorum of these (thesis §6.4). Separate from `match_index`, because a rejection also
    /// proves the follower still accepts this leader.
    pub(crate) acked_round: Round,
    /// The leader's tick when the follower last answered: check-quorum counts followers heard
    /// within `election_timeout_ticks_min`.
    pub(crate) last_heard: Tick,
}

impl Progress {
    /// A follower nothing is known about yet: probe from just after the leader's last entry.
    /// `now` counts as its last answer, so a new leader is not deposed before it could hear one.
    pub(crate) fn new(leader_last_index: Index, now: Tick) -> Progress {
        Progress {
            match_index: 0,
            next_index: leader_last_index + 1,
            state: ProgressState::Probe,
            probe_sent: false,
            inflight: VecDeque::new(),
            acked_round: 0,
            last_heard: now,
        }
    }

    /// True when no append carrying entries may be sent to this follower right now.
    pub(crate) fn is_paused(&self, inflight_appends_max: usize) -> bool {
        match self.state {
            ProgressState::Probe => self.probe_sent,
            ProgressState::Replicate => self.inflight.len() >= inflight_appends_max,
            ProgressState::Snapshot { .. } => true,
        }
    }

    /// Record that an append ending at `last_sent` (with `n` entries) went out.
    pub(crate) fn on_append_sent(&mut self, last_sent: Index, n: usize) {
        match self.state {
            ProgressState::Probe => self.probe_sent = true,
            ProgressState::Replicate if n > 0 => {
                assert!(
                    last_sent >= self.next_index,
                    "a pipelined append must move forward"
                );
                self.next_index = last_sent + 1;
                self.inflight.push_back(last_sent);
            }
            ProgressState::Replicate | ProgressState::Snapshot { .. } => {}
        }
    }

    /// The follower matches through `m`. Returns true if `match_index` moved (the commit rule
    /// should look again). A success below `match_index` is a stale or duplicated reply.
    pub(crate) fn on_success(&mut self, m: Index) -> bool {
        if m < self.match_index {
            return false;
        }
        let moved = m > self.match_index;
        self.match_index = m;
        match self.state {
            ProgressState::Probe => self.become_replicate(),
            // A late answer to an append sent before the snapshot began: if it already covers
            // the snapshot, the transfer is moot.
            ProgressState::Snapshot { index, .. } => {
                if m >= index {
                    self.become_replicate();
                }
            }
            ProgressState::Replicate => {
                self.next_index = self.next_index.max(m + 1);
                while self.inflight.front().is_some_and(|&last| last <= m) {
                    self.inflight.pop_front();
                }
            }
        }
        moved
    }

    /// The follower rejected the append whose `prev_log_index` was `rejected`; `guess` is where
    /// the leader's reading of the conflict hint says to retry. Returns false for a stale
    /// rejection (one that does not concern the current search), which must be ignored.
    pub(crate) fn on_reject(&mut self, rejected: Index, guess: Index) -> bool {
        let current = match self.state {
            // A gap or conflict above what is known to match: the pipeline is broken.
            ProgressState::Replicate => rejected > self.match_index,
            // Only the reply to the outstanding probe moves the search.
            ProgressState::Probe => rejected + 1 == self.next_index,
            // Appends were stopped for the snapshot: any rejection is of an older one.
            ProgressState::Snapshot { .. } => false,
        };
        if !current {
            return false;
        }
        // Retry at or below the rejected position, never at or below what is known to match.
        self.next_index = guess.min(rejected).max(self.match_index + 1);
        self.state = ProgressState::Probe;
        self.probe_sent = false;
        self.inflight.clear();
        true
    }

    /// A heartbeat interval passed: allow one more probe, in case the last one was lost.
    pub(crate) fn on_heartbeat(&mut self) {
        self.probe_sent = false;
    }

    /// Start sending the snapshot at `index`: the entries this follower needs are gone.
    pub(crate) fn become_snapshot(&mut self, index: Index) {
        self.state = ProgressState::Snapshot { index, offset: 0 };
        self.probe_sent = false;
        self.inflight.clear();
    }

    /// The follower holds the snapshot at `index`: it matches through it, so probe after it.
    pub(crate) fn on_snapshot_installed(&mut self, index: Index) {
        self.match_index = self.match_index.max(index);
        self.next_index = self.match_index + 1;
        self.state = ProgressState::Probe;
        self.probe_sent = false;
        self.inflight.clear();
    }

    fn become_replicate(&mut self) {
        self.state = ProgressState::Replicate;
        self.next_index = self.match_index + 1;
        self.probe_sent = false;
        self.inflight.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probing_follower_gets_one_append_at_a_time() {
        let mut pr = Progress::new(10, 0);
        assert!(!pr.is_paused(4));
        pr.on_append_sent(11, 1);
        assert!(pr.is_paused(4));
        assert_eq!(
            pr.next_index, 11,
            "probing does not advance next_index optimistically"
        );
        pr.on_heartbeat();
        assert!(!pr.is_paused(4));
    }

    #[test]
    fn a_success_while_probing_starts_pipelining() {
        let mut pr = Progress::new(10, 0);
        pr.on_append_sent(11, 1);
        assert!(pr.on_success(11));
        assert_eq!(pr.state, ProgressState::Replicate);
        assert_eq!(pr.next_index, 12);
    }

    #[test]
    fn the_pipeline_stops_at_the_inflight_bound_and_drains_on_acks() {
        let mut pr = Progress::new(0, 0);
        pr.on_success(0);
        for last in [3, 6, 9] {
            pr.on_append_sent(last, 3);
        }
        assert!(pr.is_paused(3));
        assert_eq!(pr.next_index, 10);
        pr.on_success(6);
        assert_eq!(pr.inflight, VecDeque::from([9]));
        assert!(!pr.is_paused(3));
    }

    #[test]
    fn a_rejection_in_the_pipeline_falls_back_to_probing_at_the_hint() {
        // Raft §5.3: on rejection, decrement nextIndex and retry (here: jump to the hint).
        let mut pr = Progress::new(0, 0);
        pr.on_success(4);
        pr.on_append_sent(8, 4);
        pr.on_append_sent(12, 4);
        assert!(pr.on_reject(8, 6));
        assert_eq!((pr.state, pr.next_index), (ProgressState::Probe, 6));
        assert!(pr.inflight.is_empty());
        assert!(
            !pr.on_reject(12, 6),
            "the second rejection of the broken pipeline is stale"
        );
    }

    #[test]
    fn a_follower_receiving_a_snapshot_gets_no_appends_until_it_is_installed() {
        // Raft §7: the leader sends InstallSnapshot instead of entries it discarded.
        let mut pr = Progress::new(50, 0);
        pr.become_snapshot(40);
        assert!(pr.is_paused(4));
        assert!(
            !pr.on_reject(49, 1),
            "rejections of older appends are stale"
        );
        pr.on_snapshot_installed(40);
        assert_eq!(
            (pr.state, pr.match_index, pr.next_index),
            (ProgressState::Probe, 40, 41)
        );
        assert!(!pr.is_paused(4));
    }

    #[test]
    fn a_rejection_never_moves_next_index_to_or_below_match_index() {
        let mut pr = Progress::new(0, 0);
        pr.on_success(5);
        pr.on_append_sent(9, 4);
        assert!(pr.on_reject(9, 1));
        assert_eq!(pr.next_index, 6);
        assert!(
            !pr.on_reject(3, 1),
            "a rejection below match_index is stale"
        );
    }
}
