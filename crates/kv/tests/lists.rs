//! Lists, one rule per test, as seen through `apply` and `read` (Redis 7 semantics; texts
//! checked against redis-server).

mod common;

use common::{array, err, ints, reply_changing_nothing, value, wrong_type, Log};
use kv::Reply;

fn list(log: &Log, key: &str) -> Reply {
    log.read(&["lrange", key, "0", "-1"])
}

#[test]
fn lpush_puts_each_element_at_the_head_in_turn_and_rpush_at_the_tail() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["lpush", "l", "a", "b", "c"]), Reply::Int(3));
    assert_eq!(log.cmd(&["rpush", "l", "x", "y"]), Reply::Int(5));
    assert_eq!(list(&log, "l"), array(&["c", "b", "a", "x", "y"]));
}

#[test]
fn the_x_pushes_touch_only_an_existing_list() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["lpushx", "l", "a"]), Reply::Int(0));
    assert_eq!(log.cmd(&["rpushx", "l", "a"]), Reply::Int(0));
    assert_eq!(log.cmd(&["exists", "l"]), Reply::Int(0));
    log.cmd(&["rpush", "l", "m"]);
    assert_eq!(log.cmd(&["lpushx", "l", "a"]), Reply::Int(2));
    assert_eq!(log.cmd(&["rpushx", "l", "z"]), Reply::Int(3));
    assert_eq!(list(&log, "l"), array(&["a", "m", "z"]));
}

#[test]
fn a_pop_without_a_count_answers_one_element_or_nil() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["lpop", "l"]), Reply::Null);
    log.cmd(&["rpush", "l", "a", "b", "c"]);
    assert_eq!(log.cmd(&["lpop", "l"]), value("a"));
    assert_eq!(log.cmd(&["rpop", "l"]), value("c"));
    assert_eq!(list(&log, "l"), array(&["b"]));
}

#[test]
fn a_pop_with_a_count_answers_an_array_a_nil_array_when_absent_and_empty_for_zero() {
    // Redis 7: LPOP k n on a missing key is a nil array (*-1), on a list with n = 0 an
    // empty array, and RPOP answers from the tail inwards.
    let mut log = Log::new();
    assert_eq!(log.cmd(&["lpop", "l", "2"]), Reply::NullArray);
    log.cmd(&["rpush", "l", "a", "b", "c", "d"]);
    assert_eq!(log.cmd(&["lpop", "l", "0"]), array(&[]));
    assert_eq!(log.cmd(&["lpop", "l", "2"]), array(&["a", "b"]));
    assert_eq!(log.cmd(&["rpop", "l", "9"]), array(&["d", "c"]));
    assert_eq!(log.cmd(&["exists", "l"]), Reply::Int(0));
    assert_eq!(
        log.cmd(&["lpop", "l", "-1"]),
        err("value is out of range, must be positive")
    );
    assert_eq!(
        log.cmd(&["lpop", "l", "1", "2"]),
        err("wrong number of arguments for 'lpop' command")
    );
}

#[test]
fn popping_the_last_element_deletes_the_key() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "only"]);
    log.cmd(&["rpop", "l"]);
    assert_eq!(log.cmd(&["exists", "l"]), Reply::Int(0));
    assert!(log.sm.is_empty());
}

#[test]
fn lrange_counts_from_either_end_and_clamps_to_the_list() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "a", "b", "c", "d"]);
    assert_eq!(log.read(&["lrange", "l", "1", "2"]), array(&["b", "c"]));
    assert_eq!(log.read(&["lrange", "l", "-2", "-1"]), array(&["c", "d"]));
    assert_eq!(
        log.read(&["lrange", "l", "-100", "100"]),
        array(&["a", "b", "c", "d"])
    );
    assert_eq!(log.read(&["lrange", "l", "3", "1"]), array(&[]));
    assert_eq!(log.read(&["lrange", "nokey", "0", "-1"]), array(&[]));
    assert_eq!(
        log.read(&["lrange", "l", "x", "1"]),
        err("value is not an integer or out of range")
    );
}

#[test]
fn llen_and_lindex_read_a_list_and_answer_zero_or_nil_outside_it() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "a", "b", "c"]);
    assert_eq!(log.read(&["llen", "l"]), Reply::Int(3));
    assert_eq!(log.read(&["llen", "nokey"]), Reply::Int(0));
    assert_eq!(log.read(&["lindex", "l", "0"]), value("a"));
    assert_eq!(log.read(&["lindex", "l", "-1"]), value("c"));
    assert_eq!(log.read(&["lindex", "l", "3"]), Reply::Null);
    assert_eq!(log.read(&["lindex", "nokey", "x"]), Reply::Null);
}

#[test]
fn lset_replaces_an_element_and_refuses_a_missing_key_or_index() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["lset", "l", "0", "x"]), err("no such key"));
    log.cmd(&["rpush", "l", "a", "b"]);
    assert_eq!(log.cmd(&["lset", "l", "-1", "z"]), Reply::ok());
    assert_eq!(log.cmd(&["lset", "l", "2", "z"]), err("index out of range"));
    assert_eq!(list(&log, "l"), array(&["a", "z"]));
}

#[test]
fn lrem_removes_from_the_head_the_tail_or_everywhere_by_the_sign_of_its_count() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "a", "x", "a", "y", "a"]);
    assert_eq!(log.cmd(&["lrem", "l", "1", "a"]), Reply::Int(1));
    assert_eq!(list(&log, "l"), array(&["x", "a", "y", "a"]));
    assert_eq!(log.cmd(&["lrem", "l", "-1", "a"]), Reply::Int(1));
    assert_eq!(list(&log, "l"), array(&["x", "a", "y"]));
    assert_eq!(log.cmd(&["lrem", "l", "0", "a"]), Reply::Int(1));
    assert_eq!(log.cmd(&["lrem", "l", "0", "nope"]), Reply::Int(0));
    assert_eq!(log.cmd(&["lrem", "l", "0", "x"]), Reply::Int(1));
    assert_eq!(log.cmd(&["lrem", "l", "0", "y"]), Reply::Int(1));
    assert_eq!(log.cmd(&["exists", "l"]), Reply::Int(0));
}

#[test]
fn ltrim_keeps_a_range_and_an_empty_range_deletes_the_key() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "a", "b", "c", "d"]);
    assert_eq!(log.cmd(&["ltrim", "l", "1", "-2"]), Reply::ok());
    assert_eq!(list(&log, "l"), array(&["b", "c"]));
    assert_eq!(log.cmd(&["ltrim", "l", "5", "9"]), Reply::ok());
    assert_eq!(log.cmd(&["exists", "l"]), Reply::Int(0));
    assert_eq!(log.cmd(&["ltrim", "nokey", "0", "1"]), Reply::ok());
}

#[test]
fn linsert_puts_an_element_beside_the_first_pivot_and_says_when_it_cannot() {
    let mut log = Log::new();
    assert_eq!(
        log.cmd(&["linsert", "l", "BEFORE", "a", "x"]),
        Reply::Int(0)
    );
    log.cmd(&["rpush", "l", "a", "b", "a"]);
    assert_eq!(
        log.cmd(&["linsert", "l", "BEFORE", "a", "x"]),
        Reply::Int(4)
    );
    assert_eq!(log.cmd(&["linsert", "l", "after", "b", "y"]), Reply::Int(5));
    assert_eq!(
        log.cmd(&["linsert", "l", "AFTER", "zz", "y"]),
        Reply::Int(-1)
    );
    assert_eq!(
        log.cmd(&["linsert", "l", "NEAR", "a", "y"]),
        err("syntax error")
    );
    assert_eq!(list(&log, "l"), array(&["x", "a", "b", "y", "a"]));
}

#[test]
fn lpos_finds_matches_by_rank_count_and_maxlen() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "a", "b", "c", "a", "b", "a"]);
    assert_eq!(log.read(&["lpos", "l", "a"]), Reply::Int(0));
    assert_eq!(log.read(&["lpos", "l", "a", "RANK", "2"]), Reply::Int(3));
    assert_eq!(log.read(&["lpos", "l", "a", "RANK", "-1"]), Reply::Int(5));
    assert_eq!(
        log.read(&["lpos", "l", "a", "COUNT", "0"]),
        ints(&[0, 3, 5])
    );
    assert_eq!(
        log.read(&["lpos", "l", "a", "COUNT", "2", "RANK", "-1"]),
        ints(&[5, 3])
    );
    assert_eq!(
        log.read(&["lpos", "l", "a", "COUNT", "0", "MAXLEN", "4"]),
        ints(&[0, 3])
    );
    assert_eq!(log.read(&["lpos", "l", "zz"]), Reply::Null);
    assert_eq!(log.read(&["lpos", "nokey", "a", "COUNT", "1"]), ints(&[]));
}

#[test]
fn lpos_refuses_a_zero_rank_and_negative_counts_with_redis_texts() {
    let log = Log::new();
    let rank = log.read(&["lpos", "l", "a", "RANK", "0"]);
    assert_eq!(
        rank,
        err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
    );
    assert_eq!(
        log.read(&["lpos", "l", "a", "COUNT", "-1"]),
        err("COUNT can't be negative")
    );
    assert_eq!(
        log.read(&["lpos", "l", "a", "MAXLEN", "-1"]),
        err("MAXLEN can't be negative")
    );
    assert_eq!(log.read(&["lpos", "l", "a", "RANK"]), err("syntax error"));
}

#[test]
fn lmove_pops_at_one_end_and_pushes_at_the_other_creating_the_destination() {
    let mut log = Log::new();
    log.cmd(&["rpush", "src", "a", "b", "c"]);
    assert_eq!(
        log.cmd(&["lmove", "src", "dst", "RIGHT", "LEFT"]),
        value("c")
    );
    assert_eq!(
        log.cmd(&["lmove", "src", "dst", "left", "right"]),
        value("a")
    );
    assert_eq!(list(&log, "dst"), array(&["c", "a"]));
    assert_eq!(log.cmd(&["rpoplpush", "src", "dst"]), value("b"));
    assert_eq!(list(&log, "dst"), array(&["b", "c", "a"]));
    assert_eq!(
        log.cmd(&["exists", "src"]),
        Reply::Int(0),
        "the emptied source is gone"
    );
    assert_eq!(
        log.cmd(&["lmove", "src", "dst", "LEFT", "LEFT"]),
        Reply::Null
    );
    assert_eq!(
        log.cmd(&["lmove", "dst", "x", "UP", "LEFT"]),
        err("syntax error")
    );
}

#[test]
fn a_list_moved_onto_itself_rotates() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "a", "b", "c"]);
    assert_eq!(log.cmd(&["rpoplpush", "l", "l"]), value("c"));
    assert_eq!(list(&log, "l"), array(&["c", "a", "b"]));
    log.cmd(&["rpush", "one", "x"]);
    assert_eq!(
        log.cmd(&["lmove", "one", "one", "LEFT", "RIGHT"]),
        value("x")
    );
    assert_eq!(list(&log, "one"), array(&["x"]));
}

#[test]
fn lmove_to_a_key_of_another_type_is_wrongtype_and_moves_nothing() {
    let setup: &[&[&str]] = &[&["rpush", "l", "a"], &["set", "s", "v"]];
    let reply = reply_changing_nothing(setup, &["lmove", "l", "s", "LEFT", "LEFT"]);
    assert_eq!(reply, wrong_type());
    let reply = reply_changing_nothing(setup, &["rpoplpush", "s", "l"]);
    assert_eq!(reply, wrong_type());
}

#[test]
fn every_list_command_answers_wrongtype_on_another_type_and_changes_nothing() {
    for words in [
        &["lpush", "s", "a"][..],
        &["rpush", "s", "a"],
        &["lpushx", "s", "a"],
        &["rpushx", "s", "a"],
        &["lpop", "s"],
        &["rpop", "s", "2"],
        &["lrange", "s", "0", "-1"],
        &["llen", "s"],
        &["lindex", "s", "0"],
        &["lset", "s", "0", "a"],
        &["lrem", "s", "0", "a"],
        &["ltrim", "s", "0", "1"],
        &["linsert", "s", "BEFORE", "a", "b"],
        &["lpos", "s", "a"],
        &["lmove", "s", "t", "LEFT", "LEFT"],
        &["rpoplpush", "s", "t"],
    ] {
        let reply = reply_changing_nothing(&[&["set", "s", "v"]], words);
        assert_eq!(reply, wrong_type(), "{words:?}");
    }
}

#[test]
fn reads_of_a_list_see_what_the_log_wrote() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "a"]);
    assert_eq!(
        log.read(&["lpush", "l", "b"]),
        err("lpush writes, so it must go through the log")
    );
    assert_eq!(log.read(&["llen", "l"]), Reply::Int(1));
}
