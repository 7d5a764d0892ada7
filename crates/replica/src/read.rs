//! The read path without the log: ReadIndex, lease and follower reads (thesis §6.4, §6.4.1).
//!
//! ```text
//!   handle_read(tag, request)            on any node, reads = ReadIndex | Lease
//!     │ does not decode within limits ──► Reply Done(Error(Malformed))     (as for writes)
//!     │ reads table full ───────────────► Reply Busy
//!     ▼
//!   reads[id] = PendingRead{tag, command, random_seed} ──► raft.input(Read{id})
//!     ──► absorb, in order:
//!     Committed(..= index)            applied first (flow.rs)
//!     ReadReady{id, index}  ──► assert applied_index ≥ index
//!                               ──► Reply Done(machine.read(cmd, random_seed))
//!     ReadFailed{id, NotLeader{hint}} ──► Reply NotLeader{hint}   nothing was proposed
//!     ReadFailed{id, Busy}            ──► Reply Busy              Raft's queue is full
//!     ReadFailed{id, TimedOut}        ──► Reply Retry             a lost message or a partition
//!
//!   leader, lease holds:  ReadReady within the same call, no message sent
//!   leader otherwise:     ReadReady once a heartbeat round sent after the read is acknowledged
//!   follower:             ReadIndexRequest to its leader, ReadReady once it has applied the
//!                         leader's confirmed index (so the client may ask any node)
//! ```
//!
//! Raft keeps no command, only the id: the replica keeps `(tag, command)` here until Raft
//! answers, which it does exactly once per id (unless the node crashes, and then this table
//! dies with it). Why `TimedOut` becomes `Retry` and not `NotLeader`: the node may well be a
//! follower of a live leader that a lost message delayed; `Retry` tells the client "try again,
//! maybe elsewhere" without claiming a leader is missing. A read has no effect either way, so
//! both are safe.
//!
//! Invariants (asserted): every id Raft answers is in the table; a read is answered from a
//! machine whose `applied_index` is at least the read index; `reads.len()` never exceeds
//! `raft.pending_reads_max`.

use distributed_core::{Effects, Protocol};
use raft::{Index, ReadFailure};

use crate::flow::answer;
use crate::io::Outcome;
use crate::KvReplica;
use kv::{Command, Request};

type Out = Effects<KvReplica>;

/// A read handed to Raft and not answered yet.
#[derive(Clone, Debug)]
pub(super) struct PendingRead {
    /// The host's correlation id, echoed in the one reply.
    pub(super) tag: u64,
    /// The host's seed for the read's random picks (`Input::Request::random_seed`).
    pub(super) random_seed: u64,
    /// What to do once Raft says the read may be served. Raft itself never sees it: it
    /// confirms "the state as of now", whatever is read from it.
    pub(super) of: ReadOf,
}

/// What a confirmed read serves.
#[derive(Clone, Debug)]
pub(super) enum ReadOf {
    /// A read-only command: run it on the machine, answer its reply.
    Command(Command),
    /// A write that may be a no-op (noop.rs): answer it if it is, else propose it.
    Probe(Request),
}

impl KvReplica {
    /// A read-only request, on any node: hand Raft a read, remember what to answer with.
    pub(super) fn handle_read(
        &mut self,
        tag: u64,
        request: Request,
        random_seed: u64,
        out: &mut Out,
    ) {
        if let Some(refused) = self.refusal_of(&request.encode()) {
            return answer(out, tag, refused);
        }
        if self.reads.len() >= self.config.raft.pending_reads_max {
            return answer(out, tag, Outcome::Busy);
        }
        let id = self.next_read_id;
        self.next_read_id += 1;
        let kv::Body::One(command) = request.body else {
            panic!(
                "a read path takes one read-only command; flow.rs sends transactions to the log"
            );
        };
        let read = PendingRead {
            tag,
            random_seed,
            of: ReadOf::Command(command),
        };
        self.reads.insert(id, read);
        self.raft.input(raft::Input::Read { id }, &mut self.scratch);
        self.absorb(None, out);
    }

    /// Raft: read `id` may be served now, and every entry through `index` was applied above.
    pub(super) fn on_read_ready(&mut self, id: u64, index: Index, out: &mut Out) {
        let read = self.take_read(id);
        assert!(
            self.machine.applied_index() >= index,
            "ReadReady{{id={id} index={index}}} before the machine applied it (applied {})",
            self.machine.applied_index()
        );
        match read.of {
            ReadOf::Command(command) => {
                let reply = self.machine.read(&command, read.random_seed);
                answer(out, read.tag, Outcome::Done(reply));
            }
            ReadOf::Probe(request) => self.on_probe_ready(read.tag, request, out),
        }
    }

    /// Raft: read `id` cannot be served here. Nothing was proposed, so every answer is safe.
    pub(super) fn on_read_failed(&mut self, id: u64, reason: ReadFailure, out: &mut Out) {
        let read = self.take_read(id);
        let outcome = match reason {
            ReadFailure::NotLeader { leader } => Outcome::NotLeader { leader },
            ReadFailure::Busy { .. } => Outcome::Busy,
            ReadFailure::TimedOut { .. } => Outcome::Retry,
        };
        if let ReadOf::Probe(request) = read.of {
            self.on_probe_failed(&request);
        }
        answer(out, read.tag, outcome);
    }

    pub(super) fn take_read(&mut self, id: u64) -> PendingRead {
        self.reads
            .remove(&id)
            .unwrap_or_else(|| panic!("Raft answered read {id}, which this replica never issued"))
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use distributed_core::{NodeId, SeededRng};
    use raft::Role;

    use super::*;
    use crate::{Input, Output, ReadPath, ReplicaConfig};
    use kv::{KvError, Reply};

    /// A one-voter cluster serving reads by `reads`, leading, with nothing pending.
    fn solo(reads: ReadPath) -> (KvReplica, Out) {
        let mut config = ReplicaConfig::new(raft::Config::new(NodeId(1), vec![NodeId(1)]));
        config.reads = reads;
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

    fn get(key: &'static str) -> Command {
        Command::get(Bytes::from_static(key.as_bytes()))
    }

    #[test]
    fn a_single_voter_answers_a_read_index_read_in_the_same_call_without_a_log_entry() {
        // Thesis §6.4: a cluster of one is its own quorum, so the round confirms at once.
        let (mut node, mut out) = solo(ReadPath::ReadIndex);
        let put = Command::set(Bytes::from_static(b"k"), Bytes::from_static(b"v"));
        node.input(request(1, put), &mut out);
        out.clear();
        let last = node.raft().last_index();
        node.input(request(2, get("k")), &mut out);
        let value = Reply::Bulk(Bytes::from_static(b"v"));
        assert_eq!(
            out.outputs,
            [Output::Reply {
                tag: 2,
                outcome: Outcome::Done(value)
            }]
        );
        assert_eq!(node.raft().last_index(), last, "no log entry for a read");
        assert!(out.writes.is_empty(), "nothing to persist for a read");
        assert_eq!(node.pending_reads_len(), 0);
    }

    #[test]
    fn a_read_s_random_picks_follow_the_seed_its_host_passed() {
        // A read changes no state, so its picks may differ per call: the host decides.
        let (mut node, mut out) = solo(ReadPath::ReadIndex);
        let members = (0..50).map(|i| Bytes::from(format!("m{i}")));
        let sadd = Command::from_words(
            [Bytes::from_static(b"sadd"), Bytes::from_static(b"s")]
                .into_iter()
                .chain(members)
                .collect(),
        )
        .expect("a valid SADD");
        node.input(request(1, sadd), &mut out);
        let words = ["srandmember", "s", "3"].map(|w| Bytes::from_static(w.as_bytes()));
        let pick = Command::from_words(words.to_vec()).expect("a valid SRANDMEMBER");
        let mut answer = |tag, random_seed| {
            out.clear();
            let request = Request::in_session(1, tag, pick.clone());
            let input = Input::Request {
                tag,
                request,
                random_seed,
            };
            node.input(input, &mut out);
            out.outputs.pop()
        };
        let (a, b, c) = (answer(2, 7), answer(3, 7), answer(4, 8));
        let outcome = |o: Option<Output>| match o {
            Some(Output::Reply { outcome, .. }) => outcome,
            other => panic!("{other:?}"),
        };
        let (a, b, c) = (outcome(a), outcome(b), outcome(c));
        assert_eq!(a, b, "one seed, one pick");
        assert_ne!(a, c, "another seed, another pick");
    }

    #[test]
    fn the_log_read_path_still_spends_a_log_entry_per_read() {
        let (mut node, mut out) = solo(ReadPath::Log);
        let last = node.raft().last_index();
        node.input(request(1, get("k")), &mut out);
        assert_eq!(node.raft().last_index(), last + 1);
        assert!(matches!(
            out.outputs.last(),
            Some(Output::Reply {
                tag: 1,
                outcome: Outcome::Done(Reply::Null)
            })
        ));
    }

    #[test]
    fn a_read_over_the_limits_is_refused_without_asking_raft() {
        let (mut node, mut out) = solo(ReadPath::ReadIndex);
        let key = Bytes::from(vec![b'k'; node.machine().config().limits.key_bytes_max + 1]);
        node.input(request(1, Command::get(key)), &mut out);
        assert!(matches!(
            out.outputs.as_slice(),
            [Output::Reply {
                tag: 1,
                outcome: Outcome::Done(Reply::Error(KvError::Malformed(_)))
            }]
        ));
        assert_eq!(node.next_read_id, 0, "no read was issued");
    }

    #[test]
    fn read_failures_map_to_outcomes_that_promise_nothing_was_proposed_or_ask_to_retry() {
        let (mut node, mut out) = solo(ReadPath::ReadIndex);
        let cases = [
            (
                ReadFailure::NotLeader {
                    leader: Some(NodeId(3)),
                },
                Outcome::NotLeader {
                    leader: Some(NodeId(3)),
                },
            ),
            (
                ReadFailure::Busy {
                    pending_reads_max: 1,
                },
                Outcome::Busy,
            ),
            (ReadFailure::TimedOut { ticks: 20 }, Outcome::Retry),
        ];
        for (id, (reason, want)) in (0..).zip(cases) {
            node.reads.insert(
                id,
                PendingRead {
                    tag: id + 10,
                    random_seed: 0,
                    of: ReadOf::Command(get("k")),
                },
            );
            node.on_read_failed(id, reason, &mut out);
            let got = out.outputs.pop();
            assert_eq!(
                got,
                Some(Output::Reply {
                    tag: id + 10,
                    outcome: want
                })
            );
        }
        assert_eq!(node.pending_reads_len(), 0);
    }

    #[test]
    #[should_panic(expected = "which this replica never issued")]
    fn an_answer_to_a_read_nobody_issued_is_a_raft_bug() {
        let (mut node, mut out) = solo(ReadPath::ReadIndex);
        node.on_read_ready(99, 0, &mut out);
    }
}
