//! SORT and SORT_RO, one rule per test, as seen through `apply` and `read` (Redis 7 semantics
//! and texts, checked against redis-server).

mod common;

use common::{array, err, reply_changing_nothing, wrong_type, Log};
use kv::Reply;

#[test]
fn sort_orders_numbers_numerically_and_alpha_orders_bytes() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "10", "9", "-1.5", "100"]);
    assert_eq!(log.cmd(&["sort", "l"]), array(&["-1.5", "9", "10", "100"]));
    assert_eq!(
        log.read(&["sort_ro", "l", "DESC"]),
        array(&["100", "10", "9", "-1.5"])
    );
    assert_eq!(
        log.read(&["sort_ro", "l", "ALPHA"]),
        array(&["-1.5", "10", "100", "9"])
    );
}

#[test]
fn sort_refuses_non_numbers_without_alpha_and_other_types() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "1", "x"]);
    log.cmd(&["set", "s", "v"]);
    let not_double = err("One or more scores can't be converted into double");
    assert_eq!(log.read(&["sort_ro", "l"]), not_double);
    assert_eq!(log.read(&["sort_ro", "s"]), wrong_type());
    assert_eq!(log.read(&["sort_ro", "missing"]), Reply::Array(vec![]));
}

#[test]
fn limit_slices_the_sorted_elements() {
    let mut log = Log::new();
    log.cmd(&["sadd", "s", "5", "3", "1", "4", "2"]);
    let sliced = log.read(&["sort_ro", "s", "LIMIT", "1", "2"]);
    assert_eq!(sliced, array(&["2", "3"]));
    let to_end = log.read(&["sort_ro", "s", "LIMIT", "3", "-1"]);
    assert_eq!(to_end, array(&["4", "5"]));
    assert_eq!(log.read(&["sort_ro", "s", "LIMIT", "9", "1"]), array(&[]));
}

#[test]
fn by_and_get_patterns_read_other_keys_and_hash_fields() {
    let mut log = Log::new();
    log.cmd(&["rpush", "ids", "1", "2", "3"]);
    log.cmd(&["mset", "w_1", "30", "w_2", "10", "w_3", "20"]);
    log.cmd(&["hset", "o_1", "name", "one"]);
    log.cmd(&["hset", "o_3", "name", "three"]);
    assert_eq!(
        log.read(&["sort_ro", "ids", "BY", "w_*"]),
        array(&["2", "3", "1"])
    );
    let got = log.read(&[
        "sort_ro",
        "ids",
        "BY",
        "w_*",
        "GET",
        "#",
        "GET",
        "o_*->name",
    ]);
    let want = Reply::Array(vec![
        common::value("2"),
        Reply::Null,
        common::value("3"),
        common::value("three"),
        common::value("1"),
        common::value("one"),
    ]);
    assert_eq!(got, want);
}

#[test]
fn by_a_pattern_without_a_star_keeps_the_source_order_and_desc_reverses_it() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "3", "1", "2"]);
    log.cmd(&["zadd", "z", "3", "a", "1", "b", "2", "c"]);
    assert_eq!(
        log.read(&["sort_ro", "l", "BY", "nosort"]),
        array(&["3", "1", "2"])
    );
    let desc = log.read(&["sort_ro", "z", "BY", "nosort", "DESC"]);
    assert_eq!(desc, array(&["a", "c", "b"]));
}

#[test]
fn store_replaces_the_destination_with_a_list_and_an_empty_result_deletes_it() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "2", "1"]);
    log.cmd(&["set", "dest", "old"]);
    assert_eq!(log.cmd(&["sort", "l", "STORE", "dest"]), Reply::Int(2));
    assert_eq!(log.cmd(&["lrange", "dest", "0", "-1"]), array(&["1", "2"]));
    assert_eq!(
        log.cmd(&["sort", "missing", "STORE", "dest"]),
        Reply::Int(0)
    );
    assert_eq!(log.cmd(&["exists", "dest"]), Reply::Int(0));
}

#[test]
fn sort_ro_refuses_store_and_unknown_options_are_syntax_errors() {
    let log = Log::new();
    assert_eq!(
        log.read(&["sort_ro", "l", "STORE", "d"]),
        err("syntax error")
    );
    assert_eq!(
        log.read(&["sort_ro", "l", "LIMIT", "1"]),
        err("syntax error")
    );
    assert_eq!(log.read(&["sort_ro", "l", "SIDEWAYS"]), err("syntax error"));
}

#[test]
fn a_store_key_longer_than_key_bytes_max_is_refused() {
    let long = "k".repeat(5_000);
    let setup: &[&[&str]] = &[&["rpush", "l", "1"]];
    let reply = reply_changing_nothing(setup, &["sort", "l", "STORE", &long]);
    assert!(
        matches!(&reply, Reply::Error(e) if e.to_string().contains("key_bytes_max")),
        "{reply:?}"
    );
}
