//! # Primary-backup replication with a view service
//!
//! Alsberg & Day, "A Principle for Resilient Sharing of Distributed Resources" (ICSE '76), the
//! scheme; Budhiraja, Marzullo, Schneider & Toueg, "The Primary-Backup Approach" (1993), its
//! properties (§2: one primary at a time, answers only after the backups have the update);
//! MIT 6.824's primary/backup lab (2013–2015), the view service; Gray & Cheriton, "Leases"
//! (SOSP '89), the primary's read lease. Sans-IO: drive a [`PbNode`] per node through
//! [`distributed_core::Protocol`] and carry out each [`Out`] in order (persist → send →
//! deliver).
//!
//! ## The idea
//!
//! One server, the **primary**, takes every request. It gives each put the next seq, stores
//! it, forwards it to every **backup**, and answers `Ok` once every backup stored it; it
//! answers a get from its own committed registers. Which server is primary is not decided by
//! the servers: a separate **view service** (the configuration authority) hands out numbered
//! **views** in its replies to their pings, and the servers follow the newest view they hear.
//!
//! ```text
//!                       ┌──────────────┐  pings ▲ (ready = "my backups hold my state")
//!                       │ view service │  replies ▼ view {num, primary, backups, since}, lease
//!                       └──────────────┘
//!      client ── Put/Get ──► ┌─────────┐ ── Forward{seq} ──► ┌────────┐
//!      client ◄── Ok/Value ─ │ primary │ ◄─ Forwarded ────── │ backup │  (each backup)
//!                            └─────────┘ ── Probe, StateChunk ─► new backup: the whole state
//! ```
//!
//! **Which configuration authority:** a view number handed out by a single durable view
//! service, *and* a lease it grants the primary (view_service.rs says why one node, and what
//! replicating it would change: it is the scheme's single point of failure). The view number
//! orders configurations; the lease bounds in ticks how long a replaced primary may go on
//! reading. The view service:
//!
//! - replaces a primary only after `failure_timeout_ticks` of silence, which
//!   `Config::validate` holds at `≥ clock_rate_ratio_max × lease_ticks`, so the old primary's
//!   lease (counted from a ping sent before the view service last heard it) has lapsed first;
//! - promotes only a backup of a view its primary **acknowledged** (pinged `ready` for): every
//!   backup of it then holds every acknowledged put.
//!
//! **State transfer.** A view names its primary's tenure (`since`): the history that primary
//! writes is a *lineage*. A backup takes forwards only while its store is in the lineage; the
//! primary probes each backup it does not know (a new one, all of them after a restart or at
//! the start of a tenure) and sends the whole state, in chunks of at most `chunk_items_max`
//! items, to one that is not (transfer.rs). Only then does it count the backup, and only with
//! every backup counted does it acknowledge the view.
//!
//! ## Invariants
//!
//! - At most one server serves reads at any tick: the one primary holding a lease, with the
//!   history it took over committed ([`check_primary_backup`]).
//! - A put is answered `Ok` only once every backup of the primary's view stored it; every
//!   backup the primary counts holds its history through the commit point; every backup of an
//!   acknowledged view holds every acknowledged put ([`check_primary_backup`]).
//! - No server serves reads with less history committed than any server ever committed
//!   ([`Audit`]).
//! - Everything a message promises is persisted before it is sent: a put before its forward or
//!   acknowledgement, a view before the reply that announces it, a commit before its `Ok`.
//! - Every queue is bounded: the log `pending_max`, keys `keys_max`, sessions `sessions_max`,
//!   a chunk `chunk_items_max`, resends `pending_max` per backup.
//!
//! ## Broken on purpose
//!
//! [`Variant::NoViewAck`]: the view service promotes a backup out of an unacknowledged view, so
//! the new primary may never have received the state; acknowledged puts vanish and a later
//! read returns an older value. [`Variant::ReadWithoutLease`]: the primary reads without its
//! lease, and a replaced primary that does not know it yet answers a stale read. Scripts
//! `testdata/primary_backup/*.txt` show each step by step; a linearizability checker over
//! client histories catches both, and so do the invariants.
//!
//! ## Layout
//!
//! ```text
//! mod.rs           this chapter
//! config.rs        Config (servers, view service, backups, variant, timeouts, bounds), validate
//! view.rs          View: num, primary, backups, since (the primary's tenure)
//! message/         one struct per message with its one-line Display, and the Message enum
//!   control.rs     Ping, PingReply                               liveness, views, the lease
//!   data.rs        Forward, Forwarded; Probe, Probed; StateChunk, ChunkAck
//!   wire_size.rs   WireSize for every message, field by field
//! store.rs         Store (registers, log, sessions, lineage), Write, Disk, persist
//! node.rs          PbNode: view service or server behind one Protocol; Role; the stranger gate
//! view_service.rs  pings, leases, acknowledgements, the next view
//! server.rs        the server's state, restart, the view gate, adopting a view, pinging
//! primary.rs       puts, retries, commits, reads under the lease
//! transfer.rs      the primary's side of its backups: probes, chunks, resends, acks
//! backup.rs        the backup's side: probes, chunks, forwards
//! invariant.rs     check_primary_backup and Audit, for tests and the simulator
//! ```
//!
//! Tests: `tests/primary_backup*.rs` (sentences, a seeded chaos run) and
//! `tests/primary_backup_golden.rs`, which runs `testdata/primary_backup/*.txt`.
//!
//! ## Not here
//!
//! - A replicated view service (view_service.rs says what it would change).
//! - Reads at backups: each would need its own lease, as CRAQ's replicas have.
//! - Puts during a state transfer (transfer.rs: the primary's store is frozen meanwhile).
//! - Lost disks. A server that restarts keeps its place, because its disk holds a prefix of
//!   its lineage; one whose disk is lost comes back empty, and the protocol cannot tell it
//!   from a slow one, so the view service may promote it. Disks are assumed to survive, as
//!   the host contract says.
//! - Clocks that stop while a process is paused. A lease needs a clock that runs on through a
//!   pause, as a monotonic clock does; `tests/primary_backup_failover.rs` and
//!   `testdata/primary_backup/paused_primary_whose_lease_expired_refuses_reads.txt` show a
//!   paused primary resuming with its clock caught up.

mod backup;
mod config;
mod invariant;
mod message;
mod node;
mod primary;
mod server;
mod store;
mod transfer;
mod view;
mod view_service;

pub use config::{Config, ConfigError, Variant};
pub use invariant::{check_primary_backup, Audit};
pub use message::{
    ChunkAck, Forward, Forwarded, Message, Ping, PingReply, Probe, Probed, StateChunk,
};
pub use node::{Out, PbNode, Role};
pub use server::{Counters, Server};
pub use store::{persist, Disk, Item, Record, Seq, Session, Store, Stored, Write};
pub use view::{View, ViewNum};
pub use view_service::{ViewService, ViewServiceCounters};
