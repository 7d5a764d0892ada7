//! # kv: the replicated keyspace, Redis' data model as a deterministic state machine
//!
//! A consensus core (Raft today; Multi-Paxos and PBFT next) agrees on a log; this crate gives
//! the log a meaning. Every replica feeds its committed entries, in order, to its own
//! [`StateMachine`], and because applying an entry is a pure function of the state, the entry
//! and its log index and log time, every replica holds the same keyspace and answers the same
//! [`Reply`] (Raft §5.3, State Machine Safety). Commands are Redis' own, as words, checked
//! against one command table that also drives the RESP front end's `COMMAND` replies.
//!
//! This crate knows no consensus protocol: it depends on `distributed-core` alone, and a core
//! drives it through the [`distributed_core::Machine`] seam (apply, read, snapshot, restore).
//! The glue that joins it to Raft lives in the `replica` crate.
//!
//! ```text
//!   client ──Request{client_id, seq, time_ms, SET k v EX 10}──► encode ──► the log ──► commit
//!                                                                                    │
//!   every replica:  StateMachine::apply(index, data) ◄───────────────────────────────┘
//!                     decode → log clock → dedup (session) → exec (table row) → Reply
//!                     snapshot() / restore() / digest()
//! ```
//!
//! ## Layout
//!
//! ```text
//! lib.rs            this map
//! command/          Command (words + table row), Body (one or MULTI/EXEC), Request
//!   table.rs        the command table: name, arity, flags, key spec, docs, function
//! exec/             what each command means, one file per family, and what they share:
//!   args.rs         argument parsing with Redis' error texts
//!   strings.rs counters.rs string_ranges.rs    the strings family (GET SET… INCR… APPEND…)
//!   bits.rs lcs.rs  strings as bits (SETBIT… BITCOUNT BITPOS BITOP), LCS (a bounded table)
//!   keys.rs keyscan.rs expire.rs               the keyspace: DEL TYPE RENAME COPY…, KEYS
//!                   SCAN, EXPIRE… TTL… PERSIST DISTRIBUTED.EXPIRE, on every type
//!   hashes.rs lists.rs sets.rs zsets.rs zrange.rs   the container families
//!   mpop.rs         LMPOP ZMPOP, the pops the server's blocking commands try
//!   sort.rs         SORT SORT_RO over lists, sets and sorted sets (BY, GET, LIMIT, STORE)
//!   introspect.rs   MEMORY USAGE (an estimate from the value), OBJECT REFCOUNT
//!   float.rs        floats read as Redis reads them, printed as Redis 7.2 prints them
//!   typed.rs        container access: WRONGTYPE before any write, emptied keys deleted
//!   random.rs       SPOP/SRANDMEMBER/HRANDFIELD/RANDOMKEY picks seeded by the log index
//!   scan.rs glob.rs what every walk shares: MATCH (one glob), COUNT, TYPE; *SCAN cursors
//!   server.rs       DISTRIBUTED.* commands of our own
//! value.rs          Value: string, hash, list, set, sorted set (ordered containers)
//! db.rs             Db: keys → (value, expiry, version), tombstones for WATCH, lazy expiry,
//!                   the expiry and scan-order indexes
//! reply.rs          Reply (RESP3 shapes), KvError
//! session.rs        the bounded dedup table behind exactly-once (Raft dissertation §6.3)
//! machine.rs        StateMachine, Config: apply, read, the log clock; the Machine seam impl
//! notify.rs         keyspace notifications: which keys an entry changed, as pub/sub messages
//! codec/            the versioned, bounded binary forms of requests and cached replies
//! snapshot.rs       snapshot / restore with CRC-32, and the digest over the same bytes (§7)
//! snapshot_body.rs  what a snapshot holds, field by field (v2 written, v1 still read)
//! hash.rs           FNV-1a 64 (digest) and CRC-32 (snapshot integrity)
//! display.rs        one-line Display for commands, requests and replies
//! ```
//!
//! The byte-level vocabulary under `codec/` and `snapshot.rs` (`Sink` for writing, `Reader`
//! for untrusted input, `DecodeError`, all little-endian) is `distributed_core::wire`, the one
//! that `storage` and `server` write their formats in too.
//!
//! ## Expiry: time is the log's
//!
//! ```text
//!   leader's host: request.time_ms = its wall clock ──► entry i carries time_ms
//!   every replica:  log clock = max(time_ms of entries 1..=i)          (machine.rs)
//!                   a key with expires_at_ms <= log clock is absent    (db.rs, lazy)
//!   leader, every tick: its clock passed the earliest expiry? ──► DISTRIBUTED.EXPIRE k…
//!                   an entry like any other, re-checked where applied  (replica's expiry.rs)
//!   reads (ReadIndex, lease, follower, inside EXEC): judged at the log clock of the state
//!                   they read, never at the serving node's own clock
//! ```
//!
//! The leader stamps each entry with its wall clock (`Request::time_ms`); a replica never
//! consults its own clock, only the log clock, the largest time of any entry it applied.
//! Whether a key has expired is therefore a function of the log prefix: every replica, one
//! replaying its log after a crash, and one restored from a snapshot (which carries the log
//! clock) decide it at the same entry (Raft §5.3). The max makes the log clock monotone, so a
//! new leader whose clock is behind can delay expiry but never revive a key.
//!
//! A read linearizes at the state it reads: the state after applied index `a` (for ReadIndex,
//! some `a >=` the read index the leader confirmed with a quorum; for a lease read, the
//! leader's applied index), and it judges expiry at that state's log clock, `clock_ms()` at
//! `a`. So a read and the write it follows agree on what has expired; between entries the log
//! clock stands still, and an expired key stays readable until an entry with a later time is
//! applied. The leader's active expiry bounds that: about one tick plus one commit round past
//! the key's time by the leader's clock, even with no client traffic.
//!
//! The clock assumption, next to the lease's: safety assumes nothing of clocks (any stamps,
//! in any order, give every replica the same answers, and the history stays linearizable
//! against the log clock). What assumes something is the *meaning* of a TTL: a key set with
//! `PX t` lives about `t` ms of real time only if the leaders' wall clocks are within some
//! `e` of real time (NTP); it then lives between `t - e` and `t + e` plus the active-expiry
//! delay, and a leader change can move it within that window. The lease, by contrast, needs
//! clock *rates* bounded for safety itself (README, "Reads"). The simulator gives each host
//! a wall-clock offset under its skew profiles (`scenarios`' `wall_clock.rs`).
//!
//! ## Rules this crate keeps
//!
//! Deterministic: no clock (time arrives in each request, stamped by the leader), no
//! randomness (commands that "pick at random" draw from a generator seeded by the key and
//! the log index), no `HashMap`, nothing whose order differs between replicas: replies Redis
//! calls unordered (HGETALL, SMEMBERS) come in byte order. Untrusted bytes
//! (log entries, snapshots) give errors, never panics. Invariants that would mean a host bug
//! (an index applied twice) are `assert!`s that stay on in release.

#![forbid(unsafe_code)]

mod codec;
mod command;
mod db;
mod display;
mod exec;
mod hash;
mod machine;
mod notify;
mod reply;
mod session;
mod snapshot;
mod snapshot_body;
mod value;

pub use codec::{Limits, REQUEST_VERSION};
pub use command::table::{self, Flags, Group, KeySpec, Spec};
pub use command::{Body, Command, Request};
/// Why bytes did not decode: the workspace's one decode error (`distributed_core::wire`),
/// re-exported so `kv::DecodeError` stays this crate's public name for it.
pub use distributed_core::wire::DecodeError;
pub use machine::{Config, ConfigError, ReadQuery, StateMachine};
pub use notify::KeyspaceEvents;
pub use reply::{KvError, Reply};
pub use snapshot::{SnapshotError, SNAPSHOT_VERSION};
pub use value::{Score, ScoreRange, Value, ZSet};
