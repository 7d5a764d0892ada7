//! Writing frames into a send buffer, in the RESP version the connection speaks.
//!
//! ```text
//!   Frame::Map([(Bulk(a), Integer(1))])  RESP2 ──► "*2\r\n$1\r\na\r\n:1\r\n"
//!                                        RESP3 ──► "%1\r\n$1\r\na\r\n:1\r\n"
//!                                        peer  ──► "%1\r\n$1\r\na\r\n:1\r\n"
//!   Frame::NullArray                     RESP2 ──► "*-1\r\n"   RESP3 ──► "_\r\n"   peer ──► "*-1\r\n"
//!   Frame::Pairs([(Bulk(m), Double(1))]) RESP2 ──► "*2\r\n$1\r\nm\r\n$1\r\n1\r\n"
//!                                        RESP3 ──► "*1\r\n*2\r\n$1\r\nm\r\n,1\r\n"   peer ──► "^1\r\n…"
//! ```
//!
//! Invariant: the output always parses back to the same frame (RESP2 and RESP3 lose only what
//! their version cannot say: a map's shape in RESP2, which null it was in RESP3; the peer dialect
//! loses nothing), so a status or error text that contains CR or LF (a message built from
//! client bytes, say) has them replaced by spaces: one bad message must not desynchronise the
//! client's reader.

use bytes::{BufMut, BytesMut};

use super::{Frame, Proto};

/// How the RESP3-only shapes, pairs and the two nulls are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// RESP2: maps, sets and pushes as arrays, doubles as bulk strings.
    Resp2,
    /// RESP3: every shape its own type, one null (`_`).
    Resp3,
    /// Between nodes: RESP3's shapes with RESP2's two nulls, so nothing is lost.
    Peer,
}

/// Append the RESP2 wire form of `frame` to `out`.
pub fn encode(frame: &Frame, out: &mut BytesMut) {
    write(frame, Dialect::Resp2, out);
}

/// Append the wire form of `frame` in `proto` to `out`.
pub fn encode_as(frame: &Frame, proto: Proto, out: &mut BytesMut) {
    let dialect = match proto {
        Proto::Resp2 => Dialect::Resp2,
        Proto::Resp3 => Dialect::Resp3,
    };
    write(frame, dialect, out);
}

/// Append the lossless form of `frame` that one node sends another (a forwarded reply).
pub fn encode_for_peer(frame: &Frame, out: &mut BytesMut) {
    write(frame, Dialect::Peer, out);
}

fn write(frame: &Frame, dialect: Dialect, out: &mut BytesMut) {
    let resp2 = dialect == Dialect::Resp2;
    match frame {
        Frame::Simple(s) => line(out, b'+', s),
        Frame::Error(s) => line(out, b'-', s),
        Frame::Integer(n) => header(out, b':', *n),
        Frame::Bulk(b) => bulk(out, b'$', b),
        Frame::Double(d) if resp2 => bulk(out, b'$', d),
        Frame::Double(d) => {
            out.put_u8(b',');
            out.put_slice(d);
            out.put_slice(b"\r\n");
        }
        Frame::Null if dialect == Dialect::Resp3 => out.put_slice(b"_\r\n"),
        Frame::NullArray if dialect == Dialect::Resp3 => out.put_slice(b"_\r\n"),
        Frame::Null => out.put_slice(b"$-1\r\n"),
        Frame::NullArray => out.put_slice(b"*-1\r\n"),
        Frame::Array(items) => aggregate(out, b'*', items, dialect),
        Frame::Set(items) => aggregate(out, if resp2 { b'*' } else { b'~' }, items, dialect),
        Frame::Push(items) => aggregate(out, if resp2 { b'*' } else { b'>' }, items, dialect),
        Frame::Map(pairs) => {
            match resp2 {
                true => header(out, b'*', len(pairs.len()).saturating_mul(2)),
                false => header(out, b'%', len(pairs.len())),
            }
            for (k, v) in pairs {
                write(k, dialect, out);
                write(v, dialect, out);
            }
        }
        Frame::Pairs(pairs) => {
            match dialect {
                Dialect::Resp2 => header(out, b'*', len(pairs.len()).saturating_mul(2)),
                Dialect::Resp3 => header(out, b'*', len(pairs.len())),
                Dialect::Peer => header(out, b'^', len(pairs.len())),
            }
            for (k, v) in pairs {
                if dialect == Dialect::Resp3 {
                    out.put_slice(b"*2\r\n");
                }
                write(k, dialect, out);
                write(v, dialect, out);
            }
        }
    }
}

fn len(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn header(out: &mut BytesMut, kind: u8, n: i64) {
    out.put_u8(kind);
    out.put_slice(itoa::Buffer::new().format(n).as_bytes());
    out.put_slice(b"\r\n");
}

fn bulk(out: &mut BytesMut, kind: u8, b: &[u8]) {
    header(out, kind, len(b.len()));
    out.put_slice(b);
    out.put_slice(b"\r\n");
}

fn aggregate(out: &mut BytesMut, kind: u8, items: &[Frame], dialect: Dialect) {
    header(out, kind, len(items.len()));
    for item in items {
        write(item, dialect, out);
    }
}

fn line(out: &mut BytesMut, kind: u8, text: &str) {
    out.put_u8(kind);
    for b in text.bytes() {
        out.put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
    }
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::resp::{parse_frame, Limits};
    use proptest::prelude::*;

    fn wire(frame: &Frame) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(frame, &mut out);
        out.to_vec()
    }

    #[test]
    fn each_frame_type_has_its_redis_wire_form() {
        assert_eq!(wire(&Frame::Simple("OK".into())), b"+OK\r\n");
        assert_eq!(wire(&Frame::Error("ERR x".into())), b"-ERR x\r\n");
        assert_eq!(wire(&Frame::Integer(-3)), b":-3\r\n");
        assert_eq!(wire(&Frame::bulk("hi")), b"$2\r\nhi\r\n");
        assert_eq!(wire(&Frame::Null), b"$-1\r\n");
        assert_eq!(wire(&Frame::NullArray), b"*-1\r\n");
        let array = Frame::Array(vec![Frame::Integer(1), Frame::Null]);
        assert_eq!(wire(&array), b"*2\r\n:1\r\n$-1\r\n");
    }

    fn wire_as(frame: &Frame, proto: Proto) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_as(frame, proto, &mut out);
        out.to_vec()
    }

    #[test]
    fn resp3_shapes_have_their_own_types_and_resp2_flattens_them() {
        let map = Frame::Map(vec![(Frame::bulk("a"), Frame::Integer(1))]);
        assert_eq!(wire_as(&map, Proto::Resp3), b"%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(wire_as(&map, Proto::Resp2), b"*2\r\n$1\r\na\r\n:1\r\n");
        let set = Frame::Set(vec![Frame::bulk("m")]);
        assert_eq!(wire_as(&set, Proto::Resp3), b"~1\r\n$1\r\nm\r\n");
        assert_eq!(wire_as(&set, Proto::Resp2), b"*1\r\n$1\r\nm\r\n");
        let double = Frame::Double("1.5".into());
        assert_eq!(wire_as(&double, Proto::Resp3), b",1.5\r\n");
        assert_eq!(wire_as(&double, Proto::Resp2), b"$3\r\n1.5\r\n");
        let push = Frame::Push(vec![Frame::bulk("message")]);
        assert_eq!(wire_as(&push, Proto::Resp3), b">1\r\n$7\r\nmessage\r\n");
        assert_eq!(wire_as(&push, Proto::Resp2), b"*1\r\n$7\r\nmessage\r\n");
        for null in [Frame::Null, Frame::NullArray] {
            assert_eq!(wire_as(&null, Proto::Resp3), b"_\r\n");
        }
        // Redis 7's WITHSCORES: nested pairs in RESP3, flat in RESP2.
        let pairs = Frame::Pairs(vec![(Frame::bulk("m"), Frame::Double("2".into()))]);
        assert_eq!(
            wire_as(&pairs, Proto::Resp3),
            b"*1\r\n*2\r\n$1\r\nm\r\n,2\r\n"
        );
        assert_eq!(
            wire_as(&pairs, Proto::Resp2),
            b"*2\r\n$1\r\nm\r\n$1\r\n2\r\n"
        );
    }

    #[test]
    fn an_error_text_with_newlines_cannot_break_the_stream() {
        assert_eq!(wire(&Frame::Error("ERR a\r\nb".into())), b"-ERR a  b\r\n");
    }

    /// What a RESP2 reader sees of a frame: the RESP3 shapes flattened.
    fn resp2_shape(frame: Frame) -> Frame {
        let all = |items: Vec<Frame>| Frame::Array(items.into_iter().map(resp2_shape).collect());
        match frame {
            Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => all(items),
            Frame::Map(pairs) | Frame::Pairs(pairs) => {
                all(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect())
            }
            Frame::Double(d) => Frame::Bulk(d),
            other => other,
        }
    }

    fn frames() -> impl Strategy<Value = Frame> {
        let leaf = prop_oneof![
            "[a-zA-Z0-9 ]{0,12}".prop_map(Frame::Simple),
            "[a-zA-Z0-9 ]{0,12}".prop_map(Frame::Error),
            any::<i64>().prop_map(Frame::Integer),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Frame::bulk),
            Just(Frame::Null),
            Just(Frame::NullArray),
        ];
        let leaf = prop_oneof![
            leaf,
            "-?[0-9]{1,5}(\\.[0-9]{1,3})?".prop_map(|d| Frame::Double(d.into())),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            let items = proptest::collection::vec(inner.clone(), 0..6);
            let pairs = proptest::collection::vec((inner.clone(), inner), 0..3);
            prop_oneof![
                items.clone().prop_map(Frame::Array),
                items.clone().prop_map(Frame::Set),
                items.prop_map(Frame::Push),
                pairs.clone().prop_map(Frame::Map),
                pairs.prop_map(Frame::Pairs),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let limits = Limits { bulk_bytes_max: 64, array_len_max: 16, depth_max: 3, line_bytes_max: 32 };
            let mut buf = BytesMut::from(&bytes[..]);
            for _ in 0..bytes.len() + 1 {
                match parse_frame(&mut buf, &limits) {
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => break,
                }
            }
        }

        #[test]
        fn every_frame_sent_between_nodes_parses_back_to_itself(frame in frames()) {
            let mut out = BytesMut::new();
            encode_for_peer(&frame, &mut out);
            let parsed = parse_frame(&mut out, &Limits::default()).unwrap();
            prop_assert_eq!(parsed, Some(frame));
            prop_assert!(out.is_empty());
        }

        #[test]
        fn every_encoded_resp2_frame_parses_back_to_its_resp2_shape(frame in frames()) {
            let mut buf = BytesMut::from(&wire(&frame)[..]);
            let parsed = parse_frame(&mut buf, &Limits::default()).unwrap();
            prop_assert_eq!(parsed, Some(resp2_shape(frame)));
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn every_encoded_frame_parses_back_to_itself(frame in frames().prop_map(resp2_shape)) {
            let mut buf = BytesMut::from(&wire(&frame)[..]);
            let parsed = parse_frame(&mut buf, &Limits::default()).unwrap();
            prop_assert_eq!(parsed, Some(frame));
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn garbage_after_a_valid_prefix_never_panics(frame in frames(), tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = wire(&frame);
            bytes.extend_from_slice(&tail);
            let mut buf = BytesMut::from(&bytes[..]);
            let first = parse_frame(&mut buf, &Limits::default()).unwrap();
            prop_assert_eq!(first, Some(resp2_shape(frame)));
            let _ = parse_frame(&mut buf, &Limits::default());
        }
    }
}
