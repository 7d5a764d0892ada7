//! Sorted sets, one rule per test, as seen through `apply` and `read` (Redis 7 semantics;
//! texts checked against redis-server, doubles printed as Redis 7.2 prints them).

mod common;

use common::{array, double, err, reply_changing_nothing, value, wrong_type, Log};
use kv::Reply;

/// `[m1, s1, m2, s2 …]`, the flat WITHSCORES shape.
fn scored(pairs: &[(&str, &str)]) -> Reply {
    let flat = pairs.iter().flat_map(|(m, s)| [value(m), double(s)]);
    Reply::Array(flat.collect())
}

fn abc() -> Log {
    let mut log = Log::new();
    log.cmd(&["zadd", "z", "1", "a", "2", "b", "3", "c"]);
    log
}

#[test]
fn zadd_answers_how_many_members_were_new_and_updates_the_others() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["zadd", "z", "1", "a", "2", "b"]), Reply::Int(2));
    assert_eq!(log.cmd(&["zadd", "z", "5", "a", "3", "c"]), Reply::Int(1));
    assert_eq!(
        log.cmd(&["zadd", "z", "CH", "6", "a", "2", "b", "4", "d"]),
        Reply::Int(2)
    );
    assert_eq!(log.read(&["zscore", "z", "a"]), double("6"));
}

#[test]
fn zadd_nx_only_adds_and_xx_only_updates() {
    let mut log = abc();
    assert_eq!(
        log.cmd(&["zadd", "z", "NX", "9", "a", "4", "d"]),
        Reply::Int(1)
    );
    assert_eq!(log.read(&["zscore", "z", "a"]), double("1"));
    assert_eq!(
        log.cmd(&["zadd", "z", "XX", "CH", "9", "a", "5", "e"]),
        Reply::Int(1)
    );
    assert_eq!(log.read(&["zscore", "z", "e"]), Reply::Null);
    assert_eq!(log.cmd(&["zadd", "nokey", "XX", "1", "a"]), Reply::Int(0));
    assert_eq!(log.cmd(&["exists", "nokey"]), Reply::Int(0));
}

#[test]
fn zadd_gt_and_lt_update_only_in_their_direction_but_still_add() {
    let mut log = abc();
    assert_eq!(
        log.cmd(&["zadd", "z", "GT", "CH", "0", "a", "9", "b", "1", "n"]),
        Reply::Int(2)
    );
    assert_eq!(log.read(&["zscore", "z", "a"]), double("1"));
    assert_eq!(log.read(&["zscore", "z", "b"]), double("9"));
    assert_eq!(
        log.cmd(&["zadd", "z", "LT", "CH", "0", "a", "99", "c"]),
        Reply::Int(1)
    );
    assert_eq!(log.read(&["zscore", "z", "a"]), double("0"));
    assert_eq!(log.read(&["zscore", "z", "c"]), double("3"));
}

#[test]
fn zadd_incr_answers_the_new_score_or_nil_when_a_condition_skips_it() {
    let mut log = abc();
    assert_eq!(log.cmd(&["zadd", "z", "INCR", "2.5", "a"]), double("3.5"));
    assert_eq!(log.cmd(&["zadd", "z", "INCR", "1", "new"]), double("1"));
    assert_eq!(log.cmd(&["zadd", "z", "NX", "INCR", "1", "a"]), Reply::Null);
    assert_eq!(
        log.cmd(&["zadd", "z", "GT", "INCR", "-1", "a"]),
        Reply::Null
    );
    assert_eq!(
        log.cmd(&["zadd", "z", "XX", "INCR", "1", "nope"]),
        Reply::Null
    );
    assert_eq!(log.read(&["zscore", "z", "nope"]), Reply::Null);
}

#[test]
fn zadd_refuses_redis_7_s_incompatible_options_before_looking_at_the_key() {
    let log = abc();
    let cases = [
        (
            &["zadd", "z", "NX", "XX", "1", "a"][..],
            "XX and NX options at the same time are not compatible",
        ),
        (
            &["zadd", "z", "GT", "LT", "1", "a"],
            "GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["zadd", "z", "NX", "GT", "1", "a"],
            "GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["zadd", "z", "INCR", "1", "a", "2", "b"],
            "INCR option supports a single increment-element pair",
        ),
        (&["zadd", "z", "1", "a", "2"], "syntax error"),
        (&["zadd", "z", "CH", "XX"], "syntax error"),
        (
            &["zadd", "z", "1", "a", "nan", "b"],
            "value is not a valid float",
        ),
        (&["zadd", "z", "1e400", "a"], "value is not a valid float"),
    ];
    for (words, message) in cases {
        let setup: &[&[&str]] = &[&["zadd", "z", "1", "a"]];
        assert_eq!(
            reply_changing_nothing(setup, words),
            err(message),
            "{words:?}"
        );
    }
    assert_eq!(log.read(&["zcard", "z"]), Reply::Int(3));
}

#[test]
fn an_increment_that_would_make_a_nan_score_is_refused_and_changes_nothing() {
    let setup: &[&[&str]] = &[&["zadd", "z", "inf", "a"]];
    let nan = err("resulting score is not a number (NaN)");
    assert_eq!(
        reply_changing_nothing(setup, &["zincrby", "z", "-inf", "a"]),
        nan
    );
    assert_eq!(
        reply_changing_nothing(setup, &["zadd", "z", "INCR", "-inf", "a"]),
        nan
    );
}

#[test]
fn zincrby_adds_to_a_score_starting_from_zero() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["zincrby", "z", "2", "a"]), double("2"));
    assert_eq!(log.cmd(&["zincrby", "z", "-0.5", "a"]), double("1.5"));
    assert_eq!(
        log.cmd(&["zincrby", "z", "x", "a"]),
        err("value is not a valid float")
    );
}

#[test]
fn scores_print_as_redis_7_2_prints_doubles() {
    let mut log = Log::new();
    let cases = [
        ("1.5", "1.5"),
        ("10", "10"),
        ("0.1", "0.1"),
        ("3e-5", "0.00003"),
        ("1e-7", "1e-7"),
        ("1e21", "1e+21"),
        ("+inf", "inf"),
        ("-inf", "-inf"),
        ("1500000000", "1500000000"),
    ];
    for (given, printed) in cases {
        log.cmd(&["zadd", "z", given, given]);
        assert_eq!(
            log.read(&["zscore", "z", given]),
            double(printed),
            "{given}"
        );
    }
}

#[test]
fn zrem_counts_what_it_removed_and_removing_the_last_member_deletes_the_key() {
    let mut log = abc();
    assert_eq!(log.cmd(&["zrem", "z", "a", "zz"]), Reply::Int(1));
    assert_eq!(log.cmd(&["zrem", "z", "b", "c"]), Reply::Int(2));
    assert_eq!(log.cmd(&["exists", "z"]), Reply::Int(0));
    assert!(log.sm.is_empty());
}

#[test]
fn zscore_zmscore_and_zcard_answer_nil_or_zero_for_what_is_not_there() {
    let log = abc();
    assert_eq!(log.read(&["zscore", "z", "zz"]), Reply::Null);
    let reply = log.read(&["zmscore", "z", "a", "zz"]);
    assert_eq!(reply, Reply::Array(vec![double("1"), Reply::Null]));
    assert_eq!(
        log.read(&["zmscore", "nokey", "a"]),
        Reply::Array(vec![Reply::Null])
    );
    assert_eq!(log.read(&["zcard", "z"]), Reply::Int(3));
    assert_eq!(log.read(&["zcard", "nokey"]), Reply::Int(0));
}

#[test]
fn members_with_equal_scores_order_by_their_bytes() {
    let mut log = Log::new();
    log.cmd(&["zadd", "z", "1", "b", "1", "a", "0", "c"]);
    assert_eq!(
        log.read(&["zrange", "z", "0", "-1"]),
        array(&["c", "a", "b"])
    );
}

#[test]
fn zrange_by_rank_counts_from_either_end_and_rev_walks_from_the_top() {
    let log = abc();
    assert_eq!(
        log.read(&["zrange", "z", "0", "-1"]),
        array(&["a", "b", "c"])
    );
    assert_eq!(log.read(&["zrange", "z", "-2", "-1"]), array(&["b", "c"]));
    assert_eq!(log.read(&["zrange", "z", "0", "0", "REV"]), array(&["c"]));
    assert_eq!(
        log.read(&["zrevrange", "z", "0", "1", "WITHSCORES"]),
        scored(&[("c", "3"), ("b", "2")])
    );
    assert_eq!(log.read(&["zrange", "z", "5", "9"]), array(&[]));
    assert_eq!(log.read(&["zrange", "nokey", "0", "-1"]), array(&[]));
}

#[test]
fn zrange_by_score_honours_exclusive_ends_infinities_rev_and_limit() {
    let log = abc();
    let read = |words: &[&str]| log.read(words);
    assert_eq!(
        read(&["zrange", "z", "(1", "+inf", "BYSCORE"]),
        array(&["b", "c"])
    );
    assert_eq!(
        read(&["zrange", "z", "-inf", "(3", "BYSCORE", "WITHSCORES"]),
        scored(&[("a", "1"), ("b", "2")])
    );
    assert_eq!(
        read(&["zrange", "z", "+inf", "2", "BYSCORE", "REV"]),
        array(&["c", "b"])
    );
    assert_eq!(
        read(&["zrange", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "1"]),
        array(&["b"])
    );
    assert_eq!(
        read(&["zrange", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1"]),
        array(&["b", "c"])
    );
    assert_eq!(
        read(&["zrange", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "5"]),
        array(&[])
    );
    assert_eq!(read(&["zrangebyscore", "z", "2", "3"]), array(&["b", "c"]));
    assert_eq!(
        read(&[
            "zrevrangebyscore",
            "z",
            "3",
            "2",
            "WITHSCORES",
            "LIMIT",
            "0",
            "1"
        ]),
        scored(&[("c", "3")])
    );
    assert_eq!(read(&["zrangebyscore", "z", "3", "1"]), array(&[]));
}

#[test]
fn zrange_by_lex_walks_member_bytes_between_inclusive_and_exclusive_ends() {
    let mut log = Log::new();
    log.cmd(&["zadd", "z", "0", "a", "0", "b", "0", "c", "0", "d"]);
    assert_eq!(
        log.read(&["zrangebylex", "z", "[b", "(d"]),
        array(&["b", "c"])
    );
    assert_eq!(
        log.read(&["zrangebylex", "z", "-", "+", "LIMIT", "1", "2"]),
        array(&["b", "c"])
    );
    assert_eq!(
        log.read(&["zrange", "z", "[c", "-", "BYLEX", "REV"]),
        array(&["c", "b", "a"])
    );
    assert_eq!(log.read(&["zlexcount", "z", "(a", "+"]), Reply::Int(3));
    assert_eq!(
        log.read(&["zrangebylex", "z", "b", "+"]),
        err("min or max not valid string range item")
    );
}

#[test]
fn zrange_refuses_the_option_mixes_redis_refuses() {
    let log = abc();
    let limit = "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
    assert_eq!(
        log.read(&["zrange", "z", "0", "1", "LIMIT", "0", "1"]),
        err(limit)
    );
    let lex = "syntax error, WITHSCORES not supported in combination with BYLEX";
    assert_eq!(
        log.read(&["zrange", "z", "-", "+", "BYLEX", "WITHSCORES"]),
        err(lex)
    );
    assert_eq!(
        log.read(&["zrange", "z", "0", "1", "BYSCORE", "BYLEX"]),
        err("syntax error")
    );
    assert_eq!(
        log.read(&["zrevrange", "z", "0", "1", "REV"]),
        err("syntax error")
    );
    assert_eq!(
        log.read(&["zrangebyscore", "z", "a", "1"]),
        err("min or max is not a float")
    );
    assert_eq!(
        log.read(&["zrange", "z", "x", "1"]),
        err("value is not an integer or out of range")
    );
}

#[test]
fn zrank_and_zrevrank_count_from_the_lowest_and_the_highest_score() {
    let log = abc();
    assert_eq!(log.read(&["zrank", "z", "a"]), Reply::Int(0));
    assert_eq!(log.read(&["zrevrank", "z", "a"]), Reply::Int(2));
    assert_eq!(log.read(&["zrank", "z", "zz"]), Reply::Null);
    assert_eq!(log.read(&["zrank", "nokey", "a"]), Reply::Null);
}

#[test]
fn zpopmin_and_zpopmax_answer_member_score_pairs_from_their_end() {
    let mut log = abc();
    assert_eq!(log.cmd(&["zpopmin", "z"]), scored(&[("a", "1")]));
    assert_eq!(
        log.cmd(&["zpopmax", "z", "5"]),
        scored(&[("c", "3"), ("b", "2")])
    );
    assert_eq!(log.cmd(&["exists", "z"]), Reply::Int(0));
    assert_eq!(log.cmd(&["zpopmin", "z"]), array(&[]));
    assert_eq!(
        log.cmd(&["zpopmin", "z", "-1"]),
        err("value is out of range, must be positive")
    );
}

#[test]
fn zcount_counts_members_in_a_score_range() {
    let log = abc();
    assert_eq!(log.read(&["zcount", "z", "(1", "3"]), Reply::Int(2));
    assert_eq!(log.read(&["zcount", "z", "-inf", "+inf"]), Reply::Int(3));
    assert_eq!(log.read(&["zcount", "nokey", "0", "1"]), Reply::Int(0));
    assert_eq!(
        log.read(&["zcount", "z", "x", "1"]),
        err("min or max is not a float")
    );
}

#[test]
fn zremrangebyrank_and_zremrangebyscore_remove_a_range_and_the_key_when_it_empties() {
    let mut log = abc();
    assert_eq!(log.cmd(&["zremrangebyrank", "z", "0", "0"]), Reply::Int(1));
    assert_eq!(
        log.cmd(&["zremrangebyscore", "z", "(2", "+inf"]),
        Reply::Int(1)
    );
    assert_eq!(log.read(&["zrange", "z", "0", "-1"]), array(&["b"]));
    assert_eq!(log.cmd(&["zremrangebyscore", "z", "5", "9"]), Reply::Int(0));
    assert_eq!(log.cmd(&["zremrangebyrank", "z", "0", "-1"]), Reply::Int(1));
    assert_eq!(log.cmd(&["exists", "z"]), Reply::Int(0));
}

#[test]
fn zscan_walks_members_in_byte_order_with_their_scores_as_text() {
    let mut log = Log::new();
    log.cmd(&["zadd", "z", "3", "a", "1", "b", "2.5", "c"]);
    let reply = log.read(&["zscan", "z", "0"]);
    let items = Reply::Array(vec![
        value("a"),
        value("3"),
        value("b"),
        value("1"),
        value("c"),
        value("2.5"),
    ]);
    assert_eq!(reply, Reply::Array(vec![value("0"), items]));
}

#[test]
fn every_sorted_set_command_answers_wrongtype_on_another_type_and_changes_nothing() {
    for words in [
        &["zadd", "s", "1", "a"][..],
        &["zincrby", "s", "1", "a"],
        &["zrem", "s", "a"],
        &["zscore", "s", "a"],
        &["zmscore", "s", "a"],
        &["zcard", "s"],
        &["zrank", "s", "a"],
        &["zrevrank", "s", "a"],
        &["zpopmin", "s"],
        &["zpopmax", "s", "0"],
        &["zscan", "s", "0"],
        &["zrange", "s", "0", "-1"],
        &["zrangebyscore", "s", "0", "1"],
        &["zrevrange", "s", "0", "1"],
        &["zrevrangebyscore", "s", "1", "0"],
        &["zrangebylex", "s", "-", "+"],
        &["zcount", "s", "0", "1"],
        &["zlexcount", "s", "-", "+"],
        &["zremrangebyrank", "s", "0", "1"],
        &["zremrangebyscore", "s", "0", "1"],
    ] {
        let reply = reply_changing_nothing(&[&["set", "s", "v"]], words);
        assert_eq!(reply, wrong_type(), "{words:?}");
    }
}
