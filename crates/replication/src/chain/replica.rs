//! A replica: its state, restart from disk, the epoch gate every replica-to-replica message
//! goes through, the master's traffic (leases, configurations), and the clock.
//!
//! ```text
//!   Configure{epoch > mine} ──► persist it, forget updates held ahead of a gap, then by
//!                               the new place in the chain:
//!       outside            forget waiting puts (outcome unknown: no reply), fail reads
//!       successor joining  freeze, send it the state in chunks              (transfer.rs)
//!       tail               everything stored is committed: ack it all upstream (write.rs)
//!       otherwise          resend the Sent list to the successor (§3, "failure of other
//!                          servers": the in-flight updates of the old epoch are refused)
//!       waiting CRAQ reads ask the new tail again                              (read.rs)
//!
//!   tick ──► heartbeat every heartbeat_interval_ticks; resend the Sent list when no ack came
//!            for resend_interval_ticks; resend an unacknowledged chunk; expire reads
//! ```
//!
//! The epoch gate: an update, ack, query or chunk from an older epoch was sent under a chain
//! that no longer holds (a predecessor that was removed, a tail that is no longer the tail),
//! and acting on it could fork the histories; one from a newer epoch comes from a chain this
//! replica has not been told about, so it cannot check who may send what. Both are refused
//! with a note, and the sender's resend or the master's `Configure` repairs the gap.
//!
//! Invariants (asserted): the Sent list never exceeds `sent_max`; every key's versions never
//! exceed `sent_max + 1`; an ack's tick never lies in this replica's future.

use std::collections::BTreeMap;

use distributed_core::{NodeId, Tick};

use crate::chain::config::{Config, ConfigError};
use crate::chain::configuration::Configuration;
use crate::chain::message::{Configure, Heartbeat, HeartbeatAck, Message, Update};
use crate::chain::node::Out;
use crate::chain::read::PendingRead;
use crate::chain::store::{Disk, Seq, Store, Write};
use crate::chain::transfer::{TransferIn, TransferOut};
use crate::client::{ClientReply, ClientRequest, OpId, Request, Response};

/// What a summary reports about one replica's incarnation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Updates stored (at the head: puts accepted).
    pub updates_stored: u64,
    /// Updates sent again from the Sent list.
    pub updates_resent: u64,
    /// CRAQ version queries sent to the tail.
    pub version_queries: u64,
    /// State-transfer chunks sent.
    pub chunks_sent: u64,
    /// Configurations adopted.
    pub configurations: u64,
}

/// The head's own state: puts it accepted and has not yet answered.
#[derive(Clone, Debug, Default)]
pub(crate) struct Head {
    /// Per update seq, the client request that made it: answered `Ok` once acked.
    pub waiting: BTreeMap<Seq, OpId>,
}

/// One replica (see the module docs).
#[derive(Clone, Debug)]
pub struct Replica {
    /// The knobs, validated.
    pub(crate) config: Config,
    /// The newest configuration heard of (durable).
    pub(crate) view: Configuration,
    /// Versions, Sent list and progress (durable: the same image the disk holds).
    pub(crate) store: Store,
    /// This life's start count, named in heartbeats so an old life's ack grants nothing.
    pub(crate) incarnation: u64,
    /// Whether `incarnation` is on disk yet: it must be before a heartbeat names it.
    pub(crate) incarnation_persisted: bool,
    /// Ticks since this incarnation started.
    pub(crate) ticks: Tick,
    /// Reads may be served while `ticks` is below this: the master's lease.
    pub(crate) lease_until_tick: Tick,
    /// When the next heartbeat is due.
    pub(crate) heartbeat_due_tick: Tick,
    /// When the Sent list is resent if no ack arrives before.
    pub(crate) resend_due_tick: Tick,
    /// Head only: puts waiting for the tail.
    pub(crate) head: Option<Head>,
    /// CRAQ reads waiting for the tail's version reply, by query id.
    pub(crate) reads: BTreeMap<u64, PendingRead>,
    /// The next version query's id.
    pub(crate) next_query_id: u64,
    /// Predecessor of a joining tail: the transfer this replica is sending (it is frozen).
    pub(crate) sending: Option<TransferOut>,
    /// A joining tail: the transfer it is receiving.
    pub(crate) receiving: Option<TransferIn>,
    /// Updates from the predecessor that arrived ahead of a gap, by seq, stored once it
    /// fills (write.rs). Fewer than `sent_max`; in memory only: a crash loses them, and the
    /// predecessor's resend of its Sent list brings them again.
    pub(crate) ahead: BTreeMap<Seq, Update>,
    /// What a summary reports.
    pub(crate) counters: Counters,
}

impl Replica {
    /// A replica rebuilt from `disk` alone. Its configuration is the disk's, or epoch 1.
    pub(crate) fn new(config: Config, disk: &Disk) -> Result<Replica, ConfigError> {
        let view = disk
            .configuration
            .clone()
            .unwrap_or_else(|| Configuration::new(1, config.chain.clone(), None));
        if disk.store.sent_len() > config.sent_max {
            return Err(ConfigError::new(format!(
                "disk: {} updates in the Sent list, above sent_max {}",
                disk.store.sent_len(),
                config.sent_max
            )));
        }
        let resend = config.resend_interval_ticks;
        let mut replica = Replica {
            config,
            view,
            store: disk.store.clone(),
            incarnation: disk.incarnation + 1,
            incarnation_persisted: false,
            ticks: 0,
            lease_until_tick: 0,
            heartbeat_due_tick: 0,
            resend_due_tick: resend,
            head: None,
            reads: BTreeMap::new(),
            next_query_id: 1,
            sending: None,
            receiving: None,
            ahead: BTreeMap::new(),
            counters: Counters::default(),
        };
        replica.take_place();
        Ok(replica)
    }

    /// This replica's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }
    /// The newest configuration this replica knows.
    pub fn configuration(&self) -> &Configuration {
        &self.view
    }
    /// Versions, Sent list and progress.
    pub fn store(&self) -> &Store {
        &self.store
    }
    /// What a summary reports.
    pub fn counters(&self) -> Counters {
        self.counters
    }
    /// Puts this head waits to answer (0 when not the head).
    pub fn waiting_puts(&self) -> usize {
        self.head.as_ref().map_or(0, |h| h.waiting.len())
    }
    /// Reads waiting for the tail's version reply.
    pub fn waiting_reads(&self) -> usize {
        self.reads.len()
    }
    /// True while this replica sends its state to a joining successor (and takes no updates).
    pub fn is_sending_state(&self) -> bool {
        self.sending.is_some()
    }
    /// Is this replica in the chain of its configuration?
    pub fn is_member(&self) -> bool {
        self.view.contains(self.id())
    }
    /// Is this replica the head of its configuration?
    pub fn is_head(&self) -> bool {
        self.view.head() == self.id()
    }
    /// Is this replica the tail of its configuration?
    pub fn is_tail(&self) -> bool {
        self.view.tail() == self.id()
    }
    /// False only for a joining tail whose state transfer is not complete.
    pub fn is_ready(&self) -> bool {
        !self.view.is_joining(self.id()) || self.store.installed_epoch() == self.view.epoch
    }
    /// Why this replica may not answer a read now, if it may not.
    pub fn read_refusal(&self) -> Option<&'static str> {
        if self.view.is_joining(self.id()) {
            return Some("joining: this replica serves no reads until the master confirms it");
        }
        if self.ticks >= self.lease_until_tick {
            return Some(
                "no read lease: the master has not confirmed this replica lately and may \
                 have replaced it",
            );
        }
        None
    }

    /// Set up the role-only state the configuration gives this replica (at start, or after
    /// adopting a new one): head, sending or receiving a transfer.
    fn take_place(&mut self) {
        let me = self.id();
        if self.is_member() && self.is_head() {
            self.head.get_or_insert_with(Head::default);
        }
        self.receiving = (!self.is_ready()).then(TransferIn::default);
        self.sending = self
            .view
            .successor(me)
            .filter(|&s| self.view.is_joining(s))
            .map(TransferOut::new);
    }

    pub(crate) fn step(&mut self, from: NodeId, msg: Message, out: &mut Out) {
        let master = self.config.master;
        match msg {
            Message::HeartbeatAck(m) if from == master => self.on_heartbeat_ack(from, m, out),
            Message::Configure(m) if from == master => self.on_configure(from, m, out),
            Message::HeartbeatAck(_) | Message::Configure(_) | Message::Heartbeat(_) => out.note(
                format_args!("ignored {msg} from {from}: only the master sends it, to replicas"),
            ),
            _ if from == master => out.note(format_args!(
                "ignored {msg} from {from}: the master sends no chain traffic"
            )),
            _ => self.step_chain(from, msg, out),
        }
    }

    /// The epoch gate (module docs), then the handler.
    fn step_chain(&mut self, from: NodeId, msg: Message, out: &mut Out) {
        let epoch = msg.chain_epoch().expect("chain traffic carries an epoch");
        let mine = self.view.epoch;
        if epoch < mine {
            return out.note(format_args!(
                "ignored {msg} from {from}: epoch {epoch} is older than this replica's {mine}: \
                 sent under a chain that no longer holds, acting on it could fork the histories"
            ));
        }
        if epoch > mine {
            return out.note(format_args!(
                "ignored {msg} from {from}: epoch {epoch} is newer than this replica's {mine}: \
                 it waits for the master's configuration to know who may send what"
            ));
        }
        match msg {
            Message::Update(m) => self.on_update(from, m, out),
            Message::Ack(m) => self.on_ack(from, m, out),
            Message::VersionQuery(m) => self.on_version_query(from, m, out),
            Message::VersionReply(m) => self.on_version_reply(from, m, out),
            Message::StateChunk(m) => self.on_state_chunk(from, m, out),
            Message::ChunkAck(m) => self.on_chunk_ack(from, m, out),
            Message::Heartbeat(_) | Message::HeartbeatAck(_) | Message::Configure(_) => {
                unreachable!("master traffic carries no chain epoch")
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
        if self.ticks >= self.heartbeat_due_tick {
            self.send_heartbeat(out);
        }
        if self.ticks >= self.resend_due_tick {
            self.resend_due_tick = self.ticks + self.config.resend_interval_ticks;
            if self.store.sent_len() > 0 && self.sending.is_none() {
                self.resend_sent(out);
            }
        }
        self.tick_transfer(out);
        self.expire_reads(out);
        let lagging = self.store.last_seq() > self.store.acked_seq();
        if lagging && self.is_member() && self.is_tail() && self.is_ready() {
            self.commit_all(out);
        }
    }

    /// Tell the master this replica is alive (persisting the start count first, once).
    pub(crate) fn send_heartbeat(&mut self, out: &mut Out) {
        if !self.incarnation_persisted {
            let incarnation = self.incarnation;
            out.writes.push(Write::Started { incarnation });
            self.incarnation_persisted = true;
        }
        self.heartbeat_due_tick = self.ticks + self.config.heartbeat_interval_ticks;
        let beat = Heartbeat {
            epoch: self.view.epoch,
            incarnation: self.incarnation,
            tick: self.ticks,
            ready: self.is_ready(),
        };
        out.send(self.id(), self.config.master, beat.into());
    }

    /// The master still counts this replica a member: reads are allowed until the echoed
    /// tick plus the lease.
    fn on_heartbeat_ack(&mut self, from: NodeId, msg: HeartbeatAck, out: &mut Out) {
        if msg.incarnation != self.incarnation {
            return out.note(format_args!(
                "ignored {msg} from {from}: it answers an earlier life of this replica, whose \
                 clock started before the restart"
            ));
        }
        if msg.epoch != self.view.epoch {
            return out.note(format_args!(
                "ignored {msg} from {from}: it confirms epoch {}, this replica is in {}",
                msg.epoch, self.view.epoch
            ));
        }
        assert!(
            msg.tick <= self.ticks,
            "an ack for a heartbeat not yet sent"
        );
        let until = msg.tick + self.config.read_lease_ticks;
        self.lease_until_tick = self.lease_until_tick.max(until);
    }

    /// A configuration from the master: adopt it if it is newer.
    fn on_configure(&mut self, from: NodeId, msg: Configure, out: &mut Out) {
        let mine = self.view.epoch;
        if msg.configuration.epoch <= mine {
            return out.note(format_args!(
                "ignored {msg} from {from}: not newer than epoch {mine}"
            ));
        }
        self.adopt(msg.configuration, out);
    }

    /// Persist the new configuration and take this replica's new place in it (module docs).
    fn adopt(&mut self, next: Configuration, out: &mut Out) {
        out.writes.push(Write::Configure(next.clone()));
        self.view = next;
        // Held updates came from the old epoch's predecessor. In the new one the predecessor
        // may be another replica or none (this one is head and gives `last_seq + 1` to new
        // puts), and a removed head's update may carry a seq the new chain gives another
        // write: storing it would fork the histories. The new predecessor resends its Sent list.
        self.ahead.clear();
        self.counters.configurations += 1;
        let me = self.id();
        if !self.is_member() || !self.is_head() {
            if let Some(head) = self.head.take() {
                self.forget_waiting_puts(head, out);
            }
        }
        if !self.is_member() {
            self.fail_reads("this replica left the chain", out);
            self.sending = None;
            self.receiving = None;
            return;
        }
        self.take_place();
        match self.view.successor(me) {
            _ if self.sending.is_some() => self.send_chunk(out),
            None if self.is_ready() => self.commit_all(out),
            None => {}
            Some(_) => self.resend_sent(out),
        }
        self.ask_again(out);
    }

    /// A head that is no longer the head cannot know whether its waiting puts will commit
    /// (the new chain may still carry them to the tail), so it must not answer them either
    /// way: their clients time out, and the outcome stays unknown, as after a crash.
    fn forget_waiting_puts(&mut self, head: Head, out: &mut Out) {
        let epoch = self.view.epoch;
        for (seq, op) in head.waiting {
            out.note(format_args!(
                "no reply to {op} (seq {seq}): this replica is no longer the head in epoch \
                 {epoch}, and the write may still commit"
            ));
        }
    }

    /// Answer a client.
    pub(crate) fn reply(&self, id: OpId, response: Response, out: &mut Out) {
        out.outputs.push(ClientReply { id, response });
    }

    /// Where a client should send a put: the head.
    pub(crate) fn head_redirect(&self) -> Response {
        Response::Redirect {
            to: self.view.head(),
        }
    }
}
