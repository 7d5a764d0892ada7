//! No-op writes off the log: a leader answers a write that would change nothing the way it
//! answers a read (kv `exec/noop.rs` says which writes, and why that is linearizable).
//!
//! ```text
//!   leader, write w of session c, no write of c in flight, and w is a no-op on the leader's
//!   own applied state (a hint, so that real writes never pay the read round)
//!     reads[id] = Probe(w) ──► raft.input(Read{id})          later requests of c: held[c]
//!     ReadReady{id}  ──► machine.noop_reply(w) ── Some(r) ──► Reply Done(r)   no log entry
//!                                              └─ None ─────► propose w       (deferred)
//!     ReadFailed{id} ──► Reply NotLeader | Busy | Retry      nothing was proposed
//!     then held[c], in order, go back through handle_request              (deferred)
//! ```
//!
//! Why hold the session's later requests: a pipelining client sends `SREM s a` then
//! `SADD s a`. If the SADD, probed, found `a` present before the SREM applied, it would answer
//! "no-op" and the SREM would then remove `a`: the client's own order broken. So a probe is
//! only started when no write of its session is pending in the log, and while it is out, every
//! later request of the session waits behind it (a probe that falls back to the log must
//! also be proposed before them). Reads carry no session (client 0) and are ordered by the
//! host, which answers a connection's writes before its next read.
//!
//! Why not on a retry: the session table decides (kv `may_be_noop`): a seq the session has
//! already reached takes the log, where its cached reply answers it. A retry of a write still
//! in this leader's log is caught by the "no write of its session in flight" rule; one in an
//! earlier leader's log is either applied before the read index (then it is the session's
//! seq) or can never commit (the read index confirms this leader's term, Raft §6.4).
//!
//! Why the leader only: a follower cannot see the leader's pending entries, so it cannot keep
//! the session's order; writes reach the leader anyway.
//!
//! Deferred work: a probe resolves inside `absorb` (a `ReadReady` among Raft's outputs),
//! where proposing again would nest in Raft's effects of the same call; so the fallback
//! proposal and the release of held requests are queued in `deferred` and run, in order,
//! once `absorb` has settled (`release_deferred`).
//!
//! Invariants: at most one probe per session is out; `held` only has sessions with a probe
//! out; held requests number at most `pending_requests_max`; every held request is answered
//! (released when its session's probe resolves, which Raft guarantees, or dropped with the
//! replica on a crash).

use std::collections::{BTreeMap, VecDeque};

use distributed_core::{Effects, Protocol};
use raft::Role;

use crate::config::{ReadPath, ReplicaVariant};
use crate::flow::answer;
use crate::io::Outcome;
use crate::read::{PendingRead, ReadOf};
use crate::KvReplica;
use kv::Request;

type Out = Effects<KvReplica>;

/// The replica's no-op bookkeeping.
#[derive(Clone, Debug, Default)]
pub(super) struct Probes {
    /// Sessions with a probe out, and their requests that arrived since, in order (with
    /// each one's tag and read seed, as `handle_request` takes them).
    held: BTreeMap<u64, VecDeque<(u64, Request, u64)>>,
    /// How many requests `held` holds in all (bounded by `pending_requests_max`).
    held_len: usize,
    /// Work queued inside `absorb`, run after it (see the module docs).
    deferred: VecDeque<Deferred>,
    /// True while `release_deferred` runs, so the `absorb`s it causes leave the queue to it.
    releasing: bool,
    /// Writes answered off the log since start (a host can report it).
    pub(super) answered: u64,
}

/// Work a resolved probe leaves for after `absorb`.
#[derive(Clone, Debug)]
enum Deferred {
    /// The probed write is not a no-op: propose it, ahead of its session's held requests.
    Propose { tag: u64, request: Request },
    /// The session's probe is done: hand its held requests back, in order.
    Release { client_id: u64 },
}

impl KvReplica {
    /// True if `request` should be checked for a no-op before it is proposed.
    pub(super) fn should_probe(&self, request: &Request) -> bool {
        self.raft.role() == Role::Leader
            && self.config.reads != ReadPath::Log
            && self.config.variant == ReplicaVariant::Correct
            && self.reads.len() < self.config.raft.pending_reads_max
            && !self
                .pending
                .values()
                .any(|p| p.client_id == request.client_id)
            // The leader's own applied state must already say "no-op": a real write (LPOP
            // of a full list) is then proposed at once, instead of paying a read round first.
            // Only a hint: the probe's confirmed read decides.
            && self.machine.noop_reply(request).is_some()
    }

    /// Start a probe: a read whose answer decides between replying and proposing.
    pub(super) fn probe(&mut self, tag: u64, request: Request, out: &mut Out) {
        let previous = self.probes.held.insert(request.client_id, VecDeque::new());
        assert!(previous.is_none(), "a second probe for one session");
        let id = self.next_read_id;
        self.next_read_id += 1;
        let of = ReadOf::Probe(request);
        // A no-op check picks nothing at random (the allowlist has no random reads).
        let random_seed = 0;
        let read = PendingRead {
            tag,
            random_seed,
            of,
        };
        self.reads.insert(id, read);
        self.raft.input(raft::Input::Read { id }, &mut self.scratch);
        self.absorb(None, out);
    }

    /// If `request`'s session has a probe out, queue it behind (or refuse it when full).
    pub(super) fn hold_behind_probe(
        &mut self,
        tag: u64,
        request: &Request,
        random_seed: u64,
        out: &mut Out,
    ) -> bool {
        let full = self.probes.held_len >= self.config.pending_requests_max;
        let Some(queue) = self.probes.held.get_mut(&request.client_id) else {
            return false;
        };
        if full {
            answer(out, tag, Outcome::Busy);
        } else {
            queue.push_back((tag, request.clone(), random_seed));
            self.probes.held_len += 1;
        }
        true
    }

    /// Raft confirmed the probe's read: the state is current, decide.
    pub(super) fn on_probe_ready(&mut self, tag: u64, request: Request, out: &mut Out) {
        let client_id = request.client_id;
        match self.machine.noop_reply(&request) {
            Some(reply) => {
                self.probes.answered += 1;
                answer(out, tag, Outcome::Done(reply));
            }
            None => self
                .probes
                .deferred
                .push_back(Deferred::Propose { tag, request }),
        }
        self.probes
            .deferred
            .push_back(Deferred::Release { client_id });
    }

    /// The probe's read failed (its reply is the caller's): release the session's requests.
    pub(super) fn on_probe_failed(&mut self, request: &Request) {
        let client_id = request.client_id;
        self.probes
            .deferred
            .push_back(Deferred::Release { client_id });
    }

    /// Run the work probes left, in order, after `absorb` (see the module docs).
    pub(super) fn release_deferred(&mut self, out: &mut Out) {
        if self.probes.releasing {
            return;
        }
        self.probes.releasing = true;
        while let Some(work) = self.probes.deferred.pop_front() {
            match work {
                Deferred::Propose { tag, request } => {
                    self.propose_request(tag, request, false, out);
                }
                Deferred::Release { client_id } => {
                    let held = self.probes.held.remove(&client_id).unwrap_or_default();
                    self.probes.held_len -= held.len();
                    for (tag, request, random_seed) in held {
                        self.handle_request(tag, request, random_seed, out);
                    }
                }
            }
        }
        self.probes.releasing = false;
    }

    /// Writes answered off the log since this replica started.
    pub fn noop_writes_answered(&self) -> u64 {
        self.probes.answered
    }
}
