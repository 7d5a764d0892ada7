//! `CLIENT REPLY ON|OFF|SKIP` on a real node: the writer drops the replies the client asked not
//! to get, in reply order, and still writes pub/sub confirmations (Redis 7 pushes them).
//!
//! ```text
//!   CLIENT REPLY OFF, SET k 1, CLIENT REPLY SKIP, SET k 2, GET k ──► the only reply: "2"
//! ```

mod common;

use common::{bulk, Cluster, Conn};
use server::clients::resp::{encode, Frame};

fn send(conn: &mut Conn, words: &[&str]) {
    let request = Frame::Array(words.iter().map(|w| Frame::bulk(w.to_string())).collect());
    let mut out = bytes::BytesMut::new();
    encode(&request, &mut out);
    conn.send_raw(&out).expect("send");
}

#[test]
fn client_reply_off_and_skip_silence_replies_but_not_subscribe_confirmations() {
    let mut cluster = Cluster::start(1);
    cluster.call_until_answered(0, &["SET", "warm", "up"]);
    let mut c = Conn::connect(cluster.resp[0]).expect("connect");
    send(&mut c, &["CLIENT", "REPLY", "OFF"]);
    send(&mut c, &["SET", "k", "1"]);
    send(&mut c, &["CLIENT", "REPLY", "SKIP"]);
    send(&mut c, &["SET", "k", "2"]);
    assert_eq!(
        c.call(&["GET", "k"]),
        Ok(bulk("2")),
        "the first reply written"
    );
    assert_eq!(
        c.call(&["CLIENT", "REPLY", "MAYBE"]),
        Ok(Frame::Error("ERR syntax error".into()))
    );
    send(&mut c, &["CLIENT", "REPLY", "OFF"]);
    assert_eq!(
        c.call(&["SUBSCRIBE", "ch"]),
        Ok(Frame::Array(vec![
            bulk("subscribe"),
            bulk("ch"),
            Frame::Integer(1)
        ]))
    );
    assert_eq!(
        cluster.call_until_answered(0, &["PUBLISH", "ch", "hi"]),
        Frame::Integer(1)
    );
    assert_eq!(
        c.read_frame(),
        Ok(Frame::Array(vec![bulk("message"), bulk("ch"), bulk("hi")]))
    );
}
