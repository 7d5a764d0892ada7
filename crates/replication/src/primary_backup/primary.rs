//! The primary's client path: puts ordered, stored and forwarded, answered once every backup
//! of the view has them; retries recognised by their `OpId`; gets answered from committed
//! registers under the lease.
//!
//! ```text
//!   client ── Put ──► primary: seq := last + 1, persist ── Forward ──► each backup: persist
//!   client ◄── Ok ─── primary: commit through the lowest Forwarded ◄── Forwarded{through}
//!
//!   client ── Get ──► primary: tenure taken? history it took over committed? lease? ──► Value
//! ```
//!
//! **Why `Ok` waits for every backup.** The view service may make any backup of an
//! acknowledged view the next primary; a put only some backups hold could vanish with the
//! primary. So a put commits when every backup of the view holds it, and only then is answered.
//! With no backups, the primary's own disk is the only copy, and the put commits at once.
//!
//! **Why reads need the lease, and committed values only.** A primary the view service has
//! replaced may not know it yet (paused, or cut off from the view service only); its lease has
//! lapsed by then (config.rs), and without one it answers nothing. A put in the log may still
//! be lost with this primary, so a read returns committed values only; and a new primary reads
//! only once the history it took over is committed, since the puts its predecessor
//! acknowledged are in it but perhaps not yet on its own backups.
//!
//! **Exactly once.** Each put's `OpId` travels with it into every store's sessions (store.rs),
//! and a state transfer copies them, so whichever server is primary when a retry arrives
//! knows whether the put is in the history: committed (answer `Ok` again), in the log (answer
//! when it commits), or not there (apply it). The table keeps each client's newest put, for at
//! most `sessions_max` clients; a client evicted before retrying gets its put applied twice.
//!
//! Broken on purpose, `read-without-lease`: the lease check is skipped, and a replaced primary
//! returns its old registers while the new one takes writes.

use std::collections::BTreeMap;

use distributed_core::{NodeId, Tick};

use crate::client::{Key, OpId, Response, Value, VALUE_BYTES_MAX};
use crate::primary_backup::config::Variant;
use crate::primary_backup::message::Forward;
use crate::primary_backup::node::Out;
use crate::primary_backup::server::Server;
use crate::primary_backup::store::{Record, Seq, Session, Write};

/// Where the primary stands with one backup of its view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sync {
    /// Not known to be in the lineage: a probe is due at `due_tick`.
    Probing { due_tick: Tick },
    /// Receiving the state: chunk `next` is in flight, resent at `due_tick`; the store is
    /// frozen at `through` until it is done.
    Sending {
        next: u32,
        through: Seq,
        due_tick: Tick,
    },
    /// In the lineage, holding the history through `through`; what it lacks is resent at
    /// `due_tick` if still missing.
    Synced { through: Seq, due_tick: Tick },
}

/// The primary's job, held once its tenure is taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Primary {
    /// Each backup of the view, and where the primary stands with it.
    pub backups: BTreeMap<NodeId, Sync>,
    /// Per seq, the client request waiting for it to commit.
    pub waiting: BTreeMap<Seq, OpId>,
}

impl Primary {
    /// The job at the start of a tenure (or after a restart): every backup to be probed now.
    pub(crate) fn new(backups: &[NodeId]) -> Primary {
        let probe = Sync::Probing { due_tick: 0 };
        Primary {
            backups: backups.iter().map(|&b| (b, probe)).collect(),
            waiting: BTreeMap::new(),
        }
    }

    /// The same tenure in a new view: staying backups keep their state, new ones are probed;
    /// everything in flight is due again at once, under the new view number.
    pub(crate) fn carried_into(self, backups: &[NodeId]) -> Primary {
        let mut old = self.backups;
        let mut fresh = |b: &NodeId| match old.remove(b) {
            Some(Sync::Probing { .. }) | None => Sync::Probing { due_tick: 0 },
            Some(Sync::Sending { next, through, .. }) => Sync::Sending {
                next,
                through,
                due_tick: 0,
            },
            Some(Sync::Synced { through, .. }) => Sync::Synced {
                through,
                due_tick: 0,
            },
        };
        let backups = backups.iter().map(|b| (*b, fresh(b))).collect();
        Primary {
            backups,
            waiting: self.waiting,
        }
    }

    /// Is a state transfer in progress (the store frozen)?
    pub(crate) fn is_sending(&self) -> bool {
        let sending = |s: &Sync| matches!(s, Sync::Sending { .. });
        self.backups.values().any(sending)
    }
}

impl Server {
    /// A client's put: only the primary of its tenure takes it (module docs).
    pub(crate) fn put(&mut self, id: OpId, key: Key, value: Value, out: &mut Out) {
        if self.view.primary != self.id() {
            let to = self.view.primary;
            return self.reply(id, Response::Redirect { to }, out);
        }
        if self.primary.is_none() {
            let why = "the primary has not taken up its tenure yet";
            return self.reply(id, Response::Unavailable { why }, out);
        }
        if let Some(session) = self.store.session(id.client) {
            if id.seq <= session.op_seq {
                return self.retry(id, session, out);
            }
        }
        if let Some(why) = self.put_refusal(&key, &value) {
            return self.reply(id, Response::Unavailable { why }, out);
        }
        let seq = self.store.last_seq() + 1;
        let evict = self.store.eviction_for(id.client, self.config.sessions_max);
        let record = Record { key, value, op: id };
        self.persist(
            Write::Put {
                seq,
                record: record.clone(),
                evict,
            },
            out,
        );
        self.counters.puts_stored += 1;
        let primary = self.primary.as_mut().expect("checked above");
        primary.waiting.insert(seq, id);
        let synced: Vec<NodeId> = self.synced_backups().into_keys().collect();
        for backup in synced {
            self.forward(backup, seq, &record, out);
        }
        self.try_commit(out);
    }

    /// A retry of a put the history already holds: answer it once committed, never apply it
    /// again. One older than the client's newest put is a request the client gave up on.
    fn retry(&mut self, id: OpId, session: Session, out: &mut Out) {
        if id.seq < session.op_seq {
            return out.note(format_args!(
                "ignored a retry of {id}: client c{} has put c{}.{} since, and a client retries \
                 only its newest request; whether {id} took effect is no longer recorded",
                id.client, id.client, session.op_seq
            ));
        }
        self.counters.retries_deduplicated += 1;
        if session.seq <= self.store.committed_seq() {
            out.note(format_args!(
                "a retry of {id}: committed at seq {} already, answered without applying it \
                 again",
                session.seq
            ));
            return self.reply(id, Response::Ok, out);
        }
        let primary = self.primary.as_mut().expect("the primary of its tenure");
        out.note(format_args!(
            "a retry of {id}: stored at seq {}, answered once every backup has it",
            session.seq
        ));
        primary.waiting.insert(session.seq, id);
    }

    /// Why the primary cannot take this put now, if it cannot. Each refusal happens before the
    /// put is stored, so `Unavailable` is the truth: it did not and will not take effect.
    fn put_refusal(&self, key: &Key, value: &Value) -> Option<&'static str> {
        let primary = self.primary.as_ref().expect("the primary of its tenure");
        if value.len() > VALUE_BYTES_MAX {
            return Some("value above VALUE_BYTES_MAX");
        }
        if primary.is_sending() {
            return Some("a backup is receiving the primary's state, which is frozen until then");
        }
        if self.store.log_len() >= self.config.pending_max {
            return Some("pending_max puts wait for the backups");
        }
        if !self.store.contains(key) && self.store.keys() >= self.config.keys_max {
            return Some("keys_max keys are stored");
        }
        None
    }

    /// Send one put to one backup in the lineage.
    pub(crate) fn forward(&mut self, backup: NodeId, seq: Seq, record: &Record, out: &mut Out) {
        let forward = Forward {
            view: self.view.num,
            seq,
            key: record.key.clone(),
            value: record.value.clone(),
            op: record.op,
            committed: self.store.committed_seq(),
        };
        out.send(self.id(), backup, forward.into());
    }

    /// Commit through the lowest history every backup holds (all of it with no backups), and
    /// answer the puts that covers. Nothing commits while any backup is not in the lineage.
    pub(crate) fn try_commit(&mut self, out: &mut Out) {
        let Some(primary) = self.primary.as_ref() else {
            return;
        };
        let mut through = self.store.last_seq();
        for sync in primary.backups.values() {
            let Sync::Synced { through: held, .. } = sync else {
                return;
            };
            through = through.min(*held);
        }
        if through > self.store.committed_seq() {
            self.persist(Write::Commit { through }, out);
        }
        let primary = self.primary.as_mut().expect("checked above");
        let committed = self.store.committed_seq();
        let rest = primary.waiting.split_off(&(committed + 1));
        let done = std::mem::replace(&mut primary.waiting, rest);
        for op in done.into_values() {
            self.reply(op, Response::Ok, out);
        }
    }

    /// A client's get: only the primary answers, from committed registers (module docs).
    pub(crate) fn get(&mut self, id: OpId, key: Key, out: &mut Out) {
        if self.view.primary != self.id() {
            let to = self.view.primary;
            return self.reply(id, Response::Redirect { to }, out);
        }
        if let Some(why) = self.read_refusal() {
            return self.reply(id, Response::Unavailable { why }, out);
        }
        self.counters.reads_served += 1;
        let value = self.store.committed(&key).cloned();
        self.reply(id, Response::Value(value), out);
    }

    /// Why this server may not answer a read now, if it may not.
    pub fn read_refusal(&self) -> Option<&'static str> {
        if self.view.primary != self.id() {
            return Some("not the primary of its view");
        }
        if self.primary.is_none() {
            return Some("the primary has not taken up its tenure yet");
        }
        if self.store.committed_seq() < self.store.tenure_start_seq() {
            return Some(
                "a new primary: the history it took over is not yet on every backup, and \
                 its committed registers may miss puts its predecessor acknowledged",
            );
        }
        let unleased = self.ticks >= self.lease_until_tick;
        if unleased && self.config.variant != Variant::ReadWithoutLease {
            return Some(
                "no lease: the view service has not confirmed this primary lately and may \
                 have replaced it",
            );
        }
        None
    }
}
