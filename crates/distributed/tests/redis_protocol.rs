//! Redis' connection-level features against a real 3-node cluster, spoken byte for byte with
//! the server's own codec: transactions (one log entry each), pub/sub across nodes, and the
//! RESP3 handshake with the introspection commands.
//!
//! ```text
//!   MULTI … EXEC        queued on the connection ──► one Body::Exec entry ──► every replica
//!   PUBLISH on node i   ──► the log ──► each node delivers what it applies to its subscribers
//!   HELLO 3             ──► maps, sets, doubles, nulls from here on; CLIENT, CONFIG, COMMAND
//! ```
//!
//! The unit tests (server `clients/transaction.rs`, `pubsub.rs`, `command.rs`) check each
//! piece; these check that the pieces hold together through the log and over sockets, on the
//! leader and on followers.

mod common;

use common::{bulk, Cluster, Conn};
use server::clients::resp::Frame;

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn queued() -> Frame {
    Frame::Simple("QUEUED".into())
}

fn call(conn: &mut Conn, words: &[&str]) -> Frame {
    conn.call(words)
        .unwrap_or_else(|e| panic!("{words:?}: {e}"))
}

/// Node i's connection, once the cluster serves reads there.
fn connect_ready(cluster: &mut Cluster, i: usize) -> Conn {
    cluster.call_until_answered(i, &["GET", "warm"]);
    Conn::connect(cluster.resp[i]).expect("connect")
}

fn error_starting(frame: &Frame, prefix: &str) -> bool {
    matches!(frame, Frame::Error(e) if e.starts_with(prefix))
}

#[test]
fn a_multi_whose_exec_fails_applies_nothing_on_any_node() {
    let mut cluster = Cluster::start(3);
    let leader = cluster.leader();
    cluster.call_until_answered(leader, &["SET", "warm", "up"]);
    let follower = (leader + 1) % 3;
    let mut c = connect_ready(&mut cluster, follower);
    assert_eq!(call(&mut c, &["SET", "k", "before"]), ok());

    // A command refused while queueing aborts the transaction: EXECABORT, nothing applied.
    assert_eq!(call(&mut c, &["MULTI"]), ok());
    assert_eq!(call(&mut c, &["SET", "k", "queued"]), queued());
    assert_eq!(call(&mut c, &["INCR", "n"]), queued());
    assert!(call(&mut c, &["NO-SUCH-COMMAND"]).is_error());
    assert!(call(&mut c, &["GET"]).is_error(), "wrong arity");
    let exec = call(&mut c, &["EXEC"]);
    assert!(error_starting(&exec, "EXECABORT"), "{exec}");

    // A watched key written by another client between WATCH and EXEC: a nil array, and the
    // state machine (not this node) decided it, so no replica applied the queued write.
    assert_eq!(call(&mut c, &["WATCH", "w"]), ok());
    cluster.call_until_answered(leader, &["SET", "w", "changed"]);
    assert_eq!(call(&mut c, &["MULTI"]), ok());
    assert_eq!(call(&mut c, &["SET", "target", "queued"]), queued());
    assert_eq!(call(&mut c, &["EXEC"]), Frame::NullArray);

    // DISCARD drops the queue.
    assert_eq!(call(&mut c, &["MULTI"]), ok());
    assert_eq!(call(&mut c, &["SET", "k", "discarded"]), queued());
    assert_eq!(call(&mut c, &["DISCARD"]), ok());
    assert!(error_starting(
        &call(&mut c, &["EXEC"]),
        "ERR EXEC without MULTI"
    ));

    // A barrier write, then every node agrees that none of the above applied.
    cluster.call_until_answered(leader, &["SET", "barrier", "1"]);
    for node in 0..3 {
        cluster.eventually(node, &["GET", "barrier"], |f| *f == bulk("1"));
        assert_eq!(
            cluster.call_until_answered(node, &["GET", "k"]),
            bulk("before")
        );
        assert_eq!(
            cluster.call_until_answered(node, &["GET", "n"]),
            Frame::Null
        );
        assert_eq!(
            cluster.call_until_answered(node, &["GET", "target"]),
            Frame::Null
        );
    }
}

#[test]
fn exec_runs_its_commands_at_one_index_and_reports_each_error_in_its_place() {
    let mut cluster = Cluster::start(3);
    let leader = cluster.leader();
    cluster.call_until_answered(leader, &["SET", "warm", "up"]);
    let mut c = connect_ready(&mut cluster, (leader + 2) % 3);
    assert_eq!(call(&mut c, &["SET", "s", "abc"]), ok());
    assert_eq!(call(&mut c, &["WATCH", "s"]), ok());
    assert_eq!(call(&mut c, &["MULTI"]), ok());
    for words in [
        &["INCR", "s"][..],
        &["SET", "t", "1"],
        &["LPUSH", "s", "x"],
        &["PING"],
        &["GET", "t"],
    ] {
        assert_eq!(call(&mut c, words), queued(), "{words:?}");
    }
    let Frame::Array(replies) = call(&mut c, &["EXEC"]) else {
        panic!("EXEC answers an array");
    };
    assert_eq!(replies.len(), 5, "{replies:?}");
    assert!(error_starting(&replies[0], "ERR value is not an integer"));
    assert_eq!(replies[1], ok());
    assert!(error_starting(&replies[2], "WRONGTYPE"));
    assert_eq!(replies[3], Frame::Simple("PONG".into()));
    assert_eq!(
        replies[4],
        bulk("1"),
        "a read in EXEC sees the write before it"
    );
    assert!(error_starting(
        &call(&mut c, &["EVAL", "return 1", "0"]),
        "ERR 'eval' is not supported"
    ));
}

/// The messages `conn` receives next, as (channel, message) pairs.
fn messages(conn: &mut Conn, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|_| match conn.read_frame().expect("a message") {
            Frame::Array(items) | Frame::Push(items) => {
                let text: Vec<String> = items
                    .iter()
                    .map(|f| match f {
                        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                        other => format!("{other}"),
                    })
                    .collect();
                let last = text.len() - 1;
                (text[last - 1].clone(), text[last].clone())
            }
            other => panic!("not a message: {other}"),
        })
        .collect()
}

#[test]
fn a_message_published_on_any_node_reaches_subscribers_on_every_node_in_log_order() {
    let mut cluster = Cluster::start(3);
    let leader = cluster.leader();
    cluster.call_until_answered(leader, &["SET", "warm", "up"]);
    let mut subscribers = Vec::new();
    for node in 0..3 {
        let mut s = connect_ready(&mut cluster, node);
        let confirm = call(&mut s, &["SUBSCRIBE", "news"]);
        assert_eq!(
            confirm,
            Frame::Array(vec![bulk("subscribe"), bulk("news"), Frame::Integer(1)])
        );
        subscribers.push(s);
    }
    let mut by_pattern = connect_ready(&mut cluster, (leader + 1) % 3);
    assert!(!call(&mut by_pattern, &["HELLO", "3"]).is_error());
    let confirm = call(&mut by_pattern, &["PSUBSCRIBE", "n*"]);
    assert_eq!(
        confirm,
        Frame::Push(vec![bulk("psubscribe"), bulk("n*"), Frame::Integer(1)])
    );
    // RESP2 subscribed mode takes only the subscribe family; RESP3 takes everything.
    let refused = call(&mut subscribers[0], &["GET", "k"]);
    assert!(
        error_starting(&refused, "ERR Can't execute 'get'"),
        "{refused}"
    );
    assert_eq!(call(&mut by_pattern, &["GET", "warm"]), bulk("up"));

    for node in 0..3 {
        let receivers =
            cluster.call_until_answered(node, &["PUBLISH", "news", &format!("m{node}")]);
        // The publisher's node counts its own subscribers (Redis Cluster's rule).
        let local = if node == (leader + 1) % 3 { 2 } else { 1 };
        assert_eq!(receivers, Frame::Integer(local), "PUBLISH on n{}", node + 1);
    }
    let expected: Vec<(String, String)> = (0..3)
        .map(|n| ("news".to_string(), format!("m{n}")))
        .collect();
    for s in &mut subscribers {
        assert_eq!(messages(s, 3), expected);
    }
    assert_eq!(messages(&mut by_pattern, 3), expected);

    let numsub = cluster.call_until_answered(leader, &["PUBSUB", "NUMSUB", "news", "none"]);
    assert_eq!(
        numsub,
        Frame::Array(vec![
            bulk("news"),
            Frame::Integer(1),
            bulk("none"),
            Frame::Integer(0)
        ])
    );
    let confirm = call(&mut subscribers[0], &["UNSUBSCRIBE"]);
    assert_eq!(
        confirm,
        Frame::Array(vec![bulk("unsubscribe"), bulk("news"), Frame::Integer(0)])
    );
    assert_eq!(
        call(&mut subscribers[0], &["GET", "warm"]),
        bulk("up"),
        "subscribed mode left"
    );
}

#[test]
fn hello_3_switches_to_resp3_replies_and_client_config_and_command_tell_the_truth() {
    let mut cluster = Cluster::start(3);
    let leader = cluster.leader();
    cluster.call_until_answered(leader, &["SET", "warm", "up"]);
    let mut c = connect_ready(&mut cluster, leader);
    let Frame::Map(hello) = call(&mut c, &["HELLO", "3", "SETNAME", "probe"]) else {
        panic!("HELLO 3 answers a map");
    };
    let field = |name: &str| {
        hello
            .iter()
            .find(|(k, _)| *k == bulk(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("HELLO has no {name}"))
    };
    assert_eq!(field("proto"), Frame::Integer(3));
    let id = field("id");
    assert_eq!(call(&mut c, &["CLIENT", "ID"]), id);
    assert_eq!(call(&mut c, &["CLIENT", "GETNAME"]), bulk("probe"));

    call(&mut c, &["HSET", "h", "f", "v"]);
    assert_eq!(
        call(&mut c, &["HGETALL", "h"]),
        Frame::Map(vec![(bulk("f"), bulk("v"))])
    );
    call(&mut c, &["SADD", "s", "m"]);
    assert_eq!(
        call(&mut c, &["SMEMBERS", "s"]),
        Frame::Set(vec![bulk("m")])
    );
    call(&mut c, &["ZADD", "z", "1.5", "a"]);
    assert_eq!(
        call(&mut c, &["ZSCORE", "z", "a"]),
        Frame::Double(bytes::Bytes::from_static(b"1.5"))
    );
    assert_eq!(call(&mut c, &["GET", "absent"]), Frame::Null);

    let Frame::Bulk(list) = call(&mut c, &["CLIENT", "LIST"]) else {
        panic!("CLIENT LIST answers a bulk string");
    };
    let list = String::from_utf8_lossy(&list).into_owned();
    let mine = list
        .lines()
        .find(|l| l.contains(" name=probe "))
        .unwrap_or_else(|| panic!("CLIENT LIST lacks this connection: {list}"));
    assert!(
        mine.contains(" resp=3 ") && mine.contains(" cmd=client"),
        "{mine}"
    );
    let Frame::Integer(n) = id else {
        panic!("HELLO's id is an integer: {id}");
    };
    assert!(mine.starts_with(&format!("id={n} ")), "{mine}");

    let Frame::Map(config) = call(&mut c, &["CONFIG", "GET", "proto-max-bulk-len"]) else {
        panic!("CONFIG GET answers a map in RESP3");
    };
    assert_eq!(
        config,
        vec![(bulk("proto-max-bulk-len"), bulk("536870912"))]
    );
    let Frame::Integer(count) = call(&mut c, &["COMMAND", "COUNT"]) else {
        panic!("COMMAND COUNT answers an integer");
    };
    assert_eq!(count as usize, server::clients::table::rows().len());
    let Frame::Array(info) = call(&mut c, &["COMMAND", "INFO", "get", "multi", "nope"]) else {
        panic!("COMMAND INFO answers an array");
    };
    assert_eq!(info.len(), 3);
    assert_eq!(info[2], Frame::Null, "an unknown name is nil");

    // HELLO 2 switches back: maps are flattened again.
    assert!(matches!(call(&mut c, &["HELLO", "2"]), Frame::Array(_)));
    assert_eq!(
        call(&mut c, &["HGETALL", "h"]),
        Frame::Array(vec![bulk("f"), bulk("v")])
    );
    assert_eq!(call(&mut c, &["GET", "absent"]), Frame::Null);
}
