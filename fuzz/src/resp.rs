//! RESP2 client frames (`server::clients::resp::parse_frame`).
//!
//! ```text
//!   input = limits:u8 ‖ cut:u16 ‖ stream bytes
//!   parse the stream whole ──► frames A, then end (need more | error e)
//!   feed it in two pieces at `cut` (and byte by byte if short) ──► the same frames, same end
//!   every frame: encode ──► parse ──► the same frame (texts with CR/LF: the same wire)
//! ```
//!
//! Promises (resp/mod.rs): never panics; a partial frame consumes nothing; a frame the encoder
//! writes parses back to itself; nothing allocated beyond the limits (run with a malloc limit).

use bytes::BytesMut;
use server::clients::resp::{encode, encode_for_peer, parse_frame, Frame, Limits, ProtocolError};

use crate::{Input, Seed};

/// Frames parsed from a stream, and how the stream ended: `None` waiting for more bytes.
type Parsed = (Vec<Frame>, Option<ProtocolError>);

/// Run one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = limits(input.u8());
    let cut = usize::from(input.u16());
    let stream = input.rest();
    let whole = parse_stream(&[stream], &limits);
    let cut = cut.min(stream.len());
    let (head, tail) = stream.split_at(cut);
    assert_eq!(
        parse_stream(&[head, tail], &limits),
        whole,
        "two pieces parse as the whole"
    );
    if stream.len() <= 64 {
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(
            parse_stream(&bytes, &limits),
            whole,
            "byte by byte parses as the whole"
        );
    }
    for frame in &whole.0 {
        round_trip(frame);
    }
    if let Some(e) = &whole.1 {
        assert!(!e.message.is_empty(), "a protocol error says what is wrong");
    }
}

/// The default limits, or small ones so that every limit is reached by short inputs.
fn limits(choice: u8) -> Limits {
    if choice & 1 == 0 {
        return Limits::default();
    }
    Limits {
        bulk_bytes_max: 16,
        array_len_max: 8,
        depth_max: 3,
        line_bytes_max: 24,
    }
}

/// Feed `pieces` one after the other, taking every frame as soon as it is whole, the way a
/// connection does.
fn parse_stream(pieces: &[&[u8]], limits: &Limits) -> Parsed {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.clone();
            match parse_frame(&mut buf, limits) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => {
                    // Empty inline lines may be skipped, but nothing else is consumed.
                    assert!(before.ends_with(&buf), "a partial frame consumes nothing");
                    let skipped = &before[..before.len() - buf.len()];
                    assert!(
                        skipped
                            .iter()
                            .all(|&b| b == b'\r' || b == b'\n' || b == b' ' || b == b'\t'),
                        "only blank lines are skipped while waiting: {skipped:?}"
                    );
                    break;
                }
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

/// A parsed frame re-encodes to bytes that parse back to it. Simple and error texts are the
/// exception the encoder documents: CR and LF in them become spaces, so compare the wire.
/// Parsed with the default limits: an inline command's words are bounded by the line limit,
/// its encoding's by the bulk limit, so small limits may accept one and not the other.
fn round_trip(frame: &Frame) {
    let mut wire = BytesMut::new();
    // The lossless dialect nodes speak to each other: RESP3's shapes (the parser reads them,
    // in forwarded replies) and both of RESP2's nulls.
    encode_for_peer(frame, &mut wire);
    let mut buf = wire.clone();
    let again = parse_frame(&mut buf, &Limits::default())
        .unwrap_or_else(|e| panic!("the encoding of {frame:?} does not parse: {e}"))
        .unwrap_or_else(|| panic!("the encoding of {frame:?} is incomplete"));
    assert!(buf.is_empty(), "the encoding of {frame:?} is one frame");
    if has_line_break(frame) {
        let mut rewire = BytesMut::new();
        encode_for_peer(&again, &mut rewire);
        assert_eq!(rewire, wire, "re-encoding is stable");
    } else {
        assert_eq!(&again, frame, "a frame survives encode + parse");
    }
}

fn has_line_break(frame: &Frame) -> bool {
    match frame {
        Frame::Simple(s) | Frame::Error(s) => s.contains(['\r', '\n']),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            items.iter().any(has_line_break)
        }
        Frame::Map(pairs) | Frame::Pairs(pairs) => pairs
            .iter()
            .any(|(k, v)| has_line_break(k) || has_line_break(v)),
        Frame::Integer(_) | Frame::Bulk(_) | Frame::Double(_) | Frame::Null | Frame::NullArray => {
            false
        }
    }
}

/// Commands and replies as the encoder writes them, one stream each, plus inline commands.
pub fn seeds() -> Vec<Vec<u8>> {
    let cmd =
        |words: &[&str]| Frame::Array(words.iter().map(|w| Frame::bulk(w.to_string())).collect());
    let streams: Vec<Vec<Frame>> = vec![
        vec![cmd(&["SET", "k", "v"]), cmd(&["GET", "k"])],
        vec![
            cmd(&["MSET", "a", "1", "b", "2"]),
            cmd(&["INCRBY", "a", "-5"]),
        ],
        vec![
            Frame::Simple("OK".into()),
            Frame::Error("ERR wrong type".into()),
            Frame::Integer(-42),
            Frame::Null,
            Frame::Array(vec![Frame::bulk(""), Frame::Array(vec![Frame::Integer(1)])]),
        ],
    ];
    let mut out = Vec::new();
    for (i, frames) in streams.iter().enumerate() {
        let mut wire = BytesMut::new();
        for f in frames {
            encode(f, &mut wire);
        }
        let cut = u16::try_from(wire.len() / 2).unwrap_or(0);
        out.push(Seed::new().u8(i as u8).u16(cut).raw(&wire).take());
    }
    out.push(
        Seed::new()
            .u8(0)
            .u16(3)
            .raw(b"PING\r\nSET  k v\n\r\nGET k\r\n")
            .take(),
    );
    out.push(
        Seed::new()
            .u8(1)
            .u16(9)
            .raw(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPI")
            .take(),
    );
    out
}
