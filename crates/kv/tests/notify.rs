//! Keyspace notifications (`notify.rs`): what Redis' `notify-keyspace-events` publishes, from
//! the keys each applied command changed.

mod common;

use common::*;
use kv::KeyspaceEvents;

fn events(flags: &str) -> KeyspaceEvents {
    KeyspaceEvents::parse(flags.as_bytes()).expect("valid flags")
}

/// A log with notifications `flags` on.
fn log_with(flags: &str) -> Log {
    let mut log = Log::new();
    log.sm.set_keyspace_events(events(flags));
    log
}

/// What the last entry published, as "channel message" lines.
fn published(log: &Log) -> Vec<String> {
    log.sm
        .published()
        .iter()
        .map(|(c, m)| {
            format!(
                "{} {}",
                String::from_utf8_lossy(c),
                String::from_utf8_lossy(m)
            )
        })
        .collect()
}

#[test]
fn a_set_publishes_new_then_the_keyspace_and_keyevent_messages() {
    let mut log = log_with("KEA");
    log.cmd(&["set", "foo", "bar"]);
    assert_eq!(
        published(&log),
        ["__keyspace@0__:foo set", "__keyevent@0__:set foo"]
    );
    let mut log = log_with("En");
    log.cmd(&["set", "foo", "bar"]);
    assert_eq!(published(&log), ["__keyevent@0__:new foo"]);
    log.cmd(&["set", "foo", "baz"]);
    assert_eq!(
        published(&log),
        Vec::<String>::new(),
        "not new the second time"
    );
}

#[test]
fn classes_mask_events_and_names_follow_redis() {
    let mut log = log_with("Kl");
    log.cmd(&["set", "foo", "bar"]);
    assert!(
        published(&log).is_empty(),
        "a string event is not in class l"
    );
    let mut lines = Vec::new();
    for words in [
        &["lpush", "mylist", "a"][..],
        &["rpush", "mylist", "a"],
        &["rpop", "mylist"],
        &["lpop", "mylist"],
    ] {
        log.cmd(words);
        lines.extend(published(&log));
    }
    let key = |e: &str| format!("__keyspace@0__:mylist {e}");
    assert_eq!(
        lines,
        [key("lpush"), key("rpush"), key("rpop"), key("lpop")]
    );
    let mut log = log_with("KEA");
    log.cmd(&["lpush", "l", "x"]);
    log.cmd(&["lpop", "l"]);
    assert_eq!(
        published(&log),
        [
            "__keyspace@0__:l lpop",
            "__keyevent@0__:lpop l",
            "__keyspace@0__:l del",
            "__keyevent@0__:del l"
        ],
        "emptying a list deletes it, and says so"
    );
}

#[test]
fn a_write_that_changes_no_member_publishes_nothing() {
    let mut log = log_with("Ks");
    log.cmd(&["sadd", "s", "a", "b"]);
    assert_eq!(published(&log), ["__keyspace@0__:s sadd"]);
    log.cmd(&["srem", "s", "x"]);
    assert!(published(&log).is_empty());
    log.cmd(&["srem", "s", "a"]);
    assert_eq!(published(&log), ["__keyspace@0__:s srem"]);
}

#[test]
fn generic_hash_and_zset_events_carry_redis_names() {
    let mut log = log_with("KA");
    let mut run = |words: &[&str]| {
        log.cmd(words);
        published(&log)
    };
    assert_eq!(run(&["hset", "h", "yes", "1"]), ["__keyspace@0__:h hset"]);
    assert_eq!(
        run(&["hincrby", "h", "yes", "10"]),
        ["__keyspace@0__:h hincrby"]
    );
    assert_eq!(run(&["zincrby", "z", "1", "m"]), ["__keyspace@0__:z zincr"]);
    assert_eq!(run(&["incr", "n"]), ["__keyspace@0__:n incrby"]);
    assert_eq!(run(&["expire", "n", "100"]), ["__keyspace@0__:n expire"]);
    assert_eq!(
        run(&["rename", "n", "m"]),
        ["__keyspace@0__:n rename_from", "__keyspace@0__:m rename_to"]
    );
    assert_eq!(run(&["del", "m"]), ["__keyspace@0__:m del"]);
    assert!(
        run(&["del", "m"]).is_empty(),
        "nothing deleted, nothing said"
    );
}

#[test]
fn a_key_removed_by_the_leader_s_expiry_entry_publishes_expired() {
    let mut log = log_with("Ex");
    log.cmd_at(1_000, &["psetex", "foo", "100", "1"]);
    assert!(
        published(&log).is_empty(),
        "set and expire are not in class x"
    );
    log.cmd_at(2_000, &["distributed.expire", "foo"]);
    assert_eq!(published(&log), ["__keyevent@0__:expired foo"]);
}

#[test]
fn off_publishes_nothing_and_flags_print_as_redis_prints_them() {
    let mut log = Log::new();
    log.cmd(&["set", "foo", "bar"]);
    assert!(published(&log).is_empty());
    for (set, shown) in [
        ("gKE", "gKE"),
        ("$lshzxeKE", "$lshzxeKE"),
        ("KA", "AK"),
        ("EA", "AE"),
    ] {
        assert_eq!(events(set).to_string(), shown);
    }
    assert!(KeyspaceEvents::parse(b"KQ").is_err());
    assert!(
        !events("K").is_on(),
        "a channel without a class says nothing"
    );
}
