//! Cluster membership: who votes, who only listens, and how the set changes safely by joint
//! consensus (Raft §6, thesis §4.3), plus the one quorum rule every count uses.
//!
//! ```text
//!   Input::ChangeMembership(change) at the leader
//!     a change in flight (latest config entry uncommitted, or joint) ──► ChangeRejected
//!     only learners change ──► append C_new{voters, learners'}            (no quorum moves)
//!     voters change        ──► append C_old,new{voters=new, outgoing=old}
//!                              ... C_old,new commits (majority of old AND of new) ...
//!                              ──► append C_new{voters=new}
//!                              ... C_new commits ──► a leader not in new steps down
//!
//!   every node: membership = the configuration of the LATEST config entry in its log,
//!   committed or not (§6); truncating that entry reverts to the one before it (or to
//!   Config::voters, the bootstrap configuration, if none is left)
//! ```
//!
//! Entry kinds: a log entry is `EntryKind::Normal` (its `data` goes to the state machine) or
//! `EntryKind::Config(Membership)` (its `data` is empty; the whole resulting configuration is
//! the payload). Storing the complete configuration rather than a delta ("add n4") makes every
//! config entry self-contained: a node can adopt it without knowing the previous one, a
//! truncation reverts by looking one entry back, and a snapshot can store the value as is.
//! The road not taken: tagging the first byte of `data`, which would make every normal command
//! pay for a tag and let a client forge a configuration change.
//!
//! Quorums (the one place they are counted): while joint, a set is a quorum only if it holds
//! a majority of `voters` AND a majority of `outgoing`; otherwise a majority of `voters`.
//! Learners never count. Commitment, votes, pre-votes, heartbeat rounds (ReadIndex, lease) and
//! check-quorum all go through [`Membership::has_quorum`] or [`Membership::quorum_value`].
//!
//! Invariants (`validate`): `voters` is non-empty; `outgoing`, if present, is non-empty;
//! learners are disjoint from `voters` and `outgoing` (a node is demoted by removing it, then
//! adding it back as a learner, never in one step).

use std::collections::BTreeSet;
use std::fmt;

use distributed_core::NodeId;

/// A cluster configuration: a value, so it can travel in a log entry and, later, in a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Membership {
    /// The voters of the configuration being moved to (C_new), or the only ones when not joint.
    pub voters: BTreeSet<NodeId>,
    /// While joint (C_old,new): the voters being moved away from (C_old). Both majorities are
    /// needed for every decision then, which is what makes the change safe (§6).
    pub outgoing: Option<BTreeSet<NodeId>>,
    /// Members that receive the log but neither vote nor count toward any quorum: a new node
    /// catches up as a learner before it is promoted, so adding it never stalls commitment.
    pub learners: BTreeSet<NodeId>,
}

/// One requested change, relative to the leader's latest configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipChange {
    /// Add a non-voting member.
    AddLearner(NodeId),
    /// Make a learner a voter (by joint consensus).
    Promote(NodeId),
    /// Remove a voter or a learner (a voter by joint consensus).
    Remove(NodeId),
    /// Remove voter `remove` and add `add` as a voter, in one joint change.
    Replace {
        /// The voter leaving.
        remove: NodeId,
        /// The node joining as a voter (a learner or a new node).
        add: NodeId,
    },
    /// Move to exactly these voters (learners that become voters leave the learner set).
    SetVoters(BTreeSet<NodeId>),
}

/// Why a membership change or a leadership transfer was refused or abandoned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeError {
    /// Only the leader changes membership or transfers leadership.
    NotLeader {
        /// Where to retry, if known.
        leader: Option<NodeId>,
    },
    /// One change at a time: the config entry at `index` is uncommitted, or the cluster is
    /// still joint. Retry once it settles.
    ChangeInProgress {
        /// The latest config entry's index.
        index: u64,
    },
    /// A leadership transfer is under way; the leader takes no new work until it ends.
    TransferInProgress {
        /// The transfer's target.
        to: NodeId,
    },
    /// The transfer to `to` did not complete within an election timeout and was abandoned.
    TransferTimedOut {
        /// The transfer's target.
        to: NodeId,
    },
    /// The request makes no sense against the current configuration.
    Invalid(String),
}

impl Membership {
    /// A plain (not joint) configuration of these voters and no learners.
    pub fn new(voters: impl IntoIterator<Item = NodeId>) -> Membership {
        Membership {
            voters: voters.into_iter().collect(),
            outgoing: None,
            learners: BTreeSet::new(),
        }
    }

    /// True while in C_old,new.
    pub fn is_joint(&self) -> bool {
        self.outgoing.is_some()
    }

    /// True if `id` votes in this configuration (in either half while joint).
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.contains(&id) || self.outgoing.as_ref().is_some_and(|o| o.contains(&id))
    }

    /// True if `id` is a learner.
    pub fn is_learner(&self, id: NodeId) -> bool {
        self.learners.contains(&id)
    }

    /// Every member (voters of both halves and learners), ascending, each once.
    pub fn members(&self) -> BTreeSet<NodeId> {
        let mut all = self.voters.clone();
        all.extend(self.outgoing.iter().flatten().copied());
        all.extend(self.learners.iter().copied());
        all
    }

    /// True if the nodes for which `yes` holds form a quorum: a majority of `voters` and, while
    /// joint, a majority of `outgoing` too (§6).
    pub fn has_quorum(&self, yes: impl Fn(NodeId) -> bool) -> bool {
        let majority = |set: &BTreeSet<NodeId>| {
            let n = set.iter().filter(|&&id| yes(id)).count();
            n > set.len() / 2
        };
        majority(&self.voters) && self.outgoing.as_ref().is_none_or(majority)
    }

    /// The largest value a quorum has reached, given each voter's value: the commit rule's
    /// "stored on a majority" and ReadIndex's "rounds acknowledged by a majority". While joint
    /// it is the smaller of the two halves' answers, since both must agree.
    pub fn quorum_value(&self, value: impl Fn(NodeId) -> u64) -> u64 {
        let of = |set: &BTreeSet<NodeId>| {
            let mut values: Vec<u64> = set.iter().map(|&id| value(id)).collect();
            values.sort_unstable_by(|a, b| b.cmp(a));
            values.get(set.len() / 2).copied().unwrap_or(0)
        };
        let incoming = of(&self.voters);
        match &self.outgoing {
            Some(old) => incoming.min(of(old)),
            None => incoming,
        }
    }

    /// Reject a configuration that breaks the invariants in the module docs.
    pub fn validate(&self) -> Result<(), String> {
        if self.voters.is_empty() {
            return Err(format!("{self}: no voters, so no quorum could ever form"));
        }
        if self.outgoing.as_ref().is_some_and(|o| o.is_empty()) {
            return Err(format!("{self}: an empty outgoing half"));
        }
        if self.learners.iter().any(|&l| self.is_voter(l)) {
            return Err(format!("{self}: a node is both voter and learner"));
        }
        Ok(())
    }

    /// The plain configuration that `change` asks for, from this (plain) one.
    pub fn target(&self, change: &MembershipChange) -> Result<Membership, ChangeError> {
        let invalid = |why: String| Err(ChangeError::Invalid(why));
        let mut next = Membership {
            voters: self.voters.clone(),
            outgoing: None,
            learners: self.learners.clone(),
        };
        match change {
            MembershipChange::AddLearner(id) if self.is_voter(*id) || self.is_learner(*id) => {
                return invalid(format!("{id} is already a member"));
            }
            MembershipChange::AddLearner(id) => {
                next.learners.insert(*id);
            }
            MembershipChange::Promote(id) if !self.is_learner(*id) => {
                return invalid(format!("{id} is not a learner"));
            }
            MembershipChange::Promote(id) => {
                next.learners.remove(id);
                next.voters.insert(*id);
            }
            MembershipChange::Remove(id) => {
                if !next.voters.remove(id) && !next.learners.remove(id) {
                    return invalid(format!("{id} is not a member"));
                }
            }
            MembershipChange::Replace { remove, add } => {
                if !next.voters.remove(remove) || self.voters.contains(add) || remove == add {
                    return invalid(format!("cannot replace {remove} by {add}"));
                }
                next.learners.remove(add);
                next.voters.insert(*add);
            }
            MembershipChange::SetVoters(voters) => {
                next.voters = voters.clone();
                next.learners.retain(|l| !voters.contains(l));
            }
        }
        next.validate().map_err(ChangeError::Invalid)?;
        Ok(next)
    }
}

impl fmt::Display for Membership {
    /// `{n1,n2,n3}`, `{n1,n2,n4|old n1,n2,n3}`, with `+learners n5` when there are learners.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |set: &BTreeSet<NodeId>| {
            let names: Vec<String> = set.iter().map(|id| id.to_string()).collect();
            names.join(",")
        };
        write!(f, "{{{}", list(&self.voters))?;
        if let Some(old) = &self.outgoing {
            write!(f, "|old {}", list(old))?;
        }
        if !self.learners.is_empty() {
            write!(f, " +learners {}", list(&self.learners))?;
        }
        write!(f, "}}")
    }
}

impl fmt::Display for MembershipChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MembershipChange::AddLearner(id) => write!(f, "AddLearner{{{id}}}"),
            MembershipChange::Promote(id) => write!(f, "Promote{{{id}}}"),
            MembershipChange::Remove(id) => write!(f, "Remove{{{id}}}"),
            MembershipChange::Replace { remove, add } => {
                write!(f, "Replace{{remove={remove} add={add}}}")
            }
            MembershipChange::SetVoters(v) => {
                write!(f, "SetVoters{{{}}}", Membership::new(v.iter().copied()))
            }
        }
    }
}

impl fmt::Display for ChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeError::NotLeader { leader: Some(id) } => write!(f, "NotLeader{{leader={id}}}"),
            ChangeError::NotLeader { leader: None } => write!(f, "NotLeader{{leader=none}}"),
            ChangeError::ChangeInProgress { index } => {
                write!(f, "ChangeInProgress{{index={index}}}")
            }
            ChangeError::TransferInProgress { to } => write!(f, "TransferInProgress{{to={to}}}"),
            ChangeError::TransferTimedOut { to } => write!(f, "TransferTimedOut{{to={to}}}"),
            ChangeError::Invalid(why) => write!(f, "Invalid{{{why}}}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[u64]) -> BTreeSet<NodeId> {
        ids.iter().copied().map(NodeId).collect()
    }

    #[test]
    fn a_joint_quorum_needs_a_majority_of_both_halves() {
        // Raft §6: in C_old,new, agreement requires separate majorities from both.
        let joint = Membership {
            voters: set(&[1, 2, 4]),
            outgoing: Some(set(&[1, 2, 3])),
            learners: BTreeSet::new(),
        };
        assert!(joint.has_quorum(|id| id == NodeId(1) || id == NodeId(2)));
        assert!(!joint.has_quorum(|id| id == NodeId(1) || id == NodeId(3)));
        assert!(!joint.has_quorum(|id| id == NodeId(2) || id == NodeId(4)));
    }

    #[test]
    fn the_quorum_value_is_the_lower_of_the_two_halves() {
        let joint = Membership {
            voters: set(&[1, 4, 5]),
            outgoing: Some(set(&[1, 2, 3])),
            learners: set(&[6]),
        };
        let stored = |id: NodeId| [0, 9, 7, 7, 2, 1, 99][id.0 as usize];
        assert_eq!(joint.quorum_value(stored), 2, "new half: 9,2,1 → 2");
        assert_eq!(Membership::new(set(&[1, 2, 3])).quorum_value(stored), 7);
    }

    #[test]
    fn learners_never_count_toward_a_quorum() {
        let mut m = Membership::new(set(&[1, 2, 3]));
        m.learners = set(&[4, 5]);
        assert!(!m.has_quorum(|id| id != NodeId(1) && id != NodeId(2)));
    }

    #[test]
    fn targets_are_validated() {
        let m = Membership::new(set(&[1, 2, 3]));
        assert!(m.target(&MembershipChange::Promote(NodeId(4))).is_err());
        assert!(m
            .target(&MembershipChange::SetVoters(BTreeSet::new()))
            .is_err());
        let grown = m.target(&MembershipChange::AddLearner(NodeId(4))).unwrap();
        assert_eq!(grown.to_string(), "{n1,n2,n3 +learners n4}");
        let promoted = grown.target(&MembershipChange::Promote(NodeId(4))).unwrap();
        assert_eq!(promoted.to_string(), "{n1,n2,n3,n4}");
    }
}
