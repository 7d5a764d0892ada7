//! Helpers shared by the integration tests: a tiny log driver and proptest strategies.
#![allow(dead_code)] // each test binary uses a different subset

use bytes::Bytes;
use distributed_core::wire::Sink;
use kv::{Command, Config, Reply, Request, StateMachine};
use proptest::prelude::*;

/// Bytes from a string literal, for readable tests.
pub fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// A state machine plus the next log index, so tests read as a sequence of commits.
pub struct Log {
    pub sm: StateMachine,
    pub next_index: u64,
}

impl Log {
    pub fn new() -> Self {
        Self::with(Config::default())
    }

    pub fn with(config: Config) -> Self {
        Log {
            sm: StateMachine::new(config).expect("valid config"),
            next_index: 1,
        }
    }

    /// Commit raw entry bytes at the next index.
    pub fn commit(&mut self, data: &[u8]) -> Reply {
        let index = self.next_index;
        self.next_index += 1;
        self.sm.apply(index, data)
    }

    /// Commit a request at the next index.
    pub fn request(&mut self, client_id: u64, seq: u64, command: Command) -> Reply {
        self.commit(&Request::in_session(client_id, seq, command).encode())
    }

    /// Commit a command with no session.
    pub fn run(&mut self, command: Command) -> Reply {
        self.commit(&Request::once(command).encode())
    }

    /// Commit a command with no session, stamped with log time `time_ms`.
    pub fn run_at(&mut self, time_ms: u64, command: Command) -> Reply {
        let mut request = Request::once(command);
        request.time_ms = time_ms;
        self.commit(&request.encode())
    }

    /// A log whose machine already holds a list under each of `keys` (at applied index 1,
    /// log time 0): the non-string value WRONGTYPE needs, before this branch has list
    /// commands. Built as a snapshot, byte by byte, as `snapshot_body.rs` lays it out.
    pub fn with_lists(keys: &[&str]) -> Self {
        let mut keys: Vec<&str> = keys.to_vec();
        keys.sort_unstable();
        let mut snap = b"KVSN".to_vec();
        snap.put_u8(2); // snapshot version
        snap.put_u64(1); // applied_index
        snap.put_u64(0); // clock_ms
        snap.put_u64(keys.len() as u64);
        for key in keys {
            snap.put_bytes(key.as_bytes());
            snap.put_u8(2); // a list
            snap.put_count(1);
            snap.put_bytes(b"element");
            snap.put_u8(0); // no expiry
            snap.put_u64(1); // version
        }
        snap.put_u64(0); // tombstones
        snap.put_u64(0); // tombstone_floor
        snap.put_u64(0); // sessions
        let crc = crc32fast::hash(&snap);
        snap.put_u32(crc);
        let sm = StateMachine::restore(Config::default(), &snap).expect("a valid snapshot");
        Log { sm, next_index: 2 }
    }
}

/// `ERR <message>`.
pub fn err(message: &str) -> Reply {
    Reply::error("ERR", message)
}

/// The WRONGTYPE error.
pub fn wrong_type() -> Reply {
    Reply::Error(kv::KvError::WrongType)
}

/// A status reply (`+string`).
pub fn status(s: &str) -> Reply {
    Reply::Status(b(s))
}

/// An array of bulk strings.
pub fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| value(s)).collect())
}

/// A command from its words: `cmd(&["set", "k", "v", "NX"])`.
pub fn cmd(words: &[&str]) -> Command {
    Command::from_words(words.iter().map(|w| b(w)).collect()).expect("a valid command")
}

pub fn get(key: &str) -> Command {
    Command::get(b(key))
}

pub fn put(key: &str, value: &str) -> Command {
    Command::set(b(key), b(value))
}

pub fn incr(key: &str, by: i64) -> Command {
    Command::incr_by(b(key), by)
}

pub fn value(s: &str) -> Reply {
    Reply::Bulk(b(s))
}

/// The `[1|0, current]` reply of `CAS`.
pub fn cas_reply(ok: bool, current: Option<&str>) -> Reply {
    Reply::Array(vec![
        Reply::Int(i64::from(ok)),
        Reply::bulk_or_null(current.map(b)),
    ])
}

/// Keys from a small alphabet, so generated commands collide on keys and interact.
pub fn arb_key() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        prop::sample::select(vec!["a", "b", "c", "counter", ""]).prop_map(b),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Bytes::from),
    ]
}

/// Values that are sometimes integers, so `INCRBY` both succeeds and fails.
pub fn arb_value() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        any::<i64>().prop_map(|n| b(&n.to_string())),
        prop::collection::vec(any::<u8>(), 0..12).prop_map(Bytes::from),
    ]
}

pub fn arb_keys() -> impl Strategy<Value = Vec<Bytes>> {
    prop::collection::vec(arb_key(), 1..5)
}

fn words(name: &'static str, rest: Vec<Bytes>) -> Command {
    let mut all = vec![Bytes::from_static(name.as_bytes())];
    all.extend(rest);
    Command::from_words(all).expect("generated commands are valid")
}

/// Any command within the default limits: every family, SET's options and expiry included.
pub fn arb_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => arb_basic_command(),
        1 => arb_string_command(),
        1 => arb_keyspace_command(),
        1 => arb_expiry_command(),
    ]
}

/// GET, SET and its options, DEL, EXISTS, APPEND, CAS, INCRBY, MGET, MSET, DISTRIBUTED.NOOP.
fn arb_basic_command() -> impl Strategy<Value = Command> {
    let set_option = prop::sample::select(vec!["NX", "XX", "GET", "KEEPTTL"]).prop_map(b);
    prop_oneof![
        Just(Command::noop()),
        arb_key().prop_map(Command::get),
        (arb_key(), arb_value()).prop_map(|(k, v)| Command::set(k, v)),
        (
            arb_key(),
            arb_value(),
            prop::collection::vec(set_option, 0..3)
        )
            .prop_map(|(k, v, o)| words("set", [vec![k, v], o].concat())),
        (arb_key(), arb_value(), 1u64..5000)
            .prop_map(|(k, v, ms)| words("set", vec![k, v, b("PX"), b(&ms.to_string())])),
        arb_keys().prop_map(Command::del),
        arb_keys().prop_map(|keys| words("exists", keys)),
        (arb_key(), arb_value()).prop_map(|(k, v)| Command::append(k, v)),
        (arb_key(), prop::option::of(arb_value()), arb_value())
            .prop_map(|(k, expected, new)| Command::cas(k, expected, new)),
        (arb_key(), any::<i64>()).prop_map(|(k, by)| Command::incr_by(k, by)),
        arb_keys().prop_map(|keys| words("mget", keys)),
        prop::collection::vec((arb_key(), arb_value()), 1..5).prop_map(|pairs| words(
            "mset",
            pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()
        )),
    ]
}

/// Numbers as clients send them: mostly small (so times and offsets stay near the log's),
/// sometimes any i64 (overflow paths), sometimes not a number.
pub fn arb_number() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        6 => (-5i64..5_000).prop_map(|n| b(&n.to_string())),
        2 => any::<i64>().prop_map(|n| b(&n.to_string())),
        1 => Just(b("x")),
    ]
}

/// An expiry option and its number, or PERSIST (GETEX's).
fn arb_expiry_option() -> impl Strategy<Value = Vec<Bytes>> {
    let unit = prop::sample::select(vec!["EX", "PX", "EXAT", "PXAT"]).prop_map(b);
    prop_oneof![
        Just(Vec::new()),
        Just(vec![b("PERSIST")]),
        (unit, arb_number()).prop_map(|(u, n)| vec![u, n]),
    ]
}

/// The strings family beyond SET/GET: GETSET GETDEL GETEX SETNX SETEX PSETEX MSETNX STRLEN
/// GETRANGE SETRANGE INCRBYFLOAT.
pub fn arb_string_command() -> impl Strategy<Value = Command> {
    let float = prop::sample::select(vec!["1.5", "-0.25", "1e3", "10", "abc", "inf", "0"]);
    prop_oneof![
        (arb_key(), arb_value()).prop_map(|(k, v)| words("getset", vec![k, v])),
        arb_key().prop_map(|k| words("getdel", vec![k])),
        (arb_key(), arb_expiry_option()).prop_map(|(k, o)| words("getex", [vec![k], o].concat())),
        (arb_key(), arb_value()).prop_map(|(k, v)| words("setnx", vec![k, v])),
        (arb_key(), arb_number(), arb_value()).prop_map(|(k, n, v)| words("setex", vec![k, n, v])),
        (arb_key(), arb_number(), arb_value()).prop_map(|(k, n, v)| words("psetex", vec![k, n, v])),
        prop::collection::vec((arb_key(), arb_value()), 1..4).prop_map(|pairs| words(
            "msetnx",
            pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()
        )),
        arb_key().prop_map(|k| words("strlen", vec![k])),
        (arb_key(), arb_number(), arb_number())
            .prop_map(|(k, s, e)| words("getrange", vec![k, s, e])),
        (arb_key(), -2i64..64, arb_value())
            .prop_map(|(k, o, v)| words("setrange", vec![k, b(&o.to_string()), v])),
        (arb_key(), float).prop_map(|(k, x)| words("incrbyfloat", vec![k, b(x)])),
    ]
}

/// The keyspace family: TYPE RENAME RENAMENX COPY KEYS SCAN DBSIZE FLUSHDB UNLINK RANDOMKEY
/// TOUCH.
pub fn arb_keyspace_command() -> impl Strategy<Value = Command> {
    let pattern = prop::sample::select(vec!["*", "c*", "?", "[ab]", "[^a]*", "\\*"]).prop_map(b);
    let scan_option = prop_oneof![
        pattern.clone().prop_map(|p| vec![b("MATCH"), p]),
        (1u64..5).prop_map(|n| vec![b("COUNT"), b(&n.to_string())]),
        Just(vec![b("TYPE"), b("string")]),
    ];
    prop_oneof![
        arb_key().prop_map(|k| words("type", vec![k])),
        (arb_key(), arb_key()).prop_map(|(a, z)| words("rename", vec![a, z])),
        (arb_key(), arb_key()).prop_map(|(a, z)| words("renamenx", vec![a, z])),
        (arb_key(), arb_key(), any::<bool>()).prop_map(|(a, z, replace)| {
            let mut args = vec![a, z];
            args.extend(replace.then(|| b("REPLACE")));
            words("copy", args)
        }),
        pattern.prop_map(|p| words("keys", vec![p])),
        (any::<u64>(), prop::collection::vec(scan_option, 0..3)).prop_map(|(c, o)| {
            let cursor = if c % 2 == 0 { b("0") } else { b(&c.to_string()) };
            words("scan", [vec![cursor], o.concat()].concat())
        }),
        Just(words("dbsize", vec![])),
        Just(words("randomkey", vec![])),
        prop::sample::select(vec!["", "ASYNC", "SYNC"])
            .prop_map(|m| words("flushdb", (!m.is_empty()).then(|| b(m)).into_iter().collect())),
        arb_keys().prop_map(|keys| words("unlink", keys)),
        arb_keys().prop_map(|keys| words("touch", keys)),
    ]
}

/// The expiry family: EXPIRE PEXPIRE EXPIREAT PEXPIREAT with NX|XX|GT|LT, TTL PTTL
/// EXPIRETIME PEXPIRETIME PERSIST, and DISTRIBUTED.EXPIRE.
pub fn arb_expiry_command() -> impl Strategy<Value = Command> {
    let setter = prop::sample::select(vec!["expire", "pexpire", "expireat", "pexpireat"]);
    let reader = prop::sample::select(vec!["ttl", "pttl", "expiretime", "pexpiretime", "persist"]);
    let condition = prop::sample::select(vec!["NX", "XX", "GT", "LT"]).prop_map(b);
    prop_oneof![
        (setter, arb_key(), arb_number(), prop::collection::vec(condition, 0..2))
            .prop_map(|(name, k, n, c)| words(name, [vec![k, n], c].concat())),
        (reader, arb_key()).prop_map(|(name, k)| words(name, vec![k])),
        arb_keys().prop_map(|keys| words("distributed.expire", keys)),
    ]
}

/// Any request: a few clients (0 = no session) with small, colliding sequence numbers, so
/// duplicates, stale requests and unknown sessions all occur; log times that sometimes go
/// backwards, as a new leader's clock may.
pub fn arb_request() -> impl Strategy<Value = Request> {
    (0u64..4, 0u64..5, 0u64..10_000, arb_command()).prop_map(|(client_id, seq, time_ms, c)| {
        let mut r = Request::in_session(client_id, seq, c);
        r.time_ms = time_ms;
        r
    })
}

/// A log entry: usually a request, sometimes empty (leader no-op) or garbage.
pub fn arb_entry() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => arb_request().prop_map(|r| r.encode().to_vec()),
        1 => Just(Vec::new()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ]
}
