//! No-op writes answered off the log by the leader (replica `noop.rs`, kv `exec/noop.rs`).

mod cluster;

use cluster::*;
use kv::{Command, Reply};
use replica::{Outcome, ReadPath};

fn cmd(words: &[&str]) -> Command {
    Command::from_words(words.iter().map(|w| b(w)).collect()).expect("a valid command")
}

#[test]
fn a_write_that_would_change_nothing_is_answered_without_a_log_entry() {
    let mut c = Cluster::new(3, 1);
    let leader = c.elect_any();
    c.call(leader, request(7, 1, cmd(&["sadd", "s", "a"])));
    let last = c.node(leader).raft().last_index();
    let again = c.call(leader, request(7, 2, cmd(&["sadd", "s", "a"])));
    assert_eq!(again, Outcome::Done(Reply::Int(0)));
    assert_eq!(
        c.node(leader).raft().last_index(),
        last,
        "no entry for a no-op"
    );
    assert_eq!(c.node(leader).noop_writes_answered(), 1);
    let absent = c.call(leader, request(7, 3, cmd(&["spop", "nosuch"])));
    assert_eq!(absent, Outcome::Done(Reply::Null));
    assert_eq!(c.node(leader).raft().last_index(), last);
}

#[test]
fn a_probed_write_that_changes_something_goes_through_the_log() {
    let mut c = Cluster::new(3, 2);
    let leader = c.elect_any();
    c.call(leader, request(7, 1, cmd(&["sadd", "s", "a"])));
    let last = c.node(leader).raft().last_index();
    let added = c.call(leader, request(7, 2, cmd(&["sadd", "s", "a", "b"])));
    assert_eq!(added, Outcome::Done(Reply::Int(1)));
    assert_eq!(c.node(leader).raft().last_index(), last + 1);
    assert_eq!(c.node(leader).noop_writes_answered(), 0);
}

#[test]
fn a_session_s_requests_sent_behind_a_probe_keep_the_session_s_order() {
    // SREM s a, then SADD s a, then SREM s a again, pipelined: whatever is probed, the final
    // state must be the last command's, and each reply the one of its place in the order.
    let mut c = Cluster::with(3, 3, |r| r.reads = ReadPath::ReadIndex);
    let leader = c.elect_any();
    c.call(leader, request(7, 1, cmd(&["sadd", "s", "a"])));
    let tags = [
        c.submit(leader, request(7, 2, cmd(&["sadd", "s", "a"]))), // a no-op: probed
        c.submit(leader, request(7, 3, cmd(&["srem", "s", "a"]))), // held behind the probe
        c.submit(leader, request(7, 4, cmd(&["sadd", "s", "a"]))), // held, then proposed
        c.submit(leader, request(7, 5, cmd(&["srem", "s", "zz"]))), // held, then a probe again?
    ];
    let replies: Vec<Outcome> = tags.iter().map(|t| c.wait_for(*t)).collect();
    let ints = |n: i64| Outcome::Done(Reply::Int(n));
    assert_eq!(replies, [ints(0), ints(1), ints(1), ints(0)]);
    let members = c.call(leader, request(0, 0, cmd(&["smembers", "s"])));
    assert_eq!(
        members,
        Outcome::Done(Reply::Set(vec![Reply::Bulk(b("a"))]))
    );
    assert!(c.node(leader).noop_writes_answered() >= 1);
}

#[test]
fn the_log_read_path_never_answers_writes_off_the_log() {
    let mut c = Cluster::with(3, 4, |r| r.reads = ReadPath::Log);
    let leader = c.elect_any();
    c.call(leader, request(7, 1, cmd(&["sadd", "s", "a"])));
    let last = c.node(leader).raft().last_index();
    c.call(leader, request(7, 2, cmd(&["sadd", "s", "a"])));
    assert_eq!(c.node(leader).raft().last_index(), last + 1);
}
