//! The roles of §5.1 (and the pre-candidate of thesis §9.6), each holding the state only it
//! has, so that "only while leading" is a fact of the types: code that needs a follower's
//! progress must first hold the [`Leader`], and a follower has none to hold.
//!
//! ```text
//!              times out                  pre-votes from           votes from
//!   start ──►  (pre_vote on)              a majority               a majority
//!   ┌──────────┐ ─────────► ┌──────────────┐ ─────────► ┌───────────┐ ─────────► ┌────────┐
//!   │ Follower │            │ PreCandidate │  term+1    │ Candidate │            │ Leader │
//!   └──────────┘ ◄───────── └──────────────┘            └───────────┘            └────────┘
//!      ▲  ▲  leader of its term appears │  ⟲ times out: pre-vote again │               │
//!      │  └─────────────────────────────┴──────────────────────────────┘               │
//!      └───── discovers a higher term, or (check_quorum) no quorum heard for min ticks ─┘
//!                                                            (Figure 4, §5.1; thesis §9.6, §6.2)
//!
//!   Follower     { leader }                        the leader of the term, if known
//!   PreCandidate { votes_granted }                 pre-votes for term+1, self included
//!   Candidate    { votes_granted }                 votes for term, self included
//!   Leader       { progress, rounds, transfer,     Figure 2's volatile leader state, plus
//!                  heartbeat_elapsed, reads }      rounds/lease, transfer, confirming reads
//! ```
//!
//! With `pre_vote` off a timeout goes straight to Candidate, as in the paper.
//!
//! What stays on `Raft` although only some roles use it, and why: the election timer (a leader
//! runs none, but starts a fresh one when it steps down, and its draws must stay where they
//! are); `leader_contact_elapsed` (read by every role); reads forwarded to a leader (they
//! outlive a term change once they hold an index); a snapshot being received (a follower that
//! times out keeps it while its term stays the same, and resumes if the leader reappears); and
//! the last heartbeat round sent (rounds are never reused, across leaderships).
//!
//! Every change of role goes through `become_follower`, `pre_campaign`, `start_campaign` or
//! `become_leader`, which build the new role's state from nothing: nothing of a previous
//! leadership or campaign survives into the next.

use std::collections::{BTreeMap, BTreeSet};

use distributed_core::{NodeId, Tick};

use crate::progress::Progress;
use crate::quorum::Rounds;
use crate::read::LeaderReads;
use crate::transfer::Transfer;

/// The three roles of §5.1, plus the pre-candidate of thesis §9.6: what [`crate::Raft::role`]
/// tells hosts and checkers. The state each role holds is private (`RoleState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Passive: answers leaders and candidates, times out if it hears from neither.
    Follower,
    /// Asking whether a majority would vote for it, without changing its term (thesis §9.6).
    PreCandidate,
    /// Campaigning for votes in its own term.
    Candidate,
    /// Accepts proposals and replicates them.
    Leader,
}

/// A node's role together with the state only that role has.
#[derive(Clone, Debug)]
pub(crate) enum RoleState {
    /// Follows the leader of its term, if it knows one.
    Follower(Follower),
    /// Asks for pre-votes for `term + 1` (thesis §9.6).
    PreCandidate(Candidate),
    /// Asks for votes in `term` (§5.2).
    Candidate(Candidate),
    /// Leads `term`.
    Leader(Leader),
}

/// A follower's own state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Follower {
    /// The leader of the current term, if known: where a follower redirects clients and sends
    /// its reads. Set by the leader's AppendEntries or InstallSnapshot, or when a message of
    /// a higher term comes from a leader.
    pub(crate) leader: Option<NodeId>,
}

/// A pre-candidate's or candidate's own state.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    /// Who granted a (pre-)vote in this campaign, self included. A set, so a duplicated
    /// response is not counted twice.
    pub(crate) votes_granted: BTreeSet<NodeId>,
}

/// A leader's own state: Figure 2's "volatile state on leaders" and what the thesis adds.
#[derive(Clone, Debug)]
pub(crate) struct Leader {
    /// Replication progress per follower and learner. A `BTreeMap` so iteration, and thus the
    /// order of sent messages, is deterministic.
    pub(crate) progress: BTreeMap<NodeId, Progress>,
    /// Heartbeat rounds, the highest one a quorum answered, and the lease (quorum.rs).
    pub(crate) rounds: Rounds,
    /// A leadership transfer under way (thesis §3.10), if any.
    pub(crate) transfer: Option<Transfer>,
    /// Ticks since the last heartbeat broadcast.
    pub(crate) heartbeat_elapsed: Tick,
    /// Reads being confirmed, this node's own and those followers forwarded (thesis §6.4).
    pub(crate) reads: LeaderReads,
}

impl Candidate {
    /// A new campaign: only this node's own vote so far.
    pub(crate) fn voting_for(me: NodeId) -> Candidate {
        Candidate {
            votes_granted: BTreeSet::from([me]),
        }
    }
}

impl RoleState {
    /// The plain role, for hosts, checkers and `match`es that need no role state.
    pub(crate) fn role(&self) -> Role {
        match self {
            RoleState::Follower(_) => Role::Follower,
            RoleState::PreCandidate(_) => Role::PreCandidate,
            RoleState::Candidate(_) => Role::Candidate,
            RoleState::Leader(_) => Role::Leader,
        }
    }

    /// The leader's state, while leading.
    pub(crate) fn leader(&self) -> Option<&Leader> {
        match self {
            RoleState::Leader(l) => Some(l),
            _ => None,
        }
    }

    /// The leader's state, while leading. A method on the role, not on `Raft`, so the borrow
    /// leaves the node's other fields (log, config, membership) free to read alongside.
    pub(crate) fn leader_mut(&mut self) -> Option<&mut Leader> {
        match self {
            RoleState::Leader(l) => Some(l),
            _ => None,
        }
    }

    /// The leader's progress for `peer`: `None` when not leading, or when `peer` is not a
    /// member it replicates to. Like `leader_mut`, it borrows only the role.
    pub(crate) fn progress_mut(&mut self, peer: NodeId) -> Option<&mut Progress> {
        self.leader_mut()?.progress.get_mut(&peer)
    }
}
