//! Tests of `ops.rs` and `ops_mix.rs`, kept apart so the modules stay within their budget.

use std::collections::BTreeSet;

use super::mix::VOLATILE_TTL_MS_MAX;
use super::*;
use kv::{KvError, Reply as R};

fn space(volatile_reads: bool) -> KeySpace {
    KeySpace {
        string_keys: 3,
        counter_keys: 2,
        volatile_reads,
    }
}

fn draws(volatile_reads: bool, seed: u64, n: u64) -> Vec<OpSpec> {
    let mut rng = SeededRng::new(seed);
    let memory = Memory::new();
    (1..n)
        .map(|seq| space(volatile_reads).draw(&mut rng, &memory, 1, seq))
        .collect()
}

fn keys(body: &kv::Body) -> BTreeSet<String> {
    let commands = match body {
        kv::Body::One(c) => vec![c],
        kv::Body::Exec { commands, .. } => commands.iter().collect(),
    };
    commands
        .iter()
        .map(|c| String::from_utf8(c.args()[0].to_vec()).unwrap())
        .collect()
}

#[test]
fn every_drawn_op_is_one_the_checker_s_model_can_state() {
    let mut names = BTreeSet::new();
    for op in draws(true, 7, 5_000) {
        check::command_from_kv(&op.body).unwrap_or_else(|e| panic!("{:?}: {e}", op.body));
        if let kv::Body::One(c) = &op.body {
            names.insert(c.name());
        }
    }
    let wanted = [
        "get",
        "set",
        "append",
        "cas",
        "del",
        "incrby",
        "setex",
        "pexpire",
        "persist",
        "pttl",
        "ttl",
        "exists",
        "hset",
        "hget",
        "hdel",
        "hlen",
        "lpush",
        "rpush",
        "lpop",
        "rpop",
        "llen",
        "sadd",
        "srem",
        "sismember",
        "scard",
        "zadd",
        "zscore",
        "zrem",
        "zcard",
    ];
    for name in wanted {
        assert!(names.contains(name), "{name} is drawn: {names:?}");
    }
}

#[test]
fn every_kind_of_op_is_drawn_and_some_transactions_watch() {
    let ops = draws(true, 3, 5_000);
    let count = |k: OpKind| ops.iter().filter(|o| o.kind == k).count();
    assert!(count(OpKind::Exec) > 300, "about one op in ten");
    assert!(count(OpKind::VolatileRead) > 50);
    assert!(count(OpKind::WrongType) > 20);
    let watching = ops.iter().filter(
        |o| matches!(&o.body, kv::Body::Exec { watched, since: 0, .. } if !watched.is_empty()),
    );
    assert!(watching.count() > 50, "about one transaction in three");
}

#[test]
fn a_transaction_s_keys_all_come_from_one_small_group() {
    let groups: Vec<BTreeSet<String>> = TXN_GROUPS
        .iter()
        .map(|g| {
            g.iter()
                .map(|&(k, i)| space(true).group_key(k, i))
                .collect()
        })
        .collect();
    for op in draws(true, 11, 3_000) {
        let kv::Body::Exec {
            watched, commands, ..
        } = &op.body
        else {
            continue;
        };
        assert!((2..=TXN_COMMANDS_MAX as usize).contains(&commands.len()));
        let mut touched = keys(&op.body);
        touched.extend(
            watched
                .iter()
                .map(|w| String::from_utf8(w.to_vec()).unwrap()),
        );
        assert!(
            groups.iter().any(|g| touched.is_subset(g)),
            "{touched:?} within one of {groups:?}"
        );
    }
}

#[test]
fn under_wall_clock_skew_volatile_keys_are_only_written_with_a_short_ttl() {
    let volatile: Vec<OpSpec> = draws(false, 5, 2_000)
        .into_iter()
        .filter(|op| keys(&op.body).iter().any(|k| k.starts_with('v')))
        .collect();
    assert!(volatile.len() >= 50, "about one op in twenty");
    for op in volatile {
        let kv::Body::One(c) = &op.body else {
            panic!("volatile keys stay out of transactions")
        };
        assert_eq!(c.name(), "set");
        assert_eq!(c.args()[2].as_ref(), b"PX");
        let ttl: u64 = std::str::from_utf8(&c.args()[3]).unwrap().parse().unwrap();
        assert!((1..=VOLATILE_TTL_MS_MAX).contains(&ttl));
    }
}

#[test]
fn a_session_opens_with_an_increment_that_only_a_commit_can_answer() {
    let mut rng = SeededRng::new(11);
    for _ in 0..100 {
        let op = space(true).opening(&mut rng);
        let kv::Body::One(c) = &op.body else {
            panic!("one command")
        };
        assert_eq!(c.name(), "incrby");
        assert!(!op.body.is_read_only());
    }
}

#[test]
fn a_client_remembers_what_single_string_and_counter_ops_showed_it() {
    let one = |words: &[&str]| kv::Body::One(command(words));
    let b = |s: &str| bytes(s);
    let seen = |words: &[&str], reply: R| observed(&one(words), &reply);
    let some = |k: &str, v: Option<&str>| Some((k.to_string(), v.map(str::to_string)));
    assert_eq!(seen(&["get", "s0"], R::Bulk(b("x"))), some("s0", Some("x")));
    assert_eq!(seen(&["get", "s0"], R::Null), some("s0", None));
    assert_eq!(seen(&["set", "s0", "y"], R::ok()), some("s0", Some("y")));
    assert_eq!(
        seen(&["incrby", "n0", "2"], R::Int(7)),
        some("n0", Some("7"))
    );
    let cas = R::Array(vec![R::Int(0), R::Bulk(b("z"))]);
    assert_eq!(seen(&["cas", "s0", "a"], cas), some("s0", Some("z")));
    assert_eq!(seen(&["get", "h0"], R::Null), None, "not a cas key");
    let error = R::Error(KvError::NotAnInteger);
    assert_eq!(seen(&["incrby", "n0", "1"], error), None);
}

#[test]
fn the_counters_see_aborted_transactions_expired_reads_and_wrong_types() {
    let mut counts = OpCounts::default();
    let exec = OpSpec {
        body: kv::Body::Exec {
            watched: vec![bytes("s0")],
            since: 3,
            commands: vec![command(&["get", "s0"]), command(&["incr", "n0"])],
        },
        kind: OpKind::Exec,
    };
    counts.tally(&exec, &R::NullArray);
    counts.tally(&exec, &R::Array(vec![R::Null, R::Int(1)]));
    let read = |words: &[&str]| OpSpec {
        body: kv::Body::One(command(words)),
        kind: OpKind::VolatileRead,
    };
    counts.tally(&read(&["get", "v0"]), &R::Null);
    counts.tally(&read(&["pttl", "v0"]), &R::Int(-2));
    counts.tally(&read(&["exists", "v0"]), &R::Int(0));
    counts.tally(&read(&["pttl", "v0"]), &R::Int(0));
    let wrong = OpSpec {
        body: kv::Body::One(command(&["llen", "s0"])),
        kind: OpKind::WrongType,
    };
    counts.tally(&wrong, &R::Error(KvError::WrongType));
    counts.tally(&wrong, &R::Int(0));
    assert_eq!(
        (
            counts.execs,
            counts.aborted_execs,
            counts.expired_reads,
            counts.wrongtype
        ),
        (2, 1, 3, 1)
    );
}

#[test]
fn keys_are_skewed_towards_the_first_of_each_kind() {
    let mut rng = SeededRng::new(3);
    let mut hits = [0u32; 3];
    for _ in 0..9_000 {
        hits[skewed(&mut rng, 3)] += 1;
    }
    assert!(hits[0] > hits[1] && hits[1] > hits[2], "{hits:?}");
}
