//! The state machine: committed log entries in, replies out, identically on every replica.
//!
//! ```text
//!   Raft commits entry (index, data)
//!            │
//!            ▼
//!   apply(index, data) ── assert index > applied_index ── applied_index = index
//!            │
//!            ├─ data empty ─────────────► OK              (Raft's leader no-op, §8)
//!            ├─ decode fails ───────────► Error(Malformed) (same bytes, same error everywhere)
//!            ├─ clock_ms = max(clock_ms, request.time_ms)       (the log's time never goes back)
//!            ├─ client_id = 0 ──────────► exec::apply      (no session)
//!            └─ sessions.admit(c, seq)
//!                  ├─ Apply ────────────► exec::apply, record (seq, reply) for c
//!                  ├─ Replay(reply) ────► reply           (a retry: not applied again)
//!                  └─ Refuse(error) ────► Error(Stale | SessionUnknown)
//!
//!   read(command, random_seed) ── read-only commands only, at (applied_index, clock_ms), no
//!                  log (§6.4); random picks (SRANDMEMBER…) start from the caller's seed
//!
//!   published()    ── the (channel, message) pairs of the PUBLISH commands the last applied
//!                     entry ran (exec/pubsub.rs); the replica hands them to its host
//! ```
//!
//! Time: each request carries the leader's clock when it was proposed (`Request::time_ms`).
//! The machine's clock is the largest such time applied so far, so it never moves backwards
//! even when a new leader's clock is behind the old one's, and every replica judges expiry at
//! the same entry. A read sees the clock of the last entry applied.
//!
//! ```text
//!   leader's host clock ──Input::Clock──► replica: now >= next_expiry_ms()?
//!        └─► expiry_request(now, keys_max) = DISTRIBUTED.EXPIRE k… stamped now ──► the log
//!   every replica applies it: clock_ms = max(clock_ms, now); each named key still expired
//!   at clock_ms is deleted (a key re-set since the proposal is live, and stays)
//! ```
//!
//! Expiry that happens (active expiry): a key whose time ran out reads as absent from the
//! first entry whose log time reaches its expiry; with no traffic no entry would come, so the
//! leader, whose host stamps its clock into the replica on every tick, proposes one
//! (`expiry_request`, the `replica` crate decides when): at most one such entry in flight,
//! each naming at most `keys_max` keys, earliest expiry first. `next_expiry_ms` is O(log n)
//! (the `expiring` index in `db.rs`), so the leader can ask on every tick.
//!
//! The clock assumption, next to the lease reads' one (README, "Reads"): reads linearize at
//! their read index with the log clock of that index. An expired key stays visible at most
//! until the leader's next tick after its time plus one commit round (its `DISTRIBUTED.EXPIRE`
//! entry), provided leaders' clocks are close to real time (NTP). Skew between leaders can
//! only delay expiry, never revive a key: a leader whose clock is behind stamps an older
//! time, and the machine's clock is a max, so what expired stays expired.
//!
//! Invariants:
//! - `applied_index` strictly increases with every `apply` (an `assert!`, on in release: applying
//!   an entry twice or out of order would silently fork this replica from the others).
//! - The state after `apply(i, d)` is a pure function of the state before and `(i, d)`, so two
//!   machines fed the same entries have the same `digest()` (Raft §5.3, State Machine Safety).
//! - Nothing a client can put in `data` makes `apply` panic.
//!
//! `sessions_max` and the limits are part of the replicated semantics: every replica must run
//! with the same `Config`, or they may refuse or evict differently and their replies diverge.

use std::fmt;

use bytes::Bytes;

use crate::codec::Limits;
use crate::command::{Body, Command, Request};
use crate::db::Db;
use crate::exec::{self, ReadCtx, WriteCtx};
use crate::notify::KeyspaceEvents;
use crate::reply::{KvError, Reply};
use crate::session::{Admission, Sessions};
use crate::value::Value;

/// Settings of the state machine. Identical on every replica (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Size bounds on requests, checked when an entry is decoded.
    pub limits: Limits,
    /// Most client sessions kept for exactly-once; the least recently used is evicted beyond it
    /// (see `session.rs` for what an evicted client experiences).
    pub sessions_max: usize,
}

impl Config {
    /// The largest `sessions_max` accepted: each session may hold a value-sized reply, so this
    /// bounds the dedup table's memory to a number an operator can reason about.
    pub const SESSIONS_MAX_LIMIT: usize = 1 << 20;

    /// Reject settings that would break exactly-once or could never be met, saying why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let fail = |message: String| Err(ConfigError { message });
        if self.sessions_max == 0 || self.sessions_max > Self::SESSIONS_MAX_LIMIT {
            return fail(format!(
                "sessions_max {} must be in 1..={}: 0 would turn off exactly-once (send \
                 client_id 0 per request instead)",
                self.sessions_max,
                Self::SESSIONS_MAX_LIMIT
            ));
        }
        let positive = [
            ("key_bytes_max", l.key_bytes_max),
            ("value_bytes_max", l.value_bytes_max),
            ("args_per_command_max", l.args_per_command_max),
            (
                "commands_per_transaction_max",
                l.commands_per_transaction_max,
            ),
        ];
        for (name, v) in positive {
            if v == 0 || v > u32::MAX as usize {
                return fail(format!(
                    "{name} {v} must be in 1..={} (a u32 length)",
                    u32::MAX
                ));
            }
        }
        // "-9223372036854775808": any i64 as text (INCRBY's argument, a counter's value).
        const I64_TEXT_BYTES_MAX: usize = 20;
        if l.value_bytes_max < I64_TEXT_BYTES_MAX {
            return fail(format!(
                "value_bytes_max {} is below {I64_TEXT_BYTES_MAX}, the longest integer's text, \
                 so INCRBY could refuse its own argument or result",
                l.value_bytes_max
            ));
        }
        // version, client_id, seq, time, body tag, word count, and three words (the name
        // "set" and its u32 length, a key, a value, each with a u32 length).
        let set_bytes_max =
            (1 + 8 + 8 + 8 + 1 + 4) + (4 + 3) + (4 + l.key_bytes_max) + (4 + l.value_bytes_max);
        if l.request_bytes_max < set_bytes_max {
            return fail(format!(
                "request_bytes_max {} is below {set_bytes_max}, the size of a SET with a \
                 maximal key and value, so such a SET could never be applied",
                l.request_bytes_max
            ));
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            sessions_max: 4096,
        }
    }
}

/// Why a `Config` was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Which setting, its value, and what is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kv config: {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// One replica's copy of the keyspace, its dedup table, its clock, and how far it has applied
/// the log.
#[derive(Clone, Debug)]
pub struct StateMachine {
    /// Limits and the session bound; fixed for the machine's life.
    pub(crate) config: Config,
    /// The index of the last applied log entry (0 before any). Raft's `lastApplied` (§5.3):
    /// the host resumes applying from here after a restore.
    pub(crate) applied_index: u64,
    /// The log's time: the largest `time_ms` applied so far (see the module docs).
    pub(crate) clock_ms: u64,
    /// The data itself, ordered so snapshots and digests are canonical.
    pub(crate) db: Db,
    /// The exactly-once table; replicated state like the map, so it is in every snapshot.
    pub(crate) sessions: Sessions,
    /// The messages the last applied entry published, in order: not state (never in a snapshot
    /// or a digest), emptied by every `apply`, so it holds one entry's worth at most.
    pub(crate) outbox: Vec<(Bytes, Bytes)>,
    /// Which keyspace notifications to publish (`notify.rs`): the host's setting, not state
    /// (never in a snapshot or a digest; kept across a restore).
    pub(crate) keyspace_events: KeyspaceEvents,
}

impl StateMachine {
    /// An empty machine at `applied_index` 0.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(StateMachine {
            sessions: Sessions::new(config.sessions_max),
            config,
            applied_index: 0,
            clock_ms: 0,
            db: Db::default(),
            outbox: Vec::new(),
            keyspace_events: KeyspaceEvents::OFF,
        })
    }

    /// Publish keyspace notifications of these classes from the next entry on (Redis'
    /// `notify-keyspace-events`; `KeyspaceEvents::OFF` stops them). Each node's own setting.
    pub fn set_keyspace_events(&mut self, events: KeyspaceEvents) {
        self.keyspace_events = events;
        self.db.set_journal(events.is_on());
    }

    /// The keyspace notifications this machine publishes.
    pub fn keyspace_events(&self) -> KeyspaceEvents {
        self.keyspace_events
    }

    /// Apply the committed log entry at `index`, whose `data` should be an encoded `Request`.
    ///
    /// Panics if `index` is not above `applied_index`: that is a bug in the host, not bad input.
    pub fn apply(&mut self, index: u64, data: &[u8]) -> Reply {
        assert!(
            index > self.applied_index,
            "StateMachine::apply: index {index} is not above applied_index {}",
            self.applied_index
        );
        self.applied_index = index;
        self.outbox.clear();
        if data.is_empty() {
            return Reply::ok();
        }
        match Request::decode(data, &self.config.limits) {
            Ok(request) => self.apply_request(index, request),
            Err(e) => Reply::Error(KvError::Malformed(e)),
        }
    }

    fn apply_request(&mut self, index: u64, request: Request) -> Reply {
        self.clock_ms = self.clock_ms.max(request.time_ms);
        let Request {
            client_id,
            seq,
            body,
            ..
        } = request;
        if client_id == Request::NO_SESSION {
            return self.execute(index, &body);
        }
        match self.sessions.admit(client_id, seq) {
            Admission::Refuse(e) => Reply::Error(e),
            Admission::Replay(reply) => {
                self.sessions.touch(index, client_id);
                reply
            }
            Admission::Apply => {
                let reply = self.execute(index, &body);
                let cached = (!body.is_read_only()).then(|| reply.clone());
                self.sessions.record(index, client_id, seq, cached);
                reply
            }
        }
    }

    fn execute(&mut self, index: u64, body: &Body) -> Reply {
        let mut ctx = WriteCtx {
            db: &mut self.db,
            index,
            now_ms: self.clock_ms,
            limits: &self.config.limits,
        };
        exec::apply(&mut ctx, body, self.keyspace_events, &mut self.outbox)
    }

    /// The `(channel, message)` pairs published by the entry applied last, in order; empty after
    /// an entry without PUBLISH. The host delivers them to its subscribers (exec/pubsub.rs).
    pub fn published(&self) -> &[(Bytes, Bytes)] {
        &self.outbox
    }

    /// Answer a read-only command from the current state, without the log. The caller is
    /// responsible for the read being linearizable (ReadIndex or a lease, Raft §6.4): this only
    /// guarantees it reflects every entry up to `applied_index`, at that entry's log time. A
    /// writing command gets `Error(NotReadOnly)` and changes nothing.
    ///
    /// `random_seed` is where the random picks of SRANDMEMBER, HRANDFIELD, ZRANDMEMBER and
    /// RANDOMKEY start: a read changes no state, so its reply may differ per call, and the
    /// caller passes a fresh seed each time (a server from its RNG, a simulator from its
    /// seeded one, so a replay answers alike). Every other command ignores it. The road not
    /// taken: seeding from `applied_index`, which answered the same pick until the next write.
    pub fn read(&self, command: &Command, random_seed: u64) -> Reply {
        let ctx = ReadCtx {
            db: &self.db,
            now_ms: self.clock_ms,
            applied_index: self.applied_index,
            random_seed,
        };
        exec::read(&ctx, command)
    }

    /// True if `request` is a write a leader may answer without the log when the state shows it
    /// would change nothing (`exec/noop.rs`): one allowlisted command, in a session that exists
    /// and has not applied this seq yet. A session's first write (seq 1 creates the session)
    /// and a seq the session has reached (a retry: its cached reply is the answer) always go
    /// through the log.
    pub fn may_be_noop(&self, request: &Request) -> bool {
        let Some(command) = request.command() else {
            return false;
        };
        let new_seq = request.client_id != Request::NO_SESSION
            && self
                .sessions
                .last_seq(request.client_id)
                .is_some_and(|last| request.seq > last);
        new_seq && exec::noop::may_be_noop(command)
    }

    /// The reply to `request` if, on the current state, running it would change nothing;
    /// `None` if it must be proposed. Like `read`, the caller makes it linearizable (the read
    /// path confirmed the state) and keeps the client's order (no write of its session in
    /// flight); this re-checks `may_be_noop`, since the session may have moved meanwhile.
    pub fn noop_reply(&self, request: &Request) -> Option<Reply> {
        if !self.may_be_noop(request) {
            return None;
        }
        let command = request.command()?;
        let ctx = ReadCtx {
            db: &self.db,
            now_ms: self.clock_ms,
            applied_index: self.applied_index,
            // As the write would see it in the log; no allowlisted write picks at random.
            random_seed: self.applied_index,
        };
        exec::noop::reply_if_noop(&ctx, &self.config.limits, command)
    }

    /// The index of the last applied entry; 0 before any.
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    /// The log's time: the largest `time_ms` of any applied request.
    pub fn clock_ms(&self) -> u64 {
        self.clock_ms
    }

    /// The earliest expiry time, in log milliseconds, of any stored key (reclaimed keys are
    /// not stored; expired ones not yet reclaimed are): when a leader has expiry work next.
    pub fn next_expiry_ms(&self) -> Option<u64> {
        self.db.next_expiry_ms()
    }

    /// The entry a leader proposes at its clock `now_ms` to reclaim expired keys (see the
    /// module docs): `DISTRIBUTED.EXPIRE` naming the keys whose expiry is at or before
    /// `now_ms`, earliest first, at most `keys_max` (and `args_per_command_max`) of them and
    /// as many as fit `request_bytes_max`, stamped `now_ms`, without a session. `None` when no
    /// key is due.
    pub fn expiry_request(&self, now_ms: u64, keys_max: usize) -> Option<Request> {
        let limits = &self.config.limits;
        let max = keys_max.min(limits.args_per_command_max);
        let mut keys: Vec<Bytes> = self.db.due(now_ms).take(max).cloned().collect();
        // Halve until it fits: at most log2(keys_max) rounds, and one key always fits
        // (`Config::validate` makes room for a SET of a maximal key and value).
        while !keys.is_empty() {
            let command = Command::new(b"distributed.expire", keys.clone())
                .expect("DISTRIBUTED.EXPIRE with at least one key is a valid command");
            let mut request = Request::once(command);
            request.time_ms = now_ms;
            if Request::decode(&request.encode(), limits).is_ok() {
                return Some(request);
            }
            keys.truncate(keys.len() / 2);
        }
        None
    }

    /// The string under `key`, if it holds a live string: for hosts and tests that look inside.
    pub fn get(&self, key: &[u8]) -> Option<&Bytes> {
        match self.db.value(key, self.clock_ms) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Number of stored keys (expired ones not yet removed included).
    pub fn len(&self) -> usize {
        self.db.len()
    }

    /// True when no key is stored.
    pub fn is_empty(&self) -> bool {
        self.db.len() == 0
    }

    /// Number of client sessions held (at most `sessions_max`).
    pub fn sessions_len(&self) -> usize {
        self.sessions.len()
    }

    /// The settings this machine runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// A read as the `Machine` seam carries it: the command, and the seed its random picks start
/// from (`StateMachine::read`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadQuery {
    /// A read-only command.
    pub command: Command,
    /// Fresh per call, from the caller's RNG (see `StateMachine::read`).
    pub random_seed: u64,
}

impl Default for StateMachine {
    fn default() -> Self {
        Self::new(Config::default()).expect("the default Config is valid")
    }
}

/// The seam a consensus core drives (`distributed_core::Machine`): the same methods as above,
/// so Raft's replica today, and Multi-Paxos' and PBFT's next, apply one machine without a copy.
impl distributed_core::Machine for StateMachine {
    type Query = ReadQuery;
    type Reply = Reply;
    type RestoreError = crate::SnapshotError;

    fn apply(&mut self, index: u64, entry: &[u8]) -> Reply {
        StateMachine::apply(self, index, entry)
    }

    fn read(&self, query: &ReadQuery) -> Reply {
        StateMachine::read(self, &query.command, query.random_seed)
    }

    fn applied_index(&self) -> u64 {
        self.applied_index
    }

    fn snapshot(&self) -> Vec<u8> {
        self.snapshot_vec()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), crate::SnapshotError> {
        let events = self.keyspace_events;
        *self = StateMachine::restore(self.config.clone(), snapshot)?;
        self.set_keyspace_events(events);
        Ok(())
    }

    /// Decodes the whole snapshot into a machine that is then dropped: twice the work of a
    /// restore, paid once per snapshot a leader sends. Anything less (checking the CRC only)
    /// would pass bytes written by other code that restore then refuses.
    fn check_snapshot(&self, snapshot: &[u8]) -> Result<(), crate::SnapshotError> {
        StateMachine::restore(self.config.clone(), snapshot).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_is_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn a_config_without_sessions_is_rejected_with_a_reason() {
        let config = Config {
            sessions_max: 0,
            ..Config::default()
        };
        let err = StateMachine::new(config).unwrap_err();
        assert!(err.to_string().contains("sessions_max 0"), "{err}");
    }

    #[test]
    fn a_config_whose_largest_put_cannot_fit_a_request_is_rejected() {
        let mut config = Config::default();
        config.limits.request_bytes_max = config.limits.value_bytes_max;
        let err = config.validate().unwrap_err();
        assert!(err.message.contains("request_bytes_max"), "{err}");
    }

    #[test]
    fn a_zero_limit_is_rejected_and_named() {
        let mut config = Config::default();
        config.limits.args_per_command_max = 0;
        let err = config.validate().unwrap_err();
        assert!(err.message.starts_with("args_per_command_max 0"), "{err}");
    }

    #[test]
    #[should_panic(expected = "not above applied_index")]
    fn applying_an_index_twice_is_a_host_bug_and_panics() {
        let mut sm = StateMachine::default();
        sm.apply(5, &[]);
        sm.apply(5, &[]);
    }

    #[test]
    fn an_empty_entry_is_a_no_op_that_still_advances_the_applied_index() {
        let mut sm = StateMachine::default();
        assert_eq!(sm.apply(3, &[]), Reply::ok());
        assert_eq!(sm.applied_index(), 3);
        assert!(sm.is_empty());
    }

    fn publish(channel: &'static str, message: &'static str) -> Command {
        let args = vec![
            Bytes::from_static(channel.as_bytes()),
            Bytes::from_static(message.as_bytes()),
        ];
        Command::new(b"PUBLISH", args).expect("a valid PUBLISH")
    }

    #[test]
    fn a_publish_changes_no_key_and_leaves_its_message_in_the_outbox_of_its_entry_only() {
        let mut sm = StateMachine::default();
        let entry = Request::in_session(7, 1, publish("news", "hi")).encode();
        assert_eq!(sm.apply(1, &entry), Reply::Int(0));
        assert!(sm.is_empty(), "no key changed");
        let hi = (Bytes::from_static(b"news"), Bytes::from_static(b"hi"));
        assert_eq!(sm.published(), std::slice::from_ref(&hi));
        // A retry of the same request replays its reply and publishes nothing again.
        assert_eq!(sm.apply(2, &entry), Reply::Int(0));
        assert!(sm.published().is_empty());
        assert_eq!(sm.apply(3, &[]), Reply::ok());
        assert!(
            sm.published().is_empty(),
            "the next entry empties the outbox"
        );
    }

    #[test]
    fn a_transaction_publishes_in_order_unless_its_watch_aborts_it() {
        let mut sm = StateMachine::default();
        let exec = |since| Request {
            client_id: Request::NO_SESSION,
            seq: 0,
            time_ms: 0,
            body: Body::Exec {
                watched: vec![Bytes::from_static(b"w")],
                since,
                commands: vec![publish("a", "1"), Command::set("w", "x"), publish("b", "2")],
            },
        };
        let replies = sm.apply(1, &exec(0).encode());
        assert!(
            matches!(replies, Reply::Array(ref r) if r.len() == 3),
            "{replies:?}"
        );
        assert_eq!(sm.published().len(), 2);
        assert_eq!(sm.published()[1].0, Bytes::from_static(b"b"));
        // `w` changed at index 1, after the watch's index 0: aborted, nothing published.
        assert_eq!(sm.apply(2, &exec(0).encode()), Reply::NullArray);
        assert!(sm.published().is_empty());
    }
}
