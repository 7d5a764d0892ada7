//! Writing RESP2 frames into a send buffer.
//!
//! ```text
//!   Frame::Array([Integer(1), Null]) ──► "*2\r\n:1\r\n$-1\r\n"
//! ```
//!
//! Invariant: the output always parses back to the same frame, so a status or error text that
//! contains CR or LF (a message built from client bytes, say) has them replaced by spaces:
//! one bad message must not desynchronise the client's reader.

use bytes::{BufMut, BytesMut};

use super::Frame;

/// Append the wire form of `frame` to `out`.
pub fn encode(frame: &Frame, out: &mut BytesMut) {
    match frame {
        Frame::Simple(s) => line(out, b'+', s),
        Frame::Error(s) => line(out, b'-', s),
        Frame::Integer(n) => {
            out.put_u8(b':');
            out.put_slice(n.to_string().as_bytes());
            out.put_slice(b"\r\n");
        }
        Frame::Bulk(b) => {
            out.put_u8(b'$');
            out.put_slice(b.len().to_string().as_bytes());
            out.put_slice(b"\r\n");
            out.put_slice(b);
            out.put_slice(b"\r\n");
        }
        Frame::Null => out.put_slice(b"$-1\r\n"),
        Frame::NullArray => out.put_slice(b"*-1\r\n"),
        Frame::Array(items) => {
            out.put_u8(b'*');
            out.put_slice(items.len().to_string().as_bytes());
            out.put_slice(b"\r\n");
            for item in items {
                encode(item, out);
            }
        }
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

    #[test]
    fn an_error_text_with_newlines_cannot_break_the_stream() {
        assert_eq!(wire(&Frame::Error("ERR a\r\nb".into())), b"-ERR a  b\r\n");
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
        leaf.prop_recursive(3, 24, 6, |inner| {
            proptest::collection::vec(inner, 0..6).prop_map(Frame::Array)
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
        fn every_encoded_frame_parses_back_to_itself(frame in frames()) {
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
            prop_assert_eq!(first, Some(frame));
            let _ = parse_frame(&mut buf, &Limits::default());
        }
    }
}
