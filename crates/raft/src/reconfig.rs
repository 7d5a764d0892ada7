//! Membership changes on a node: the leader's two-phase joint consensus, every node's "latest
//! config entry wins" rule, and the leader stepping down when it is not in C_new
//! (Raft §6, thesis §4.3). The configuration value and the quorum rule live in membership.rs.
//!
//! ```text
//!   leader, Input::ChangeMembership(c):
//!     not leader / transfer under way / change in flight / invalid ──► Output::ChangeRejected
//!     voters unchanged (learners only)      ──► append Config(C_new)          one step
//!     Variant::OneStepMembership            ──► append Config(C_new)          UNSAFE, on purpose
//!     otherwise                             ──► append Config(C_old,new)      joint
//!   leader, commit_index reaches the latest config entry:
//!     it is joint      ──► append Config(C_new)                               (§6 second phase)
//!     it is plain and this leader is not one of its voters ──► step down      (§6)
//!   any node, log changed (append or truncation):
//!     membership = latest Config entry in the log, else Config::voters (bootstrap)
//! ```
//!
//! A leader that appends C_new without itself keeps leading until C_new commits, but no longer
//! counts itself in any quorum: `Membership::has_quorum` and `quorum_value` only see voters.
//!
//! Invariants: `membership` equals the configuration of the entry at `membership_index` (or the
//! bootstrap one when that index is 0); at most one config entry is uncommitted at any time on a
//! correct leader (it refuses a change while one is in flight).

use bytes::Bytes;

use crate::config::Variant;
use crate::log::{EntryKind, Index};
use crate::membership::{ChangeError, Membership, MembershipChange};
use crate::node::Raft;
use crate::progress::Progress;
use crate::ready::{Output, Ready};
use crate::role::Role;

impl Raft {
    /// `Input::ChangeMembership`: validate against the latest configuration, then append the
    /// first config entry of the change.
    pub(crate) fn change_membership(&mut self, change: MembershipChange, out: &mut Ready) {
        match self.next_membership(&change) {
            Ok(next) => {
                // Success is reported by the config entries' own `Committed` outputs: the
                // change is complete when a plain (not joint) configuration commits.
                self.append_own(Bytes::new(), EntryKind::Config(next), out);
                self.replicate_and_commit(out);
            }
            Err(reason) => out.outputs.push(Output::ChangeRejected { reason }),
        }
    }

    /// The configuration to append for `change`, or why none may be appended now.
    fn next_membership(&self, change: &MembershipChange) -> Result<Membership, ChangeError> {
        if self.role() != Role::Leader {
            return Err(ChangeError::NotLeader {
                leader: self.leader(),
            });
        }
        if let Some(to) = self.transferring_to() {
            return Err(ChangeError::TransferInProgress { to });
        }
        if self.membership.is_joint() || self.membership_index > self.commit_index {
            return Err(ChangeError::ChangeInProgress {
                index: self.membership_index,
            });
        }
        let target = self.membership.target(change)?;
        let one_step = target.voters == self.membership.voters
            || self.config.variant == Variant::OneStepMembership;
        if one_step {
            return Ok(target);
        }
        Ok(Membership {
            outgoing: Some(self.membership.voters.clone()),
            ..target
        })
    }

    /// After the commit index moved on a leader: finish a joint change whose C_old,new has
    /// committed, or step down once a C_new without this node has.
    pub(crate) fn advance_membership(&mut self, out: &mut Ready) {
        if self.role() != Role::Leader || self.membership_index > self.commit_index {
            return;
        }
        if self.membership.is_joint() {
            let next = Membership {
                outgoing: None,
                ..self.membership.clone()
            };
            self.append_own(Bytes::new(), EntryKind::Config(next), out);
            self.replicate_and_commit(out);
        } else if !self.membership.is_voter(self.config.id) {
            self.become_follower(self.term, None, out); // §6: C_new committed without us
        }
    }

    /// Adopt `membership`, read from the entry at `index` (0: bootstrap). A leader starts
    /// tracking new members and forgets departed ones, and gives up its lease: the quorum that
    /// granted it may not be a quorum of the new configuration.
    pub(crate) fn set_membership(&mut self, membership: Membership, index: Index) {
        self.membership = membership;
        self.membership_index = index;
        let Some(l) = self.role.leader_mut() else {
            return;
        };
        l.rounds.lease_until = 0;
        let (me, last, now) = (self.config.id, self.log.last_index(), self.ticks);
        let members = self.membership.members();
        l.progress.retain(|id, _| members.contains(id));
        for id in members {
            if id != me && !l.progress.contains_key(&id) {
                l.progress.insert(id, Progress::new(last, now));
            }
        }
    }

    /// The log changed from index `from` on (truncated there, then maybe appended, or cut by
    /// a snapshot when `from` is 0): follow the latest config entry, reverting to an earlier
    /// one if the latest was truncated (§6), and to the snapshot's configuration when the log
    /// after the snapshot names none (§7).
    pub(crate) fn reload_membership(&mut self, from: Index) {
        let reverted = from <= self.membership_index;
        let first = self.log.snapshot_index() + 1;
        let start = if reverted { first } else { from.max(first) };
        let found = (start..=self.log.last_index()).rev().find_map(|i| {
            let entry = self.log.entry(i).expect("index within the log");
            entry.membership().map(|m| (m.clone(), i))
        });
        match found {
            Some((m, i)) => self.set_membership(m, i),
            None if reverted => {
                let (m, i) = self.compacted_membership();
                self.set_membership(m, i)
            }
            None => {}
        }
    }

    /// The configuration at `index` (at most the last log index): the latest config entry at
    /// or below it, else the one the snapshot recorded. Used to stamp a new snapshot.
    pub(crate) fn membership_at(&self, index: Index) -> Membership {
        if self.membership_index <= index {
            return self.membership.clone();
        }
        let first = self.log.snapshot_index() + 1;
        (first..=index)
            .rev()
            .find_map(|i| self.log.entry(i).and_then(|e| e.membership().cloned()))
            .unwrap_or_else(|| self.compacted_membership().0)
    }

    /// The configuration as of the snapshot (its index stands in for the config entry's),
    /// or the bootstrap one at index 0 when there is no snapshot.
    fn compacted_membership(&self) -> (Membership, Index) {
        match &self.snapshot {
            Some(s) => (s.meta.membership.clone(), s.meta.index),
            None => (self.bootstrap_membership(), 0),
        }
    }

    /// The configuration before any config entry: `Config::voters`.
    pub(crate) fn bootstrap_membership(&self) -> Membership {
        Membership::new(self.config.voters.iter().copied())
    }
}
