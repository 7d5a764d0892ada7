//! No-op writes (`exec/noop.rs`): a write the state shows would change nothing is answered
//! without the log, and that answer is exactly what the log would have answered.

mod common;

use bytes::Bytes;
use common::*;
use kv::{Command, Reply, Request, StateMachine};
use proptest::prelude::*;

/// The client every test writes as; its session exists after `open_session`.
const CLIENT: u64 = 7;

/// Apply CLIENT's seq 1 (a harmless write) so its session exists, as on a server after the
/// connection's first write.
fn open_session(log: &mut Log) {
    log.request(CLIENT, 1, cmd(&["set", "session-opener", "1"]));
}

fn request(seq: u64, words: &[&str]) -> Request {
    Request::in_session(CLIENT, seq, cmd(words))
}

#[test]
fn sadd_of_members_already_there_is_answered_zero_without_the_log() {
    let mut log = Log::new();
    open_session(&mut log);
    log.cmd(&["sadd", "s", "a", "b"]);
    assert_eq!(
        log.sm.noop_reply(&request(2, &["sadd", "s", "a"])),
        Some(Reply::Int(0))
    );
    assert_eq!(
        log.sm.noop_reply(&request(2, &["sadd", "s", "a", "c"])),
        None
    );
    assert_eq!(
        log.sm.noop_reply(&request(2, &["sadd", "nosuch", "a"])),
        None
    );
}

#[test]
fn pops_and_deletes_of_absent_keys_answer_what_the_command_itself_answers() {
    let mut log = Log::new();
    open_session(&mut log);
    let absent = |words: &[&str]| log.sm.noop_reply(&request(2, words));
    assert_eq!(absent(&["spop", "s"]), Some(Reply::Null));
    assert_eq!(absent(&["lpop", "l"]), Some(Reply::Null));
    assert_eq!(absent(&["zpopmin", "z"]), Some(Reply::Array(vec![])));
    assert_eq!(absent(&["del", "a", "b"]), Some(Reply::Int(0)));
    assert_eq!(absent(&["expire", "a", "10"]), Some(Reply::Int(0)));
    // The command's own argument checks still answer, off the log as on it.
    assert!(matches!(
        absent(&["spop", "s", "-1"]),
        Some(Reply::Error(_))
    ));
}

#[test]
fn zadd_without_options_is_a_noop_only_when_every_score_is_unchanged() {
    let mut log = Log::new();
    open_session(&mut log);
    log.cmd(&["zadd", "z", "1", "a", "2", "b"]);
    let probe = |words: &[&str]| log.sm.noop_reply(&request(2, words));
    assert_eq!(
        probe(&["zadd", "z", "1", "a", "2.0", "b"]),
        Some(Reply::Int(0))
    );
    assert_eq!(probe(&["zadd", "z", "1", "a", "3", "b"]), None);
    assert_eq!(
        probe(&["zadd", "z", "NX", "1", "a"]),
        None,
        "options take the log"
    );
}

#[test]
fn a_session_s_first_write_and_its_retries_always_go_through_the_log() {
    let mut log = Log::new();
    // No session yet: seq 1 creates it, so it must be applied.
    assert!(!log.sm.may_be_noop(&request(1, &["del", "nosuch"])));
    open_session(&mut log);
    assert!(log.sm.may_be_noop(&request(2, &["del", "nosuch"])));
    // seq 1 again is a retry: the session's cached reply answers it, on the log.
    assert!(!log.sm.may_be_noop(&request(1, &["del", "nosuch"])));
    // No session at all: nothing orders or dedups it, so it is not eligible.
    assert!(!log.sm.may_be_noop(&Request::once(cmd(&["del", "nosuch"]))));
}

#[test]
fn writes_outside_the_allowlist_always_go_through_the_log() {
    let mut log = Log::new();
    open_session(&mut log);
    for words in [
        &["set", "k", "v"][..],
        &["incr", "n"],
        &["hset", "h", "f", "v"],
        &["publish", "c", "m"],
        &["flushall"],
    ] {
        assert!(!log.sm.may_be_noop(&request(2, words)), "{words:?}");
    }
}

/// Everything a client can observe of the keyspace: each key's type, contents and TTL.
fn observable(sm: &StateMachine) -> Vec<Reply> {
    let Reply::Array(keys) = sm.read(&cmd(&["keys", "*"]), 0) else {
        panic!("KEYS answers an array")
    };
    let mut seen = Vec::new();
    for key in keys {
        let Reply::Bulk(key) = key else {
            panic!("keys are bulks")
        };
        let k = Bytes::clone(&key);
        let of = |name: &str, rest: &[&str]| {
            let mut args = vec![k.clone()];
            args.extend(rest.iter().map(|w| b(w)));
            sm.read(&Command::new(name.as_bytes(), args).expect("valid"), 0)
        };
        seen.push(Reply::Bulk(key.clone()));
        seen.push(of("pttl", &[]));
        seen.push(match of("type", &[]) {
            Reply::Status(t) if t == "string" => of("get", &[]),
            Reply::Status(t) if t == "list" => of("lrange", &["0", "-1"]),
            Reply::Status(t) if t == "set" => of("smembers", &[]),
            Reply::Status(t) if t == "zset" => of("zrange", &["0", "-1", "withscores"]),
            Reply::Status(t) if t == "hash" => of("hgetall", &[]),
            other => other,
        });
    }
    seen
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The promise of `exec/noop.rs`: whenever a write is answered off the log, the log would
    /// have given the same reply and left every observable thing as it was.
    #[test]
    fn a_noop_answer_is_what_the_log_would_answer_and_the_log_would_change_nothing(
        entries in prop::collection::vec(arb_entry(), 0..30),
        command in arb_command(),
    ) {
        let mut log = Log::new();
        for e in &entries {
            log.commit(e);
        }
        open_session(&mut log);
        let write = Request::in_session(CLIENT, 2, command);
        if let Some(reply) = log.sm.noop_reply(&write) {
            let before = observable(&log.sm);
            let applied = log.commit(&write.encode());
            prop_assert_eq!(applied, reply);
            prop_assert_eq!(observable(&log.sm), before);
        }
    }
}

/// A write over one small alphabet of members, so that "all already there" and "none there"
/// both happen often.
fn arb_member_write() -> impl Strategy<Value = Command> {
    let member = prop::sample::select(vec!["a", "b", "c"]);
    let members = prop::collection::vec(member, 1..3);
    let score = prop::sample::select(vec!["1", "2", "1.0", "inf"]);
    let name = prop::sample::select(vec!["sadd", "srem", "zrem", "hdel", "zadd"]);
    (name, members, score).prop_map(|(name, members, score)| {
        let key = match name {
            "sadd" | "srem" => "s",
            "hdel" => "h",
            _ => "z",
        };
        let mut words = vec![name, key];
        for m in members {
            if name == "zadd" {
                words.push(score);
            }
            words.push(m);
        }
        cmd(&words)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn member_writes_answered_off_the_log_match_the_log_on_small_containers(
        setup in prop::collection::vec(arb_member_write(), 0..6),
        write in arb_member_write(),
    ) {
        let mut log = Log::new();
        log.cmd(&["hset", "h", "a", "1", "c", "3"]);
        for command in setup {
            log.run(command);
        }
        open_session(&mut log);
        let write = Request::in_session(CLIENT, 2, write);
        if let Some(reply) = log.sm.noop_reply(&write) {
            let before = observable(&log.sm);
            prop_assert_eq!(log.commit(&write.encode()), reply);
            prop_assert_eq!(observable(&log.sm), before);
        }
    }
}
