//! The knobs of one Raft node, and the checks that keep them safe.
//!
//! Every timeout is counted in ticks (see `distributed_core::Tick`), every bound names its unit
//! last. The defaults follow the paper's advice (§5.6, §9.3): a heartbeat interval an order of
//! magnitude below the election timeout, and a timeout range wide enough that split votes are rare.
//!
//! ```text
//!   0        heartbeat            election_timeout_ticks_min        ..._max
//!   |────────────|───────────────────────────|──────────────────────────|──► ticks
//!                 leader pings every interval  a follower's timeout is drawn
//!                                              uniformly from [min, max)   (§5.2)
//! ```
//!
//! Invariants `validate` enforces: voters non-empty and unique (`id` may be outside them: a
//! node waiting to be added, see membership.rs), `0 < heartbeat < min < max`, every
//! batch/pipeline/queue bound at least 1, and a snapshot bound of at least one chunk (§7).
//!
//! ## Reads and the lease (thesis §6.4, §6.4.1)
//!
//! ```text
//!   leader tick T: heartbeat round r sent ──► a quorum acks r ──► lease holds while now < T + L
//!   follower: got a message of round ≥ r at some time ≥ T, refuses votes for min ticks after
//!
//!   L = lease_ticks() = ⌊(election_timeout_ticks_min − 1) · 1000 / (1000 + clock_drift_per_mille_max)⌋
//! ```
//!
//! Why `min − 1`: a follower that resets its timer between two ticks has seen only
//! `min − 1` whole tick periods when its counter reaches `min`. Why divide by the drift: the
//! leader's `L` ticks must end before the fastest follower's `min − 1` ticks, with tick rates
//! that differ by at most `1 + drift`. `validate` rejects `Lease` without `check_quorum`
//! (without it followers vote while the lease holds, so nothing stops a second leader) and a
//! lease of 0 ticks. It does not require `pre_vote`: pre-vote only spares the leader from being
//! deposed by a rejoining node's inflated term, which costs availability, never a stale read
//! (the deposed leader stops serving reads the moment it stops being leader).

use std::collections::BTreeSet;
use std::fmt;

use distributed_core::{NodeId, Tick};

/// Correct Raft, or one deliberately broken rule. The broken ones exist so the simulator and
/// the tests can show what the paper's rules protect against; they are never the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Variant {
    /// The paper's rules everywhere: the §5.4.2 commit rule, and a lease that accounts for
    /// clock drift and is measured from when the confirming heartbeat was *sent* (§6.4.1).
    #[default]
    Correct,
    /// Deliberately unsafe: count replicas for entries of any term. Figure 8 shows how an entry
    /// committed this way can later be overwritten.
    CommitOldTerm,
    /// Deliberately unsafe (needs `read_mode = Lease`): the lease lasts the full
    /// `election_timeout_ticks_min`, measured from when the quorum's acks *arrive*, and ignores
    /// `clock_drift_per_mille_max`. Acks arrive later than the heartbeat left, and a slow leader
    /// clock counts fewer ticks than its followers, so followers can stop honouring the lease
    /// and elect a new leader, which commits writes, while the old one still serves reads from
    /// its state without them: a stale read (thesis §6.4.1).
    LeaseIgnoresDrift,
    /// Deliberately unsafe: a membership change that moves voters switches straight from
    /// C_old to C_new, even when several voters change at once, with no joint configuration.
    /// A majority of C_old and a majority of C_new can then be disjoint, and each can elect
    /// its own leader in the same term (Raft §6, Figure 10).
    OneStepMembership,
    /// Deliberately unsafe (needs `leader_writes_in_parallel`): the leader counts its whole
    /// log toward a commit, `last_index`, instead of only what its host reported durable. Its
    /// AppendEntries left before its own fsync, so an entry one follower holds can commit, and
    /// be acknowledged, while it is on one disk of three: the leader crashes before its fsync,
    /// restarts without the entry, and with its vote a follower that never had it wins and
    /// overwrites the only copy (thesis §10.2.1: "the leader ... counting itself only once
    /// the entry is durable").
    LeaderCountsUnsyncedWrites,
}

/// How the leader makes a read linearizable without appending it to the log (thesis §6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReadMode {
    /// Every read waits for one heartbeat round acknowledged by a quorum, sent after the read
    /// arrived: it proves no newer leader existed then. Safe whatever the clocks do (§6.4).
    #[default]
    ReadIndex,
    /// While its lease holds the leader answers reads at once, with no messages; outside the
    /// lease it falls back to ReadIndex. Safe only if tick rates differ by at most
    /// `clock_drift_per_mille_max` (§6.4.1).
    Lease,
}

/// The configuration of one node. Build it with [`Config::new`] and adjust fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// This node. If it is not one of `voters` it starts as a node waiting to be added: it
    /// never campaigns until a config entry in its log makes it a voter (Raft §6).
    pub id: NodeId,
    /// The bootstrap configuration: every voting member before any config entry. Majorities
    /// are computed over the latest configuration in the log, which starts as this list.
    pub voters: Vec<NodeId>,
    /// Lower end of the randomized election timeout. Must exceed the heartbeat interval, or
    /// followers would campaign against a healthy leader between two heartbeats.
    pub election_timeout_ticks_min: Tick,
    /// Upper end (exclusive) of the randomized election timeout. The spread between min and
    /// max is what makes split votes unlikely (§5.2).
    pub election_timeout_ticks_max: Tick,
    /// How often an idle leader asserts itself. Also the retry period for a lost probe.
    pub heartbeat_interval_ticks: Tick,
    /// At most this many entries in one AppendEntries: bounds message size and the work a
    /// follower does per message.
    pub entries_per_append_max: usize,
    /// At most this many data bytes in one AppendEntries (sum of `data.len()`). A single larger
    /// entry is still sent alone, or it could never be replicated.
    pub append_bytes_max: usize,
    /// At most this many AppendEntries carrying entries may be unacknowledged per follower.
    /// Pipelining hides round trips; the bound keeps a slow follower from being flooded.
    pub inflight_appends_max: usize,
    /// Correct, or one deliberately broken teaching variant.
    pub variant: Variant,
    /// Thesis §9.6: a node whose timer fires first asks for pre-votes and bumps its term only if
    /// a majority would vote for it, so a node cut off by a partition does not return with an
    /// inflated term that deposes a healthy leader.
    pub pre_vote: bool,
    /// A leader that has not heard from a quorum within `election_timeout_ticks_min` steps down,
    /// and a node that heard from a leader within that time ignores RequestVote for a higher
    /// term (thesis §4.2.3, §6.2). Without it a cut-off leader believes it leads until it hears
    /// a higher term, and a rejoining node can disrupt a healthy leader.
    pub check_quorum: bool,
    /// How reads are confirmed: ReadIndex (a heartbeat round per batch) or Lease (no round while
    /// the lease holds).
    pub read_mode: ReadMode,
    /// The bound on how much faster one node's ticks may run than another's, in thousandths
    /// (500 = up to 1.5×). Only Lease uses it: the lease is shortened by this factor so that it
    /// ends before any follower's election timeout. The default covers the simulator's skew
    /// profile (tick periods 80..120 units).
    pub clock_drift_per_mille_max: u64,
    /// At most this many reads wait on one node (confirming at the leader, or forwarded and
    /// unanswered or not yet applied at a follower). Beyond it a read fails with `Busy` at once,
    /// rather than growing a queue without bound while a quorum is unreachable.
    pub pending_reads_max: usize,
    /// At most this many snapshot bytes in one InstallSnapshot (§7): bounds a message like
    /// `append_bytes_max` does, and a lost chunk costs only this much to resend.
    pub snapshot_chunk_bytes_max: usize,
    /// The largest snapshot this node accepts from a leader. Assembly holds the bytes in
    /// memory, so an unbounded one would let a faulty peer exhaust it.
    pub snapshot_bytes_max: usize,
    /// Thesis §10.2.1: the leader writes new entries to its own disk *in parallel* with
    /// sending them to followers, instead of first. The host may then send AppendEntries
    /// and InstallSnapshot (only a leader sends them) before the writes of the same `Ready`
    /// are durable, and must report each durable `Write::Append` with `Input::LogDurable`; the
    /// leader counts itself toward a commit only through the last index so reported. Every
    /// other message still waits for the writes. Off, the leader counts its whole log, which is
    /// right only because the host persisted it before anything was sent.
    pub leader_writes_in_parallel: bool,
}

impl Config {
    /// A configuration with the default timeouts and bounds.
    pub fn new(id: NodeId, voters: Vec<NodeId>) -> Config {
        Config {
            id,
            voters,
            election_timeout_ticks_min: 10,
            election_timeout_ticks_max: 20,
            heartbeat_interval_ticks: 2,
            entries_per_append_max: 64,
            append_bytes_max: 1024 * 1024,
            inflight_appends_max: 4,
            variant: Variant::Correct,
            pre_vote: true,
            check_quorum: true,
            read_mode: ReadMode::ReadIndex,
            clock_drift_per_mille_max: 500,
            pending_reads_max: 1024,
            snapshot_chunk_bytes_max: 64 * 1024,
            snapshot_bytes_max: 1 << 30,
            leader_writes_in_parallel: false,
        }
    }

    /// How many votes (or replicas) make a majority of `voters`.
    pub fn quorum(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    /// How many ticks a lease lasts from the tick its confirming heartbeat was sent (§6.4.1;
    /// see the module docs for the formula). `LeaseIgnoresDrift` does not use it.
    pub fn lease_ticks(&self) -> Tick {
        let whole_periods = u128::from(self.election_timeout_ticks_min.saturating_sub(1));
        let rate_max = 1000 + u128::from(self.clock_drift_per_mille_max);
        // The quotient is at most `whole_periods`, which came from a Tick: the cast is exact.
        (whole_periods * 1000 / rate_max) as Tick
    }

    /// Reject configurations that are unsafe or cannot make progress, saying which field and why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_voters()?;
        self.validate_timeouts()?;
        self.validate_bounds()?;
        self.validate_variant()?;
        self.validate_reads()
    }

    fn validate_voters(&self) -> Result<(), ConfigError> {
        if self.voters.is_empty() {
            return Err(ConfigError::new(
                "voters is empty: a cluster needs at least one voter",
            ));
        }
        let unique: BTreeSet<NodeId> = self.voters.iter().copied().collect();
        if unique.len() != self.voters.len() {
            return Err(ConfigError::new(format!(
                "voters {:?} lists a node twice: majorities would be miscounted",
                self.voters
            )));
        }
        // `id` may be outside `voters`: a node joining a running cluster starts with the
        // bootstrap list and learns its membership from the log (Raft §6).
        Ok(())
    }

    fn validate_timeouts(&self) -> Result<(), ConfigError> {
        let (min, max) = (
            self.election_timeout_ticks_min,
            self.election_timeout_ticks_max,
        );
        if self.heartbeat_interval_ticks == 0 {
            return Err(ConfigError::new(
                "heartbeat_interval_ticks is 0: must be at least 1",
            ));
        }
        if min >= max {
            return Err(ConfigError::new(format!(
                "election_timeout_ticks_min ({min}) must be below election_timeout_ticks_max \
                 ({max}): the timeout is drawn from [min, max)"
            )));
        }
        if self.heartbeat_interval_ticks >= min {
            return Err(ConfigError::new(format!(
                "heartbeat_interval_ticks ({}) must be below election_timeout_ticks_min ({min}): \
                 otherwise followers time out between heartbeats",
                self.heartbeat_interval_ticks
            )));
        }
        Ok(())
    }

    fn validate_bounds(&self) -> Result<(), ConfigError> {
        let bounds = [
            ("entries_per_append_max", self.entries_per_append_max),
            ("append_bytes_max", self.append_bytes_max),
            ("inflight_appends_max", self.inflight_appends_max),
        ];
        for (name, value) in bounds {
            if value == 0 {
                return Err(ConfigError::new(format!(
                    "{name} is 0: must be at least 1 or nothing is ever replicated"
                )));
            }
        }
        if self.snapshot_chunk_bytes_max == 0 {
            return Err(ConfigError::new(
                "snapshot_chunk_bytes_max is 0: must be at least 1 or no snapshot is ever sent",
            ));
        }
        if self.snapshot_bytes_max < self.snapshot_chunk_bytes_max {
            return Err(ConfigError::new(format!(
                "snapshot_bytes_max ({}) is below snapshot_chunk_bytes_max ({}): a follower \
                 would refuse snapshots its own leader side could send in one chunk",
                self.snapshot_bytes_max, self.snapshot_chunk_bytes_max
            )));
        }
        if self.pending_reads_max == 0 {
            return Err(ConfigError::new(
                "pending_reads_max is 0: must be at least 1 or every read fails as Busy",
            ));
        }
        Ok(())
    }

    fn validate_variant(&self) -> Result<(), ConfigError> {
        if self.variant == Variant::LeaderCountsUnsyncedWrites && !self.leader_writes_in_parallel {
            return Err(ConfigError::new(
                "variant LeaderCountsUnsyncedWrites changes only a leader that writes in \
                 parallel with its followers: it needs leader_writes_in_parallel",
            ));
        }
        Ok(())
    }

    fn validate_reads(&self) -> Result<(), ConfigError> {
        let lease = self.read_mode == ReadMode::Lease;
        if self.variant == Variant::LeaseIgnoresDrift && !lease {
            return Err(ConfigError::new(
                "variant LeaseIgnoresDrift changes only lease reads: it needs read_mode Lease",
            ));
        }
        if lease && !self.check_quorum {
            return Err(ConfigError::new(
                "read_mode Lease needs check_quorum: without it followers grant votes while the \
                 leader's lease holds, so a new leader can commit writes that the old one, still \
                 inside its lease, does not see; and a deposed leader keeps serving reads from a \
                 lease that other nodes no longer honour",
            ));
        }
        if lease && self.variant != Variant::LeaseIgnoresDrift && self.lease_ticks() == 0 {
            return Err(ConfigError::new(format!(
                "read_mode Lease with election_timeout_ticks_min ({}) and \
                 clock_drift_per_mille_max ({}) gives a lease of 0 ticks: raise the timeout or \
                 lower the drift bound",
                self.election_timeout_ticks_min, self.clock_drift_per_mille_max
            )));
        }
        Ok(())
    }
}

/// Why a node cannot start: a bad `Config`, or a `Disk` image that breaks Raft's invariants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> ConfigError {
        ConfigError(message.into())
    }

    /// The human-readable reason.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid raft config: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Config {
        Config::new(NodeId(1), vec![NodeId(1), NodeId(2), NodeId(3)])
    }

    fn rejected_with(config: &Config, needle: &str) -> bool {
        match config.validate() {
            Err(e) => e.to_string().contains(needle),
            Ok(()) => false,
        }
    }

    #[test]
    fn the_default_config_is_valid() {
        assert_eq!(three().validate(), Ok(()));
    }

    #[test]
    fn validate_accepts_an_id_outside_the_voters_as_a_node_waiting_to_join() {
        // Raft §6: a new server starts outside the configuration and is added by the leader.
        let mut c = three();
        c.id = NodeId(9);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn validate_rejects_empty_or_duplicated_voters() {
        let mut c = three();
        c.voters.clear();
        assert!(rejected_with(&c, "voters is empty"));
        c.voters = vec![NodeId(1), NodeId(2), NodeId(2)];
        assert!(rejected_with(&c, "lists a node twice"));
    }

    #[test]
    fn validate_rejects_an_empty_timeout_range() {
        // Raft §5.2: the timeout is drawn from a range; an empty range cannot be drawn from.
        let mut c = three();
        c.election_timeout_ticks_max = c.election_timeout_ticks_min;
        assert!(rejected_with(
            &c,
            "must be below election_timeout_ticks_max"
        ));
    }

    #[test]
    fn validate_rejects_a_heartbeat_as_slow_as_the_election_timeout() {
        // Raft §5.6: broadcastTime ≪ electionTimeout.
        let mut c = three();
        c.heartbeat_interval_ticks = c.election_timeout_ticks_min;
        assert!(rejected_with(
            &c,
            "heartbeat_interval_ticks (10) must be below"
        ));
        c.heartbeat_interval_ticks = 0;
        assert!(rejected_with(&c, "heartbeat_interval_ticks is 0"));
    }

    #[test]
    fn validate_rejects_zero_bounds() {
        for field in 0..3 {
            let mut c = three();
            match field {
                0 => c.entries_per_append_max = 0,
                1 => c.append_bytes_max = 0,
                _ => c.inflight_appends_max = 0,
            }
            assert!(rejected_with(&c, "is 0: must be at least 1"));
        }
    }

    #[test]
    fn validate_rejects_a_zero_snapshot_chunk_or_a_snapshot_bound_below_one_chunk() {
        // Raft §7: snapshots travel in chunks; a follower must accept at least one.
        let mut c = three();
        c.snapshot_chunk_bytes_max = 0;
        assert!(rejected_with(&c, "snapshot_chunk_bytes_max is 0"));
        let mut c = three();
        c.snapshot_bytes_max = c.snapshot_chunk_bytes_max - 1;
        assert!(rejected_with(&c, "is below snapshot_chunk_bytes_max"));
    }

    #[test]
    fn pre_vote_and_check_quorum_are_on_and_reads_use_read_index_by_default() {
        let c = three();
        assert!(c.pre_vote && c.check_quorum);
        assert_eq!(c.read_mode, ReadMode::ReadIndex);
    }

    #[test]
    fn validate_rejects_lease_reads_without_check_quorum_and_says_why() {
        // Raft thesis §6.4.1: the lease is only as good as the followers' promise not to vote.
        let mut c = three();
        c.read_mode = ReadMode::Lease;
        assert_eq!(c.validate(), Ok(()));
        c.check_quorum = false;
        assert!(rejected_with(
            &c,
            "read_mode Lease needs check_quorum: without it followers grant votes while"
        ));
        assert!(rejected_with(&c, "a deposed leader keeps serving reads"));
    }

    #[test]
    fn validate_accepts_lease_reads_without_pre_vote() {
        // Pre-vote protects availability, not the lease: see the module docs.
        let mut c = three();
        c.read_mode = ReadMode::Lease;
        c.pre_vote = false;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn the_lease_is_the_minimum_election_timeout_shortened_by_the_drift_bound() {
        // Raft thesis §6.4.1: lease = election timeout / clock drift bound (minus one tick).
        let mut c = three(); // min 10
        c.clock_drift_per_mille_max = 0;
        assert_eq!(c.lease_ticks(), 9);
        c.clock_drift_per_mille_max = 500;
        assert_eq!(c.lease_ticks(), 6, "9 / 1.5");
        c.clock_drift_per_mille_max = 10_000;
        c.read_mode = ReadMode::Lease;
        assert!(rejected_with(&c, "gives a lease of 0 ticks"));
        c.clock_drift_per_mille_max = u64::MAX;
        assert_eq!(c.lease_ticks(), 0, "no overflow");
    }

    #[test]
    fn validate_rejects_the_broken_lease_variant_without_lease_reads_and_zero_pending_reads() {
        let mut c = three();
        c.variant = Variant::LeaseIgnoresDrift;
        assert!(rejected_with(&c, "it needs read_mode Lease"));
        c.read_mode = ReadMode::Lease;
        assert_eq!(c.validate(), Ok(()));
        c.pending_reads_max = 0;
        assert!(rejected_with(&c, "pending_reads_max is 0"));
    }

    #[test]
    fn validate_rejects_the_unsynced_count_variant_without_parallel_writes() {
        // Thesis §10.2.1: the broken rule only differs from the right one when the leader's
        // AppendEntries may leave before its own fsync.
        let mut c = three();
        c.variant = Variant::LeaderCountsUnsyncedWrites;
        assert!(rejected_with(&c, "it needs leader_writes_in_parallel"));
        c.leader_writes_in_parallel = true;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn a_majority_of_five_is_three_and_of_four_is_three() {
        let mut c = three();
        c.voters = (1..=5).map(NodeId).collect();
        assert_eq!(c.quorum(), 3);
        c.voters.pop();
        assert_eq!(c.quorum(), 3);
    }
}
