//! Helpers shared by the integration tests: a tiny log driver and proptest strategies.
#![allow(dead_code)] // each test binary uses a different subset

use bytes::Bytes;
use kv::{Command, Condition, Config, Reply, Request, StateMachine};
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
        self.commit(
            &Request {
                client_id,
                seq,
                command,
            }
            .encode(),
        )
    }

    /// Commit a command with no session.
    pub fn run(&mut self, command: Command) -> Reply {
        self.commit(&Request::once(command).encode())
    }
}

pub fn get(key: &str) -> Command {
    Command::Get { key: b(key) }
}

pub fn put(key: &str, value: &str) -> Command {
    Command::Put {
        key: b(key),
        value: b(value),
    }
}

pub fn incr(key: &str, by: i64) -> Command {
    Command::Increment { key: b(key), by }
}

pub fn value(s: &str) -> Reply {
    Reply::Value(Some(b(s)))
}

/// Keys from a small alphabet, so generated commands collide on keys and interact.
pub fn arb_key() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        prop::sample::select(vec!["a", "b", "c", "counter", ""]).prop_map(b),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Bytes::from),
    ]
}

/// Values that are sometimes integers, so `Increment` both succeeds and fails.
pub fn arb_value() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        any::<i64>().prop_map(|n| b(&n.to_string())),
        prop::collection::vec(any::<u8>(), 0..12).prop_map(Bytes::from),
    ]
}

pub fn arb_keys() -> impl Strategy<Value = Vec<Bytes>> {
    prop::collection::vec(arb_key(), 1..5)
}

/// Any command within the default limits.
pub fn arb_command() -> impl Strategy<Value = Command> {
    let condition = prop_oneof![Just(Condition::IfAbsent), Just(Condition::IfPresent)];
    prop_oneof![
        Just(Command::Noop),
        arb_key().prop_map(|key| Command::Get { key }),
        (arb_key(), arb_value()).prop_map(|(key, value)| Command::Put { key, value }),
        (arb_key(), arb_value(), condition).prop_map(|(key, value, condition)| Command::PutIf {
            key,
            value,
            condition
        }),
        arb_keys().prop_map(|keys| Command::Delete { keys }),
        arb_keys().prop_map(|keys| Command::Exists { keys }),
        (arb_key(), arb_value()).prop_map(|(key, value)| Command::Append { key, value }),
        (arb_key(), prop::option::of(arb_value()), arb_value())
            .prop_map(|(key, expected, new)| Command::CompareAndSet { key, expected, new }),
        (arb_key(), any::<i64>()).prop_map(|(key, by)| Command::Increment { key, by }),
        arb_keys().prop_map(|keys| Command::MultiGet { keys }),
        prop::collection::vec((arb_key(), arb_value()), 1..5)
            .prop_map(|pairs| Command::MultiPut { pairs }),
    ]
}

/// Any request: a few clients (0 = no session) with small, colliding sequence numbers, so
/// duplicates, stale requests and unknown sessions all occur.
pub fn arb_request() -> impl Strategy<Value = Request> {
    (0u64..4, 0u64..5, arb_command()).prop_map(|(client_id, seq, command)| Request {
        client_id,
        seq,
        command,
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
