//! The request path of a replica on an ordering core: admit, propose, apply what is decided,
//! answer, serve reads, snapshot, and give up on everything when leadership is lost.
//!
//! ```text
//!   handle_request ─► refusals answer at once ─► core.input(propose_input(entry)) ─┐
//!                 └─► read-only, reads = Core ─► core.input(read_input(id)) ────────┤
//!   step / tick ─────────────────────────────► core.step / tick ────────────────────┤
//!                                                                                   ▼
//!   absorb: the core's writes, messages, notes ─► out (unchanged, in order)
//!           its outputs, through OrderingCore::event, in order:
//!             Accepted{index}        ─► pending[index] = (tag, entry)
//!             NotLeader / Busy       ─► Reply NotLeader / Busy        (this call's proposal)
//!             Committed{index, ..}   ─► apply ─► Applied, Published* ─► answer pending[index]
//!             Restore{index, ..}     ─► machine = restore(data) ─► Restored; Retry pending ≤ index
//!             ReadReady / ReadFailed ─► answer reads[id] from the machine, or refuse
//!             CheckpointDue{index}   ─► core.input(checkpoint_input(index, snapshot)), same call
//!           entries since the last snapshot ≥ the bound ─► core.input(snapshot_input(..))
//!           not leading ─► Retry every pending request
//! ```
//!
//! Why commits are handled before stepping down: the message that deposes a leader may also
//! tell it that its pending entries were decided; applying first gives those clients the
//! true `Done`. Only what is still pending after the whole call gets `Retry` (unknown: the
//! entry may yet be decided under a new leader, and the session table makes a resend safe).

use bytes::Bytes;
use distributed_core::{Effects, Machine};
use kv::{Command, KvError, Reply, Request};

use super::{CoreEvent, Input, OrderedReads, OrderedReplica, OrderingCore};
use crate::io::{Outcome, Output};

/// How many rounds of core outputs one call may chain (a checkpoint's input produces more
/// outputs, which may be another checkpoint...): a bound, not an expected depth.
const ABSORB_ROUNDS_MAX: usize = 64;

/// Bytes of the client's tag in front of an entry on a core that forwards proposals.
const TAG_BYTES: usize = 8;

type Out<C> = Effects<OrderedReplica<C>>;

fn answer<C: OrderingCore>(out: &mut Out<C>, tag: u64, outcome: Outcome) {
    out.outputs.push(Output::Reply { tag, outcome });
}

impl<C: OrderingCore> OrderedReplica<C> {
    /// `Input::Request`: answer at once if it cannot go further here, else propose or read.
    pub(super) fn handle_request(
        &mut self,
        tag: u64,
        request: Request,
        random_seed: u64,
        out: &mut Out<C>,
    ) {
        let data = request.encode();
        if let Err(e) = Request::decode(&data, &self.machine.config().limits) {
            return answer(out, tag, Outcome::Done(Reply::Error(KvError::Malformed(e))));
        }
        let read_only = request.command().is_some_and(Command::is_read_only);
        if read_only && self.config.reads == OrderedReads::Core {
            return self.start_read(tag, request, random_seed, out);
        }
        if C::FORWARDS_PROPOSALS {
            // Every replica that executes it answers: the tag travels inside the entry.
            let mut entry = Vec::with_capacity(TAG_BYTES + data.len());
            entry.extend_from_slice(&tag.to_le_bytes());
            entry.extend_from_slice(&data);
            self.core
                .input(C::propose_input(Bytes::from(entry)), &mut self.scratch);
            return self.absorb(None, out);
        }
        if !self.core.leads() {
            let leader = self.core.leader_hint();
            return answer(out, tag, Outcome::NotLeader { leader });
        }
        if self.pending.len() >= self.config.pending_requests_max {
            return answer(out, tag, Outcome::Busy);
        }
        self.core
            .input(C::propose_input(data.clone()), &mut self.scratch);
        self.absorb(Some((tag, data)), out);
    }

    fn start_read(&mut self, tag: u64, request: Request, random_seed: u64, out: &mut Out<C>) {
        if self.reads.len() >= self.config.pending_reads_max {
            return answer(out, tag, Outcome::Busy);
        }
        let id = self.next_read_id;
        self.next_read_id += 1;
        self.reads.insert(id, (tag, request, random_seed));
        let input = C::read_input(id).expect("validate() checked the core has a read path");
        self.core.input(input, &mut self.scratch);
        self.absorb(None, out);
    }

    /// Translate the core's effects of this call into the replica's, then settle leadership.
    pub(super) fn absorb(&mut self, mut proposal: Option<(u64, Bytes)>, out: &mut Out<C>) {
        for round in 0.. {
            assert!(
                round < ABSORB_ROUNDS_MAX,
                "the core kept asking for checkpoints"
            );
            out.writes.append(&mut self.scratch.writes);
            out.messages.append(&mut self.scratch.messages);
            out.notes.append(&mut self.scratch.notes);
            if self.scratch.outputs.is_empty() {
                break;
            }
            let mut outputs = std::mem::take(&mut self.scratch.outputs);
            for output in &outputs {
                self.on_event(C::event(output), &mut proposal, out);
            }
            if self.scratch.outputs.is_empty() {
                outputs.clear();
                self.scratch.outputs = outputs; // keep the buffer: nothing new came up
            }
            self.maybe_snapshot();
        }
        if let Some((tag, _)) = proposal {
            // A core that took the proposal without a word would strand the client.
            answer(out, tag, Outcome::Retry);
        }
        self.settle_leadership(out);
    }

    fn on_event(
        &mut self,
        event: CoreEvent,
        proposal: &mut Option<(u64, Bytes)>,
        out: &mut Out<C>,
    ) {
        match event {
            CoreEvent::Accepted { index } => {
                let (tag, entry) = proposal
                    .take()
                    .expect("the core accepted a proposal nobody made");
                assert!(
                    index > self.machine.applied_index(),
                    "accepted at {index}, already applied"
                );
                let previous = self.pending.insert(index, (tag, entry));
                assert!(
                    previous.is_none(),
                    "the core accepted two proposals at {index}"
                );
            }
            CoreEvent::NotLeader { leader } => {
                if let Some((tag, _)) = proposal.take() {
                    answer(out, tag, Outcome::NotLeader { leader });
                }
            }
            CoreEvent::Busy => {
                if let Some((tag, _)) = proposal.take() {
                    answer(out, tag, Outcome::Busy);
                }
            }
            CoreEvent::Committed {
                index,
                epoch,
                entry,
            } => self.apply(index, epoch, entry, out),
            CoreEvent::Restore { index, epoch, data } => self.restore(index, epoch, &data, out),
            CoreEvent::ReadReady { id, index } => self.serve_read(id, index, out),
            CoreEvent::ReadFailed { id, leader } => {
                if let Some((tag, _, _)) = self.reads.remove(&id) {
                    answer(out, tag, Outcome::NotLeader { leader });
                }
            }
            CoreEvent::CheckpointDue { index } => {
                assert_eq!(
                    index,
                    self.machine.applied_index(),
                    "a checkpoint of the applied state"
                );
                let data = Bytes::from(Machine::snapshot(&self.machine));
                if let Some(input) = C::checkpoint_input(index, data) {
                    self.core.input(input, &mut self.scratch);
                }
            }
            CoreEvent::Other => {}
        }
    }

    /// Apply the decided entry at `index` and answer whoever waits for it.
    fn apply(&mut self, index: u64, epoch: u64, entry: Option<Bytes>, out: &mut Out<C>) {
        let bytes = entry.as_deref().unwrap_or(&[]);
        let (tag, command) = match C::FORWARDS_PROPOSALS {
            true if bytes.len() >= TAG_BYTES => {
                let (tag, rest) = bytes.split_at(TAG_BYTES);
                (
                    Some(u64::from_le_bytes(tag.try_into().expect("8 bytes"))),
                    rest,
                )
            }
            _ => (None, bytes),
        };
        let reply = self.machine.apply(index, command);
        self.since_snapshot += 1;
        out.outputs.push(Output::Applied { index, term: epoch });
        for (channel, message) in self.machine.published() {
            out.outputs.push(Output::Published {
                index,
                channel: channel.clone(),
                message: message.clone(),
            });
        }
        if let Some(tag) = tag {
            return answer(out, tag, Outcome::Done(reply));
        }
        let waiting = self.pending.remove(&index);
        if let Some((&first, _)) = self.pending.first_key_value() {
            assert!(
                first > index,
                "pending request at {first} was skipped by {index}"
            );
        }
        let Some((tag, proposed)) = waiting else {
            return; // another node's proposal, a no-op, or a re-delivery after restart
        };
        let outcome = match entry {
            Some(decided) if decided == proposed => Outcome::Done(reply),
            _ => Outcome::Retry, // another value was decided at this index
        };
        answer(out, tag, outcome);
    }

    fn restore(&mut self, index: u64, epoch: u64, data: &[u8], out: &mut Out<C>) {
        let id = self.core.id();
        self.machine
            .restore(data)
            .unwrap_or_else(|e| panic!("{id}: the snapshot at {index} does not restore: {e}"));
        assert_eq!(
            self.machine.applied_index(),
            index,
            "{id}: a snapshot at its own index"
        );
        self.since_snapshot = 0;
        out.outputs.push(Output::Restored { index, term: epoch });
        let passed: Vec<u64> = self.pending.range(..=index).map(|(i, _)| *i).collect();
        for i in passed {
            let (tag, _) = self.pending.remove(&i).expect("listed above");
            answer(out, tag, Outcome::Retry);
        }
    }

    fn serve_read(&mut self, id: u64, index: u64, out: &mut Out<C>) {
        let Some((tag, request, random_seed)) = self.reads.remove(&id) else {
            return out.note(format_args!(
                "ignored ReadReady for read {id}: none waits (restart)"
            ));
        };
        assert!(
            self.machine.applied_index() >= index,
            "ReadReady{{id={id} index={index}}} before the machine applied it"
        );
        let command = request
            .command()
            .expect("only single read-only commands take this path");
        let reply = self.machine.read(command, random_seed);
        answer(out, tag, Outcome::Done(reply));
    }

    /// After a call's entries: hand the core a snapshot if the log since the last one is long.
    fn maybe_snapshot(&mut self) {
        if self.since_snapshot < self.config.snapshot_log_entries_max {
            return;
        }
        let index = self.machine.applied_index();
        let data = Bytes::from(Machine::snapshot(&self.machine));
        if let Some(input) = C::snapshot_input(index, data) {
            self.core.input(input, &mut self.scratch);
        }
        self.since_snapshot = 0;
    }

    /// After every call: a node that no longer leads cannot learn in time what becomes of its
    /// pending entries, so each waiting client gets `Retry`.
    fn settle_leadership(&mut self, out: &mut Out<C>) {
        if self.core.leads() {
            return;
        }
        for (_, (tag, _)) in std::mem::take(&mut self.pending) {
            answer(out, tag, Outcome::Retry);
        }
    }
}

impl<C: OrderingCore> OrderedReplica<C> {
    /// `Input` as the host built it, for tests and hosts that hold one.
    pub fn request(tag: u64, request: Request, random_seed: u64) -> Input {
        Input::Request {
            tag,
            request,
            random_seed,
        }
    }
}
