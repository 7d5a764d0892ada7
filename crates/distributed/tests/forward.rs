//! Forwarding across a restart: a follower forwards a write to its leader, is killed and
//! restarted, and forwards a new client's write. A late answer to the first forward must not
//! reach the new client, even though both are the first forward of their boot.
//!
//! ```text
//!   test plays n2, the leader:  heartbeats ──► n1 (real)  ──Forward{id=X} (boot 1)──► n2
//!   kill -9 n1, restart n1       n1 (boot 2) ──Forward{id=Y}──► n2
//!   n2 ──ForwardReply{X, ":42"} (late, for boot 1's client) ──ForwardReply{Y, "+OK"}──► n1
//!   the boot-2 client must read +OK: X and Y differ, the late reply is dropped
//! ```
//!
//! Forward ids used to restart at 1 with every boot, so X = Y and the late reply went to the
//! wrong client (a GET could read an INCR's answer).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::sleep;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::{Cluster, Conn, ATTEMPTS_MAX};
use distributed_core::NodeId;
use raft::{AppendEntries, Message};
use server::clients::resp::Frame;
use server::peers::frames::{decode_frame, encode_frame, PeerFrame};

/// The fake leader's term: above anything n1 reaches on its own in the test.
const TERM: u64 = 1_000;

/// Keep n1 following n2: dial n1's peer port, say Hello{n2}, heartbeat every 20 ms;
/// redial when n1 restarts. Also carries `replies` to n1.
fn heartbeats(port: u16, stop: Arc<AtomicBool>, replies: mpsc::Receiver<PeerFrame>) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
            sleep(Duration::from_millis(20));
            continue;
        };
        let mut out = BytesMut::new();
        encode_frame(&PeerFrame::Hello { from: NodeId(2) }, &mut out);
        while !stop.load(Ordering::SeqCst) {
            let beat = Message::AppendEntries(AppendEntries {
                term: TERM,
                prev_log_index: 0,
                prev_log_term: 0,
                entries: Vec::new(),
                leader_commit: 0,
                round: 0,
            });
            encode_frame(&PeerFrame::Raft(beat), &mut out);
            while let Ok(frame) = replies.try_recv() {
                encode_frame(&frame, &mut out);
            }
            if stream.write_all(&out).is_err() {
                break;
            }
            out.clear();
            sleep(Duration::from_millis(20));
        }
    }
}

/// Accept n1's connections to n2's peer port and pass on every Forward's id.
fn accept_forwards(listener: TcpListener, forwards: mpsc::Sender<u64>) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { return };
        let forwards = forwards.clone();
        std::thread::spawn(move || {
            let mut buf = BytesMut::new();
            let mut chunk = [0u8; 4096];
            loop {
                while let Ok(Some(frame)) = decode_frame(&mut buf, 16 << 20) {
                    if let PeerFrame::Forward { id, .. } = frame {
                        let _ = forwards.send(id);
                    }
                }
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        });
    }
}

/// Send SET on a fresh connection to n1 until n1 forwards it (n1 may not follow n2 yet);
/// returns the connection waiting for the answer and the forward's id.
fn forwarded_set(cluster: &Cluster, forwards: &mpsc::Receiver<u64>, key: &str) -> (Conn, u64) {
    for _ in 0..ATTEMPTS_MAX {
        let Ok(mut conn) = Conn::connect(cluster.resp[0]) else {
            sleep(Duration::from_millis(100));
            continue;
        };
        conn.send_raw(format!("SET {key} v\r\n").as_bytes())
            .expect("send");
        if let Ok(id) = forwards.recv_timeout(Duration::from_secs(1)) {
            return (conn, id);
        }
        // Not forwarded: n1 answered TRYAGAIN (no leader yet); try again.
    }
    panic!("n1 never forwarded SET {key} to n2");
}

#[test]
fn a_late_forward_reply_from_before_a_restart_never_reaches_a_new_client() {
    let mut cluster = Cluster::down(2);
    let listener = TcpListener::bind(("127.0.0.1", cluster.peer[1])).expect("play n2");
    let (forwards_tx, forwards) = mpsc::channel();
    std::thread::spawn(move || accept_forwards(listener, forwards_tx));
    let (replies_tx, replies_rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let beats = {
        let (port, stop) = (cluster.peer[0], Arc::clone(&stop));
        std::thread::spawn(move || heartbeats(port, stop, replies_rx))
    };

    cluster.restart(0);
    let (_first_client, x) = forwarded_set(&cluster, &forwards, "a");
    cluster.kill(0);
    cluster.restart(0);
    let (mut second_client, y) = forwarded_set(&cluster, &forwards, "b");
    eprintln!("forward ids: boot 1 {x}, boot 2 {y}");

    let late = PeerFrame::ForwardReply {
        id: x,
        resp: Bytes::from_static(b":42\r\n"),
    };
    let right = PeerFrame::ForwardReply {
        id: y,
        resp: Bytes::from_static(b"+OK\r\n"),
    };
    replies_tx.send(late).expect("queue the late reply");
    replies_tx.send(right).expect("queue the right reply");
    let got = second_client.read_frame();
    stop.store(true, Ordering::SeqCst);
    beats.join().expect("heartbeats");
    assert_eq!(
        got,
        Ok(Frame::Simple("OK".into())),
        "the boot-2 client got an answer meant for boot 1's client"
    );
}
