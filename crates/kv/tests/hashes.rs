//! Hashes, one rule per test, as seen through `apply` and `read` (Redis 7 semantics; texts
//! checked against redis-server).

mod common;

use common::{array, cmd, err, reply_changing_nothing, value, wrong_type, Log};
use kv::{Config, KvError, Reply, StateMachine};

#[test]
fn hset_answers_how_many_fields_were_new_and_overwrites_the_others() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["hset", "h", "a", "1", "b", "2"]), Reply::Int(2));
    assert_eq!(log.cmd(&["hset", "h", "a", "9", "c", "3"]), Reply::Int(1));
    assert_eq!(log.cmd(&["hget", "h", "a"]), value("9"));
}

#[test]
fn hset_with_a_field_and_no_value_is_a_wrong_arity_error_and_creates_nothing() {
    let mut log = Log::new();
    let reply = log.cmd(&["hset", "h", "a", "1", "b"]);
    assert_eq!(reply, err("wrong number of arguments for 'hset' command"));
    assert_eq!(log.cmd(&["exists", "h"]), Reply::Int(0));
}

#[test]
fn hsetnx_sets_a_field_only_if_it_is_missing() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["hsetnx", "h", "a", "1"]), Reply::Int(1));
    assert_eq!(log.cmd(&["hsetnx", "h", "a", "2"]), Reply::Int(0));
    assert_eq!(log.cmd(&["hget", "h", "a"]), value("1"));
}

#[test]
fn hget_and_hmget_answer_nil_for_missing_fields_and_keys() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "a", "1"]);
    assert_eq!(log.cmd(&["hget", "h", "zz"]), Reply::Null);
    assert_eq!(log.cmd(&["hget", "nokey", "a"]), Reply::Null);
    let reply = log.cmd(&["hmget", "h", "a", "zz"]);
    assert_eq!(reply, Reply::Array(vec![value("1"), Reply::Null]));
    let reply = log.cmd(&["hmget", "nokey", "a"]);
    assert_eq!(reply, Reply::Array(vec![Reply::Null]));
}

#[test]
fn hgetall_is_a_map_and_hkeys_hvals_are_arrays_all_in_field_byte_order() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "b", "2", "a", "1", "c", "3"]);
    let map = log.cmd(&["hgetall", "h"]);
    let pairs = [("a", "1"), ("b", "2"), ("c", "3")];
    let want = pairs.iter().map(|(f, v)| (value(f), value(v))).collect();
    assert_eq!(map, Reply::Map(want));
    assert_eq!(log.cmd(&["hkeys", "h"]), array(&["a", "b", "c"]));
    assert_eq!(log.cmd(&["hvals", "h"]), array(&["1", "2", "3"]));
    assert_eq!(log.cmd(&["hgetall", "nokey"]), Reply::Map(vec![]));
}

#[test]
fn hdel_counts_what_it_removed_and_removing_the_last_field_deletes_the_key() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "a", "1", "b", "2"]);
    assert_eq!(log.cmd(&["hdel", "h", "a", "zz", "a"]), Reply::Int(1));
    assert_eq!(log.cmd(&["hdel", "h", "zz"]), Reply::Int(0));
    assert_eq!(log.cmd(&["hdel", "h", "b"]), Reply::Int(1));
    assert_eq!(log.cmd(&["exists", "h"]), Reply::Int(0));
    assert!(log.sm.is_empty(), "no empty hash is left behind");
}

#[test]
fn hexists_hlen_and_hstrlen_describe_a_hash_and_answer_zero_for_absent_ones() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "a", "hello", "b", ""]);
    assert_eq!(log.cmd(&["hexists", "h", "a"]), Reply::Int(1));
    assert_eq!(log.cmd(&["hexists", "h", "zz"]), Reply::Int(0));
    assert_eq!(log.cmd(&["hlen", "h"]), Reply::Int(2));
    assert_eq!(log.cmd(&["hstrlen", "h", "a"]), Reply::Int(5));
    assert_eq!(log.cmd(&["hstrlen", "h", "zz"]), Reply::Int(0));
    assert_eq!(log.cmd(&["hlen", "nokey"]), Reply::Int(0));
}

#[test]
fn hincrby_adds_to_an_integer_field_starting_from_zero() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["hincrby", "h", "n", "5"]), Reply::Int(5));
    assert_eq!(log.cmd(&["hincrby", "h", "n", "-7"]), Reply::Int(-2));
    assert_eq!(log.cmd(&["hget", "h", "n"]), value("-2"));
}

#[test]
fn hincrby_refuses_a_non_integer_field_an_overflow_and_a_bad_increment() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "t", "text", "big", "9223372036854775807"]);
    let reply = log.cmd(&["hincrby", "h", "t", "1"]);
    assert_eq!(reply, err("hash value is not an integer"));
    let reply = log.cmd(&["hincrby", "h", "big", "1"]);
    assert_eq!(reply, err("increment or decrement would overflow"));
    let reply = log.cmd(&["hincrby", "h", "t", "x"]);
    assert_eq!(reply, err("value is not an integer or out of range"));
    assert_eq!(log.cmd(&["hget", "h", "big"]), value("9223372036854775807"));
}

#[test]
fn hincrbyfloat_stores_and_answers_the_shortest_text_of_the_sum() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["hincrbyfloat", "h", "f", "10.5"]), value("10.5"));
    assert_eq!(log.cmd(&["hincrbyfloat", "h", "f", "0.1"]), value("10.6"));
    assert_eq!(log.cmd(&["hincrbyfloat", "h", "f", "-0.6"]), value("10"));
    assert_eq!(log.cmd(&["hincrby", "h", "f", "1"]), Reply::Int(11));
    assert_eq!(
        log.cmd(&["hincrbyfloat", "h", "f", "1e20"]),
        value("100000000000000000000")
    );
}

#[test]
fn hincrbyfloat_refuses_nan_infinity_and_non_floats_with_redis_texts() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "t", "text", "f", "1", "big", "1e308"]);
    assert_eq!(
        log.cmd(&["hincrbyfloat", "h", "f", "inf"]),
        err("value is NaN or Infinity")
    );
    assert_eq!(
        log.cmd(&["hincrbyfloat", "h", "f", "nan"]),
        err("value is not a valid float")
    );
    assert_eq!(
        log.cmd(&["hincrbyfloat", "h", "t", "1"]),
        err("hash value is not a float")
    );
    let reply = log.cmd(&["hincrbyfloat", "h", "big", "1e308"]);
    assert_eq!(reply, err("increment would produce NaN or Infinity"));
    assert_eq!(log.cmd(&["hget", "h", "f"]), value("1"));
}

#[test]
fn hincrbyfloat_never_stores_a_value_longer_than_value_bytes_max() {
    let mut config = Config::default();
    config.limits.value_bytes_max = 20;
    let mut log = Log::with(config);
    let reply = log.run(cmd(&["hincrbyfloat", "h", "f", "1e30"]));
    assert_eq!(
        reply,
        Reply::Error(KvError::ValueTooLarge { bytes: 31, max: 20 })
    );
    assert_eq!(log.cmd(&["exists", "h"]), Reply::Int(0));
}

#[test]
fn every_hash_command_answers_wrongtype_on_another_type_and_changes_nothing() {
    for words in [
        &["hset", "s", "f", "v"][..],
        &["hsetnx", "s", "f", "v"],
        &["hget", "s", "f"],
        &["hmget", "s", "f"],
        &["hgetall", "s"],
        &["hdel", "s", "f"],
        &["hexists", "s", "f"],
        &["hincrby", "s", "f", "1"],
        &["hincrbyfloat", "s", "f", "1"],
        &["hlen", "s"],
        &["hkeys", "s"],
        &["hvals", "s"],
        &["hstrlen", "s", "f"],
        &["hrandfield", "s"],
        &["hrandfield", "s", "2"],
        &["hscan", "s", "0"],
    ] {
        let reply = reply_changing_nothing(&[&["set", "s", "v"]], words);
        assert_eq!(reply, wrong_type(), "{words:?}");
    }
}

#[test]
fn a_refused_increment_changes_nothing_not_even_the_key_s_version() {
    let setup: &[&[&str]] = &[&["hset", "h", "t", "text"]];
    let reply = reply_changing_nothing(setup, &["hincrby", "h", "t", "1"]);
    assert_eq!(reply, err("hash value is not an integer"));
}

#[test]
fn hrandfield_without_a_count_is_one_field_or_nil() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["hrandfield", "nokey"]), Reply::Null);
    log.cmd(&["hset", "h", "a", "1", "b", "2"]);
    let Reply::Bulk(field) = log.cmd(&["hrandfield", "h"]) else {
        panic!("a field")
    };
    assert!(field == "a" || field == "b");
}

#[test]
fn hrandfield_counts_give_distinct_fields_up_to_the_size_or_repeats_when_negative() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(log.cmd(&["hrandfield", "h", "5"]), array(&["a", "b", "c"]));
    assert_eq!(log.cmd(&["hrandfield", "h", "0"]), array(&[]));
    assert_eq!(log.cmd(&["hrandfield", "nokey", "3"]), array(&[]));
    let Reply::Array(two) = log.cmd(&["hrandfield", "h", "2"]) else {
        panic!()
    };
    assert!(two.len() == 2 && two[0] != two[1]);
    let Reply::Pairs(seven) = log.cmd(&["hrandfield", "h", "-7", "WITHVALUES"]) else {
        panic!()
    };
    assert_eq!(seven.len(), 7, "seven field-value pairs");
    for pair in &seven {
        let (Reply::Bulk(f), Reply::Bulk(v)) = pair else {
            panic!()
        };
        assert_eq!(
            log.sm
                .read(&cmd(&["hget", "h", &String::from_utf8_lossy(f)]), 0),
            Reply::Bulk(v.clone())
        );
    }
    assert_eq!(
        log.cmd(&["hrandfield", "h", "1", "FOO"]),
        err("syntax error")
    );
}

#[test]
fn hrandfield_picks_alike_from_one_seed_and_afresh_from_another() {
    let mut a = Log::new();
    let mut b = Log::new();
    for log in [&mut a, &mut b] {
        let fields: Vec<String> = (0..50)
            .flat_map(|i| [format!("f{i}"), "v".into()])
            .collect();
        let mut words = vec!["hset", "h"];
        words.extend(fields.iter().map(String::as_str));
        log.cmd(&words);
    }
    for count in ["5", "-5"] {
        let read = cmd(&["hrandfield", "h", count]);
        assert_eq!(a.sm.read(&read, 7), b.sm.read(&read, 7));
        assert_ne!(
            a.sm.read(&read, 7),
            a.sm.read(&read, 8),
            "another seed, other picks"
        );
    }
}

#[test]
fn hscan_walks_every_field_exactly_once_in_pages_when_nothing_changes() {
    let mut log = Log::new();
    let mut words = vec!["hset".to_string(), "h".into()];
    for i in 0..25 {
        words.extend([format!("f{i:02}"), format!("{i}")]);
    }
    log.cmd(&words.iter().map(String::as_str).collect::<Vec<_>>());
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let Reply::Array(reply) = log.read(&["hscan", "h", &cursor, "COUNT", "7"]) else {
            panic!()
        };
        let (Reply::Bulk(next), Reply::Array(items)) = (&reply[0], &reply[1]) else {
            panic!()
        };
        assert!(items.len() <= 14);
        seen.extend(items.chunks(2).map(|p| p[0].clone()));
        cursor = String::from_utf8(next.to_vec()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(cursor, "0", "the walk ends");
    let want: Vec<Reply> = (0..25).map(|i| value(&format!("f{i:02}"))).collect();
    assert_eq!(seen, want);
}

#[test]
fn an_hscan_cursor_is_valid_on_a_replica_restored_from_a_snapshot() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "a", "1", "b", "2", "c", "3", "d", "4"]);
    let first = log.read(&["hscan", "h", "0", "COUNT", "2"]);
    let Reply::Array(first) = first else { panic!() };
    let Reply::Bulk(cursor) = &first[0] else {
        panic!()
    };
    let cursor = String::from_utf8(cursor.to_vec()).unwrap();
    let other = StateMachine::restore(Config::default(), &log.sm.snapshot()).unwrap();
    let rest = other.read(&cmd(&["hscan", "h", &cursor, "COUNT", "10"]), 0);
    let want = Reply::Array(vec![value("0"), array(&["c", "3", "d", "4"])]);
    assert_eq!(rest, want);
}

#[test]
fn hscan_match_filters_the_examined_fields_and_refuses_bad_cursors_and_counts() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "apple", "1", "banana", "2", "avocado", "3"]);
    let reply = log.read(&["hscan", "h", "0", "MATCH", "a*"]);
    let want = Reply::Array(vec![value("0"), array(&["apple", "1", "avocado", "3"])]);
    assert_eq!(reply, want);
    assert_eq!(log.read(&["hscan", "h", "abc"]), err("invalid cursor"));
    assert_eq!(
        log.read(&["hscan", "h", "0", "COUNT", "0"]),
        err("syntax error")
    );
    let empty = Reply::Array(vec![value("0"), array(&[])]);
    assert_eq!(log.read(&["hscan", "nokey", "0"]), empty);
}

#[test]
fn a_hash_survives_a_snapshot_field_for_field() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "a", "1", "", "empty"]);
    let restored = StateMachine::restore(Config::default(), &log.sm.snapshot()).unwrap();
    assert_eq!(
        restored.read(&cmd(&["hgetall", "h"]), 0),
        log.read(&["hgetall", "h"])
    );
    assert_eq!(restored.digest(), log.sm.digest());
}

/// EXEC of `commands` watching `watched` since `since`.
fn exec(log: &mut Log, watched: &[&str], since: u64, commands: Vec<kv::Command>) -> Reply {
    let request = kv::Request {
        client_id: kv::Request::NO_SESSION,
        seq: 0,
        time_ms: 0,
        body: kv::Body::Exec {
            watched: watched.iter().map(|k| common::b(k)).collect(),
            since,
            commands,
        },
    };
    log.commit(&request.encode())
}

#[test]
fn a_watched_hash_written_by_hset_aborts_exec_and_an_hdel_that_removes_nothing_does_not() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "a", "1"]);
    let since = log.sm.applied_index();
    log.cmd(&["hdel", "h", "absent"]);
    let get = || vec![cmd(&["hget", "h", "a"])];
    assert_eq!(
        exec(&mut log, &["h"], since, get()),
        Reply::Array(vec![value("1")])
    );
    let since = log.sm.applied_index();
    log.cmd(&["hset", "h", "a", "2"]);
    assert_eq!(exec(&mut log, &["h"], since, get()), Reply::NullArray);
}

#[test]
fn a_watched_hash_deleted_by_its_last_hdel_aborts_exec() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "a", "1"]);
    let since = log.sm.applied_index();
    log.cmd(&["hdel", "h", "a"]);
    let reply = exec(&mut log, &["h"], since, vec![cmd(&["hlen", "h"])]);
    assert_eq!(reply, Reply::NullArray);
}

#[test]
fn hmset_sets_fields_as_hset_does_but_answers_ok() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["hmset", "h", "a", "1", "b", "2"]), Reply::ok());
    assert_eq!(log.cmd(&["hmset", "h", "a", "9"]), Reply::ok());
    assert_eq!(log.cmd(&["hget", "h", "a"]), value("9"));
    let odd = err("wrong number of arguments for 'hmset' command");
    assert_eq!(
        reply_changing_nothing(&[], &["hmset", "h", "a", "1", "b"]),
        odd
    );
}
