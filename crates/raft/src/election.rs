//! Leader election: randomized timeouts, pre-votes, campaigns, and the voting rules
//! (§5.2, §5.4.1; thesis §9.6 pre-vote, §4.2.3 disruptive servers).
//!
//! ```text
//!   follower ──(election_elapsed ≥ election_timeout)──►
//!       pre_vote on:  pre-candidate: term unchanged, nothing persisted, PreVote{term+1} to peers
//!                     ──(pre-votes from a majority)──► candidate (below)
//!                     ──(timeout again)──► pre-candidate again, with a fresh random timeout
//!       pre_vote off: candidate: term+1, vote for self, persist, RequestVote to every peer
//!   candidate ──(votes from a majority)──► leader (see leader.rs)
//!   candidate ──(timeout again: split vote)──► pre-candidate (or candidate of term+1)
//!
//!   voter, on RequestVote{term=T last=(lt,li)}:
//!     check_quorum and a leader heard (or leading) within min ticks ──► ignore, any T (§4.2.3)
//!     grant  iff  T == current term (after adopting a higher T)
//!            and  voted_for ∈ {none, candidate}                       (one vote per term, §5.2)
//!            and  (lt, li) ≥ (last_term, last_index) lexicographically (up to date, §5.4.1)
//!   voter, on PreVote{term=T last=(lt,li)}: term and vote untouched, nothing persisted
//!     grant  iff  T > current term  and  no leader heard within min ticks  and  up to date
//! ```
//!
//! A granted vote is persisted (`Write::HardState`) before the response is queued, and resets
//! the voter's election timer so it does not immediately compete with the candidate it backed.
//! A refused one resets nothing (Figure 2), even when its higher term is adopted: otherwise a
//! candidate that cannot win would hold back, timeout after timeout, the nodes that can.
//! A granted pre-vote promises nothing, so it changes no state at all.
//!
//! Why pre-vote: a node cut off from the cluster times out again and again. Without pre-vote
//! each timeout bumps its term; when it rejoins, its higher term deposes a healthy leader.
//! With pre-vote it never wins a pre-vote while cut off, so its term stays put.

use distributed_core::{NodeId, Rng};

use crate::log::{Index, Term};
use crate::message::{Message, PreVote, PreVoteResponse, RequestVote, RequestVoteResponse};
use crate::node::Raft;
use crate::ready::Ready;
use crate::role::{Candidate, Role, RoleState};

impl Raft {
    /// Follower and candidate clock: start an election (or a pre-vote) when the timeout expires.
    pub(crate) fn tick_election(&mut self, out: &mut Ready) {
        self.election_elapsed += 1;
        self.leader_contact_elapsed = self.leader_contact_elapsed.saturating_add(1);
        if self.election_elapsed >= self.election_timeout
            && !self.membership.is_voter(self.config.id)
        {
            // A learner, a node not yet added, or one removed: it never campaigns (Raft §6).
            self.reset_election_timer();
            return;
        }
        if self.election_elapsed >= self.election_timeout {
            if self.config.pre_vote {
                self.pre_campaign(out);
            } else {
                self.campaign(out);
            }
        }
    }

    /// True while this node leads, or heard from a leader of its term less than
    /// `election_timeout_ticks_min` ticks ago: then a leader is presumed alive.
    pub(crate) fn heard_from_leader_recently(&self) -> bool {
        self.role() == Role::Leader
            || self.leader_contact_elapsed < self.config.election_timeout_ticks_min
    }

    /// Thesis §4.2.3 (with check-quorum): a RequestVote while a leader is presumed alive comes
    /// from a node that was cut off, not from a needed election. Ignoring it keeps our term, so
    /// the healthy leader is not deposed; it also keeps the lease's promise that this node votes
    /// for nobody within the minimum election timeout (thesis §6.4.1). Any term, not only higher
    /// ones: a delayed answer of a higher term can move our term on while the lease still runs,
    /// and a RequestVote of that term must not get a vote then either.
    pub(crate) fn ignores_disruptive_vote(&self, msg: &Message) -> bool {
        matches!(
            msg,
            Message::RequestVote(RequestVote {
                leader_transfer: false,
                ..
            })
        ) && self.config.check_quorum
            && self.heard_from_leader_recently()
    }

    /// Thesis §9.6: ask every peer whether it would vote for us in `term + 1`, changing nothing
    /// durable. Only a majority of yeses leads to a real campaign.
    pub(crate) fn pre_campaign(&mut self, out: &mut Ready) {
        let Some(proposed) = self.term.checked_add(1) else {
            self.reset_election_timer(); // term space exhausted: see `campaign`
            return;
        };
        assert_ne!(self.role(), Role::Leader, "a leader never campaigns");
        self.role = RoleState::PreCandidate(Candidate::voting_for(self.config.id));
        self.reset_election_timer();
        if self.has_vote_quorum() {
            self.campaign(out); // a cluster of one
            return;
        }
        let request = PreVote {
            term: proposed,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        self.send_to_other_voters(request.into(), out);
    }

    /// Answer a PreVote. Nothing here is persisted or adopted: a granted pre-vote is only an
    /// opinion, so the voter may grant several in one term.
    pub(crate) fn on_pre_vote(&mut self, from: NodeId, msg: PreVote, out: &mut Ready) {
        let last = (msg.last_log_term, msg.last_log_index);
        let granted =
            msg.term > self.term && !self.heard_from_leader_recently() && self.is_up_to_date(last);
        let response = PreVoteResponse {
            term: if granted { msg.term } else { self.term },
            vote_granted: granted,
        };
        out.send(self.config.id, from, response.into());
    }

    /// Count a pre-vote of this round (its term is ours plus one); a majority starts the real
    /// election. A rejection with a higher term was already adopted by `step`.
    pub(crate) fn on_pre_vote_response(
        &mut self,
        from: NodeId,
        msg: PreVoteResponse,
        out: &mut Ready,
    ) {
        let RoleState::PreCandidate(c) = &mut self.role else {
            return out.note(format_args!(
                "ignored {msg} from {from}: not a pre-candidate"
            ));
        };
        if !msg.vote_granted {
            return out.note(format_args!("ignored {msg} from {from}: nothing to count"));
        }
        if self.term.checked_add(1) != Some(msg.term) {
            let proposed = self.term.saturating_add(1);
            return out.note(format_args!(
                "ignored {msg} from {from}: stale round, this node's pre-vote proposes term {proposed}"
            ));
        }
        if !c.votes_granted.insert(from) {
            return out.note(format_args!("ignored {msg} from {from}: already counted"));
        }
        if self.has_vote_quorum() {
            self.campaign(out);
        }
    }

    /// Start over with a fresh timeout drawn from `[min, max)`. Redrawing each time (rather
    /// than once per node) is what breaks a split vote between the same two candidates (§5.2).
    pub(crate) fn reset_election_timer(&mut self) {
        self.election_elapsed = 0;
        self.election_timeout = self.rng.range(
            self.config.election_timeout_ticks_min,
            self.config.election_timeout_ticks_max,
        );
    }

    /// Become a candidate of the next term and ask every peer for a vote (§5.2).
    pub(crate) fn campaign(&mut self, out: &mut Ready) {
        self.start_campaign(false, out);
    }

    /// `campaign`, saying in the RequestVote whether a leader transfer asked for it.
    pub(crate) fn start_campaign(&mut self, leader_transfer: bool, out: &mut Ready) {
        let Some(next_term) = self.term.checked_add(1) else {
            // Term space exhausted (only a hostile peer can get us here): stay a follower.
            self.reset_election_timer();
            return;
        };
        assert_ne!(self.role(), Role::Leader, "a leader never campaigns");
        self.term = next_term;
        self.role = RoleState::Candidate(Candidate::voting_for(self.config.id));
        self.voted_for = Some(self.config.id);
        self.save_hard_state(out);
        self.fail_unanswered_forwards(out); // answers of the old term will be dropped
        self.reset_election_timer();
        if self.has_vote_quorum() {
            self.become_leader(out); // a cluster of one
            return;
        }
        let request = RequestVote {
            term: self.term,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            leader_transfer,
        };
        self.send_to_other_voters(request.into(), out);
    }

    /// True if the votes granted so far form a quorum of the configuration (both halves while
    /// joint, Raft §6).
    fn has_vote_quorum(&self) -> bool {
        let (RoleState::PreCandidate(c) | RoleState::Candidate(c)) = &self.role else {
            return false;
        };
        self.membership
            .has_quorum(|id| c.votes_granted.contains(&id))
    }

    /// Send `request` to every voter of the configuration (both halves while joint) but us.
    fn send_to_other_voters(&self, request: Message, out: &mut Ready) {
        let me = self.config.id;
        for peer in self.membership.members() {
            if peer != me && self.membership.is_voter(peer) {
                out.send(me, peer, request.clone());
            }
        }
    }

    /// Answer a RequestVote. Higher terms were already adopted by `step`.
    pub(crate) fn on_request_vote(&mut self, from: NodeId, msg: RequestVote, out: &mut Ready) {
        let last = (msg.last_log_term, msg.last_log_index);
        let free_to_vote = self.voted_for.is_none() || self.voted_for == Some(from);
        let granted = msg.term == self.term && free_to_vote && self.is_up_to_date(last);
        if granted {
            self.voted_for = Some(from);
            self.save_hard_state(out); // durable before the response below is sent

            // Figure 2: granting a vote restarts the timer, with a fresh draw. Keeping the old
            // draw would bias voters towards long timeouts (theirs had not fired yet), which
            // slows the next election if this one fails.
            self.reset_election_timer();
        }
        let response = RequestVoteResponse {
            term: self.term,
            vote_granted: granted,
        };
        out.send(self.config.id, from, response.into());
    }

    /// §5.4.1: the candidate's log is at least as up to date as ours if its last term is
    /// higher, or the last terms are equal and its log is at least as long.
    fn is_up_to_date(&self, (last_term, last_index): (Term, Index)) -> bool {
        (last_term, last_index) >= (self.log.last_term(), self.log.last_index())
    }

    /// Count a granted vote of the current term; a majority makes this node leader (§5.2).
    pub(crate) fn on_request_vote_response(
        &mut self,
        from: NodeId,
        msg: RequestVoteResponse,
        out: &mut Ready,
    ) {
        if msg.term < self.term {
            let term = self.term;
            return out.note(format_args!(
                "ignored {msg} from {from}: stale term {} < {term} (§5.1)",
                msg.term
            ));
        }
        let RoleState::Candidate(c) = &mut self.role else {
            return out.note(format_args!("ignored {msg} from {from}: not a candidate"));
        };
        if !msg.vote_granted {
            return out.note(format_args!("ignored {msg} from {from}: nothing to count"));
        }
        if !c.votes_granted.insert(from) {
            return out.note(format_args!("ignored {msg} from {from}: already counted"));
        }
        if self.has_vote_quorum() {
            self.become_leader(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use distributed_core::{Protocol, SeededRng};

    use crate::{Config, Disk, Message, Raft, Ready, RequestVoteResponse, Role, Write};
    use distributed_core::NodeId;

    fn node(id: u64, voters: u64, seed: u64) -> Raft {
        let config = Config::new(NodeId(id), (1..=voters).map(NodeId).collect());
        Raft::new(config, &Disk::default(), SeededRng::new(seed)).expect("valid")
    }

    #[test]
    fn a_node_of_a_single_node_cluster_elects_itself_and_commits_its_no_op() {
        // Raft §5.2 with a majority of one, and §8: the no-op commits the new term.
        let mut n = node(1, 1, 3);
        let mut out = Ready::new();
        for _ in 0..20 {
            n.tick(&mut out);
        }
        assert_eq!(n.role(), Role::Leader);
        assert_eq!(n.commit_index(), 1);
        assert!(out.messages.is_empty());
    }

    #[test]
    fn a_campaign_persists_the_new_term_and_self_vote_before_asking() {
        // Raft Figure 2: currentTerm and votedFor are updated on stable storage before responding.
        let mut n = node(1, 3, 4);
        let mut out = Ready::new();
        n.campaign(&mut out);
        assert!(matches!(
            out.writes.as_slice(),
            [Write::HardState(hs)] if hs.term == 1 && hs.voted_for == Some(NodeId(1))
        ));
        let asks: Vec<String> = out.messages.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            asks,
            [
                "n1→n2 RequestVote{term=1 last=(0,0)}",
                "n1→n3 RequestVote{term=1 last=(0,0)}"
            ]
        );
    }

    #[test]
    fn a_duplicated_vote_is_counted_once() {
        // Raft §5.2: a candidate needs votes from a majority of distinct servers.
        let mut n = node(1, 5, 5);
        let mut out = Ready::new();
        n.campaign(&mut out);
        let granted: Message = RequestVoteResponse {
            term: 1,
            vote_granted: true,
        }
        .into();
        n.step(NodeId(2), granted.clone(), &mut out);
        n.step(NodeId(2), granted, &mut out);
        assert_eq!(n.role(), Role::Candidate);
    }
}
