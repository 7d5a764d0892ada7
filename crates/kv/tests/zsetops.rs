//! Sorted-set algebra (ZUNION, ZINTER, ZDIFF, their *STORE forms, ZINTERCARD), ZRANGESTORE,
//! the lex commands added with them, and ZRANDMEMBER: one rule per test, Redis 7's answers
//! and error texts (checked against redis-server 7.0).

mod common;

use std::collections::BTreeSet;

use common::{array, double, err, value, wrong_type, Log};
use kv::Reply;

/// Member/score pairs, the WITHSCORES shape (flat in RESP2, nested in RESP3).
fn scored(pairs: &[(&str, &str)]) -> Reply {
    Reply::Pairs(pairs.iter().map(|(m, s)| (value(m), double(s))).collect())
}

/// `za` = {a:1 b:2 c:3}, `zb` = {b:1 c:2 d:3}, the suite's pair.
fn two() -> Log {
    let mut log = Log::new();
    log.cmd(&["zadd", "za", "1", "a", "2", "b", "3", "c"]);
    log.cmd(&["zadd", "zb", "1", "b", "2", "c", "3", "d"]);
    log
}

#[test]
fn zunion_sums_scores_by_default_and_orders_by_score_then_member() {
    let log = two();
    assert_eq!(
        log.read(&["zunion", "2", "za", "zb", "WITHSCORES"]),
        scored(&[("a", "1"), ("b", "3"), ("d", "3"), ("c", "5")])
    );
    assert_eq!(
        log.read(&["zunion", "2", "za", "zb"]),
        array(&["a", "b", "d", "c"])
    );
}

#[test]
fn weights_multiply_each_input_and_aggregate_min_or_max_keeps_one_score() {
    let log = two();
    let weighted = ["zunion", "2", "za", "zb", "weights", "2", "3", "withscores"];
    assert_eq!(
        log.read(&weighted),
        scored(&[("a", "2"), ("b", "7"), ("d", "9"), ("c", "12")])
    );
    let min = ["zinter", "2", "za", "zb", "aggregate", "min", "withscores"];
    assert_eq!(log.read(&min), scored(&[("b", "1"), ("c", "2")]));
    let max = ["zunion", "2", "za", "zb", "AGGREGATE", "MAX", "WITHSCORES"];
    assert_eq!(
        log.read(&max),
        scored(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "3")])
    );
}

#[test]
fn zinter_keeps_members_in_every_input_and_zdiff_those_in_the_first_only() {
    let log = two();
    assert_eq!(
        log.read(&["zinter", "2", "za", "zb", "withscores"]),
        scored(&[("b", "3"), ("c", "5")])
    );
    assert_eq!(
        log.read(&["zdiff", "2", "za", "zb", "withscores"]),
        scored(&[("a", "1")])
    );
    assert_eq!(log.read(&["zinter", "2", "za", "nokey"]), array(&[]));
    assert_eq!(log.read(&["zdiff", "1", "nokey"]), array(&[]));
}

#[test]
fn a_plain_set_counts_as_a_sorted_set_whose_members_score_one() {
    let mut log = two();
    log.cmd(&["sadd", "s", "a", "b", "x"]);
    assert_eq!(
        log.read(&["zunion", "2", "s", "zb", "weights", "2", "3", "withscores"]),
        scored(&[("a", "2"), ("x", "2"), ("b", "5"), ("c", "6"), ("d", "9")])
    );
    assert_eq!(
        log.cmd(&["zdiffstore", "dst", "2", "s", "zb"]),
        Reply::Int(2)
    );
    assert_eq!(log.read(&["type", "dst"]), Reply::Status("zset".into()));
}

#[test]
fn infinities_that_cancel_sum_to_zero_and_a_zero_weight_never_makes_nan() {
    let mut log = Log::new();
    log.cmd(&["zadd", "p", "+inf", "k"]);
    log.cmd(&["zadd", "n", "-inf", "k"]);
    assert_eq!(
        log.cmd(&["zunionstore", "out", "2", "p", "n"]),
        Reply::Int(1)
    );
    assert_eq!(log.read(&["zscore", "out", "k"]), double("0"));
    assert_eq!(
        log.cmd(&["zinterstore", "out", "2", "p", "p"]),
        Reply::Int(1)
    );
    assert_eq!(log.read(&["zscore", "out", "k"]), double("inf"));
    let zero = ["zunionstore", "out", "1", "n", "weights", "0"];
    assert_eq!(log.cmd(&zero), Reply::Int(1));
    assert_eq!(log.read(&["zscore", "out", "k"]), double("0"));
}

#[test]
fn a_store_replaces_the_destination_and_an_empty_result_deletes_it() {
    let mut log = two();
    log.cmd(&["set", "dst", "text"]);
    log.cmd(&["pexpire", "dst", "100000"]);
    assert_eq!(
        log.cmd(&["zinterstore", "dst", "2", "za", "zb"]),
        Reply::Int(2)
    );
    assert_eq!(log.read(&["pttl", "dst"]), Reply::Int(-1));
    assert_eq!(
        log.read(&["zrange", "dst", "0", "-1", "withscores"]),
        scored(&[("b", "3"), ("c", "5")])
    );
    assert_eq!(
        log.cmd(&["zunionstore", "dst", "1", "nokey"]),
        Reply::Int(0)
    );
    assert_eq!(log.read(&["exists", "dst"]), Reply::Int(0));
}

#[test]
fn zintercard_counts_the_intersection_up_to_its_limit() {
    let log = two();
    assert_eq!(log.read(&["zintercard", "2", "za", "zb"]), Reply::Int(2));
    assert_eq!(
        log.read(&["zintercard", "2", "za", "zb", "limit", "0"]),
        Reply::Int(2)
    );
    assert_eq!(
        log.read(&["zintercard", "2", "za", "zb", "LIMIT", "1"]),
        Reply::Int(1)
    );
    assert_eq!(log.read(&["zintercard", "1", "nokey"]), Reply::Int(0));
}

#[test]
fn the_algebra_refuses_what_redis_refuses_in_redis_order() {
    let mut log = two();
    log.cmd(&["set", "str", "x"]);
    let at_least = |name: &str| {
        err(&format!(
            "at least 1 input key is needed for '{name}' command"
        ))
    };
    assert_eq!(log.read(&["zunion", "0", "za"]), at_least("zunion"));
    assert_eq!(
        log.cmd(&["zdiffstore", "d", "0", "za"]),
        at_least("zdiffstore")
    );
    assert_eq!(log.read(&["zintercard", "0", "za"]), at_least("zintercard"));
    assert_eq!(log.read(&["zunion", "3", "za", "zb"]), err("syntax error"));
    assert_eq!(
        log.read(&["zunion", "x", "za"]),
        err("value is not an integer or out of range")
    );
    assert_eq!(log.read(&["zinter", "2", "za", "str"]), wrong_type());
    let nan = ["zunionstore", "d", "2", "za", "zb", "weights", "nan", "nan"];
    assert_eq!(log.cmd(&nan), err("weight value is not a float"));
    let stored_with_scores = ["zinterstore", "d", "2", "za", "zb", "withscores"];
    assert_eq!(log.cmd(&stored_with_scores), err("syntax error"));
    assert_eq!(
        log.read(&["zdiff", "2", "za", "zb", "weights", "1", "1"]),
        err("syntax error")
    );
    assert_eq!(
        log.read(&["zunion", "2", "za", "zb", "aggregate", "avg"]),
        err("syntax error")
    );
    for bad in [
        &["zintercard", "1", "za", "za"][..],
        &["zintercard", "1", "za", "LIMIT"],
    ] {
        assert_eq!(log.read(bad), err("syntax error"), "{bad:?}");
    }
    for limit in ["-1", "a"] {
        let words = ["zintercard", "1", "za", "LIMIT", limit];
        assert_eq!(log.read(&words), err("LIMIT can't be negative"));
    }
    assert_eq!(log.read(&["exists", "d"]), Reply::Int(0), "nothing stored");
}

#[test]
fn zrangestore_stores_a_range_by_rank_score_or_lex_and_answers_its_size() {
    let mut log = Log::new();
    log.cmd(&["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(
        log.cmd(&["zrangestore", "dst", "z", "1", "2"]),
        Reply::Int(2)
    );
    assert_eq!(
        log.read(&["zrange", "dst", "0", "-1", "withscores"]),
        scored(&[("b", "2"), ("c", "3")])
    );
    let rev = [
        "zrangestore",
        "dst",
        "z",
        "5",
        "0",
        "BYSCORE",
        "REV",
        "LIMIT",
        "0",
        "2",
    ];
    assert_eq!(log.cmd(&rev), Reply::Int(2));
    assert_eq!(log.read(&["zrange", "dst", "0", "-1"]), array(&["c", "d"]));
    let lex = ["zrangestore", "dst", "z", "[b", "[c", "BYLEX"];
    assert_eq!(log.cmd(&lex), Reply::Int(2));
    assert_eq!(
        log.cmd(&["zrangestore", "dst", "z", "5", "6"]),
        Reply::Int(0)
    );
    assert_eq!(log.read(&["exists", "dst"]), Reply::Int(0));
    assert_eq!(
        log.cmd(&["zrangestore", "dst", "nokey", "0", "-1"]),
        Reply::Int(0)
    );
}

#[test]
fn zrangestore_refuses_withscores_a_rank_limit_and_a_source_of_another_type() {
    let mut log = Log::new();
    log.cmd(&["zadd", "z", "1", "a"]);
    log.cmd(&["set", "str", "x"]);
    let with_scores = ["zrangestore", "dst", "z", "0", "-1", "WITHSCORES"];
    assert_eq!(log.cmd(&with_scores), err("syntax error"));
    let limit = log.cmd(&["zrangestore", "dst", "z", "0", "-1", "LIMIT", "1", "2"]);
    assert!(matches!(limit, Reply::Error(_)), "{limit:?}");
    assert_eq!(
        log.cmd(&["zrangestore", "dst", "str", "0", "-1"]),
        wrong_type()
    );
}

#[test]
fn zrevrangebylex_walks_down_from_max_and_zremrangebylex_removes_a_lex_range() {
    let mut log = Log::new();
    log.cmd(&[
        "zadd", "z", "0", "alpha", "0", "bar", "0", "cool", "0", "down",
    ]);
    assert_eq!(
        log.read(&["zrevrangebylex", "z", "[cool", "-"]),
        array(&["cool", "bar", "alpha"])
    );
    assert_eq!(
        log.read(&["zrevrangebylex", "z", "+", "(bar", "LIMIT", "0", "1"]),
        array(&["down"])
    );
    assert_eq!(
        log.read(&["zlexcount", "z", "(alpha", "[cool"]),
        Reply::Int(2)
    );
    assert_eq!(log.cmd(&["zremrangebylex", "z", "[b", "(d"]), Reply::Int(2));
    assert_eq!(
        log.read(&["zrange", "z", "0", "-1"]),
        array(&["alpha", "down"])
    );
    assert_eq!(
        log.cmd(&["zremrangebylex", "z", "x", "+"]),
        err("min or max not valid string range item")
    );
}

/// `z` with ten members scored 1..=10.
fn ten() -> Log {
    let mut log = Log::new();
    let words: Vec<String> = (1..=10)
        .flat_map(|i| [i.to_string(), format!("m{i:02}")])
        .collect();
    let mut cmd = vec!["zadd", "z"];
    cmd.extend(words.iter().map(String::as_str));
    log.cmd(&cmd);
    log
}

fn items(reply: Reply) -> Vec<Reply> {
    match reply {
        Reply::Array(items) => items,
        Reply::Pairs(pairs) => pairs.into_iter().map(|(m, _)| m).collect(),
        other => panic!("not a list: {other:?}"),
    }
}

#[test]
fn zrandmember_gives_distinct_members_for_a_positive_count_and_repeats_for_a_negative_one() {
    let log = ten();
    let distinct = items(log.read_seeded(3, &["zrandmember", "z", "4"]));
    assert_eq!(distinct.len(), 4);
    let unique: BTreeSet<String> = distinct.iter().map(|m| format!("{m:?}")).collect();
    assert_eq!(unique.len(), 4);
    assert_eq!(items(log.read(&["zrandmember", "z", "20"])).len(), 10);
    assert_eq!(items(log.read(&["zrandmember", "z", "-25"])).len(), 25);
    let Reply::Pairs(pairs) = log.read(&["zrandmember", "z", "-3", "WITHSCORES"]) else {
        panic!("WITHSCORES answers pairs")
    };
    for (m, s) in pairs {
        let Reply::Bulk(m) = m else { panic!() };
        let member = String::from_utf8(m.to_vec()).unwrap();
        assert_eq!(log.read(&["zscore", "z", &member]), s);
    }
}

#[test]
fn zrandmember_answers_nil_or_empty_for_an_absent_key_and_refuses_bad_arguments() {
    let log = ten();
    assert_eq!(log.read(&["zrandmember", "nokey"]), Reply::Null);
    assert_eq!(log.read(&["zrandmember", "nokey", "5"]), array(&[]));
    assert_eq!(log.read(&["zrandmember", "z", "0"]), array(&[]));
    assert_eq!(
        log.read(&["zrandmember", "z", "1", "WITHVALUES"]),
        err("syntax error")
    );
    let overflow = log.read(&["zrandmember", "z", "-9223372036854775808", "withscores"]);
    let Reply::Error(e) = overflow else {
        panic!("{overflow:?}")
    };
    assert!(e.to_string().starts_with("value is out of range"), "{e}");
}

#[test]
fn zrandmember_picks_afresh_per_read_seed_and_alike_in_the_log() {
    let (mut a, mut b) = (ten(), ten());
    let seen: BTreeSet<String> = (0..100)
        .map(|seed| format!("{:?}", a.read_seeded(seed, &["zrandmember", "z"])))
        .collect();
    assert_eq!(seen.len(), 10, "every member comes up over 100 reads");
    let words = ["zrandmember", "z", "-5", "withscores"];
    assert_eq!(
        a.cmd(&words),
        b.cmd(&words),
        "in a log entry: the index decides"
    );
}
