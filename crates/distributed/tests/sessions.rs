//! Client sessions over real connections (Raft dissertation §6.3): a connection is one session,
//! and a write the node refused without proposing it must not break the connection's later
//! writes.
//!
//! ```text
//!   conn: SET <4 KiB + 1> v  (client c, seq 1) ──► refused before proposing: -ERR …
//!         SET k small        (client c, seq 2) ──► kv: c has no session (seq 1 never applied)
//!                                                  ──► NOSESSION, nothing applied
//!         server resends it  (client c', seq 1) ──► +OK; later writes continue as c'
//! ```
//!
//! Before the fix every later write on such a connection answered NOSESSION, forever: a pooled
//! redis connection whose first write met an election (TRYAGAIN) was broken for good. The
//! kill -9 test found it once its clients retried TRYAGAIN on the same connection.

mod common;

use common::{bulk, Cluster, Conn};
use server::clients::resp::Frame;

#[test]
fn a_connection_whose_first_write_was_refused_unproposed_can_still_write() {
    let mut cluster = Cluster::start(1);
    let ok = Frame::Simple("OK".into());
    assert_eq!(cluster.call_until_answered(0, &["SET", "warm", "up"]), ok);
    let mut conn = Conn::connect(cluster.resp[0]).expect("connect");
    // kv key_bytes_max is 4 KiB: refused before it is proposed. (Not a large value: the
    // RESP parser takes bulks up to proto_max_bulk_len, which is also kv's value_bytes_max.)
    let too_long = "k".repeat((4 << 10) + 1);
    let refused = conn.call(&["SET", &too_long, "v"]).expect("a reply");
    assert!(matches!(&refused, Frame::Error(_)), "{refused}");
    assert_eq!(conn.call(&["SET", "k", "small"]), Ok(ok));
    assert_eq!(conn.call(&["INCR", "n"]), Ok(Frame::Integer(1)));
    assert_eq!(conn.call(&["GET", "k"]), Ok(bulk("small")));
}

#[test]
fn pipelined_writes_behind_a_refused_first_write_all_apply_exactly_once() {
    let mut cluster = Cluster::start(1);
    let ok = Frame::Simple("OK".into());
    assert_eq!(cluster.call_until_answered(0, &["SET", "warm", "up"]), ok);
    let mut conn = Conn::connect(cluster.resp[0]).expect("connect");
    let too_long = "k".repeat((4 << 10) + 1);
    let mut out = bytes::BytesMut::new();
    let commands: [&[&str]; 5] = [
        &["SET", &too_long, "v"],
        &["SET", "a", "1"],
        &["INCR", "n"],
        &["APPEND", "a", "2"],
        &["INCR", "n"],
    ];
    for words in commands {
        let frame = Frame::Array(words.iter().map(|w| Frame::bulk(w.to_string())).collect());
        server::clients::resp::encode(&frame, &mut out);
    }
    conn.send_raw(&out).expect("send the pipeline");
    let replies: Vec<Frame> = (0..5)
        .map(|_| conn.read_frame().expect("a reply"))
        .collect();
    assert!(matches!(&replies[0], Frame::Error(_)), "{}", replies[0]);
    assert_eq!(
        replies[1..],
        [ok, Frame::Integer(1), Frame::Integer(2), Frame::Integer(2)]
    );
    assert_eq!(conn.call(&["GET", "a"]), Ok(bulk("12")));
    assert_eq!(conn.call(&["GET", "n"]), Ok(bulk("2")));
}
