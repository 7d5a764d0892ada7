//! A server: its state, restart from disk, the view gate every server-to-server message goes
//! through, the view service's traffic (views, the lease), and the clock.
//!
//! ```text
//!   PingReply{view > mine} ──► persist it (Adopt), then by the new place in it:
//!       primary, same tenure   keep each staying backup's sync state, probe new ones,
//!                              resend what staying backups lack under the new view number
//!       primary, new tenure    take the tenure: history so far = the lineage `since`; probe
//!                              every backup (transfer.rs); reads wait until it is committed
//!       backup or idle         forget waiting puts (no reply: they may still commit), no lease
//!   PingReply{lease}      ──► primary of that view: reads allowed until tick + lease_ticks
//!
//!   tick ──► take a tenure not yet taken (view 1 at start); ping every ping_interval_ticks;
//!            as primary, probe, send chunks, resend forwards that are overdue (transfer.rs)
//! ```
//!
//! The view gate: a forward, probe, chunk or answer from another view was sent under a
//! configuration that no longer holds (or not yet, for this server) and is refused with a
//! note; the sender's resend after both learn the newest view repairs the gap.
//!
//! Invariants (asserted): a lease is never taken from a reply to a ping not yet sent; the log
//! never exceeds `pending_max`, the sessions never `sessions_max`.

use std::collections::BTreeMap;

use distributed_core::{NodeId, Tick};

use crate::client::{ClientReply, ClientRequest, OpId, Request, Response};
use crate::primary_backup::backup::Receiving;
use crate::primary_backup::config::{Config, ConfigError};
use crate::primary_backup::message::{Message, Ping, PingReply};
use crate::primary_backup::node::{Out, Role};
use crate::primary_backup::primary::{Primary, Sync};
use crate::primary_backup::store::{Disk, Seq, Store, Write};
use crate::primary_backup::view::View;

/// What a summary reports about one server's incarnation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Puts stored (as primary: accepted; as backup: forwarded ones taken).
    pub puts_stored: u64,
    /// Forwards sent again.
    pub forwards_resent: u64,
    /// Retried puts answered without applying them again.
    pub retries_deduplicated: u64,
    /// Reads answered.
    pub reads_served: u64,
    /// State-transfer chunks sent.
    pub chunks_sent: u64,
    /// State transfers received to the end.
    pub transfers_installed: u64,
    /// Views adopted.
    pub views_adopted: u64,
    /// Tenures taken (promotions, and view 1 at the first primary).
    pub tenures: u64,
}

/// One server (see the module docs).
#[derive(Clone, Debug)]
pub struct Server {
    /// The knobs, validated.
    pub(crate) config: Config,
    /// The newest view heard of (durable).
    pub(crate) view: View,
    /// Registers, log, sessions and progress (durable: the same image the disk holds).
    pub(crate) store: Store,
    /// This life's start count, named in pings so a reply to an old life grants nothing.
    pub(crate) incarnation: u64,
    /// Whether `incarnation` is on disk yet: it must be before a ping names it.
    pub(crate) incarnation_persisted: bool,
    /// Ticks since this incarnation started.
    pub(crate) ticks: Tick,
    /// As primary, reads may be served while `ticks` is below this: the lease.
    pub(crate) lease_until_tick: Tick,
    /// When the next ping is due.
    pub(crate) ping_due_tick: Tick,
    /// The primary's job, once its tenure is taken: its backups' sync and its waiting puts.
    pub(crate) primary: Option<Primary>,
    /// As backup: the state transfer being received.
    pub(crate) receiving: Option<Receiving>,
    /// What a summary reports.
    pub(crate) counters: Counters,
}

impl Server {
    /// A server rebuilt from `disk` alone. Its view is the disk's, or view 1.
    pub(crate) fn new(config: Config, disk: &Disk) -> Result<Server, ConfigError> {
        let view = disk.view.clone().unwrap_or_else(|| View::first(&config));
        let store = disk.store.clone();
        if store.log_len() > config.pending_max || store.sessions_len() > config.sessions_max {
            return Err(ConfigError::new(format!(
                "disk: {} puts in the log and {} sessions, above pending_max {} or \
                 sessions_max {}",
                store.log_len(),
                store.sessions_len(),
                config.pending_max,
                config.sessions_max
            )));
        }
        let continuing = view.primary == config.id && store.lineage() == view.since;
        let primary = continuing.then(|| Primary::new(&view.backups));
        Ok(Server {
            config,
            view,
            store,
            incarnation: disk.incarnation + 1,
            incarnation_persisted: false,
            ticks: 0,
            lease_until_tick: 0,
            ping_due_tick: 0,
            primary,
            receiving: None,
            counters: Counters::default(),
        })
    }

    /// This server's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }
    /// The newest view this server knows.
    pub fn view(&self) -> &View {
        &self.view
    }
    /// Registers, log, sessions and progress.
    pub fn store(&self) -> &Store {
        &self.store
    }
    /// What a summary reports.
    pub fn counters(&self) -> Counters {
        self.counters
    }
    /// Ticks since this incarnation started.
    pub fn ticks(&self) -> Tick {
        self.ticks
    }
    /// Reads are allowed (as primary) while `ticks()` is below this.
    pub fn lease_until_tick(&self) -> Tick {
        self.lease_until_tick
    }
    /// Its place in its own view.
    pub fn role(&self) -> Role {
        if self.view.primary == self.id() {
            Role::Primary
        } else if self.view.is_backup(self.id()) {
            Role::Backup
        } else {
            Role::Idle
        }
    }
    /// Puts this primary waits to answer.
    pub fn waiting_puts(&self) -> usize {
        self.primary.as_ref().map_or(0, |p| p.waiting.len())
    }
    /// As primary: how far each backup in its lineage is known to hold the history (backups
    /// still being probed or receiving a transfer are not listed).
    pub fn synced_backups(&self) -> BTreeMap<NodeId, Seq> {
        let Some(p) = self.primary.as_ref() else {
            return BTreeMap::new();
        };
        let synced = p.backups.iter().filter_map(|(&b, s)| match s {
            Sync::Synced { through, .. } => Some((b, *through)),
            _ => None,
        });
        synced.collect()
    }
    /// The primary's acknowledgement of its view: its tenure is taken, every backup is in its
    /// lineage and holds everything committed, and the history it took over is committed.
    pub fn is_ready(&self) -> bool {
        let Some(p) = self.primary.as_ref() else {
            return false;
        };
        let all_synced = p.backups.values().all(|s| matches!(s, Sync::Synced { .. }));
        all_synced && self.store.committed_seq() >= self.store.tenure_start_seq()
    }
    /// Would this server answer a read now?
    pub fn serves_reads(&self) -> bool {
        self.read_refusal().is_none()
    }

    pub(crate) fn step(&mut self, from: NodeId, msg: Message, out: &mut Out) {
        let service = self.config.view_service;
        match msg {
            Message::PingReply(m) if from == service => self.on_ping_reply(from, m, out),
            Message::Ping(_) | Message::PingReply(_) => out.note(format_args!(
                "ignored {msg} from {from}: pings go to the view service, replies come from it"
            )),
            _ if from == service => out.note(format_args!(
                "ignored {msg} from {from}: the view service sends only ping replies"
            )),
            _ => self.step_view_gated(from, msg, out),
        }
    }

    /// The view gate (module docs), then the handler by role.
    fn step_view_gated(&mut self, from: NodeId, msg: Message, out: &mut Out) {
        let view = msg.server_view().expect("server traffic carries a view");
        let mine = self.view.num;
        if view != mine {
            let why = if view < mine {
                "sent under a view that no longer holds"
            } else {
                "this server has not heard of that view yet"
            };
            return out.note(format_args!(
                "ignored {msg} from {from}: view {view}, this server is in {mine}: {why}"
            ));
        }
        let me = self.id();
        match msg {
            Message::Forward(_) | Message::Probe(_) | Message::StateChunk(_)
                if from != self.view.primary || !self.view.is_backup(me) =>
            {
                out.note(format_args!(
                    "ignored {msg} from {from}: not this backup's primary in view {mine}"
                ))
            }
            Message::Forward(m) => self.on_forward(from, m, out),
            Message::Probe(m) => self.on_probe(from, m, out),
            Message::StateChunk(m) => self.on_state_chunk(from, m, out),
            _ if self.primary.is_none() || !self.view.is_backup(from) => out.note(format_args!(
                "ignored {msg} from {from}: not a backup of this primary in view {mine}"
            )),
            Message::Forwarded(m) => self.on_forwarded(from, m, out),
            Message::Probed(m) => self.on_probed(from, m, out),
            Message::ChunkAck(m) => self.on_chunk_ack(from, m, out),
            Message::Ping(_) | Message::PingReply(_) => {
                unreachable!("view-service traffic carries no server view")
            }
        }
    }

    pub(crate) fn input(&mut self, req: ClientRequest, out: &mut Out) {
        match req.request {
            Request::Put { key, value } => self.put(req.id, key, value, out),
            Request::Get { key } => self.get(req.id, key, out),
        }
    }

    pub(crate) fn tick(&mut self, out: &mut Out) {
        self.ticks += 1;
        if self.view.primary == self.id() && self.primary.is_none() {
            self.take_tenure(out);
        }
        if self.ticks >= self.ping_due_tick {
            self.send_ping(out);
        }
        if self.primary.is_some() {
            self.sync_backups(out);
        }
    }

    /// Tell the view service this server is alive (persisting the start count first, once).
    fn send_ping(&mut self, out: &mut Out) {
        if !self.incarnation_persisted {
            let incarnation = self.incarnation;
            out.writes.push(Write::Started { incarnation });
            self.incarnation_persisted = true;
        }
        self.ping_due_tick = self.ticks + self.config.ping_interval_ticks;
        let ping = Ping {
            view: self.view.num,
            incarnation: self.incarnation,
            tick: self.ticks,
            ready: self.is_ready(),
        };
        out.send(self.id(), self.config.view_service, ping.into());
    }

    /// The view service's answer: adopt a newer view; as its primary, take the lease.
    fn on_ping_reply(&mut self, from: NodeId, msg: PingReply, out: &mut Out) {
        if msg.incarnation != self.incarnation {
            return out.note(format_args!(
                "ignored {msg} from {from}: it answers an earlier life of this server, whose \
                 clock started before the restart"
            ));
        }
        assert!(msg.tick <= self.ticks, "a reply to a ping not yet sent");
        let mine = self.view.num;
        if msg.view.num < mine {
            return out.note(format_args!(
                "ignored {msg} from {from}: this server adopted view {mine} already"
            ));
        }
        if msg.view.num > mine {
            self.adopt(msg.view.clone(), out);
        }
        if msg.lease && self.view.primary == self.id() {
            let until = msg.tick + self.config.lease_ticks;
            self.lease_until_tick = self.lease_until_tick.max(until);
        }
    }

    /// Persist a newer view and take this server's place in it (module docs).
    fn adopt(&mut self, next: View, out: &mut Out) {
        let me = self.id();
        let new_tenure = next.primary == me && self.store.lineage() != next.since;
        let tenure_start = new_tenure.then(|| self.store.last_seq());
        let old_since = self.view.since;
        self.persist(
            Write::Adopt {
                view: next.clone(),
                tenure_start,
            },
            out,
        );
        self.counters.views_adopted += 1;
        self.view = next;
        let keep_receiving = self.view.is_backup(me) && self.view.since == old_since;
        if !keep_receiving {
            self.receiving = None;
        }
        let old = self.primary.take();
        if self.view.primary != me {
            self.lease_until_tick = 0;
            if let Some(old) = old {
                self.forget_waiting_puts(old, out);
            }
            return;
        }
        self.primary = Some(match old {
            Some(old) if !new_tenure => old.carried_into(&self.view.backups),
            old => {
                if let Some(old) = old {
                    self.forget_waiting_puts(old, out);
                }
                self.counters.tenures += u64::from(new_tenure);
                Primary::new(&self.view.backups)
            }
        });
        self.sync_backups(out);
        self.try_commit(out);
    }

    /// Take up the primary's job in a view learned without taking it (view 1 at start, or a
    /// restart between the view's write and the tenure's): the history so far is the lineage.
    fn take_tenure(&mut self, out: &mut Out) {
        let tenure_start = Some(self.store.last_seq());
        let view = self.view.clone();
        self.persist(Write::Adopt { view, tenure_start }, out);
        self.counters.tenures += 1;
        self.primary = Some(Primary::new(&self.view.backups));
        self.try_commit(out);
    }

    /// A primary that is no longer primary cannot know whether its waiting puts will commit
    /// (a backup may hold them and take over), so it must not answer them either way: their
    /// clients time out, and the outcome stays unknown, as after a crash.
    fn forget_waiting_puts(&mut self, old: Primary, out: &mut Out) {
        let view = self.view.num;
        for (seq, op) in old.waiting {
            out.note(format_args!(
                "no reply to {op} (seq {seq}): this server is not the primary of its tenure in \
                 view {view}, and the put may still commit"
            ));
        }
    }

    /// Apply a store write here and ask the host to persist it.
    pub(crate) fn persist(&mut self, write: Write, out: &mut Out) {
        self.store.apply(&write);
        out.writes.push(write);
        assert!(
            self.store.log_len() <= self.config.pending_max,
            "the log is bounded by pending_max"
        );
        assert!(
            self.store.sessions_len() <= self.config.sessions_max,
            "sessions are bounded by sessions_max"
        );
    }

    /// Answer a client.
    pub(crate) fn reply(&self, id: OpId, response: Response, out: &mut Out) {
        out.outputs.push(ClientReply { id, response });
    }
}
