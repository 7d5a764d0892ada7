//! Malformed RESP on a real node's client port: every bad stream gets an error reply or a
//! closed connection, never a crash or a hang, and the node keeps serving other clients.
//!
//! ```text
//!   bystander conn (opened first, stays open) ──SET/GET before and after every case
//!   for each case: fresh conn ──bad bytes──► node ──► -ERR … and/or close
//!                  ──► a fresh SET/GET round trip and the bystander's round trip still work
//! ```
//!
//! Bounds under test (server `resp::Limits`): bulk_bytes_max, array_len_max, depth_max,
//! line_bytes_max, CRLF after a bulk body, strict decimal lengths. Garbage on the *peer* port
//! is covered in `cluster.rs`.

mod common;

use common::{bulk, Cluster, Conn};
use distributed_core::{Rng, SeededRng};
use server::clients::resp::Frame;

/// Send `bytes` and expect an error reply or a close; returns a description of what happened.
fn expect_error_or_close(port: u16, name: &str, bytes: &[u8]) -> String {
    let mut conn = Conn::connect(port).expect("connect");
    // The server may close before reading everything: a failed write is a close too.
    if let Err(e) = conn.send_raw(bytes) {
        return format!("closed while writing ({e})");
    }
    match conn.read_frame() {
        Ok(Frame::Error(e)) => format!("error reply: {e}"),
        Err(e) if e == "closed" || e.contains("reset") => format!("closed: {e}"),
        Ok(other) => panic!("{name}: expected an error or a close, got {other}"),
        Err(e) => panic!("{name}: expected an error or a close, got {e}"),
    }
}

/// The node still answers a fresh client and the long-lived one.
fn still_serves(cluster: &mut Cluster, bystander: &mut Conn, round: usize) {
    let value = format!("v{round}");
    let ok = Frame::Simple("OK".into());
    assert_eq!(
        cluster.call_until_answered(0, &["SET", "fresh", &value]),
        ok
    );
    assert_eq!(
        cluster.call_until_answered(0, &["GET", "fresh"]),
        bulk(&value)
    );
    assert_eq!(bystander.call(&["SET", "by", &value]), Ok(ok));
    assert_eq!(bystander.call(&["GET", "by"]), Ok(bulk(&value)));
    cluster.assert_running(0);
}

fn malformed_cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut garbage = vec![0u8; 8 << 10];
    let mut rng = SeededRng::new(2024);
    for b in garbage.iter_mut() {
        *b = rng.next_u64() as u8;
    }
    let deep: Vec<u8> = b"*1\r\n".repeat(64);
    vec![
        (
            "bulk shorter than its length says",
            b"*2\r\n$3\r\nGET\r\n$1\r\nkey\r\n".to_vec(),
        ),
        (
            "bulk longer than its length says",
            b"*2\r\n$3\r\nGET\r\n$10\r\nk\r\nGET k\r\nGET k\r\n".to_vec(),
        ),
        (
            "huge bulk length",
            b"*2\r\n$3\r\nGET\r\n$9999999999\r\n".to_vec(),
        ),
        ("huge bulk length at top level", b"$9999999999\r\n".to_vec()),
        ("huge array length", b"*2147483647\r\n".to_vec()),
        (
            "negative bulk length",
            b"*2\r\n$3\r\nGET\r\n$-7\r\nk\r\n".to_vec(),
        ),
        ("negative array length", b"*-5\r\n".to_vec()),
        (
            "a length that is not a number",
            b"*1\r\n$x1\r\nPING\r\n".to_vec(),
        ),
        (
            "a length with a plus sign",
            b"*+1\r\n$4\r\nPING\r\n".to_vec(),
        ),
        (
            "a length past i64",
            b"*99999999999999999999999\r\n".to_vec(),
        ),
        ("a bare LF after a header", b"*1\n$4\r\nPING\r\n".to_vec()),
        ("arrays nested 64 deep", deep),
        ("binary garbage", garbage),
        ("an inline command longer than 64 KiB", vec![b'A'; 70 << 10]),
        (
            "an inline command longer than 64 KiB, then LF",
            [vec![b'B'; 70 << 10], b"\n".to_vec()].concat(),
        ),
        ("an empty array as a command", b"*0\r\n".to_vec()),
        ("an integer as a command name", b"*1\r\n:5\r\n".to_vec()),
        ("a null bulk as a command name", b"*1\r\n$-1\r\n".to_vec()),
        (
            "an array inside a command",
            b"*2\r\n$3\r\nGET\r\n*1\r\n$1\r\nk\r\n".to_vec(),
        ),
        ("an unknown command", b"*1\r\n$7\r\nNOTACMD\r\n".to_vec()),
        (
            "a command with too few arguments",
            b"*1\r\n$3\r\nSET\r\n".to_vec(),
        ),
    ]
}

#[test]
fn malformed_resp_gets_an_error_or_a_close_and_the_node_keeps_serving() {
    let mut cluster = Cluster::start(1);
    let ok = Frame::Simple("OK".into());
    assert_eq!(cluster.call_until_answered(0, &["SET", "k", "before"]), ok);
    let mut bystander = Conn::connect(cluster.resp[0]).expect("connect the bystander");
    still_serves(&mut cluster, &mut bystander, 0);
    for (round, (name, bytes)) in malformed_cases().into_iter().enumerate() {
        let what = expect_error_or_close(cluster.resp[0], name, &bytes);
        eprintln!("bad_input: {name}: {what}");
        still_serves(&mut cluster, &mut bystander, round + 1);
    }
    // Nothing above wrote `k`: the malformed SETs and GETs changed no data.
    assert_eq!(
        cluster.call_until_answered(0, &["GET", "k"]),
        bulk("before")
    );
}

#[test]
fn a_half_frame_then_a_disconnect_changes_nothing_and_the_node_keeps_serving() {
    let mut cluster = Cluster::start(1);
    let ok = Frame::Simple("OK".into());
    assert_eq!(cluster.call_until_answered(0, &["SET", "k", "old"]), ok);
    let mut bystander = Conn::connect(cluster.resp[0]).expect("connect the bystander");
    let halves: [&[u8]; 4] = [
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nne",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n",
        b"*3\r\n$3\r\nSET\r\n$1",
        b"$536870912\r\nonly a little of a 512 MiB bulk",
    ];
    for (round, half) in halves.iter().enumerate() {
        let mut conn = Conn::connect(cluster.resp[0]).expect("connect");
        conn.send_raw(half).expect("send half a frame");
        drop(conn);
        still_serves(&mut cluster, &mut bystander, round);
    }
    assert_eq!(cluster.call_until_answered(0, &["GET", "k"]), bulk("old"));
}

#[test]
fn a_frame_split_into_single_bytes_is_still_one_command() {
    let mut cluster = Cluster::start(1);
    assert_eq!(
        cluster.call_until_answered(0, &["SET", "warm", "up"]),
        Frame::Simple("OK".into())
    );
    let mut conn = Conn::connect(cluster.resp[0]).expect("connect");
    for b in b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nbytes\r\n" {
        conn.send_raw(&[*b]).expect("send one byte");
    }
    assert_eq!(conn.read_frame(), Ok(Frame::Simple("OK".into())));
    assert_eq!(conn.call(&["GET", "k"]), Ok(bulk("bytes")));
}
