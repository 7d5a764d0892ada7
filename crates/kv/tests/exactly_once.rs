//! Exactly-once: retries, stale requests, sessions and their bound (Raft dissertation §6.3).

mod common;

use common::{b, get, incr, put, value, Log};
use kv::{Command, Config, KvError, Reply};

#[test]
fn a_retried_write_returns_the_cached_reply_and_is_not_applied_twice() {
    // Raft dissertation §6.3: the retry commits as a second entry; only the first applies.
    let mut log = Log::new();
    assert_eq!(log.request(7, 1, incr("n", 5)), Reply::Int(5));
    assert_eq!(log.request(7, 1, incr("n", 5)), Reply::Int(5));
    assert_eq!(log.run(get("n")), value("5"));
}

#[test]
fn a_retry_gets_the_original_reply_even_after_other_clients_changed_the_key() {
    let mut log = Log::new();
    log.request(7, 1, Command::cas(b("k"), None, b("mine")));
    log.request(8, 1, put("k", "theirs"));
    let retry = log.request(7, 1, Command::cas(b("k"), None, b("mine")));
    assert_eq!(retry, common::cas_reply(true, Some("mine")));
    assert_eq!(log.run(get("k")), value("theirs"));
}

#[test]
fn an_older_seq_is_refused_as_stale_without_applying() {
    let mut log = Log::new();
    log.request(7, 1, incr("n", 1));
    log.request(7, 2, incr("n", 1));
    let reply = log.request(7, 1, incr("n", 1));
    assert_eq!(
        reply,
        Reply::Error(KvError::Stale {
            client_id: 7,
            seq: 1,
            last_seq: 2
        })
    );
    assert_eq!(log.run(get("n")), value("2"));
}

#[test]
fn a_newer_seq_applies_and_replaces_the_cached_reply() {
    let mut log = Log::new();
    log.request(7, 1, incr("n", 1));
    assert_eq!(log.request(7, 2, incr("n", 10)), Reply::Int(11));
    assert_eq!(log.request(7, 2, incr("n", 10)), Reply::Int(11));
}

#[test]
fn sequence_numbers_may_skip_ahead() {
    let mut log = Log::new();
    log.request(7, 1, incr("n", 1));
    assert_eq!(log.request(7, 9, incr("n", 1)), Reply::Int(2));
    assert!(log.request(7, 5, incr("n", 1)).is_error());
}

#[test]
fn client_zero_is_never_deduplicated() {
    let mut log = Log::new();
    log.request(0, 1, incr("n", 1));
    log.request(0, 1, incr("n", 1));
    assert_eq!(log.run(get("n")), value("2"));
    assert_eq!(log.sm.sessions_len(), 0);
}

#[test]
fn a_client_without_a_session_must_start_at_seq_one() {
    let mut log = Log::new();
    let reply = log.request(7, 4, incr("n", 1));
    assert_eq!(
        reply,
        Reply::Error(KvError::SessionUnknown {
            client_id: 7,
            seq: 4
        })
    );
    assert!(log.sm.is_empty());
    assert_eq!(log.request(7, 1, incr("n", 1)), Reply::Int(1));
}

#[test]
fn an_error_reply_is_cached_like_any_other_reply() {
    let mut log = Log::new();
    log.run(put("n", "not a number"));
    assert_eq!(
        log.request(7, 1, incr("n", 1)),
        Reply::Error(KvError::NotAnInteger)
    );
    log.run(put("n", "10"));
    assert_eq!(
        log.request(7, 1, incr("n", 1)),
        Reply::Error(KvError::NotAnInteger)
    );
    assert_eq!(log.run(get("n")), value("10"));
}

#[test]
fn a_retried_read_through_the_log_reads_again_instead_of_replaying() {
    let mut log = Log::new();
    log.run(put("k", "v1"));
    assert_eq!(log.request(7, 1, get("k")), value("v1"));
    log.run(put("k", "v2"));
    assert_eq!(log.request(7, 1, get("k")), value("v2"));
    assert_eq!(log.request(7, 2, incr("n", 1)), Reply::Int(1));
}

#[test]
fn the_table_never_holds_more_than_sessions_max_clients() {
    let mut log = Log::with(Config {
        sessions_max: 3,
        ..Config::default()
    });
    for client in 1..=10 {
        log.request(client, 1, incr("n", 1));
        assert!(log.sm.sessions_len() <= 3);
    }
    assert_eq!(log.sm.sessions_len(), 3);
}

#[test]
fn an_evicted_client_is_refused_rather_than_applied_twice() {
    let mut log = Log::with(Config {
        sessions_max: 2,
        ..Config::default()
    });
    log.request(1, 1, incr("n", 1));
    log.request(1, 2, incr("n", 1));
    log.request(2, 1, incr("m", 1));
    log.request(3, 1, incr("m", 1)); // evicts client 1, the least recently applied
    let retry = log.request(1, 2, incr("n", 1));
    assert_eq!(
        retry,
        Reply::Error(KvError::SessionUnknown {
            client_id: 1,
            seq: 2
        })
    );
    assert_eq!(log.run(get("n")), value("2"));
}

#[test]
fn a_replayed_duplicate_keeps_its_client_from_being_evicted() {
    let mut log = Log::with(Config {
        sessions_max: 2,
        ..Config::default()
    });
    log.request(1, 1, incr("n", 1));
    log.request(2, 1, incr("n", 1));
    log.request(1, 1, incr("n", 1)); // a retry: client 1 is now the most recent
    log.request(3, 1, incr("n", 1)); // so client 2 is evicted
    assert_eq!(log.request(1, 1, incr("n", 1)), Reply::Int(1));
    assert!(log.request(2, 2, incr("n", 1)).is_error());
}

#[test]
fn stale_and_unknown_session_refusals_still_advance_the_applied_index() {
    let mut log = Log::new();
    log.request(7, 2, incr("n", 1));
    assert_eq!(log.sm.applied_index(), 1);
}
