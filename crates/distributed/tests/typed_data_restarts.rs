//! Every value type and TTLs survive `kill -9` of the whole cluster, restarts from snapshot
//! files, and a wiped node's catch-up by InstallSnapshot (issue 14: "kill -9 and snapshot tests
//! still pass with every type and TTLs in the data").
//!
//! ```text
//!   leader: HSET / RPUSH / SADD / ZADD / SET+PEXPIRE (10 min) / SET PX 1 (gone at once)
//!           + 120 INCRs so every node snapshots (every 20 entries) and compacts
//!   kill -9 n1 n2 n3 together ──► restart all ──► each node's own state (READONLY reads)
//!   answers what the leader answers, the long TTL still runs, the short one is gone
//!   wipe one follower ──► InstallSnapshot carries every type and deadline ──► same answers
//! ```

mod common;

use common::{Cluster, Conn, ATTEMPTS_MAX};
use server::clients::resp::Frame;
use std::thread::sleep;
use std::time::Duration;

/// The reads whose answers every node must agree on, typed values and TTL state together.
const READS: &[&[&str]] = &[
    &["HGETALL", "h"],
    &["LRANGE", "l", "0", "-1"],
    &["SMEMBERS", "s"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["GET", "n"],
    &["TYPE", "h"],
    &["TYPE", "z"],
    &["EXISTS", "short"],
    &["EXPIRETIME", "long"],
    &["EXPIRETIME", "h"],
];

fn local_reads(port: u16) -> Result<Vec<Frame>, String> {
    let mut conn = Conn::connect(port)?;
    conn.call(&["READONLY"])?;
    READS.iter().map(|words| conn.call(words)).collect()
}

/// Poll until node i's own state machine answers `expected` to every read; bounded.
fn eventually_agrees(cluster: &mut Cluster, i: usize, expected: &[Frame]) {
    let mut last = String::new();
    for _ in 0..ATTEMPTS_MAX {
        cluster.assert_running(i);
        match local_reads(cluster.resp[i]) {
            Ok(frames) if frames == expected => return,
            Ok(frames) => last = format!("{frames:?}"),
            Err(e) => last = e,
        }
        sleep(Duration::from_millis(100));
    }
    panic!("n{} never agreed with the leader; last: {last}", i + 1);
}

fn write(cluster: &mut Cluster, i: usize, words: &[&str]) {
    let reply = cluster.call_until_answered(i, words);
    assert!(!matches!(reply, Frame::Error(_)), "{words:?}: {reply:?}");
}

#[test]
fn every_type_and_ttl_survives_kill_nine_of_every_node_and_install_snapshot() {
    let args = ["--snapshot-log-entries-max", "20"];
    let mut cluster = Cluster::start_with(3, &args);
    let leader = cluster.leader();
    write(&mut cluster, leader, &["HSET", "h", "f1", "a", "f2", "b"]);
    write(&mut cluster, leader, &["RPUSH", "l", "x", "y", "z"]);
    write(&mut cluster, leader, &["SADD", "s", "m1", "m2", "m3"]);
    write(&mut cluster, leader, &["ZADD", "z", "1.5", "p", "-2", "q"]);
    write(&mut cluster, leader, &["PEXPIRE", "h", "600000"]);
    write(&mut cluster, leader, &["SET", "long", "v", "PX", "600000"]);
    write(&mut cluster, leader, &["SET", "short", "v", "PX", "1"]);
    for _ in 0..120 {
        write(&mut cluster, leader, &["INCR", "n"]);
    }
    let expected = local_reads(cluster.resp[leader]).expect("the leader answers");
    let hash = ["f1", "a", "f2", "b"].map(Frame::bulk).to_vec();
    assert_eq!(expected[0], Frame::Array(hash));
    assert_eq!(expected[4], Frame::bulk("120"));
    assert_eq!(expected[7], Frame::Integer(0), "a 1 ms TTL has run out");
    assert!(
        matches!(expected[8], Frame::Integer(t) if t > 0),
        "the long TTL runs"
    );
    for i in 0..3 {
        eventually_agrees(&mut cluster, i, &expected);
    }

    for i in 0..3 {
        cluster.kill(i);
    }
    for i in 0..3 {
        cluster.restart(i);
    }
    for i in 0..3 {
        eventually_agrees(&mut cluster, i, &expected);
        let log = std::fs::read_to_string(cluster.log_path(i)).unwrap_or_default();
        assert!(
            log.contains("recovered from the snapshot at"),
            "n{} restarted from a snapshot file",
            i + 1
        );
    }

    let leader = cluster.leader();
    let wiped = (leader + 1) % 3;
    cluster.kill(wiped);
    std::fs::remove_dir_all(cluster.data_dir(wiped)).expect("wipe the data dir");
    for _ in 0..40 {
        write(&mut cluster, leader, &["INCR", "m"]); // compaction moves past the wiped node
    }
    cluster.restart(wiped);
    let expected = local_reads(cluster.resp[leader]).expect("the leader answers");
    eventually_agrees(&mut cluster, wiped, &expected);
    let log = std::fs::read_to_string(cluster.log_path(wiped)).unwrap_or_default();
    assert!(
        log.contains("snapshot installed at index"),
        "caught up by InstallSnapshot"
    );
}
