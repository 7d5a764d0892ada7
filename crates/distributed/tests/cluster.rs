//! A real three-node cluster on loopback, as a user runs it: `distributed node` processes,
//! RESP over TCP, a kill -9, a restart from the WAL.
//!
//! ```text
//!   spawn n1 n2 n3 ──► SET k v via n1 (forwarded if n1 follows) ──► GET k on every node
//!   kill -9 n3 ──► SET k2 v2 still commits (2 of 3) ──► restart n3 on the same data dir
//!   ──► n3 replays its WAL and catches up: INFO on n3 shows keys:2, GET k2 on n3 answers v2
//! ```
//!
//! No timed assertions: every wait is a bounded number of attempts with a sleep between, and
//! the guard kills every child even when an assertion fails (harness in `common/`).

mod common;

use std::process::Command;

use common::{bulk, Cluster};
use server::clients::resp::Frame;

#[test]
fn a_three_node_cluster_replicates_survives_a_kill_and_a_restarted_node_catches_up() {
    let mut cluster = Cluster::start(3);
    let ok = Frame::Simple("OK".into());
    assert_eq!(cluster.call_until_answered(0, &["SET", "k", "v"]), ok);
    for i in 0..3 {
        assert_eq!(
            cluster.call_until_answered(i, &["GET", "k"]),
            bulk("v"),
            "GET on n{}",
            i + 1
        );
    }

    // Raft §5.3: with n3 gone, n1 and n2 are still a majority.
    cluster.kill(2);
    assert_eq!(cluster.call_until_answered(0, &["SET", "k2", "v2"]), ok);
    assert_eq!(cluster.call_until_answered(1, &["GET", "k2"]), bulk("v2"));

    // n3 restarts from its WAL and learns k2 from the leader.
    cluster.restart(2);
    cluster.eventually(
        2,
        &["INFO"],
        |f| matches!(f, Frame::Bulk(b) if String::from_utf8_lossy(b).contains("keys:2\r\n")),
    );
    assert_eq!(cluster.call_until_answered(2, &["GET", "k2"]), bulk("v2"));
    assert_eq!(
        cluster.call_until_answered(2, &["INCR", "n"]),
        Frame::Integer(1)
    );
}

#[test]
fn garbage_on_the_peer_port_closes_that_connection_and_the_node_keeps_serving() {
    use std::io::Write;
    let mut cluster = Cluster::start(1);
    let ok = Frame::Simple("OK".into());
    assert_eq!(
        cluster.call_until_answered(0, &["SET", "a", "0"]),
        ok,
        "the node is up"
    );
    let mut stranger =
        std::net::TcpStream::connect(("127.0.0.1", cluster.peer[0])).expect("connect to peer port");
    stranger
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .expect("write garbage");
    assert_eq!(
        cluster.call_until_answered(0, &["SET", "a", "1"]),
        Frame::Simple("OK".into())
    );
    assert_eq!(cluster.call_until_answered(0, &["GET", "a"]), bulk("1"));
}

#[test]
fn distributed_kv_pointed_at_the_peer_port_fails_with_a_clear_error() {
    let mut cluster = Cluster::start(1);
    cluster.call_until_answered(0, &["INFO"]);
    let addr = format!("127.0.0.1:{}", cluster.peer[0]);
    let out = Command::new(env!("CARGO_BIN_EXE_distributed"))
        .args(["kv", "--addr", &addr, "get", "k"])
        .output()
        .expect("run distributed kv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&addr), "{err}");
    assert!(err.contains("is it a node's client (RESP) port"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_node_whose_stderr_is_not_a_terminal_logs_without_colour_codes() {
    // The harness sends each node's stderr to a file, as a service manager or a pipe would.
    let mut cluster = Cluster::start(1);
    assert_eq!(
        cluster.call_until_answered(0, &["SET", "k", "v"]),
        Frame::Simple("OK".into())
    );
    let log = std::fs::read_to_string(cluster.log_path(0)).expect("read the node's log");
    assert!(log.contains("serving RESP on"), "the node logged: {log}");
    assert!(
        !log.contains("\x1b["),
        "colour codes in a log that is not a terminal: {log:?}"
    );
}

#[test]
fn a_bad_node_config_is_a_clear_error_with_exit_code_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--id", "4", "--peers", "1=127.0.0.1:1"],
            "--id 4 is not one of --peers",
        ),
        (&["--id", "1", "--peers", "1=localhost:1"], "not an IP:PORT"),
        (
            &["--id", "1", "--peers", "1=127.0.0.1:1", "--tick-ms", "0"],
            "--tick-ms 0",
        ),
    ];
    for (args, needle) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_distributed"))
            .args([
                "node",
                "--listen",
                "127.0.0.1:1",
                "--peer-listen",
                "127.0.0.1:2",
            ])
            .args(["--data-dir", "/nonexistent"])
            .args(*args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

/// A write that reaches a node while no leader is known waits for the election (bounded by
/// five election timeouts) instead of failing with TRYAGAIN at once (`node/awaiting_leader.rs`).
#[test]
fn a_write_sent_while_no_leader_is_known_waits_for_the_election_instead_of_failing() {
    use std::io::{BufRead, BufReader, Write};
    use std::time::Duration;

    // 50 ms ticks: the wait (5 × the longest election timeout, 20 ticks) is 5 s, far longer
    // than starting a second node and electing a leader takes.
    let mut cluster = Cluster::down(3);
    cluster.extra_args = vec!["--tick-ms".into(), "50".into()];
    cluster.restart(0); // n1 alone: no quorum, so no leader
    let port = cluster.resp[0];
    let write = std::thread::spawn(move || {
        // n1 may not listen yet: retry the connection (bounded), then send the write once.
        let connect = |_| {
            let s = std::net::TcpStream::connect(("127.0.0.1", port)).ok();
            if s.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            s
        };
        let mut s = (0..common::ATTEMPTS_MAX)
            .find_map(connect)
            .expect("n1 listens");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
            .unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).expect("a reply");
        line
    });
    let parked = |f: &Frame| matches!(f, Frame::Bulk(b) if String::from_utf8_lossy(b).contains("awaiting_leader:1\r\n"));
    cluster.eventually(0, &["INFO"], parked);
    cluster.restart(1); // n1 and n2 are a quorum: they elect a leader, and the write goes on
    assert_eq!(write.join().expect("the client thread"), "+OK\r\n");
    assert_eq!(cluster.call_until_answered(1, &["GET", "k"]), bulk("v"));
}

#[test]
fn a_write_that_changes_nothing_is_answered_by_the_leader_without_a_log_entry() {
    // replica noop.rs: SADD of a member already there, on one connection (one session whose
    // first write opened it), costs no log entry; INFO counts it.
    let mut cluster = Cluster::start(3);
    let leader = cluster.leader();
    let mut conn = common::resp::Conn::connect(cluster.resp[leader]).expect("connect");
    assert_eq!(conn.call(&["SADD", "s", "a"]), Ok(Frame::Integer(1)));
    let last_index = |c: &mut Cluster| {
        let Frame::Bulk(info) = c.call_until_answered(leader, &["INFO"]) else {
            panic!("INFO is a bulk string")
        };
        let info = String::from_utf8_lossy(&info).to_string();
        let field = |name: &str| -> u64 {
            let line = info
                .lines()
                .find(|l| l.starts_with(name))
                .expect("the field");
            line[name.len()..].parse().expect("a number")
        };
        (field("last_index:"), field("noop_writes_answered:"))
    };
    let (before, noops_before) = last_index(&mut cluster);
    assert_eq!(conn.call(&["SADD", "s", "a"]), Ok(Frame::Integer(0)));
    assert_eq!(conn.call(&["SPOP", "nosuch"]), Ok(Frame::Null));
    let (after, noops_after) = last_index(&mut cluster);
    assert_eq!(noops_after, noops_before + 2, "both answered off the log");
    assert_eq!(after, before, "no entry appended for them");
    assert_eq!(conn.call(&["SADD", "s", "b"]), Ok(Frame::Integer(1)));
}
