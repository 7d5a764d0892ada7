//! LMPOP and ZMPOP, one rule per test, as seen through `apply` and `read` (Redis 7 semantics;
//! texts checked against redis-server 7.0).

mod common;

use common::{array, b, double, err, reply_changing_nothing, wrong_type, Log};
use kv::Reply;

/// `[key, elements]`, LMPOP's reply.
fn popped(key: &str, elements: &[&str]) -> Reply {
    Reply::Array(vec![Reply::Bulk(b(key)), array(elements)])
}

/// `[key, [[member, score] …]]`, ZMPOP's reply.
fn zpopped(key: &str, pairs: &[(&str, &str)]) -> Reply {
    let pairs = pairs
        .iter()
        .map(|(m, s)| Reply::Array(vec![Reply::Bulk(b(m)), double(s)]))
        .collect();
    Reply::Array(vec![Reply::Bulk(b(key)), Reply::Array(pairs)])
}

#[test]
fn lmpop_pops_from_the_first_list_that_exists_and_skips_absent_keys() {
    let mut log = Log::new();
    log.cmd(&["rpush", "second", "a", "b", "c"]);
    log.cmd(&["rpush", "third", "x"]);
    assert_eq!(
        log.cmd(&["lmpop", "3", "first", "second", "third", "LEFT"]),
        popped("second", &["a"])
    );
    assert_eq!(
        log.cmd(&["lmpop", "2", "first", "second", "right", "COUNT", "5"]),
        popped("second", &["c", "b"])
    );
    assert_eq!(log.cmd(&["exists", "second"]), Reply::Int(0));
    assert_eq!(
        log.cmd(&["lmpop", "1", "third", "LEFT", "count", "1"]),
        popped("third", &["x"])
    );
}

#[test]
fn lmpop_on_only_absent_keys_answers_a_nil_array_and_changes_nothing() {
    assert_eq!(
        reply_changing_nothing(&[], &["lmpop", "2", "a", "b", "LEFT"]),
        Reply::NullArray
    );
}

#[test]
fn lmpop_answers_wrongtype_for_a_key_of_another_type_before_any_live_list() {
    let setup: &[&[&str]] = &[&["set", "s", "v"], &["rpush", "l", "a"]];
    assert_eq!(
        reply_changing_nothing(setup, &["lmpop", "2", "s", "l", "LEFT"]),
        wrong_type()
    );
    // A live list before it answers first, as Redis stops at the first key it can pop from.
    let mut log = Log::new();
    log.cmd(&["set", "s", "v"]);
    log.cmd(&["rpush", "l", "a"]);
    assert_eq!(
        log.cmd(&["lmpop", "2", "l", "s", "LEFT"]),
        popped("l", &["a"])
    );
}

#[test]
fn lmpop_refuses_bad_arguments_with_redis_texts() {
    let numkeys = err("numkeys should be greater than 0");
    let count = err("count should be greater than 0");
    let syntax = err("syntax error");
    let cases: &[(&[&str], &Reply)] = &[
        (&["lmpop", "0", "l", "LEFT"], &numkeys),
        (&["lmpop", "a", "l", "LEFT"], &numkeys),
        (&["lmpop", "-1", "l", "RIGHT"], &numkeys),
        (&["lmpop", "1", "l", "bad_where"], &syntax),
        (&["lmpop", "1", "l", "LEFT", "bar_arg"], &syntax),
        (&["lmpop", "1", "l", "RIGHT", "LEFT"], &syntax),
        (&["lmpop", "1", "l", "COUNT"], &syntax),
        (
            &["lmpop", "1", "l", "LEFT", "COUNT", "1", "COUNT", "2"],
            &syntax,
        ),
        (&["lmpop", "2", "l", "m", "bad_arg"], &syntax),
        (&["lmpop", "5", "l", "LEFT"], &syntax),
        (&["lmpop", "1", "l", "LEFT", "COUNT", "0"], &count),
        (&["lmpop", "1", "l", "RIGHT", "COUNT", "a"], &count),
        (&["lmpop", "1", "l", "LEFT", "COUNT", "-1"], &count),
    ];
    for (words, expected) in cases {
        let setup: &[&[&str]] = &[&["rpush", "l", "a"]];
        assert_eq!(
            reply_changing_nothing(setup, words),
            **expected,
            "{words:?}"
        );
    }
    let words = ["lmpop", "1", "l"].map(b).to_vec();
    let refused = kv::Command::from_words(words).expect_err("LMPOP takes at least 3 arguments");
    assert_eq!(
        refused.to_string(),
        "wrong number of arguments for 'lmpop' command"
    );
}

#[test]
fn zmpop_pops_the_lowest_or_highest_scores_of_the_first_sorted_set_that_exists() {
    let mut log = Log::new();
    log.cmd(&["zadd", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(
        log.cmd(&["zmpop", "2", "none", "z", "MIN"]),
        zpopped("z", &[("a", "1")])
    );
    assert_eq!(
        log.cmd(&["zmpop", "1", "z", "max", "COUNT", "10"]),
        zpopped("z", &[("c", "3"), ("b", "2")])
    );
    assert_eq!(log.cmd(&["exists", "z"]), Reply::Int(0));
    assert_eq!(log.cmd(&["zmpop", "1", "z", "MIN"]), Reply::NullArray);
}

#[test]
fn zmpop_refuses_bad_arguments_and_other_types_with_redis_texts() {
    let setup: &[&[&str]] = &[&["zadd", "z", "1", "a"], &["rpush", "l", "x"]];
    let cases: &[(&[&str], Reply)] = &[
        (
            &["zmpop", "0", "z", "MIN"],
            err("numkeys should be greater than 0"),
        ),
        (&["zmpop", "1", "z", "LEFT"], err("syntax error")),
        (
            &["zmpop", "1", "z", "MIN", "COUNT", "0"],
            err("count should be greater than 0"),
        ),
        (&["zmpop", "2", "l", "z", "MIN"], wrong_type()),
    ];
    for (words, expected) in cases {
        assert_eq!(reply_changing_nothing(setup, words), *expected, "{words:?}");
    }
}
