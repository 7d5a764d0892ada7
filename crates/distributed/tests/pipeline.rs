//! A pipeline runs in order, as in Redis: on one connection, a GET sent right behind a SET
//! (without waiting for the SET's reply) reads that SET, and a GET sent right before a SET
//! does not read it, on the leader and on followers alike.
//!
//! ```text
//!   one write: [SET k v7][GET k][GET k][SET k v8][GET k]   ──► +OK  v7  v7  +OK  v8
//! ```
//!
//! Why it needs care: writes go through the log, reads through ReadIndex (thesis §6.4), which
//! takes the commit index when the read arrives, before the SET in front of it has committed.
//! The connection orders the two kinds (server `client.rs`, `Order`).

mod common;

use bytes::BytesMut;
use common::{bulk, Cluster, Conn};
use server::clients::resp::Frame;

/// Rounds per node: each round is one pipeline of five commands.
const ROUNDS: usize = 30;

fn pipeline(conn: &mut Conn, commands: &[Vec<String>]) -> Vec<Frame> {
    let mut out = BytesMut::new();
    for words in commands {
        let frame = Frame::Array(words.iter().map(|w| Frame::bulk(w.clone())).collect());
        server::clients::resp::encode(&frame, &mut out);
    }
    conn.send_raw(&out).expect("send the pipeline");
    commands
        .iter()
        .map(|_| conn.read_frame().expect("a reply"))
        .collect()
}

#[test]
fn a_pipelined_get_reads_the_set_before_it_and_not_the_set_after_it_on_every_node() {
    let mut cluster = Cluster::start(3);
    let ok = Frame::Simple("OK".into());
    assert_eq!(cluster.call_until_answered(0, &["SET", "warm", "up"]), ok);
    for node in 0..3 {
        cluster.call_until_answered(node, &["GET", "warm"]);
        let mut conn = Conn::connect(cluster.resp[node]).expect("connect");
        let key = format!("k{node}");
        for round in 0..ROUNDS {
            let (a, b) = (format!("a{round}"), format!("b{round}"));
            let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            let commands = [
                words(&["SET", &key, &a]),
                words(&["GET", &key]),
                words(&["GET", &key]),
                words(&["SET", &key, &b]),
                words(&["GET", &key]),
            ];
            let replies = pipeline(&mut conn, &commands);
            let want = [ok.clone(), bulk(&a), bulk(&a), ok.clone(), bulk(&b)];
            assert_eq!(replies, want, "n{} round {round}", node + 1);
        }
    }
}
