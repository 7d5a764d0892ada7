//! The read path. Chain replication (OSDI '04 §2 "query processing"): reads go to the tail,
//! which holds exactly the committed writes. CRAQ (ATC '09 §2.3): reads go to any member;
//! a member whose newest version of the key is clean returns it at once, and one whose newest
//! is dirty asks the tail which version it has committed, and returns that one.
//!
//! ```text
//!   chain:  client ── Get ──► tail ── Value (its newest version: all are clean) ──► client
//!
//!   CRAQ:   client ── Get ──► member: newest of x clean?  yes ──► Value
//!                                                         no  ──► VersionQuery{id x} ──► tail
//!           client ◄── Value (version v, held here) ── member ◄── VersionReply{id x version=v}
//! ```
//!
//! Why a dirty read must ask (ATC '09 §2.3): the dirty version may not reach the tail for a
//! while, or ever (the head that sent it can fail); returning it, then a read at the tail
//! returning the older clean version, goes back in time. Why the answer is always held here:
//! the tail's history is a prefix of this member's (§3), so its committed version is one of
//! this member's versions, or one this member dropped when an even newer one became clean.
//!
//! Leases: every read, chain or CRAQ, needs this replica's lease from the master (master.rs),
//! checked when the answer is given. Without it a replica the master replaced, but which is
//! still running, would answer from a chain that has moved on. The tail answering a version
//! query needs none: the asking member holds a lease, so no newer epoch has committed a write
//! it has not seen (a new epoch's writes pass through every member, and a member is removed
//! only after its lease lapsed).
//!
//! Broken on purpose, `craq-dirty-read`: a member returns its dirty newest version without
//! asking. Each read waits for its own query (by id): an answer to an older query could
//! predate the read, and returning it could be stale.

use distributed_core::{NodeId, Tick};

use crate::chain::config::{Mode, Variant};
use crate::chain::message::{VersionQuery, VersionReply};
use crate::chain::node::Out;
use crate::chain::replica::Replica;
use crate::client::{Key, OpId, Response};

/// A CRAQ read waiting for the tail's version reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PendingRead {
    /// The client request.
    pub op: OpId,
    /// The key read.
    pub key: Key,
    /// When it gives up and answers `Unavailable` (a read that fails has no effect).
    pub deadline_tick: Tick,
}

impl Replica {
    /// A client's get: at the tail (chain), or at any full member (CRAQ).
    pub(crate) fn get(&mut self, id: OpId, key: Key, out: &mut Out) {
        let tail = self.view.tail();
        let anywhere = self.config.mode == Mode::Craq;
        if !self.is_member() || (!anywhere && !self.is_tail()) {
            return self.reply(id, Response::Redirect { to: tail }, out);
        }
        if let Some(why) = self.read_refusal() {
            return self.reply(id, Response::Unavailable { why }, out);
        }
        let Some(newest) = self.store.latest(&key) else {
            return self.reply(id, Response::Value(None), out);
        };
        if self.store.is_clean(newest) {
            let value = Some(newest.value.clone());
            return self.reply(id, Response::Value(value), out);
        }
        assert!(!self.is_tail(), "the tail's versions are all clean");
        if self.config.variant == Variant::CraqDirtyRead {
            // Broken on purpose (module docs): a version the tail may never have.
            let value = Some(newest.value.clone());
            return self.reply(id, Response::Value(value), out);
        }
        self.ask_tail(id, key, out);
    }

    /// Send a version query for `key` on behalf of `op`, if there is room to wait.
    fn ask_tail(&mut self, op: OpId, key: Key, out: &mut Out) {
        if self.reads.len() >= self.config.pending_reads_max {
            let why = "pending_reads_max reads wait for the tail already";
            return self.reply(op, Response::Unavailable { why }, out);
        }
        let id = self.next_query_id;
        self.next_query_id += 1;
        let query = VersionQuery {
            epoch: self.view.epoch,
            id,
            key: key.clone(),
        };
        out.send(self.id(), self.view.tail(), query.into());
        self.counters.version_queries += 1;
        let deadline_tick = self.ticks + self.config.read_timeout_ticks;
        let read = PendingRead {
            op,
            key,
            deadline_tick,
        };
        self.reads.insert(id, read);
    }

    /// The tail names its committed version of a key: its newest, all of them being clean.
    pub(crate) fn on_version_query(&mut self, from: NodeId, msg: VersionQuery, out: &mut Out) {
        if !self.is_tail() {
            return out.note(format_args!(
                "ignored {msg} from {from}: not the tail in epoch {}",
                self.view.epoch
            ));
        }
        if !self.is_ready() {
            return out.note(format_args!(
                "ignored {msg} from {from}: its state transfer is not complete, it knows of no \
                 committed version yet"
            ));
        }
        if let Some(why) = self.read_refusal() {
            return out.note(format_args!("ignored {msg} from {from}: {why}"));
        }
        let newest = self.store.latest(&msg.key);
        assert!(
            newest.is_none_or(|v| self.store.is_clean(v)),
            "the tail is all clean"
        );
        let reply = VersionReply {
            epoch: self.view.epoch,
            id: msg.id,
            version: newest.map_or(0, |v| v.seq),
            key: msg.key,
        };
        out.send(self.id(), from, reply.into());
    }

    /// The tail's answer: return the version it names.
    pub(crate) fn on_version_reply(&mut self, from: NodeId, msg: VersionReply, out: &mut Out) {
        if from != self.view.tail() {
            return out.note(format_args!(
                "ignored {msg} from {from}: not the tail in epoch {}",
                self.view.epoch
            ));
        }
        let Some(read) = self.reads.remove(&msg.id) else {
            return out.note(format_args!(
                "ignored {msg} from {from}: no read waits for query {} (answered or expired)",
                msg.id
            ));
        };
        assert_eq!(read.key, msg.key, "a version reply names its query's key");
        if let Some(why) = self.read_refusal() {
            return self.reply(read.op, Response::Unavailable { why }, out);
        }
        let version = self.store.committed_at(&msg.key, msg.version);
        let value = version.map(|v| v.value.clone());
        self.reply(read.op, Response::Value(value), out);
    }

    /// Fail the reads whose deadline passed: the tail did not answer (lost, slow, or gone).
    pub(crate) fn expire_reads(&mut self, out: &mut Out) {
        let expired: Vec<u64> = self
            .reads
            .iter()
            .filter(|(_, r)| r.deadline_tick <= self.ticks)
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            let read = self.reads.remove(&id).expect("listed just now");
            let why = "no version reply from the tail within read_timeout_ticks";
            self.reply(read.op, Response::Unavailable { why }, out);
        }
    }

    /// After a new configuration: the old tail's answers will be refused, so ask the new tail
    /// (or, being the tail now, answer from the store, where everything is clean).
    pub(crate) fn ask_again(&mut self, out: &mut Out) {
        if self.reads.is_empty() {
            return;
        }
        if self.is_tail() {
            let reads = std::mem::take(&mut self.reads);
            for read in reads.into_values() {
                let value = self.store.latest(&read.key).map(|v| v.value.clone());
                let response = match self.read_refusal() {
                    Some(why) => Response::Unavailable { why },
                    None => Response::Value(value),
                };
                self.reply(read.op, response, out);
            }
            return;
        }
        let (me, tail, epoch) = (self.id(), self.view.tail(), self.view.epoch);
        for (&id, read) in &self.reads {
            let key = read.key.clone();
            out.send(me, tail, VersionQuery { epoch, id, key }.into());
        }
    }

    /// Answer every waiting read `Unavailable` (safe: a read that fails has no effect).
    pub(crate) fn fail_reads(&mut self, why: &'static str, out: &mut Out) {
        let reads = std::mem::take(&mut self.reads);
        for read in reads.into_values() {
            self.reply(read.op, Response::Unavailable { why }, out);
        }
    }
}
