//! The proposer's three roles and what each one remembers (PMMC §3: Scout = phase 1,
//! Commander = phase 2 of one slot, Leader = both over every slot).
//!
//! ```text
//!              leader timeout (no Accept/Commit from a leader for T ticks)
//!   Follower ───────────────────────────────────────────────► Candidate{ballot b, phase 1}
//!      ▲  ▲                                                     │  │ phase1 quorum of complete
//!      │  └──────── Nack / any ballot above b ──────────────────┘  │ promises: adopt, fill holes
//!      │                                                           ▼
//!      └────────── Nack / any ballot above b ─────────────── Leader{ballot b, phase 2}
//!   Candidate ── no quorum within T ──► Candidate with a higher round
//! ```
//!
//! Invariant: a Candidate's or Leader's ballot equals the node's promised ballot; the moment
//! the node promises anything higher it steps down (node.rs, `raise_promise`).

use std::collections::{BTreeMap, BTreeSet};

use distributed_core::{NodeId, Tick};

use crate::ballot::{Ballot, PValue, Slot, Value};
use crate::read::LeaderReads;

/// The role as the accessors report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Accepts what the leader sends; waits for its timeout to run phase 1.
    Follower,
    /// Runs phase 1 with its ballot.
    Candidate,
    /// Completed phase 1; runs phase 2 for every slot.
    Leader,
}

/// A candidate's phase 1: the promises so far and what they taught it.
#[derive(Clone, Debug)]
pub(crate) struct Phase1 {
    /// The ballot it runs with.
    pub(crate) ballot: Ballot,
    /// The first slot it asked about: the one after its `chosen_through` when it started.
    pub(crate) from_slot: Slot,
    /// Acceptors whose promise is complete (every page received), this node included.
    pub(crate) complete: BTreeSet<NodeId>,
    /// Per acceptor whose promise came in pages, the slot the next page starts at; an
    /// acceptor not listed is still owed its first page (from `from_slot`).
    pub(crate) next_page: BTreeMap<NodeId, Slot>,
    /// Per slot, the highest-ballot pvalue any promise reported: what phase 2 adopts.
    pub(crate) adopted: BTreeMap<Slot, PValue>,
    /// The highest snapshot slot a promiser reported, and who: slots through it are chosen
    /// and must be learned, never re-proposed.
    pub(crate) snapshot_max: (Slot, NodeId),
    /// Ticks since the Prepares were last (re)sent.
    pub(crate) resend_elapsed: Tick,
}

/// One slot the leader proposed and does not yet know to be chosen.
#[derive(Clone, Debug)]
pub(crate) struct Proposal {
    /// The value proposed at the leader's ballot.
    pub(crate) value: Value,
    /// Acceptors that accepted it (this node included once it wrote its own accept).
    pub(crate) acks: BTreeSet<NodeId>,
    /// The leader's tick when the Accepts last went out: a heartbeat resends only older ones,
    /// not those a proposal sent a moment ago.
    pub(crate) sent_at: Tick,
}

/// A leader's phase 2 state.
#[derive(Debug)]
pub(crate) struct Leader {
    /// The ballot it leads with.
    pub(crate) ballot: Ballot,
    /// Open slots: proposed at `ballot`, not yet known chosen. Client proposals are bounded by
    /// `open_slots_max`; slots adopted in phase 1 come on top (they are what the acceptors hold).
    pub(crate) proposals: BTreeMap<Slot, Proposal>,
    /// The slot the next client proposal goes to.
    pub(crate) next_slot: Slot,
    /// Ticks since the last heartbeat.
    pub(crate) heartbeat_elapsed: Tick,
    /// Slots through here are chosen (a promiser had snapshotted them) and must be learned,
    /// not proposed: `(slot, node that holds them)`; retried each heartbeat until learned.
    pub(crate) catch_up: Option<(Slot, NodeId)>,
    /// CatchUp requests sent for `catch_up`: the first goes to the holder, later ones to the
    /// other nodes in turn, in case the holder crashed or the answer was lost.
    pub(crate) catch_up_attempts: u64,
    /// Reads waiting for their read round and their slot.
    pub(crate) reads: LeaderReads,
}

/// The role and the state only that role has.
#[derive(Debug)]
pub(crate) enum RoleState {
    /// No state beyond the node's own.
    Follower,
    /// Phase 1 in progress.
    Candidate(Phase1),
    /// Phase 2.
    Leader(Leader),
}

impl RoleState {
    /// The public role.
    pub(crate) fn role(&self) -> Role {
        match self {
            RoleState::Follower => Role::Follower,
            RoleState::Candidate(_) => Role::Candidate,
            RoleState::Leader(_) => Role::Leader,
        }
    }

    /// The ballot a candidate or leader runs with.
    pub(crate) fn ballot(&self) -> Option<Ballot> {
        match self {
            RoleState::Follower => None,
            RoleState::Candidate(p) => Some(p.ballot),
            RoleState::Leader(l) => Some(l.ballot),
        }
    }

    /// The leader state, when leading.
    pub(crate) fn leader_mut(&mut self) -> Option<&mut Leader> {
        match self {
            RoleState::Leader(l) => Some(l),
            _ => None,
        }
    }
}
