//! # Chain replication and CRAQ
//!
//! van Renesse & Schneider, "Chain Replication for Supporting High Throughput and
//! Availability" (OSDI '04) §2 (the protocol), §3 (failures, the master, the update
//! propagation invariant, extending a chain); Terrace & Freedman, "Object Storage on CRAQ"
//! (USENIX ATC '09) §2.3 (clean and dirty versions, reads at any node). Sans-IO: drive a
//! [`ChainNode`] per node through [`distributed_core::Protocol`] and carry out each [`Out`]
//! in order (persist → send → deliver).
//!
//! ## The idea
//!
//! The replicas stand in a line. A write enters at the **head**, which gives it the next seq,
//! stores it and passes it on; each replica stores it before passing it on; the **tail**
//! commits it and acks, and the ack travels back up. A read at the tail sees exactly the
//! committed writes, so the chain is linearizable with no quorum and no leader election: the
//! order is the chain's, and every write was stored by every replica before it was answered.
//!
//! ```text
//!                 Put                                                       Get (chain mode)
//!   client ──────────────┐                                          ┌─────────────── client
//!                        ▼                                          ▼
//!                     ┌──────┐  Update   ┌────────┐  Update   ┌──────┐
//!                     │ head │ ────────► │ middle │ ────────► │ tail │  commits, acks
//!                     └──────┘ ◄──────── └────────┘ ◄──────── └──────┘
//!   client ◄── Ok ───────┘       Ack                   Ack
//!
//!                                 ┌────────┐  heartbeats ▲, leases and Configure ▼
//!                                 │ master │  epoch e: [head, middle, tail]
//!                                 └────────┘
//! ```
//!
//! **CRAQ** is the same chain with a different read rule ([`Mode::Craq`]): every replica keeps
//! per key its newest *clean* version (acked by the tail) and any newer *dirty* ones (sent on,
//! not yet acked). A read at any replica returns the clean version if it is the newest;
//! otherwise it asks the tail which version it committed and returns that one. Reads spread
//! over the whole chain and stay linearizable; only keys being written cost a round trip.
//!
//! **Failures** (§3) are the master's business: it removes a replica it has not heard from,
//! and announces the new chain under the next **epoch**. Head gone: its successor is head (the
//! puts it held and never passed on are lost, and were never answered). Tail gone: its
//! predecessor is tail, and everything it stored is now committed. Middle gone: its
//! predecessor resends its **Sent list** (updates not yet acked by the tail) to its new
//! successor. A replica that comes back joins at the tail after a state transfer. Replicas
//! refuse messages of another epoch, and serve reads only under a lease from the master.
//!
//! ## Invariants
//!
//! - **Update propagation** (§3): every member's history (updates `1..=last_seq`) is a prefix
//!   of its predecessor's, and the same seq means the same write everywhere
//!   ([`check_update_propagation`], asserted by the replicas as they go).
//! - A stored version is persisted before the update, ack or chunk that mentions it is sent.
//! - A put is answered `Ok` only once the tail stored it (and so, storing before forwarding,
//!   every replica between head and tail); a put refused `Unavailable` was never stored.
//! - Per key, only the oldest version is clean; clean means `seq ≤ acked_seq` (store.rs).
//! - Every queue is bounded: Sent list `sent_max`, keys `keys_max`, waiting reads
//!   `pending_reads_max`, chunk `chunk_keys_max`, versions per key `sent_max + 1`, updates
//!   held ahead of a gap (in memory, stored once it fills) fewer than `sent_max`.
//!
//! ## Broken on purpose
//!
//! [`Variant::AckAtHead`]: the head answers `Ok` before the tail has the write, and a read at
//! the tail misses a write a client was told is done. [`Variant::CraqDirtyRead`]: a CRAQ
//! replica returns a dirty version without asking the tail, and a later read at the tail goes
//! back in time. `testdata/chain_ack_at_head.txt` and `testdata/chain_craq_dirty_read.txt`
//! show each anomaly step by step; a linearizability checker catches both.
//!
//! ## Layout
//!
//! ```text
//! mod.rs            this chapter
//! config.rs         Config (chain, spares, master, mode, variant, timeouts, bounds), validate
//! configuration.rs  Configuration: epoch, chain, joining tail                       (§3)
//! message/          one struct per message with its one-line Display, and the Message enum
//!   data.rs         Update, Ack; VersionQuery, VersionReply              (§2; CRAQ §2.3)
//!   control.rs      Heartbeat, HeartbeatAck, Configure; StateChunk, ChunkAck          (§3)
//!   wire_size.rs    WireSize for every message, field by field
//! store.rs          Store (versions, clean/dirty, the Sent list), Write, Disk, persist
//! node.rs           ChainNode: master or replica behind one Protocol, and the stranger gate
//! master.rs         heartbeats, leases, removing silent members, joins, epochs      (§3)
//! replica.rs        the replica's state, restart, the epoch gate, adopting a configuration
//! write.rs          puts at the head, Update down (held ahead of a gap), Ack up, the
//!                   Sent list                                                 (§2, §3)
//! read.rs           gets at the tail; CRAQ reads anywhere with version queries (CRAQ §2.3)
//! transfer.rs       a joining tail's state transfer in chunks                        (§3)
//! invariant.rs      check_update_propagation, for tests and the simulator
//! ```
//!
//! ## Not here
//!
//! A replicated master (see master.rs for what it would change); the paper's tail answering
//! clients directly (write.rs says why the head does); keeping the old tail live during a
//! join (transfer.rs); exactly-once puts across client retries (a retry of a put still in
//! flight is recognised, one that completed is applied again: a session table as in
//! `crates/kv` would fix that); a master that notices a replica cut off from its neighbours
//! but not from the master (the chain stalls until the cut heals: liveness, not safety);
//! several chains sharing servers (CRAQ §3's multi-chain placement).

mod config;
mod configuration;
mod invariant;
mod master;
mod message;
mod node;
mod read;
mod replica;
mod store;
mod transfer;
mod write;

pub use config::{Config, ConfigError, Mode, Variant};
pub use configuration::{Configuration, Epoch};
pub use invariant::check_update_propagation;
pub use master::{Master, MasterCounters};
pub use message::{
    Ack, ChunkAck, Configure, Heartbeat, HeartbeatAck, Message, StateChunk, Update, VersionQuery,
    VersionReply,
};
pub use node::{ChainNode, Out};
pub use replica::{Counters, Replica};
pub use store::{Disk, Entry, Seq, Store, Version, Write};
