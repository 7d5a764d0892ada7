//! The meaning of each command, one rule per test, as seen through `apply` and `read`.

mod common;

use common::{b, cas_reply, cmd, get, incr, put, value, Log};
use kv::{Command, Config, KvError, Reply, Request};

#[test]
fn get_of_a_missing_key_is_nil() {
    let mut log = Log::new();
    assert_eq!(log.run(get("k")), Reply::Null);
}

#[test]
fn put_then_get_returns_the_value() {
    let mut log = Log::new();
    assert_eq!(log.run(put("k", "v1")), Reply::ok());
    assert_eq!(log.run(get("k")), value("v1"));
}

#[test]
fn put_overwrites_an_existing_value() {
    let mut log = Log::new();
    log.run(put("k", "v1"));
    log.run(put("k", "v2"));
    assert_eq!(log.run(get("k")), value("v2"));
}

#[test]
fn empty_keys_and_values_are_ordinary_keys_and_values() {
    let mut log = Log::new();
    log.run(put("", ""));
    assert_eq!(log.run(get("")), value(""));
}

fn put_if(key: &str, v: &str, condition: &str) -> Command {
    cmd(&["set", key, v, condition])
}

#[test]
fn put_if_absent_writes_only_when_the_key_is_missing() {
    let mut log = Log::new();
    assert_eq!(log.run(put_if("lock", "me", "NX")), Reply::ok());
    assert_eq!(log.run(put_if("lock", "you", "NX")), Reply::Null);
    assert_eq!(log.run(get("lock")), value("me"));
}

#[test]
fn put_if_present_writes_only_when_the_key_exists() {
    let mut log = Log::new();
    assert_eq!(log.run(put_if("k", "v", "XX")), Reply::Null);
    assert_eq!(log.run(get("k")), Reply::Null);
    log.run(put("k", "old"));
    assert_eq!(log.run(put_if("k", "new", "XX")), Reply::ok());
    assert_eq!(log.run(get("k")), value("new"));
}

#[test]
fn delete_counts_only_the_keys_that_existed() {
    let mut log = Log::new();
    log.run(put("a", "1"));
    log.run(put("b", "2"));
    let del = Command::del(vec![b("a"), b("b"), b("missing")]);
    assert_eq!(log.run(del), Reply::Int(2));
    assert!(log.sm.is_empty());
}

#[test]
fn delete_of_a_repeated_key_counts_it_once() {
    let mut log = Log::new();
    log.run(put("a", "1"));
    assert_eq!(log.run(Command::del(vec![b("a"), b("a")])), Reply::Int(1));
}

#[test]
fn exists_counts_a_repeated_present_key_each_time_as_redis_does() {
    let mut log = Log::new();
    log.run(put("a", "1"));
    let exists = cmd(&["exists", "a", "a", "nope"]);
    assert_eq!(log.run(exists), Reply::Int(2));
}

#[test]
fn append_to_a_missing_key_creates_it_and_answers_its_length() {
    let mut log = Log::new();
    assert_eq!(log.run(Command::append("k", "abc")), Reply::Int(3));
    assert_eq!(log.run(get("k")), value("abc"));
}

#[test]
fn append_extends_the_value_and_answers_the_new_length() {
    let mut log = Log::new();
    log.run(put("k", "abc"));
    assert_eq!(log.run(Command::append("k", "de")), Reply::Int(5));
    assert_eq!(log.run(get("k")), value("abcde"));
}

#[test]
fn append_past_value_bytes_max_is_refused_and_changes_nothing() {
    let mut config = Config::default();
    config.limits.value_bytes_max = 20;
    let mut log = Log::with(config);
    log.run(put("k", "abcdefghijklmnopqrs"));
    let reply = log.run(Command::append("k", "tu"));
    assert_eq!(
        reply,
        Reply::Error(KvError::ValueTooLarge { bytes: 21, max: 20 })
    );
    assert_eq!(log.run(get("k")), value("abcdefghijklmnopqrs"));
}

#[test]
fn a_value_limit_below_the_longest_integer_text_is_refused() {
    let mut config = Config::default();
    config.limits.value_bytes_max = 19;
    let err = config.validate().unwrap_err();
    assert!(
        err.message.starts_with("value_bytes_max 19 is below 20"),
        "{err}"
    );
}

fn cas(key: &str, expected: Option<&str>, new: &str) -> Command {
    Command::cas(b(key), expected.map(b), b(new))
}

#[test]
fn cas_expecting_absent_creates_only_a_missing_key() {
    let mut log = Log::new();
    let first = log.run(cas("k", None, "v1"));
    assert_eq!(first, cas_reply(true, Some("v1")));
    let second = log.run(cas("k", None, "v2"));
    assert_eq!(second, cas_reply(false, Some("v1")));
}

#[test]
fn cas_with_the_right_expected_value_writes_and_reports_the_new_value() {
    let mut log = Log::new();
    log.run(put("k", "old"));
    assert_eq!(
        log.run(cas("k", Some("old"), "new")),
        cas_reply(true, Some("new"))
    );
    assert_eq!(log.run(get("k")), value("new"));
}

#[test]
fn cas_with_a_wrong_expected_value_fails_and_reports_the_actual_one() {
    let mut log = Log::new();
    log.run(put("k", "actual"));
    let reply = log.run(cas("k", Some("guess"), "new"));
    assert_eq!(reply, cas_reply(false, Some("actual")));
    assert_eq!(log.run(get("k")), value("actual"));
}

#[test]
fn cas_expecting_a_value_on_a_missing_key_fails_with_nil_current() {
    let mut log = Log::new();
    assert_eq!(log.run(cas("k", Some("x"), "new")), cas_reply(false, None));
    assert!(log.sm.is_empty());
}

#[test]
fn increment_of_a_missing_key_starts_from_zero() {
    let mut log = Log::new();
    assert_eq!(log.run(incr("n", 1)), Reply::Int(1));
    assert_eq!(log.run(incr("n", 41)), Reply::Int(42));
    assert_eq!(log.run(get("n")), value("42"));
}

#[test]
fn increment_by_a_negative_amount_decrements_below_zero() {
    let mut log = Log::new();
    log.run(put("n", "3"));
    assert_eq!(log.run(incr("n", -5)), Reply::Int(-2));
    assert_eq!(log.run(get("n")), value("-2"));
}

#[test]
fn increment_of_a_non_integer_value_is_an_error_and_changes_nothing() {
    let mut log = Log::new();
    for text in ["abc", "1.5", " 7", "+7", "007", ""] {
        log.run(put("n", text));
        assert_eq!(
            log.run(incr("n", 1)),
            Reply::Error(KvError::NotAnInteger),
            "{text:?}"
        );
        assert_eq!(log.run(get("n")), value(text));
    }
}

#[test]
fn increment_past_the_i64_range_is_an_overflow_error_not_a_panic() {
    let mut log = Log::new();
    log.run(put("n", &i64::MAX.to_string()));
    assert_eq!(log.run(incr("n", 1)), Reply::Error(KvError::Overflow));
    log.run(put("m", &i64::MIN.to_string()));
    assert_eq!(log.run(incr("m", -1)), Reply::Error(KvError::Overflow));
    assert_eq!(log.run(get("n")), value(&i64::MAX.to_string()));
}

#[test]
fn multi_get_answers_in_the_order_asked_with_nil_for_missing_keys() {
    let mut log = Log::new();
    log.run(put("a", "1"));
    log.run(put("c", "3"));
    let mget = cmd(&["mget", "c", "b", "a"]);
    assert_eq!(
        log.run(mget),
        Reply::Array(vec![value("3"), Reply::Null, value("1")])
    );
}

#[test]
fn multi_put_writes_every_pair_and_a_repeated_key_keeps_its_last_value() {
    let mut log = Log::new();
    let mset = cmd(&["mset", "a", "1", "b", "2", "a", "3"]);
    assert_eq!(log.run(mset), Reply::ok());
    assert_eq!(log.run(get("a")), value("3"));
    assert_eq!(log.run(get("b")), value("2"));
    assert_eq!(log.sm.len(), 2);
}

#[test]
fn a_noop_changes_nothing_but_the_applied_index() {
    let mut log = Log::new();
    log.run(put("k", "v"));
    let before = log.sm.digest();
    assert_eq!(log.run(Command::noop()), Reply::ok());
    assert_eq!(log.sm.applied_index(), 2);
    assert_eq!(log.sm.len(), 1);
    assert_ne!(log.sm.digest(), before, "the digest covers applied_index");
}

#[test]
fn read_serves_read_only_commands_without_advancing_the_index() {
    let mut log = Log::new();
    log.run(put("k", "v"));
    assert_eq!(log.sm.read(&get("k"), 0), value("v"));
    assert_eq!(log.sm.read(&cmd(&["exists", "k"]), 0), Reply::Int(1));
    assert_eq!(
        log.sm.read(&cmd(&["mget", "x"]), 0),
        Reply::Array(vec![Reply::Null])
    );
    assert_eq!(log.sm.applied_index(), 1);
}

#[test]
fn read_refuses_a_write_command_and_changes_nothing() {
    let log = Log::new();
    let before = log.sm.digest();
    let reply = log.sm.read(&incr("n", 1), 0);
    assert_eq!(
        reply,
        Reply::Error(KvError::NotReadOnly {
            command: "incrby".into()
        })
    );
    assert_eq!(log.sm.digest(), before);
}

#[test]
fn a_malformed_entry_gives_an_error_reply_and_still_advances_the_index() {
    let mut log = Log::new();
    let reply = log.commit(&[1, 2, 3]);
    let Reply::Error(KvError::Malformed(e)) = reply else {
        panic!("expected Malformed, got {reply}");
    };
    assert!(e.message.contains("client_id"), "{e}");
    assert_eq!(log.sm.applied_index(), 1);
    assert!(log.sm.is_empty());
}

#[test]
fn a_key_longer_than_key_bytes_max_is_refused_when_the_entry_is_decoded() {
    let mut config = Config::default();
    config.limits.key_bytes_max = 2;
    let mut log = Log::with(config);
    let reply = log.commit(&Request::once(put("abc", "v")).encode());
    assert!(
        matches!(reply, Reply::Error(KvError::Malformed(_))),
        "{reply}"
    );
    assert!(log.sm.is_empty());
}

#[test]
fn indices_may_skip_but_never_go_back() {
    let mut log = Log::new();
    assert_eq!(
        log.sm.apply(10, &Request::once(put("k", "v")).encode()),
        Reply::ok()
    );
    assert_eq!(log.sm.apply(12, &[]), Reply::ok());
    assert_eq!(log.sm.applied_index(), 12);
}
