//! The request path of a replica: admit a request, propose it, remember who waits for which
//! index, apply what commits, answer, and give up on everything when leadership is lost.
//!
//! ```text
//!   handle_request ──► (refusals answer at once) ──► raft.input(Propose) ─┐
//!                 └──► read-only, not via the log ──► read.rs: raft.input(Read{id}) ─┤
//!   step / tick ─────────────────────────────────────► raft.step / tick ──┤
//!                                                                         ▼
//!   absorb: Raft's writes, messages ──► out (unchanged, in order)
//!           Raft's outputs, in order:
//!             Accepted{index,term} ──► pending[index] = Pending{term, tag}
//!                                          (the leader's expiry entry: expiry_in_flight = index)
//!             NotLeader{leader}    ──► Reply NotLeader              (the proposal of this call)
//!             Committed(entry)     ──► apply ──► Applied, Published* ──► answer pending[index]
//!             RestoreSnapshot(s)   ──► compact.rs: machine = restore(s) ──► Restored
//!             ReadReady / ReadFailed ──► read.rs: answer reads[id] from the machine, or refuse
//!           compact.rs: log since the last snapshot too long ──► Snapshot (one more write)
//!           settle_leadership: not leader ──► Retry every pending request, clear (and forget
//!                                             the expiry entry in flight)
//! ```
//!
//! Why an entry's term decides whose it is: the entry this leader appended at `index` in `term`
//! is the only entry that can ever sit at (`index`, `term`) on any node (Log Matching, §5.3).
//! If the entry that commits at `index` has another term, the request was overwritten and
//! never applied at that index; it may still have been copied elsewhere, hence `Retry`, not
//! a refusal. While the node leads its own log is append-only (§5.3), and on stepping down
//! `pending` is emptied, so in practice a mismatch means a Raft bug; answering `Retry` keeps
//! the client's contract even then.
//!
//! Why commits are handled before `settle_leadership`: the new leader's first AppendEntries can
//! both depose this node (§5.1) and carry a commit index covering its pending entries. Applying
//! those first gives their clients the true `Done` reply; only what is still pending after the
//! whole call gets `Retry`.
//!
//! Invariants (asserted): Raft answers a proposal exactly once, with `Accepted` or `NotLeader`;
//! two proposals never share an index; every pending index is above `applied_index`; all
//! pending entries have the current term while the node leads.

use distributed_core::{Effects, Protocol};
use raft::{Entry, Index, Role, Term};

use crate::config::{ReadPath, ReplicaVariant};
use crate::io::{Outcome, Output};
use crate::KvReplica;
use kv::{Command, Request};
use kv::{KvError, Reply};

/// A request this leader proposed and has not answered yet.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    /// The term Raft accepted the proposal in: the entry that commits at the same index is this
    /// request's if and only if it has this term (Log Matching, §5.3).
    term: Term,
    /// The host's correlation id, echoed in the one reply.
    tag: u64,
    /// The kv session the request belongs to (0: none). A write of a session with a proposal
    /// in flight is never answered off the log (noop.rs): it could overtake that proposal.
    pub(super) client_id: u64,
    /// `AckBeforeCommit` only: the client already got `Done(Ok)`, so the commit must not answer
    /// a second time. Kept in `pending` anyway so the entry still counts against the bound.
    answered: bool,
}

/// The proposal made by the current call, until Raft says where it went.
#[derive(Clone, Copy, Debug)]
pub(super) enum Proposal {
    /// A client's request.
    Client {
        /// The host's correlation id.
        tag: u64,
        /// The request's kv session, kept with the pending entry.
        client_id: u64,
        /// Answer `Done(Ok)` as soon as Raft accepts (the `AckBeforeCommit` bug).
        ack_on_accept: bool,
    },
    /// This leader's own `DISTRIBUTED.EXPIRE` entry (expiry.rs): nobody waits for its reply,
    /// the replica only remembers its index so that one is in flight at a time.
    Expiry,
}

type Out = Effects<KvReplica>;

pub(super) fn answer(out: &mut Out, tag: u64, outcome: Outcome) {
    out.outputs.push(Output::Reply { tag, outcome });
}

impl KvReplica {
    /// `Input::Request`: answer at once if the request cannot be proposed here, else propose it.
    pub(super) fn handle_request(
        &mut self,
        tag: u64,
        request: Request,
        random_seed: u64,
        out: &mut Out,
    ) {
        if self.hold_behind_probe(tag, &request, random_seed, out) {
            return; // noop.rs: an earlier write of this client is being probed
        }
        let variant = self.config.variant;
        // Only a single read-only command takes a read path; a transaction always goes
        // through the log, where its WATCH is judged at one index on every replica.
        let read_only = request.command().is_some_and(Command::is_read_only);
        if variant == ReplicaVariant::StaleFollowerReads && read_only {
            // Deliberately broken: whatever this node has applied may be behind the cluster
            // (a lagging follower, a deposed leader that does not know it yet).
            let command = request.command().expect("read_only means one command");
            let reply = self.machine.read(command, random_seed);
            return answer(out, tag, Outcome::Done(reply));
        }
        if self.config.reads != ReadPath::Log && read_only {
            return self.handle_read(tag, request, random_seed, out); // any role: read.rs
        }
        self.propose_request(tag, request, true, out);
    }

    /// Propose a write (refusing what cannot be proposed here). `may_probe`: a write that may
    /// be a no-op is first checked on the read path (noop.rs); false for one already checked.
    pub(super) fn propose_request(
        &mut self,
        tag: u64,
        request: Request,
        may_probe: bool,
        out: &mut Out,
    ) {
        if self.raft.role() != Role::Leader {
            let leader = self.raft.leader();
            return answer(out, tag, Outcome::NotLeader { leader });
        }
        let data = request.encode();
        if let Some(refused) = self.refusal_of(&data) {
            return answer(out, tag, refused);
        }
        if self.pending.len() >= self.config.pending_requests_max {
            return answer(out, tag, Outcome::Busy);
        }
        if may_probe && self.should_probe(&request) {
            return self.probe(tag, request, out); // noop.rs
        }
        // A plain SET or an MSET answers OK whatever the state (what the bug needs).
        let replies_ok_whatever_the_state = request
            .command()
            .is_some_and(|c| c.name() == "mset" || (c.name() == "set" && c.args().len() == 2));
        let proposal = Proposal::Client {
            tag,
            client_id: request.client_id,
            ack_on_accept: self.config.variant == ReplicaVariant::AckBeforeCommit
                && replies_ok_whatever_the_state,
        };
        self.raft
            .input(raft::Input::Propose(data), &mut self.scratch);
        self.absorb(Some(proposal), out);
    }

    /// The answer to a request whose encoding `data` no replica would accept, if so. Every
    /// replica's `apply` would refuse these exact bytes the same way and change nothing, so
    /// answering now is the same outcome without spending a log entry (or a read) on it.
    pub(super) fn refusal_of(&self, data: &[u8]) -> Option<Outcome> {
        let e = Request::decode(data, &self.machine.config().limits).err()?;
        Some(Outcome::Done(Reply::Error(KvError::Malformed(e))))
    }

    /// Translate Raft's effects of this call into the replica's, then settle leadership.
    pub(super) fn absorb(&mut self, mut proposal: Option<Proposal>, out: &mut Out) {
        let mut ready = std::mem::take(&mut self.scratch);
        out.writes.append(&mut ready.writes);
        out.messages.append(&mut ready.messages);
        out.notes.append(&mut ready.notes);
        for output in ready.outputs.drain(..) {
            match output {
                raft::Output::Accepted { index, term } => {
                    let p = proposal
                        .take()
                        .expect("Raft accepted a proposal nobody made");
                    self.on_accepted(p, index, term, out);
                }
                raft::Output::NotLeader { leader } => {
                    let p = proposal
                        .take()
                        .expect("Raft refused a proposal nobody made");
                    match p {
                        Proposal::Client { tag, .. } => {
                            answer(out, tag, Outcome::NotLeader { leader });
                        }
                        Proposal::Expiry => out.note(format_args!(
                            "active expiry: Raft refused the proposal (not leader)"
                        )),
                    }
                }
                raft::Output::Committed(entry) => self.on_committed(entry, out),
                raft::Output::RestoreSnapshot(s) => self.on_restore_snapshot(s, &mut out.outputs),
                // After every `Committed` through `index`, which the arm above just applied.
                raft::Output::ReadReady { id, index } => self.on_read_ready(id, index, out),
                raft::Output::ReadFailed { id, reason } => self.on_read_failed(id, reason, out),
                raft::Output::ChangeRejected { reason } => {
                    out.outputs.push(Output::ChangeRejected { reason });
                }
            }
        }
        assert!(
            proposal.is_none(),
            "Raft answered a proposal with neither Accepted nor NotLeader"
        );
        ready.clear();
        self.scratch = ready;
        self.maybe_snapshot(); // compact.rs: its Write::Snapshot joins this call's writes
        out.writes.append(&mut self.scratch.writes);
        assert!(
            self.scratch.messages.is_empty() && self.scratch.outputs.is_empty(),
            "taking a snapshot only writes"
        );
        self.settle_leadership(out);
        self.release_deferred(out); // noop.rs: probes this call resolved
    }

    fn on_accepted(&mut self, p: Proposal, index: Index, term: Term, out: &mut Out) {
        assert!(
            index > self.machine.applied_index(),
            "Raft accepted a proposal at {index}, already applied up to {}",
            self.machine.applied_index()
        );
        let (tag, client_id, ack_on_accept) = match p {
            Proposal::Client {
                tag,
                client_id,
                ack_on_accept,
            } => (tag, client_id, ack_on_accept),
            Proposal::Expiry => return self.on_expiry_accepted(index),
        };
        if ack_on_accept {
            answer(out, tag, Outcome::Done(Reply::ok())); // the AckBeforeCommit bug
        }
        let pending = Pending {
            term,
            tag,
            client_id,
            answered: ack_on_accept,
        };
        let previous = self.pending.insert(index, pending);
        assert!(
            previous.is_none(),
            "Raft accepted two proposals at index {index}"
        );
    }

    /// Apply one committed entry, report it, and answer the request proposed at its index.
    fn on_committed(&mut self, entry: Entry, out: &mut Out) {
        // Only Normal entries carry commands. A config entry (Raft §6) is Raft's business: the
        // machine only moves past its index, exactly as for a leader's no-op.
        let command: &[u8] = match entry.kind {
            raft::EntryKind::Normal => &entry.data,
            raft::EntryKind::Config(_) => &[],
        };
        let reply = self.machine.apply(entry.index, command);
        self.count_applied(entry.data.len());
        self.on_expiry_applied(entry.index);
        out.outputs.push(Output::Applied {
            index: entry.index,
            term: entry.term,
        });
        for (channel, message) in self.machine.published() {
            out.outputs.push(Output::Published {
                index: entry.index,
                channel: channel.clone(),
                message: message.clone(),
            });
        }
        let waiting = self.pending.remove(&entry.index);
        if let Some((&first, _)) = self.pending.first_key_value() {
            assert!(
                first > entry.index,
                "pending request at {first} was skipped: applied {} first",
                entry.index
            );
        }
        let Some(p) = waiting else {
            return; // another node's proposal, a no-op, or a re-delivery after restart
        };
        if p.answered {
            return;
        }
        let outcome = if p.term == entry.term {
            Outcome::Done(reply)
        } else {
            Outcome::Retry // overwritten by another term's entry (see the module docs)
        };
        answer(out, p.tag, outcome);
    }

    /// After every call: a node that no longer leads cannot learn what happens to its pending
    /// entries in time (it may never hear of them again), so each waiting client gets `Retry`.
    fn settle_leadership(&mut self, out: &mut Out) {
        if self.raft.role() == Role::Leader {
            // Terms along the log never decrease, so checking the oldest entry checks them all.
            if let Some((index, p)) = self.pending.first_key_value() {
                assert_eq!(
                    p.term,
                    self.raft.term(),
                    "pending request at {index} is from an earlier term of this leader"
                );
            }
            return;
        }
        for (_, p) in std::mem::take(&mut self.pending) {
            if !p.answered {
                answer(out, p.tag, Outcome::Retry);
            }
        }
        self.expiry_in_flight = None; // its fate is the next leader's business
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use distributed_core::{NodeId, SeededRng};

    use super::*;
    use crate::{Input, ReplicaConfig};

    /// A one-voter cluster: it elects itself and commits each proposal within the same call.
    fn solo() -> (KvReplica, Out) {
        let config = ReplicaConfig::new(raft::Config::new(NodeId(1), vec![NodeId(1)]));
        let mut node = KvReplica::new(config, &raft::Disk::default(), SeededRng::new(1))
            .expect("valid config");
        let mut out = Out::new();
        while node.raft().role() != Role::Leader {
            node.tick(&mut out);
        }
        out.clear();
        (node, out)
    }

    fn request(tag: u64, command: Command) -> Input {
        let request = Request::in_session(1, tag, command);
        Input::Request {
            tag,
            request,
            random_seed: tag,
        }
    }

    #[test]
    fn a_single_voter_answers_a_put_once_it_has_applied_it_in_the_same_call() {
        let (mut node, mut out) = solo();
        let key = Bytes::from_static(b"k");
        let put = Command::set(key.clone(), Bytes::from_static(b"v"));
        node.input(request(1, put), &mut out);
        let texts: Vec<String> = out.outputs.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            texts,
            ["Applied{index=2 term=1}", "Reply{tag=1 Done(Status{OK})}"]
        );
        assert_eq!(node.machine().get(&key), Some(&Bytes::from_static(b"v")));
        assert_eq!(node.pending_len(), 0);
        assert!(
            !out.writes.is_empty(),
            "the entry is handed over for persisting"
        );
    }

    #[test]
    fn a_request_over_the_limits_is_refused_without_spending_a_log_entry() {
        let (mut node, mut out) = solo();
        let last = node.raft().last_index();
        let key = Bytes::from(vec![b'k'; node.machine().config().limits.key_bytes_max + 1]);
        node.input(request(1, Command::get(key)), &mut out);
        assert!(matches!(
            out.outputs.as_slice(),
            [Output::Reply {
                tag: 1,
                outcome: Outcome::Done(Reply::Error(KvError::Malformed(_)))
            }]
        ));
        assert_eq!(node.raft().last_index(), last);
        assert!(out.writes.is_empty());
    }

    #[test]
    fn a_published_message_comes_out_after_its_entry_is_applied_and_before_the_reply() {
        let (mut node, mut out) = solo();
        let args = vec![Bytes::from_static(b"news"), Bytes::from_static(b"hi")];
        let publish = Command::new(b"publish", args).expect("a valid PUBLISH");
        node.input(request(1, publish), &mut out);
        let texts: Vec<String> = out.outputs.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            texts,
            [
                "Applied{index=2 term=1}",
                "Published{index=2 channel=news bytes=2}",
                "Reply{tag=1 Done(Int{value=0})}"
            ]
        );
    }
}
