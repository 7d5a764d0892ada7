//! The Raft node: its state, start and restart, the accessors hosts and checkers read, and the
//! `Protocol` entry points that dispatch to the handlers in the role-specific files.
//!
//! The node's role, and the state only that role holds, is a `RoleState` (role.rs, with the
//! role diagram): a follower's leader, a candidate's votes, a leader's progress, rounds,
//! transfer and reads. What every role needs stays on `Raft`.
//!
//! `step` is the one door for messages; it decides only what needs no role, then hands each
//! message to its handler, which has the one signature `on_x(&mut self, from, msg: X, out)`:
//!
//! ```text
//!   step(from, msg)
//!     from this node itself ───────────────────────────────► note, drop
//!     PreVote / RequestVote from a non-voter ──────────────► note, drop    (thesis §4.2.3)
//!     RequestVote while a leader is presumed alive ────────► note, drop    (check-quorum, §4.2.3)
//!     msg.term > term, a term someone holds ───────────────► follower of msg.term   (§5.1)
//!     match msg { Message::X(m) => self.on_x(from, m, out), … }      one line per message
//!   on_x(from, m, out)
//!     m.term < term:  a request is answered with our term (the sender steps down),
//!                     an answer is ignored with a note                        (§5.1)
//!     wrong role, stale round, duplicate, answer to nothing we track ──► a note, nothing else
//!     otherwise: the rule the message exists for (election.rs, follower.rs, leader.rs, …)
//! ```
//!
//! Term rule (§5.1): a message with a higher term makes this node a follower of that term
//! (persisted before anything else; its election timer keeps running, see `become_follower`),
//! of the sender if only a leader sends that message. Two exceptions: a pre-vote's term is only
//! proposed, so it is never adopted (thesis §9.6); and with `check_quorum`, a RequestVote is
//! ignored outright, its term included, while this node leads or has heard from a leader within
//! `election_timeout_ticks_min` (thesis §4.2.3). The "is this for my term and my role?" checks
//! sit in the handlers, next to the rule they guard, and every message a handler ignores says
//! why in a note (`Effects::note`, kept only when the host asked for notes).
//!
//! Invariants (asserted): `commit_index` never decreases within an incarnation, and starts at
//! the snapshot's index after a restart (never below what the state machine holds); at most one vote
//! per term; entries are delivered once each, in index order; a `ReadReady` never names an
//! index beyond the last one delivered.

use distributed_core::{NodeId, Protocol, Rng, SeededRng, Tick};

use crate::config::{Config, ConfigError, ReadMode};
use crate::log::{Entry, Index, Log, Term};
use crate::membership::Membership;
use crate::message::{Message, Round};
use crate::read::ForwardedReads;
use crate::ready::{self, Disk, HardState, Input, Output, Ready, Write};
use crate::role::{Follower, Role, RoleState};
use crate::snapshot::{Incoming, Snapshot};

/// One Raft node as a deterministic, sans-IO state machine. Drive it through
/// [`Protocol`] and carry out each [`Ready`] as its docs say.
#[derive(Clone, Debug)]
pub struct Raft {
    /// Timeouts, bounds, voters, variant; validated once, never changed.
    pub(crate) config: Config,
    /// The only randomness: election timeouts. Injected so runs replay from a seed.
    pub(crate) rng: SeededRng,
    /// Figure 2 `currentTerm`; persisted in `HardState` before any message depends on it.
    pub(crate) term: Term,
    /// Figure 2 `votedFor` in `term`; persisted likewise, so a restart cannot vote twice.
    pub(crate) voted_for: Option<NodeId>,
    /// The last term and vote queued for persistence: lets `save_hard_state` assert that a vote,
    /// once cast in a term, is never changed.
    pub(crate) hard_state: HardState,
    /// Follower, pre-candidate, candidate or leader, with the state only that role has
    /// (role.rs): a follower's leader, a candidate's votes, a leader's progress and rounds.
    pub(crate) role: RoleState,
    /// The in-memory copy of the log; every change to it is queued as a `Write::Append`.
    pub(crate) log: Log,
    /// Figure 2 `commitIndex`. Volatile: restarts at the snapshot's index (everything in a
    /// snapshot is committed) and is relearned from the leader.
    pub(crate) commit_index: Index,
    /// The last index handed to the host as `Output::Committed` (Figure 2 `lastApplied`).
    /// Kept apart from `commit_index` so delivery happens exactly once per index.
    pub(crate) delivered_index: Index,
    /// Ticks since the last heartbeat from the leader, vote granted, or election start. Every
    /// role but the leader runs this timer; it stays on `Raft` because a leader stepping down
    /// starts a fresh one (role.rs).
    pub(crate) election_elapsed: Tick,
    /// This round's randomized timeout, drawn from `[min, max)` (§5.2).
    pub(crate) election_timeout: Tick,
    /// This node's logical clock: ticks since this incarnation started. Leases and the
    /// check-quorum window are measured on it, because `election_elapsed` is reset too often.
    pub(crate) ticks: Tick,
    /// Ticks since this node last heard from a leader of its term (0 while leading). Unlike
    /// `election_elapsed` it is not reset by granting a vote or adopting a term, so it answers
    /// exactly "is a leader alive?" for pre-votes (thesis §9.6) and for ignoring disruptive
    /// RequestVotes (thesis §4.2.3).
    pub(crate) leader_contact_elapsed: Tick,
    /// The last heartbeat round this node sent, in any leadership of this incarnation. The
    /// rest of the rounds live in `Leader`; this number outlives each leadership so the next
    /// one numbers on from it and a round number is never reused by this node.
    pub(crate) last_round: Round,
    /// Reads this node forwarded to its leader. On `Raft`, not in `Follower`: a forwarded
    /// read that holds its index stays valid whatever happens to the leader or the term, and
    /// waits, in any role, until this node has delivered through that index (thesis §6.4).
    pub(crate) forwarded: ForwardedReads,
    /// The configuration of the latest config entry in the log, committed or not (Raft §6), or
    /// the bootstrap `Config::voters`. Every quorum is counted over it (membership.rs).
    pub(crate) membership: Membership,
    /// The index of the entry `membership` came from (0: bootstrap). A change is in flight
    /// while it is above `commit_index`; a truncation at or below it reverts the configuration.
    pub(crate) membership_index: Index,
    /// The latest snapshot (§7), as persisted: a leader sends it to followers whose next entry
    /// it compacted away. Shared bytes, so holding it costs one copy of the state.
    pub(crate) snapshot: Option<Snapshot>,
    /// A snapshot being received in chunks, until its last one arrives. On `Raft`, not in
    /// `Follower`: a follower that times out keeps its term as a pre-candidate, and when the
    /// same leader's next chunk makes it a follower again, assembly resumes where it was.
    pub(crate) incoming: Option<Incoming>,
}

impl Raft {
    /// Start (or restart) from what the disk holds. Empty Disk = a brand new node.
    ///
    /// Fails if the config is invalid or the disk breaks Raft's invariants (a gap in the log,
    /// terms going down, a log term above the stored term).
    pub fn new(config: Config, disk: &Disk, rng: SeededRng) -> Result<Raft, ConfigError> {
        config.validate()?;
        // Each incarnation numbers its forwarded reads from its own random point (read.rs,
        // `ForwardedReads::next_request`). Drawn from a copy of the generator, so the node's own draws
        // (election timeouts) and thus every simulated schedule stay as they were; the number
        // only has to differ between incarnations, and each one gets a fresh generator.
        let forwarded = ForwardedReads::starting_at(rng.clone().next_u64() >> 1);
        let point = disk
            .snapshot
            .as_ref()
            .map_or((0, 0), |s| (s.meta.index, s.meta.term));
        let log = Log::from_parts(point, &disk.log)
            .map_err(|e| ConfigError::new(format!("disk: {e}")))?;
        let hs = disk.hard_state;
        if log.last_term() > hs.term {
            return Err(ConfigError::new(format!(
                "disk: hard_state.term {} is below the last log term {}: a term change was lost",
                hs.term,
                log.last_term()
            )));
        }
        // With lease reads a restarted node may have acknowledged a leader's heartbeat just
        // before it crashed, and that leader's lease counts on this node not voting for
        // `election_timeout_ticks_min` ticks after it: so it honours the lease from start-up.
        // A brand-new node (empty disk) has acknowledged nothing. With ReadIndex only liveness
        // is at stake, and a restarted node is free to vote at once, as in the paper.
        let acked_before = hs.term > 0 || log.last_index() > 0;
        let leader_contact_elapsed = match config.read_mode {
            ReadMode::Lease if acked_before => 0,
            _ => config.election_timeout_ticks_min,
        };
        let mut raft = Raft {
            config,
            rng,
            term: hs.term,
            voted_for: hs.voted_for,
            hard_state: hs,
            role: RoleState::Follower(Follower::default()),
            log,
            commit_index: point.0,
            delivered_index: point.0,
            election_elapsed: 0,
            election_timeout: 0,
            ticks: 0,
            leader_contact_elapsed,
            last_round: 0,
            forwarded,
            membership: Membership::default(),
            membership_index: 0,
            snapshot: disk.snapshot.clone(),
            incoming: None,
        };
        raft.reload_membership(0); // latest config entry on disk, else the snapshot's, else Config::voters
        raft.reset_election_timer();
        Ok(raft)
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }
    /// The current term.
    pub fn term(&self) -> Term {
        self.term
    }
    /// The current role.
    pub fn role(&self) -> Role {
        self.role.role()
    }
    /// The leader of the current term, if known (itself when leading).
    pub fn leader(&self) -> Option<NodeId> {
        match &self.role {
            RoleState::Follower(f) => f.leader,
            RoleState::PreCandidate(_) | RoleState::Candidate(_) => None,
            RoleState::Leader(_) => Some(self.config.id),
        }
    }
    /// Whom this node voted for in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    /// The highest index known to be committed.
    pub fn commit_index(&self) -> Index {
        self.commit_index
    }
    /// The index of the last log entry (0 if empty).
    pub fn last_index(&self) -> Index {
        self.log.last_index()
    }
    /// The term of the last log entry (0 if empty).
    pub fn last_term(&self) -> Term {
        self.log.last_term()
    }
    /// The term of the entry at `index`; `Some(0)` for index 0, `None` past the end.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        self.log.term_at(index)
    }
    /// The entry at `index`, if present.
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        self.log.entry(index)
    }
    /// The retained log: every entry after the snapshot (from index 1 without one).
    pub fn entries(&self) -> &[Entry] {
        self.log.entries()
    }
    /// The last index the latest snapshot covers (0 without one): the log starts after it.
    pub fn snapshot_index(&self) -> Index {
        self.log.snapshot_index()
    }
    /// The term of the entry at `snapshot_index` (0 without a snapshot).
    pub fn snapshot_term(&self) -> Term {
        self.log.snapshot_term()
    }
    /// The latest snapshot, taken here or installed from a leader (§7).
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
    /// The last index handed to the host (as `Committed`, or inside a `RestoreSnapshot`).
    pub fn applied_index(&self) -> Index {
        self.delivered_index
    }
    /// The configuration the node runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// The configuration in force: the latest config entry in the log, committed or not (§6).
    pub fn membership(&self) -> &Membership {
        &self.membership
    }
    /// The index of the config entry `membership()` came from (0: the bootstrap voters).
    pub fn membership_index(&self) -> Index {
        self.membership_index
    }
    /// The target of the leadership transfer under way at this leader, if any.
    pub fn transferring_to(&self) -> Option<NodeId> {
        let transfer = self.role.leader()?.transfer.as_ref();
        transfer.map(|t| t.to)
    }
    /// Reads waiting on this node: confirming at a leader, plus forwarded ones at any role.
    pub fn pending_reads(&self) -> usize {
        let confirming = self.role.leader().map_or(0, |l| l.reads.len());
        confirming + self.forwarded.len()
    }

    /// Adopt `term` (which must not be lower than ours) as a follower of `leader`.
    /// A new term clears the vote; both are persisted before anything that depends on them.
    /// Reads that can no longer be confirmed fail, so their clients retry.
    ///
    /// The election timer keeps running (Figure 2: only AppendEntries from the current leader,
    /// granting a vote, or starting an election reset it; the callers for the first two do so).
    /// Resetting it here let a stale candidate, whose RequestVote is rejected, restart the timer
    /// of every node that could win, again and again: a cluster without a leader for a long
    /// time. A leader is the exception: it runs no election timer, so it starts a fresh one.
    /// The road not taken: etcd's `reset` on every term change, tolerable only because pre-vote
    /// and check-quorum keep stale candidates from being heard at all.
    pub(crate) fn become_follower(&mut self, term: Term, leader: Option<NodeId>, out: &mut Ready) {
        assert!(term >= self.term, "terms never go backwards (§5.1)");
        let new_term = term > self.term;
        if new_term {
            self.term = term;
            self.voted_for = None;
            self.save_hard_state(out);
        }
        let follower = RoleState::Follower(Follower { leader });
        if let RoleState::Leader(was) = std::mem::replace(&mut self.role, follower) {
            self.last_round = was.rounds.current;
            self.reset_election_timer();
            self.fail_leader_reads(was.reads, out);
        }
        if new_term {
            self.fail_unanswered_forwards(out);
        }
    }

    /// Queue the current term and vote as a durable write. Consecutive hard-state writes in one
    /// `Ready` are merged: the host persists all writes before any message, so only the last
    /// one can be observed.
    pub(crate) fn save_hard_state(&mut self, out: &mut Ready) {
        let hs = HardState {
            term: self.term,
            voted_for: self.voted_for,
        };
        let before = self.hard_state;
        assert!(hs.term >= before.term, "terms never go backwards (§5.1)");
        assert!(
            hs.term > before.term || before.voted_for.is_none() || before.voted_for == hs.voted_for,
            "at most one vote per term (§5.2): voted {:?} then {:?} in term {}",
            before.voted_for,
            hs.voted_for,
            hs.term
        );
        self.hard_state = hs;
        if let Some(Write::HardState(last)) = out.writes.last_mut() {
            *last = hs;
        } else {
            out.writes.push(Write::HardState(hs));
        }
    }

    /// Raise `commit_index` to `index` and deliver every newly committed entry in order.
    pub(crate) fn commit_to(&mut self, index: Index, out: &mut Ready) {
        assert!(index > self.commit_index, "commit_index never decreases");
        self.commit_index = index;
        // Bounded by the log length. `commit_index` exceeds `last_index` only if a leader broke
        // §5.4.2 and made this node truncate committed entries; deliver what exists.
        let deliver_to = self.commit_index.min(self.log.last_index());
        while self.delivered_index < deliver_to {
            self.delivered_index += 1;
            let entry = self
                .log
                .entry(self.delivered_index)
                .expect("index within the log");
            out.outputs.push(Output::Committed(entry.clone()));
        }
        self.on_commit_advanced(out);
        self.advance_membership(out);
    }

    /// §5.1 term rule, before any handler runs: a higher term that someone holds makes this
    /// node a follower of that term (persisted first); of `from` if the message is one only a
    /// leader sends. Lower terms are left to the handlers: requests are answered with our term,
    /// answers are ignored with a note.
    fn observe_term(&mut self, from: NodeId, msg: &Message, out: &mut Ready) {
        if msg.term() <= self.term || !msg.carries_a_held_term() {
            return;
        }
        let from_leader = matches!(msg, Message::AppendEntries(_) | Message::InstallSnapshot(_));
        self.become_follower(msg.term(), from_leader.then_some(from), out);
    }

    /// A PreVote or RequestVote from a node that is not a voter of our configuration: a removed
    /// node (or a stranger) that must not move our term or win our vote (thesis §4.2.3).
    fn is_vote_from_non_voter(&self, from: NodeId, msg: &Message) -> bool {
        matches!(msg, Message::PreVote(_) | Message::RequestVote(_))
            && !self.membership.is_voter(from)
    }
}

impl Protocol for Raft {
    type Message = Message;
    type Input = Input;
    type Output = Output;
    type Write = Write;
    type Disk = Disk;

    fn id(&self) -> NodeId {
        self.config.id
    }

    fn step(&mut self, from: NodeId, msg: Message, out: &mut Ready) {
        // From any other node, members or not: a node added later learns who its peers are
        // from the log its leader sends, so it must hear a leader its older configuration does
        // not list. Only votes are checked against the configuration (below).
        if from == self.config.id {
            return out.note(format_args!(
                "ignored {msg} from {from}: sent by this node itself"
            ));
        }
        if self.is_vote_from_non_voter(from, &msg) {
            let m = &self.membership;
            return out.note(format_args!(
                "ignored {msg} from {from}: not a voter of {m} (thesis §4.2.3)"
            ));
        }
        if self.ignores_disruptive_vote(&msg) {
            return out.note(format_args!(
                "ignored {msg} from {from}: disruptive, a leader was heard within election_timeout_ticks_min (check-quorum, thesis §4.2.3)"
            ));
        }
        self.observe_term(from, &msg, out);
        match msg {
            Message::PreVote(m) => self.on_pre_vote(from, m, out),
            Message::PreVoteResponse(m) => self.on_pre_vote_response(from, m, out),
            Message::RequestVote(m) => self.on_request_vote(from, m, out),
            Message::RequestVoteResponse(m) => self.on_request_vote_response(from, m, out),
            Message::AppendEntries(m) => self.on_append_entries(from, m, out),
            Message::AppendEntriesResponse(m) => self.on_append_entries_response(from, m, out),
            Message::InstallSnapshot(m) => self.on_install_snapshot(from, m, out),
            Message::InstallSnapshotResponse(m) => self.on_install_snapshot_response(from, m, out),
            Message::ReadIndexRequest(m) => self.on_read_index_request(from, m, out),
            Message::ReadIndexResponse(m) => self.on_read_index_response(from, m, out),
            Message::TimeoutNow(m) => self.on_timeout_now(from, m, out),
        }
    }

    fn tick(&mut self, out: &mut Ready) {
        self.ticks += 1;
        match self.role() {
            Role::Leader => self.tick_leader(out),
            Role::Follower | Role::PreCandidate | Role::Candidate => self.tick_election(out),
        }
        self.expire_reads(out);
    }

    fn input(&mut self, input: Input, out: &mut Ready) {
        match input {
            Input::Propose(data) => self.propose(data, out),
            Input::Read { id } => self.read(id, out),
            Input::ChangeMembership(change) => self.change_membership(change, out),
            Input::TransferLeadership { to } => self.transfer_leadership(to, out),
            Input::Snapshot { index, data } => self.take_snapshot(index, data, out),
            Input::LogDurable { index, term } => {
                if self.log.mark_durable(index, term) && self.config.leader_writes_in_parallel {
                    self.maybe_commit(out); // a no-op unless leading
                }
            }
        }
    }

    fn persist(disk: &mut Disk, write: &Write) {
        ready::persist(disk, write);
    }

    /// Thesis §10.2.1: with `leader_writes_in_parallel`, a leader's AppendEntries and
    /// InstallSnapshot leave before its own writes are durable (contract step 5).
    fn overlaps_writes(&self) -> bool {
        self.config.leader_writes_in_parallel
    }

    fn sends_before_durable(&self, msg: &Message) -> bool {
        msg.replicates()
    }

    /// `LogDurable` of where the durable log now ends, if the writes touched the log.
    fn durable_input(&self, writes: &[Write]) -> Option<Input> {
        Write::last_log_point(writes).map(|(index, term)| Input::LogDurable { index, term })
    }
}

#[cfg(test)]
mod tests {
    use distributed_core::{NodeId, Protocol, SeededRng};

    use crate::message::{AppendEntriesResponse, AppendResult, Message, RequestVote};
    use crate::{Config, Disk, Raft, Ready};

    fn node(id: u64, voters: u64) -> Raft {
        let config = Config::new(NodeId(id), (1..=voters).map(NodeId).collect());
        Raft::new(config, &Disk::default(), SeededRng::new(id)).expect("valid")
    }

    fn ack(term: u64) -> Message {
        AppendEntriesResponse {
            term,
            result: AppendResult::Ok { match_index: 0 },
            round: 0,
        }
        .into()
    }

    #[test]
    fn a_follower_ignores_an_append_response_with_a_note_saying_it_is_not_leader() {
        let mut n = node(1, 3);
        let mut out = Ready::with_notes();
        n.step(NodeId(2), ack(0), &mut out);
        assert_eq!(
            out.notes.lines(),
            ["ignored AppendEntriesResponse{term=0 ok match=0 round=0} from n2: not leader"]
        );
        assert!(out.is_empty(), "a note is the only effect");
    }

    #[test]
    fn a_vote_from_a_non_voter_is_ignored_with_a_note_and_moves_no_term() {
        // Raft thesis §4.2.3: a removed server must not disrupt the cluster.
        let mut n = node(1, 3);
        let mut out = Ready::with_notes();
        let ask = RequestVote {
            term: 7,
            last_log_index: 0,
            last_log_term: 0,
            leader_transfer: false,
        };
        n.step(NodeId(9), ask.into(), &mut out);
        assert_eq!(n.term(), 0);
        assert!(out.is_empty());
        let [line] = out.notes.lines() else {
            panic!("one note expected: {:?}", out.notes.lines());
        };
        assert!(
            line.starts_with("ignored RequestVote{term=7 last=(0,0)} from n9: not a voter of"),
            "{line}"
        );
    }

    #[test]
    fn notes_are_formatted_only_when_the_host_asks_and_change_nothing_else() {
        let (mut quiet, mut traced) = (node(1, 3), node(1, 3));
        let (mut a, mut b) = (Ready::new(), Ready::with_notes());
        for (from, term) in [(2, 0), (3, 5), (2, 5)] {
            quiet.step(NodeId(from), ack(term), &mut a);
            traced.step(NodeId(from), ack(term), &mut b);
        }
        assert!(a.notes.lines().is_empty());
        assert_eq!(b.notes.lines().len(), 3, "{:?}", b.notes.lines());
        assert_eq!(format!("{:?}", a.writes), format!("{:?}", b.writes));
        assert_eq!(a.messages, b.messages);
        assert_eq!(quiet.term(), traced.term());
    }
}
