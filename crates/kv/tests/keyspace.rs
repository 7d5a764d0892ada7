//! The keyspace commands on every type: containers carry TTLs as strings do, TYPE and
//! SCAN TYPE name every type, RENAME and COPY move any value with its TTL, and the strings
//! family answers WRONGTYPE on a container without changing anything.

mod common;

use common::{bulks, err, reply_changing_nothing, status, value, wrong_type, Log};
use kv::Reply;

/// One key of each type, all created at log time 0.
const EVERY_TYPE: &[(&str, &[&str])] = &[
    ("string", &["set", "k", "v"]),
    ("hash", &["hset", "k", "f", "v"]),
    ("list", &["rpush", "k", "a", "b"]),
    ("set", &["sadd", "k", "a", "b"]),
    ("zset", &["zadd", "k", "1", "a"]),
];

#[test]
fn every_type_takes_a_ttl_reports_it_and_expires_by_the_log_s_clock() {
    for (type_name, create) in EVERY_TYPE {
        let mut log = Log::new();
        log.cmd_at(0, create);
        assert_eq!(
            log.cmd_at(0, &["expire", "k", "10"]),
            Reply::Int(1),
            "{type_name}"
        );
        assert_eq!(
            log.cmd_at(4_000, &["ttl", "k"]),
            Reply::Int(6),
            "{type_name}"
        );
        assert_eq!(log.read(&["pexpiretime", "k"]), Reply::Int(10_000));
        assert_eq!(log.cmd_at(9_999, &["type", "k"]), status(type_name));
        assert_eq!(
            log.cmd_at(10_000, &["type", "k"]),
            status("none"),
            "{type_name}"
        );
        assert_eq!(log.read(&["exists", "k"]), Reply::Int(0));
        assert_eq!(log.read(&["dbsize"]), Reply::Int(0));
    }
}

#[test]
fn a_container_keeps_its_ttl_through_writes_and_persist_removes_it() {
    let mut log = Log::new();
    log.cmd_at(0, &["rpush", "l", "a"]);
    log.cmd_at(0, &["pexpire", "l", "1000"]);
    log.cmd_at(10, &["rpush", "l", "b"]);
    log.cmd_at(20, &["hset", "h", "f", "1"]);
    log.cmd_at(20, &["expire", "h", "5", "NX"]);
    log.cmd_at(30, &["hincrby", "h", "f", "2"]);
    assert_eq!(log.read(&["pttl", "l"]), Reply::Int(970));
    assert_eq!(log.read(&["pttl", "h"]), Reply::Int(4_990));
    assert_eq!(log.cmd_at(40, &["persist", "l"]), Reply::Int(1));
    assert_eq!(
        log.cmd_at(2_000, &["llen", "l"]),
        Reply::Int(2),
        "no TTL left"
    );
    assert_eq!(log.cmd_at(5_020, &["hget", "h", "f"]), Reply::Null);
    let emptied = log.cmd_at(5_020, &["hset", "h", "f", "9"]);
    assert_eq!(emptied, Reply::Int(1), "an expired hash is a new one");
    assert_eq!(log.read(&["ttl", "h"]), Reply::Int(-1));
}

#[test]
fn type_and_scan_type_know_every_type() {
    let mut log = Log::new();
    for (i, (_, create)) in EVERY_TYPE.iter().enumerate() {
        let key = format!("k{i}");
        let mut words = create.to_vec();
        words[1] = &key;
        log.cmd(&words);
    }
    for (i, (type_name, _)) in EVERY_TYPE.iter().enumerate() {
        let key = format!("k{i}");
        assert_eq!(log.read(&["type", &key]), status(type_name));
        let scanned = log.read(&["scan", "0", "COUNT", "100", "TYPE", type_name]);
        assert_eq!(scanned, Reply::Array(vec![value("0"), bulks(&[&key])]));
    }
    let none = log.read(&["scan", "0", "TYPE", "stream"]);
    assert_eq!(none, Reply::Array(vec![value("0"), bulks(&[])]));
}

#[test]
fn rename_and_copy_move_any_type_with_its_ttl() {
    for (type_name, create) in EVERY_TYPE {
        let mut log = Log::new();
        log.cmd_at(0, create);
        log.cmd_at(0, &["pexpire", "k", "1000"]);
        assert_eq!(log.cmd_at(100, &["copy", "k", "c"]), Reply::Int(1));
        assert_eq!(log.cmd_at(100, &["rename", "k", "r"]), status("OK"));
        for key in ["c", "r"] {
            assert_eq!(log.read(&["type", key]), status(type_name), "{key}");
            assert_eq!(
                log.read(&["pttl", key]),
                Reply::Int(900),
                "{type_name} {key}"
            );
        }
        assert_eq!(log.read(&["exists", "k"]), Reply::Int(0));
        assert_eq!(log.cmd_at(1_000, &["exists", "c", "r"]), Reply::Int(0));
    }
}

#[test]
fn a_copy_of_a_container_is_independent_of_its_source() {
    let mut log = Log::new();
    log.cmd(&["sadd", "s", "a"]);
    log.cmd(&["copy", "s", "t"]);
    log.cmd(&["sadd", "t", "b"]);
    assert_eq!(log.read(&["scard", "s"]), Reply::Int(1));
    assert_eq!(log.read(&["scard", "t"]), Reply::Int(2));
    assert_eq!(log.cmd(&["copy", "s", "t"]), Reply::Int(0), "t exists");
    assert_eq!(log.cmd(&["copy", "s", "t", "REPLACE"]), Reply::Int(1));
    assert_eq!(log.read(&["scard", "t"]), Reply::Int(1));
}

#[test]
fn string_commands_on_a_list_answer_wrongtype_and_change_nothing() {
    let list: &[&str] = &["rpush", "l", "element"];
    let cases: &[&[&str]] = &[
        &["get", "l"],
        &["getset", "l", "v"],
        &["getdel", "l"],
        &["getex", "l", "EX", "10"],
        &["strlen", "l"],
        &["getrange", "l", "0", "-1"],
        &["setrange", "l", "0", "x"],
        &["append", "l", "x"],
        &["incr", "l"],
        &["incrbyfloat", "l", "1.5"],
    ];
    for words in cases {
        assert_eq!(
            reply_changing_nothing(&[list], words),
            wrong_type(),
            "{words:?}"
        );
    }
    let mixed = reply_changing_nothing(&[list, &["set", "s", "v"]], &["mget", "s", "l"]);
    assert_eq!(
        mixed,
        Reply::Array(vec![value("v"), Reply::Null]),
        "MGET reads nil"
    );
}

#[test]
fn set_and_msetnx_replace_or_respect_a_container_as_redis_does() {
    let mut log = Log::new();
    log.cmd(&["hset", "h", "f", "1"]);
    assert_eq!(log.cmd(&["setnx", "h", "v"]), Reply::Int(0));
    assert_eq!(log.cmd(&["msetnx", "h", "v", "new", "v"]), Reply::Int(0));
    assert_eq!(log.read(&["exists", "new"]), Reply::Int(0));
    assert_eq!(
        log.cmd(&["set", "h", "v"]),
        status("OK"),
        "SET overwrites any type"
    );
    assert_eq!(log.read(&["type", "h"]), status("string"));
    assert_eq!(log.cmd(&["set", "h", "w", "GET"]), value("v"));
    log.cmd(&["lpush", "l", "x"]);
    assert_eq!(log.cmd(&["set", "l", "w", "GET"]), wrong_type());
    assert_eq!(log.cmd(&["rename", "absent", "x"]), err("no such key"));
    assert_eq!(log.read(&["type", "l"]), status("list"));
}

#[test]
fn memory_usage_estimates_from_the_value_and_grows_with_it() {
    let mut log = Log::new();
    for (_, create) in EVERY_TYPE {
        log.cmd(&["del", "k"]);
        log.cmd(create);
        let Reply::Int(small) = log.read(&["memory", "usage", "k"]) else {
            panic!("an integer for {create:?}");
        };
        assert!(small > 3, "key, value and overhead: {small} for {create:?}");
    }
    log.cmd(&["set", "s", "x"]);
    let Reply::Int(short) = log.read(&["memory", "usage", "s"]) else {
        panic!("an integer");
    };
    log.cmd(&["set", "s", &"x".repeat(1001)]);
    let long = log.read(&["memory", "usage", "s", "SAMPLES", "5"]);
    assert_eq!(long, Reply::Int(short + 1000), "exactly the extra bytes");
    assert_eq!(log.read(&["memory", "usage", "missing"]), Reply::Null);
}

#[test]
fn memory_and_object_refuse_unknown_subcommands_with_redis_texts() {
    let log = Log::new();
    let memory = err("unknown subcommand 'foo'. Try MEMORY HELP.");
    assert_eq!(log.read(&["memory", "foo"]), memory);
    let arity = err("wrong number of arguments for 'memory|usage' command");
    assert_eq!(log.read(&["memory", "usage"]), arity);
    assert_eq!(
        log.read(&["memory", "usage", "k", "SAMPLES"]),
        err("syntax error")
    );
    let object = err("unknown subcommand 'foo'. Try OBJECT HELP.");
    assert_eq!(log.read(&["object", "foo", "k"]), object);
    let Reply::Error(e) = log.read(&["object", "encoding", "k"]) else {
        panic!("OBJECT ENCODING is refused");
    };
    assert!(e.to_string().contains("keeps no encodings"), "{e}");
}

#[test]
fn object_refcount_is_one_for_every_key_and_nil_for_a_missing_one() {
    let mut log = Log::new();
    log.cmd(&["rpush", "l", "a"]);
    log.cmd(&["copy", "l", "l2"]);
    assert_eq!(log.read(&["object", "refcount", "l"]), Reply::Int(1));
    assert_eq!(log.read(&["object", "refcount", "l2"]), Reply::Int(1));
    assert_eq!(log.read(&["object", "refcount", "missing"]), Reply::Null);
}
