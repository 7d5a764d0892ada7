//! Sets, one rule per test, as seen through `apply` and `read` (Redis 7 semantics; texts
//! checked against redis-server), and the determinism of SPOP and SRANDMEMBER.

use std::collections::BTreeSet;

mod common;

use common::{array, err, ints, reply_changing_nothing, set_of, value, wrong_type, Log};
use kv::{Config, Reply, StateMachine};

fn members(reply: Reply) -> Vec<Reply> {
    match reply {
        Reply::Set(items) | Reply::Array(items) => items,
        other => panic!("not a collection: {other:?}"),
    }
}

#[test]
fn sadd_and_srem_count_only_what_changed() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["sadd", "s", "a", "b", "a"]), Reply::Int(2));
    assert_eq!(log.cmd(&["sadd", "s", "b", "c"]), Reply::Int(1));
    assert_eq!(log.cmd(&["srem", "s", "a", "zz"]), Reply::Int(1));
    assert_eq!(log.cmd(&["srem", "nokey", "a"]), Reply::Int(0));
    assert_eq!(log.read(&["smembers", "s"]), set_of(&["b", "c"]));
}

#[test]
fn removing_the_last_member_deletes_the_key() {
    let mut log = Log::new();
    log.cmd(&["sadd", "s", "a", "b"]);
    assert_eq!(log.cmd(&["srem", "s", "a", "b"]), Reply::Int(2));
    assert_eq!(log.cmd(&["exists", "s"]), Reply::Int(0));
    assert!(log.sm.is_empty());
}

#[test]
fn smembers_is_a_set_in_member_byte_order() {
    let mut log = Log::new();
    log.cmd(&["sadd", "s", "pear", "apple", "fig", ""]);
    assert_eq!(
        log.read(&["smembers", "s"]),
        set_of(&["", "apple", "fig", "pear"])
    );
    assert_eq!(log.read(&["smembers", "nokey"]), set_of(&[]));
}

#[test]
fn membership_and_size_questions_answer_zero_for_absent_keys() {
    let mut log = Log::new();
    log.cmd(&["sadd", "s", "a", "b"]);
    assert_eq!(log.read(&["sismember", "s", "a"]), Reply::Int(1));
    assert_eq!(log.read(&["sismember", "s", "zz"]), Reply::Int(0));
    assert_eq!(
        log.read(&["smismember", "s", "a", "zz", "b"]),
        ints(&[1, 0, 1])
    );
    assert_eq!(log.read(&["smismember", "nokey", "a"]), ints(&[0]));
    assert_eq!(log.read(&["scard", "s"]), Reply::Int(2));
    assert_eq!(log.read(&["scard", "nokey"]), Reply::Int(0));
}

#[test]
fn set_algebra_treats_an_absent_key_as_the_empty_set() {
    let mut log = Log::new();
    log.cmd(&["sadd", "x", "a", "b", "c"]);
    log.cmd(&["sadd", "y", "b", "c", "d"]);
    assert_eq!(log.read(&["sinter", "x", "y"]), set_of(&["b", "c"]));
    assert_eq!(
        log.read(&["sunion", "x", "y"]),
        set_of(&["a", "b", "c", "d"])
    );
    assert_eq!(log.read(&["sdiff", "x", "y"]), set_of(&["a"]));
    assert_eq!(log.read(&["sinter", "x", "nokey"]), set_of(&[]));
    assert_eq!(
        log.read(&["sunion", "nokey", "y"]),
        set_of(&["b", "c", "d"])
    );
    assert_eq!(log.read(&["sdiff", "nokey", "x"]), set_of(&[]));
}

#[test]
fn set_algebra_refuses_any_key_of_another_type_even_after_an_empty_one() {
    let mut log = Log::new();
    log.cmd(&["sadd", "x", "a"]);
    log.cmd(&["set", "str", "v"]);
    assert_eq!(log.read(&["sinter", "nokey", "str"]), wrong_type());
    assert_eq!(log.read(&["sunion", "x", "str"]), wrong_type());
    assert_eq!(log.read(&["sdiff", "x", "str"]), wrong_type());
}

#[test]
fn a_store_replaces_the_destination_whatever_it_held_and_an_empty_result_deletes_it() {
    let mut log = Log::new();
    log.cmd(&["sadd", "x", "a", "b"]);
    log.cmd(&["sadd", "y", "b"]);
    log.cmd(&["set", "dst", "a string"]);
    assert_eq!(log.cmd(&["sinterstore", "dst", "x", "y"]), Reply::Int(1));
    assert_eq!(log.read(&["smembers", "dst"]), set_of(&["b"]));
    assert_eq!(
        log.cmd(&["sunionstore", "dst", "x", "nokey"]),
        Reply::Int(2)
    );
    assert_eq!(log.cmd(&["sdiffstore", "dst", "x", "x"]), Reply::Int(0));
    assert_eq!(log.cmd(&["exists", "dst"]), Reply::Int(0));
    assert_eq!(log.cmd(&["sdiffstore", "x", "x", "y"]), Reply::Int(1));
    assert_eq!(log.read(&["smembers", "x"]), set_of(&["a"]));
}

#[test]
fn sintercard_counts_the_intersection_up_to_a_limit_with_redis_errors() {
    let mut log = Log::new();
    log.cmd(&["sadd", "x", "a", "b", "c"]);
    log.cmd(&["sadd", "y", "a", "b", "c", "d"]);
    assert_eq!(log.read(&["sintercard", "2", "x", "y"]), Reply::Int(3));
    assert_eq!(
        log.read(&["sintercard", "2", "x", "y", "LIMIT", "2"]),
        Reply::Int(2)
    );
    assert_eq!(
        log.read(&["sintercard", "2", "x", "y", "LIMIT", "0"]),
        Reply::Int(3)
    );
    assert_eq!(log.read(&["sintercard", "2", "x", "nokey"]), Reply::Int(0));
    let zero = err("numkeys should be greater than 0");
    assert_eq!(log.read(&["sintercard", "0", "x"]), zero);
    assert_eq!(
        log.read(&["sintercard", "3", "x", "y"]),
        err("Number of keys can't be greater than number of args")
    );
    let limit = log.read(&["sintercard", "1", "x", "LIMIT", "-1"]);
    assert_eq!(limit, err("LIMIT can't be negative"));
    assert_eq!(
        log.read(&["sintercard", "1", "x", "FOO", "1"]),
        err("syntax error")
    );
}

#[test]
fn smove_moves_a_member_and_answers_zero_when_it_cannot() {
    let mut log = Log::new();
    log.cmd(&["sadd", "src", "a", "b"]);
    assert_eq!(log.cmd(&["smove", "src", "dst", "a"]), Reply::Int(1));
    assert_eq!(log.cmd(&["smove", "src", "dst", "zz"]), Reply::Int(0));
    assert_eq!(log.cmd(&["smove", "src", "src", "b"]), Reply::Int(1));
    assert_eq!(log.cmd(&["smove", "nokey", "dst", "a"]), Reply::Int(0));
    assert_eq!(log.cmd(&["smove", "src", "dst", "b"]), Reply::Int(1));
    assert_eq!(log.cmd(&["exists", "src"]), Reply::Int(0));
    assert_eq!(log.read(&["smembers", "dst"]), set_of(&["a", "b"]));
}

#[test]
fn smove_checks_both_types_before_moving_anything() {
    let setup: &[&[&str]] = &[&["sadd", "s", "a"], &["set", "str", "v"]];
    assert_eq!(
        reply_changing_nothing(setup, &["smove", "s", "str", "a"]),
        wrong_type()
    );
    assert_eq!(
        reply_changing_nothing(setup, &["smove", "str", "s", "a"]),
        wrong_type()
    );
    let reply = reply_changing_nothing(setup, &["smove", "nokey", "str", "a"]);
    assert_eq!(
        reply,
        Reply::Int(0),
        "an absent source answers 0 first, as Redis"
    );
}

#[test]
fn spop_removes_what_it_answers_and_a_count_past_the_size_empties_the_set() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["spop", "s"]), Reply::Null);
    assert_eq!(log.cmd(&["spop", "s", "2"]), set_of(&[]));
    log.cmd(&["sadd", "s", "a", "b", "c", "d"]);
    let Reply::Bulk(one) = log.cmd(&["spop", "s"]) else {
        panic!("a member")
    };
    let one = String::from_utf8(one.to_vec()).unwrap();
    assert_eq!(log.read(&["sismember", "s", &one]), Reply::Int(0));
    let two = members(log.cmd(&["spop", "s", "2"]));
    assert_eq!(two.len(), 2);
    assert_eq!(log.read(&["scard", "s"]), Reply::Int(1));
    assert_eq!(log.cmd(&["spop", "s", "0"]), set_of(&[]));
    assert_eq!(members(log.cmd(&["spop", "s", "9"])).len(), 1);
    assert_eq!(log.cmd(&["exists", "s"]), Reply::Int(0));
    assert_eq!(
        log.cmd(&["spop", "s", "-1"]),
        err("value is out of range, must be positive")
    );
    assert_eq!(log.cmd(&["spop", "s", "1", "2"]), err("syntax error"));
}

fn big_set(log: &mut Log) {
    let names: Vec<String> = (0..100).map(|i| format!("m{i:03}")).collect();
    let mut words = vec!["sadd", "s"];
    words.extend(names.iter().map(String::as_str));
    log.cmd(&words);
}

#[test]
fn two_machines_fed_the_same_entries_pop_the_same_members() {
    let (mut a, mut b) = (Log::new(), Log::new());
    big_set(&mut a);
    big_set(&mut b);
    for words in [&["spop", "s"][..], &["spop", "s", "5"], &["spop", "s"]] {
        assert_eq!(a.cmd(words), b.cmd(words), "{words:?}");
    }
    assert_eq!(a.sm.digest(), b.sm.digest());
}

#[test]
fn a_replica_restored_from_a_snapshot_pops_what_the_others_pop() {
    let mut steady = Log::new();
    big_set(&mut steady);
    let mut restored = Log::new();
    restored.sm = StateMachine::restore(Config::default(), &steady.sm.snapshot()).unwrap();
    restored.next_index = steady.next_index;
    assert_eq!(
        steady.cmd(&["spop", "s", "3"]),
        restored.cmd(&["spop", "s", "3"])
    );
}

#[test]
fn the_same_spop_at_another_log_index_picks_other_members() {
    let (mut early, mut late) = (Log::new(), Log::new());
    big_set(&mut early);
    big_set(&mut late);
    late.cmd(&["distributed.noop"]);
    let (x, y) = (
        early.cmd(&["spop", "s", "3"]),
        late.cmd(&["spop", "s", "3"]),
    );
    assert_ne!(
        x, y,
        "picks follow the log index, so they vary from entry to entry"
    );
}

#[test]
fn srandmember_picks_alike_from_one_seed_and_changes_nothing() {
    let (mut a, mut b) = (Log::new(), Log::new());
    big_set(&mut a);
    big_set(&mut b);
    for count in ["4", "-4", "500"] {
        let words = ["srandmember", "s", count];
        assert_eq!(
            a.read_seeded(7, &words),
            b.read_seeded(7, &words),
            "{words:?}"
        );
    }
    let one = ["srandmember", "s"];
    assert_eq!(a.read_seeded(7, &one), b.read_seeded(7, &one));
    let before = a.sm.digest();
    a.read_seeded(7, &["srandmember", "s", "-3"]);
    assert_eq!(a.sm.digest(), before);
}

#[test]
fn srandmember_outside_the_log_picks_afresh_per_call_between_two_writes() {
    // A read changes no state, so each call may pick anew: the caller's seed decides.
    let mut log = Log::new();
    big_set(&mut log);
    let words = ["srandmember", "s", "5"];
    let picks: BTreeSet<String> = (0..20)
        .map(|seed| format!("{:?}", log.read_seeded(seed, &words)))
        .collect();
    assert!(picks.len() > 15, "20 seeds gave {} answers", picks.len());
}

#[test]
fn srandmember_inside_the_log_picks_alike_on_every_replica() {
    // In a log entry (as inside MULTI/EXEC) the pick is seeded by the entry's index.
    let (mut a, mut b) = (Log::new(), Log::new());
    big_set(&mut a);
    big_set(&mut b);
    let words = ["srandmember", "s", "-6"];
    assert_eq!(a.cmd(&words), b.cmd(&words));
}

#[test]
fn srandmember_counts_give_distinct_members_or_repeats_when_negative() {
    let mut log = Log::new();
    assert_eq!(log.read(&["srandmember", "s"]), Reply::Null);
    assert_eq!(log.read(&["srandmember", "s", "3"]), array(&[]));
    log.cmd(&["sadd", "s", "a", "b", "c"]);
    assert_eq!(
        log.read(&["srandmember", "s", "9"]),
        array(&["a", "b", "c"])
    );
    assert_eq!(log.read(&["srandmember", "s", "0"]), array(&[]));
    let two = members(log.read(&["srandmember", "s", "2"]));
    assert!(two.len() == 2 && two[0] != two[1]);
    let drawn = members(log.read(&["srandmember", "s", "-10"]));
    assert_eq!(drawn.len(), 10);
    assert!(drawn
        .iter()
        .all(|m| [value("a"), value("b"), value("c")].contains(m)));
}

#[test]
fn a_huge_negative_count_is_refused_rather_than_built() {
    let mut log = Log::new();
    log.cmd(&["sadd", "s", "a"]);
    let reply = log.read(&["srandmember", "s", "-9223372036854775807"]);
    let want = "value is out of range, value must between -1048576 and 9223372036854775807";
    assert_eq!(reply, err(want));
}

#[test]
fn sscan_pages_through_members_in_byte_order() {
    let mut log = Log::new();
    log.cmd(&["sadd", "s", "a", "b", "c", "d", "e"]);
    let first = log.read(&["sscan", "s", "0", "COUNT", "3"]);
    let Reply::Array(parts) = first else { panic!() };
    assert_eq!(parts[1], array(&["a", "b", "c"]));
    let Reply::Bulk(cursor) = &parts[0] else {
        panic!()
    };
    let cursor = String::from_utf8(cursor.to_vec()).unwrap();
    assert_eq!(cursor, "1100", "the cursor names the next member, d");
    let rest = log.read(&["sscan", "s", &cursor]);
    assert_eq!(rest, Reply::Array(vec![value("0"), array(&["d", "e"])]));
}

#[test]
fn every_set_command_answers_wrongtype_on_another_type_and_changes_nothing() {
    for words in [
        &["sadd", "str", "a"][..],
        &["srem", "str", "a"],
        &["smembers", "str"],
        &["sismember", "str", "a"],
        &["smismember", "str", "a"],
        &["scard", "str"],
        &["sinter", "str"],
        &["sunion", "str"],
        &["sdiff", "str"],
        &["sinterstore", "d", "str"],
        &["sunionstore", "d", "str"],
        &["sdiffstore", "d", "str"],
        &["sintercard", "1", "str"],
        &["spop", "str"],
        &["spop", "str", "2"],
        &["srandmember", "str"],
        &["srandmember", "str", "2"],
        &["sscan", "str", "0"],
    ] {
        let reply = reply_changing_nothing(&[&["set", "str", "v"]], words);
        assert_eq!(reply, wrong_type(), "{words:?}");
    }
}
