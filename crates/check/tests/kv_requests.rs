//! Recording in the store's own types: a workload hands the checker the `kv::Body` it sent
//! and the `kv::Reply` it heard, and the kv model judges them (`kv/request.rs`).

use bytes::Bytes;
use check::{command_from_kv, outcome_from_kv, CheckResult, Command, HistoryBuilder, Outcome};
use kv::{Body, Reply};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn cmd(words: &[&str]) -> kv::Command {
    kv::Command::from_words(words.iter().map(|w| b(w)).collect()).unwrap()
}

fn exec(commands: Vec<kv::Command>) -> Body {
    Body::Exec {
        watched: vec![b("a")],
        since: 7,
        commands,
    }
}

#[test]
fn an_exec_is_one_transaction_over_every_key_of_its_commands() {
    let body = exec(vec![cmd(&["SET", "a", "1"]), cmd(&["INCRBY", "n", "2"])]);
    assert_eq!(
        command_from_kv(&body).unwrap(),
        Command::multi(vec![Command::put("a", "1"), Command::incr("n", 2)])
    );
    let reply = Reply::Array(vec![Reply::ok(), Reply::Int(2)]);
    assert_eq!(
        outcome_from_kv(&body, &reply).unwrap(),
        Outcome::Multi(vec![Outcome::Done, Outcome::Counter(2)])
    );
    assert_eq!(
        outcome_from_kv(&body, &Reply::NullArray).unwrap(),
        Outcome::Aborted
    );
}

#[test]
fn a_command_over_several_keys_is_a_transaction_of_one_key_commands() {
    let del = Body::One(cmd(&["DEL", "a", "b"]));
    assert_eq!(
        command_from_kv(&del).unwrap(),
        Command::multi(vec![Command::delete("a"), Command::delete("b")])
    );
    assert_eq!(
        outcome_from_kv(&del, &Reply::Int(1)).unwrap(),
        Outcome::Multi(vec![Outcome::Done, Outcome::Done])
    );
    let mget = Body::One(cmd(&["MGET", "a", "b"]));
    let reply = Reply::Array(vec![Reply::Bulk(b("x")), Reply::Null]);
    assert_eq!(
        outcome_from_kv(&mget, &reply).unwrap(),
        Outcome::Multi(vec![Outcome::value("x"), Outcome::nil()])
    );
}

#[test]
fn set_with_ex_is_a_put_with_a_deadline_in_milliseconds() {
    let set = Body::One(cmd(&["SET", "k", "v", "EX", "10"]));
    assert_eq!(
        command_from_kv(&set).unwrap(),
        Command::put_px("k", "v", 10_000)
    );
    let nx = Body::One(cmd(&["SET", "k", "v", "NX"]));
    let err = command_from_kv(&nx).unwrap_err();
    assert!(err.contains("does not know"), "{err}");
}

#[test]
fn wrongtype_is_stated_and_any_other_error_is_refused_with_the_command_named() {
    let lpush = Body::One(cmd(&["LPUSH", "k", "a"]));
    let wrongtype = Reply::error(
        "WRONGTYPE",
        "Operation against a key holding the wrong kind of value",
    );
    assert_eq!(
        outcome_from_kv(&lpush, &wrongtype).unwrap(),
        Outcome::WrongType
    );
    let incr = Body::One(cmd(&["INCR", "k"]));
    let err = outcome_from_kv(&incr, &Reply::error("ERR", "value is not an integer")).unwrap_err();
    assert!(err.to_lowercase().contains("incr"), "{err}");
    let lrange = Body::One(cmd(&["LRANGE", "k", "0", "-1"]));
    assert!(command_from_kv(&lrange).is_err());
}

#[test]
fn a_history_recorded_in_the_stores_types_is_checked_and_a_split_transaction_refused() {
    let record = |half_seen: bool| {
        let mut h = HistoryBuilder::new();
        let body = exec(vec![cmd(&["SET", "a", "1"]), cmd(&["SET", "b", "1"])]);
        let t = h.invoke_kv(1, &body, 0).unwrap();
        let read_a = h.invoke_kv(2, &Body::One(cmd(&["GET", "a"])), 10).unwrap();
        h.complete_kv(read_a, &Reply::Bulk(b("1")), 20).unwrap();
        let read_b = h.invoke_kv(2, &Body::One(cmd(&["GET", "b"])), 30).unwrap();
        let b_seen = if half_seen {
            Reply::Null
        } else {
            Reply::Bulk(b("1"))
        };
        h.complete_kv(read_b, &b_seen, 40).unwrap();
        h.complete_kv(t, &Reply::Array(vec![Reply::ok(), Reply::ok()]), 100)
            .unwrap();
        h.build().unwrap().check()
    };
    assert_eq!(record(false), CheckResult::Linearizable);
    match record(true) {
        CheckResult::Violation(report) => assert_eq!(report.partition, "a+b"),
        other => panic!("half a transaction was seen, yet: {other:?}"),
    }
}

#[test]
fn a_reply_the_model_cannot_state_leaves_the_operation_without_a_return() {
    let mut h = HistoryBuilder::new();
    let id = h.invoke_kv(1, &Body::One(cmd(&["GET", "k"])), 0).unwrap();
    assert!(h.complete_kv(id, &Reply::Int(3), 5).is_err());
    let history = h.build().unwrap();
    assert_eq!(history.ops()[0].ret(), None);
}
