//! Blocking pops against a real 3-node cluster: a client parked on one node is woken by a
//! write on another, because every node applies every entry (server `clients/blocking.rs`).
//!
//! ```text
//!   follower f: BLPOP q 0 ──► LMPOP through the log: nil ──► parked on f (blocked_clients:1)
//!   another node: LPUSH q x ──► the log ──► f applies it ──► q holds a list: wake the oldest
//!   f: LMPOP again ──► [q, x] ──► the client gets BLPOP's reply: q x
//! ```
//!
//! No timed assertions: a client is known parked when INFO says so (polled, bounded), and a
//! reply is waited for with a bounded number of read timeouts; nothing depends on how fast.

mod common;

use common::{bulk, Cluster, Conn};
use server::clients::resp::{encode, Frame};

/// Reads that may time out while waiting for a parked client's reply, 2 s each.
const READS_MAX: usize = 30;

/// Send `words` without waiting for the reply (the client blocks).
fn send(conn: &mut Conn, words: &[&str]) {
    let request = Frame::Array(words.iter().map(|w| Frame::bulk(w.to_string())).collect());
    let mut out = bytes::BytesMut::new();
    encode(&request, &mut out);
    conn.send_raw(&out).expect("send");
}

/// The next reply, waiting through read timeouts (bounded).
fn reply(conn: &mut Conn) -> Frame {
    let mut last = String::new();
    for _ in 0..READS_MAX {
        match conn.read_frame() {
            Ok(frame) => return frame,
            Err(e) if e.starts_with("read:") => last = e,
            Err(e) => panic!("no reply: {e}"),
        }
    }
    panic!("no reply after {READS_MAX} read timeouts: {last}");
}

/// Wait until node i's INFO says `blocked_clients:n`.
fn blocked_clients(cluster: &mut Cluster, i: usize, n: usize) {
    let line = format!("blocked_clients:{n}\r\n");
    cluster.eventually(
        i,
        &["INFO"],
        |f| matches!(f, Frame::Bulk(b) if String::from_utf8_lossy(b).contains(&line)),
    );
}

fn popped(key: &str, element: &str) -> Frame {
    Frame::Array(vec![bulk(key), bulk(element)])
}

/// A cluster with a leader, and the index of one follower, both serving.
fn cluster_and_follower() -> (Cluster, usize, usize) {
    let mut cluster = Cluster::start(3);
    let leader = cluster.leader();
    let follower = (leader + 1) % 3;
    cluster.call_until_answered(leader, &["SET", "warm", "up"]);
    cluster.call_until_answered(follower, &["GET", "warm"]);
    (cluster, leader, follower)
}

#[test]
fn a_blpop_parked_on_a_follower_is_woken_by_an_lpush_on_another_node() {
    let (mut cluster, leader, follower) = cluster_and_follower();
    let mut waiter = Conn::connect(cluster.resp[follower]).expect("connect");
    send(&mut waiter, &["BLPOP", "q", "other", "0"]);
    blocked_clients(&mut cluster, follower, 1);
    let third = 3 - leader - follower;
    assert_eq!(
        cluster.call_until_answered(third, &["LPUSH", "q", "x"]),
        Frame::Integer(1)
    );
    assert_eq!(reply(&mut waiter), popped("q", "x"));
    assert_eq!(
        cluster.call_until_answered(leader, &["EXISTS", "q"]),
        Frame::Integer(0),
        "the pop went through the log"
    );
    blocked_clients(&mut cluster, follower, 0);
    // The connection goes on as usual after its blocking command.
    assert_eq!(waiter.call(&["GET", "warm"]), Ok(bulk("up")));
}

#[test]
fn a_timeout_answers_nil_in_the_shape_of_each_command_and_multi_never_blocks() {
    let (cluster, _, follower) = cluster_and_follower();
    let mut c = Conn::connect(cluster.resp[follower]).expect("connect");
    send(&mut c, &["BLPOP", "none", "0.05"]);
    assert_eq!(reply(&mut c), Frame::NullArray);
    send(&mut c, &["BLMOVE", "none", "dst", "LEFT", "RIGHT", "0.05"]);
    assert_eq!(reply(&mut c), Frame::Null);
    send(&mut c, &["BZPOPMIN", "none", "0.05"]);
    assert_eq!(reply(&mut c), Frame::NullArray);
    assert_eq!(
        c.call(&["BLPOP", "none", "-1"]),
        Ok(Frame::Error("ERR timeout is negative".into()))
    );
    // Inside MULTI a blocking command is its non-blocking form: nil at once, whatever the
    // timeout; an element in BLPOP's own shape.
    assert_eq!(c.call(&["RPUSH", "l", "a"]), Ok(Frame::Integer(1)));
    assert_eq!(c.call(&["MULTI"]), Ok(Frame::Simple("OK".into())));
    for words in [&["BLPOP", "none", "0"][..], &["BRPOP", "none", "l", "0"]] {
        assert_eq!(c.call(words), Ok(Frame::Simple("QUEUED".into())));
    }
    assert_eq!(
        c.call(&["EXEC"]),
        Ok(Frame::Array(vec![Frame::NullArray, popped("l", "a")]))
    );
}

#[test]
fn two_clients_parked_on_one_key_are_served_oldest_first() {
    let (mut cluster, leader, follower) = cluster_and_follower();
    let mut first = Conn::connect(cluster.resp[follower]).expect("connect");
    let mut second = Conn::connect(cluster.resp[follower]).expect("connect");
    send(&mut first, &["BRPOP", "q", "0"]);
    blocked_clients(&mut cluster, follower, 1);
    send(&mut second, &["BRPOP", "q", "0"]);
    blocked_clients(&mut cluster, follower, 2);
    cluster.call_until_answered(leader, &["RPUSH", "q", "one"]);
    assert_eq!(reply(&mut first), popped("q", "one"));
    blocked_clients(&mut cluster, follower, 1);
    cluster.call_until_answered(leader, &["RPUSH", "q", "two"]);
    assert_eq!(reply(&mut second), popped("q", "two"));
}

#[test]
fn a_client_that_disconnects_while_parked_is_forgotten_and_unblock_ends_a_wait() {
    let (mut cluster, leader, follower) = cluster_and_follower();
    let mut gone = Conn::connect(cluster.resp[follower]).expect("connect");
    send(&mut gone, &["BLPOP", "q", "0"]);
    blocked_clients(&mut cluster, follower, 1);
    drop(gone);
    blocked_clients(&mut cluster, follower, 0);
    cluster.call_until_answered(leader, &["RPUSH", "q", "kept"]);
    assert_eq!(
        cluster.call_until_answered(follower, &["LRANGE", "q", "0", "-1"]),
        Frame::Array(vec![bulk("kept")]),
        "nobody took the element"
    );

    let mut waiter = Conn::connect(cluster.resp[follower]).expect("connect");
    let Ok(Frame::Integer(id)) = waiter.call(&["CLIENT", "ID"]) else {
        panic!("CLIENT ID answers an integer");
    };
    send(&mut waiter, &["BZPOPMAX", "z", "0"]);
    blocked_clients(&mut cluster, follower, 1);
    let list = cluster.call_until_answered(follower, &["CLIENT", "LIST"]);
    let flagged = format!("id={id} ");
    assert!(
        matches!(&list, Frame::Bulk(b) if String::from_utf8_lossy(b).lines()
            .any(|l| l.starts_with(&flagged) && l.contains(" flags=b "))),
        "{list}"
    );
    let id = id.to_string();
    assert_eq!(
        cluster.call_until_answered(follower, &["CLIENT", "UNBLOCK", &id, "ERROR"]),
        Frame::Integer(1)
    );
    assert_eq!(
        reply(&mut waiter),
        Frame::Error("UNBLOCKED client unblocked via CLIENT UNBLOCK".into())
    );
    assert_eq!(
        cluster.call_until_answered(follower, &["CLIENT", "UNBLOCK", &id]),
        Frame::Integer(0),
        "no longer blocked"
    );
}
