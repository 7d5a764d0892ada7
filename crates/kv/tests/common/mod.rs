//! Helpers shared by the integration tests: a tiny log driver and proptest strategies.
#![allow(dead_code)] // each test binary uses a different subset

use bytes::Bytes;
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

/// Any command within the default limits, SET's options and expiry included.
pub fn arb_command() -> impl Strategy<Value = Command> {
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
