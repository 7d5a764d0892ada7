//! Expiry judged by the log's clock, SET's options, and MULTI/EXEC with WATCH, as seen through
//! `apply` and `read`.

mod common;

use common::{b, cmd, get, put, value, Log};
use kv::{Body, Command, KvError, Reply, Request};

fn exec(
    log: &mut Log,
    time_ms: u64,
    watched: &[&str],
    since: u64,
    commands: Vec<Command>,
) -> Reply {
    let request = Request {
        client_id: Request::NO_SESSION,
        seq: 0,
        time_ms,
        body: Body::Exec {
            watched: watched.iter().map(|k| b(k)).collect(),
            since,
            commands,
        },
    };
    log.commit(&request.encode())
}

#[test]
fn a_key_set_with_px_expires_at_the_first_entry_whose_log_time_reaches_it() {
    let mut log = Log::new();
    log.run_at(1_000, cmd(&["set", "k", "v", "PX", "500"]));
    assert_eq!(log.run_at(1_499, get("k")), value("v"));
    assert_eq!(
        log.run_at(1_500, get("k")),
        Reply::Null,
        "expires at its time"
    );
    assert_eq!(
        log.sm.read(&get("k"), 0),
        Reply::Null,
        "reads see the last entry's clock"
    );
}

#[test]
fn the_log_clock_never_goes_back_when_a_new_leader_stamps_an_older_time() {
    let mut log = Log::new();
    log.run_at(1_000, cmd(&["set", "k", "v", "PX", "100"]));
    log.run_at(2_000, Command::noop());
    // A leader whose clock is behind stamps 1_050: the key stays expired.
    assert_eq!(log.run_at(1_050, get("k")), Reply::Null);
    assert_eq!(log.sm.clock_ms(), 2_000);
}

#[test]
fn set_without_keepttl_clears_the_expiry_and_with_it_keeps_it() {
    let mut log = Log::new();
    log.run_at(0, cmd(&["set", "a", "1", "EX", "1"]));
    log.run_at(0, cmd(&["set", "b", "1", "EX", "1"]));
    log.run_at(10, put("a", "2"));
    log.run_at(10, cmd(&["set", "b", "2", "KEEPTTL"]));
    assert_eq!(log.run_at(5_000, get("a")), value("2"));
    assert_eq!(log.run_at(5_000, get("b")), Reply::Null);
}

#[test]
fn incr_and_append_keep_a_key_s_expiry() {
    let mut log = Log::new();
    log.run_at(0, cmd(&["set", "n", "1", "PX", "100"]));
    assert_eq!(log.run_at(10, common::incr("n", 1)), Reply::Int(2));
    assert_eq!(log.run_at(100, get("n")), Reply::Null);
}

#[test]
fn set_get_answers_the_old_value_and_nx_xx_answer_nil_when_they_skip() {
    let mut log = Log::new();
    assert_eq!(log.run(cmd(&["set", "k", "a", "GET"])), Reply::Null);
    assert_eq!(log.run(cmd(&["set", "k", "b", "GET"])), value("a"));
    assert_eq!(log.run(cmd(&["set", "k", "c", "NX"])), Reply::Null);
    assert_eq!(log.run(cmd(&["set", "k", "c", "NX", "GET"])), value("b"));
    assert_eq!(log.run(get("k")), value("b"));
    assert_eq!(log.run(cmd(&["set", "missing", "c", "XX"])), Reply::Null);
}

#[test]
fn set_refuses_conflicting_options_and_bad_expiry_times_and_changes_nothing() {
    let mut log = Log::new();
    for words in [
        &["set", "k", "v", "NX", "XX"][..],
        &["set", "k", "v", "EX", "1", "PX", "1"],
        &["set", "k", "v", "EX", "1", "KEEPTTL"],
        &["set", "k", "v", "EX"],
        &["set", "k", "v", "FROB"],
    ] {
        assert_eq!(
            log.run(cmd(words)),
            Reply::Error(KvError::Syntax),
            "{words:?}"
        );
    }
    let invalid = Reply::error("ERR", "invalid expire time in 'set' command");
    assert_eq!(log.run(cmd(&["set", "k", "v", "EX", "0"])), invalid);
    assert_eq!(log.run(cmd(&["set", "k", "v", "PX", "-5"])), invalid);
    assert!(log.sm.is_empty());
}

#[test]
fn a_transaction_applies_every_command_in_one_entry_and_answers_each() {
    let mut log = Log::new();
    let reply = exec(
        &mut log,
        0,
        &[],
        0,
        vec![put("a", "1"), common::incr("n", 5), get("a")],
    );
    assert_eq!(
        reply,
        Reply::Array(vec![Reply::ok(), Reply::Int(5), value("1")])
    );
    assert_eq!(log.sm.applied_index(), 1, "one log entry");
}

#[test]
fn an_error_inside_a_transaction_does_not_stop_the_commands_after_it() {
    // Redis: a command that fails at EXEC time fails alone; the others still run.
    let mut log = Log::new();
    log.run(put("s", "text"));
    let reply = exec(
        &mut log,
        0,
        &[],
        0,
        vec![common::incr("s", 1), put("a", "1")],
    );
    assert_eq!(
        reply,
        Reply::Array(vec![Reply::Error(KvError::NotAnInteger), Reply::ok()])
    );
    assert_eq!(log.run(get("a")), value("1"));
}

#[test]
fn watch_aborts_exec_if_a_watched_key_was_written_deleted_or_expired_since() {
    let mut log = Log::new();
    log.run(put("w", "1")); // index 1
    let since = 1;
    log.run(put("w", "2")); // index 2: written after the watch
    assert_eq!(
        exec(&mut log, 0, &["w"], since, vec![put("x", "1")]),
        Reply::NullArray
    );
    assert_eq!(log.run(get("x")), Reply::Null, "nothing ran");

    let since = log.sm.applied_index();
    log.run(Command::del(vec![b("w")]));
    assert_eq!(
        exec(&mut log, 0, &["w"], since, vec![put("x", "1")]),
        Reply::NullArray
    );

    log.run_at(0, cmd(&["set", "t", "v", "PX", "10"]));
    let since = log.sm.applied_index();
    assert_eq!(
        exec(&mut log, 10, &["t"], since, vec![put("x", "1")]),
        Reply::NullArray
    );
}

#[test]
fn watch_lets_exec_run_when_nothing_watched_changed() {
    let mut log = Log::new();
    log.run(put("w", "1"));
    log.run(put("other", "1"));
    let since = log.sm.applied_index();
    log.run(put("unrelated", "1"));
    let reply = exec(&mut log, 0, &["w", "never"], since, vec![put("x", "1")]);
    assert_eq!(reply, Reply::Array(vec![Reply::ok()]));
}

#[test]
fn distributed_index_reads_the_applied_index_a_watch_starts_from() {
    let mut log = Log::new();
    log.run(put("w", "1"));
    log.run(put("w", "2"));
    let index = log.sm.read(&cmd(&["distributed.index"]), 0);
    assert_eq!(index, Reply::Int(2));
}

#[test]
fn a_flush_fails_the_watch_of_a_key_it_removed_but_not_of_one_absent_all_along() {
    let mut log = Log::new();
    log.run(put("present", "1"));
    let since = log.sm.applied_index();
    log.run(cmd(&["flushall"]));
    let ping = || vec![cmd(&["distributed.noop"])];
    assert_eq!(
        exec(&mut log, 0, &["present"], since, ping()),
        Reply::NullArray
    );
    let ran = exec(&mut log, 0, &["absent"], since, ping());
    assert!(matches!(ran, Reply::Array(_)), "{ran:?}");
}

#[test]
fn smove_into_a_set_that_already_has_the_member_leaves_a_watch_on_it_intact() {
    // Redis' "SMOVE only notify dstset when the addition is successful": the destination is
    // unchanged, so it is not written and a WATCH on it still holds.
    let mut log = Log::new();
    log.cmd(&["sadd", "src", "a", "b"]);
    log.cmd(&["sadd", "dst", "a"]);
    let since = log.next_index - 1;
    assert_eq!(log.cmd(&["smove", "src", "dst", "a"]), Reply::Int(1));
    let ran = exec(
        &mut log,
        0,
        &["dst"],
        since,
        vec![cmd(&["sadd", "dst", "c"])],
    );
    assert_eq!(ran, Reply::Array(vec![Reply::Int(1)]));
    assert_eq!(log.cmd(&["scard", "dst"]), Reply::Int(2));
    assert_eq!(log.cmd(&["sismember", "src", "a"]), Reply::Int(0));
}
