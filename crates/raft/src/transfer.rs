//! Leadership transfer (thesis §3.10): hand leadership to a chosen voter, e.g. before taking
//! the leader down, or to move it off a node being removed.
//!
//! ```text
//!   leader, Input::TransferLeadership{to}:
//!     not leader / already transferring / `to` not another voter ──► Output::ChangeRejected
//!     stop accepting proposals and membership changes (NotLeader{leader=to})
//!     `to` matches our last index? ── no ──► keep replicating to it; each success re-checks
//!                                  ── yes ─► TimeoutNow{term} to `to` (once)
//!     an election timeout (election_timeout_ticks_max) without losing office
//!                                  ──► abort: ChangeRejected{TransferTimedOut}, accept again
//!   target, TimeoutNow{term} from its leader, while a voter:
//!     campaign at once in term+1: no pre-vote, and its RequestVote says `leader_transfer`,
//!     so voters that heard from the leader recently do not ignore it (§4.2.3 exception)
//! ```
//!
//! Why the leader gives up its lease for the rest of its term (quorum.rs `lease_forfeited`):
//! voters that promised not to vote during the lease do vote for a `leader_transfer`
//! campaign, which may start whenever TimeoutNow arrives, even after the transfer was abandoned.
//!
//! Why stop proposals: the target must hold every entry the leader has when it campaigns, or
//! voters that hold more would refuse it (§5.4.1) and the transfer would fail for nothing.
//! Why the abort: a target that crashed or is cut off would otherwise freeze the leader.
//! Safety never depends on the transfer: the target still needs a quorum of votes.

use distributed_core::{NodeId, Tick};

use crate::membership::ChangeError;
use crate::message::TimeoutNow;
use crate::node::Raft;
use crate::ready::{Output, Ready};
use crate::role::Role;

/// A leadership transfer under way at the leader.
#[derive(Clone, Debug)]
pub(crate) struct Transfer {
    /// The voter that should take over.
    pub(crate) to: NodeId,
    /// Leader ticks since the transfer began: it is abandoned at `election_timeout_ticks_max`.
    pub(crate) elapsed: Tick,
    /// Whether TimeoutNow went out: sent once, when the target has caught up.
    pub(crate) timeout_now_sent: bool,
}

impl Raft {
    /// `Input::TransferLeadership`: start a transfer, or say why not.
    pub(crate) fn transfer_leadership(&mut self, to: NodeId, out: &mut Ready) {
        let refused = if self.role() != Role::Leader {
            Some(ChangeError::NotLeader {
                leader: self.leader(),
            })
        } else if let Some(to) = self.transferring_to() {
            Some(ChangeError::TransferInProgress { to })
        } else if to == self.config.id || !self.membership.is_voter(to) {
            Some(ChangeError::Invalid(format!(
                "{to} is not another voter of {}",
                self.membership
            )))
        } else {
            None
        };
        if let Some(reason) = refused {
            out.outputs.push(Output::ChangeRejected { reason });
            return;
        }
        let l = (self.role.leader_mut()).expect("checked above: leading");
        l.transfer = Some(Transfer {
            to,
            elapsed: 0,
            timeout_now_sent: false,
        });
        // Voters answer the target's forced campaign despite this leader's lease: give it up.
        l.rounds.lease_forfeited = true;
        self.maybe_send_timeout_now(out);
    }

    /// Send TimeoutNow once the target matches our whole log; until then make sure it is fed.
    pub(crate) fn maybe_send_timeout_now(&mut self, out: &mut Ready) {
        let Some(l) = self.role.leader_mut() else {
            return;
        };
        let Some(t) = &mut l.transfer else {
            return;
        };
        if t.timeout_now_sent {
            return;
        }
        let to = t.to;
        let last = self.log.last_index();
        if (l.progress.get(&to)).is_some_and(|pr| pr.match_index == last) {
            t.timeout_now_sent = true;
            let msg = TimeoutNow { term: self.term };
            out.send(self.config.id, to, msg.into());
        } else {
            self.send_appends(to, out);
        }
    }

    /// Leader tick: abandon a transfer that has not completed within an election timeout.
    pub(crate) fn tick_transfer(&mut self, out: &mut Ready) {
        let Some(l) = self.role.leader_mut() else {
            return;
        };
        let Some(t) = &mut l.transfer else {
            return;
        };
        t.elapsed += 1;
        if t.elapsed >= self.config.election_timeout_ticks_max {
            let to = t.to;
            l.transfer = None;
            let reason = ChangeError::TransferTimedOut { to };
            out.outputs.push(Output::ChangeRejected { reason });
        }
    }

    /// The target's side: TimeoutNow from the leader of our term makes a voter campaign now.
    pub(crate) fn on_timeout_now(&mut self, from: NodeId, msg: TimeoutNow, out: &mut Ready) {
        if msg.term < self.term {
            let term = self.term;
            return out.note(format_args!(
                "ignored {msg} from {from}: stale term {} < {term} (§5.1)",
                msg.term
            ));
        }
        if self.role() != Role::Follower || self.leader() != Some(from) {
            return out.note(format_args!(
                "ignored {msg} from {from}: not from this node's leader"
            ));
        }
        if !self.membership.is_voter(self.config.id) {
            return out.note(format_args!(
                "ignored {msg} from {from}: this node is not a voter"
            ));
        }
        self.start_campaign(true, out);
    }
}
