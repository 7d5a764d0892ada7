//! Reading RESP frames (RESP2, and the RESP3 types a peer or a RESP3 server sends) out of a
//! receive buffer, partial and pipelined input included.
//!
//! ```text
//!   buf: [*2\r\n$3\r\nGET\r\n$1\r\nk\r\n][*1\r\n$4\r\nPI]
//!         └──────── frame 1 ──────────┘ └ partial ┘
//!   parse_frame(buf) → Some(frame 1), buf = [*1\r\n$4\r\nPI]
//!   parse_frame(buf) → None (need more), buf unchanged
//! ```
//!
//! Each call scans from the start of the buffer with a cursor and consumes only once a whole
//! frame is there. The road not taken: a resumable state machine that remembers how far it got.
//! It saves re-scanning the headers of a partial frame, but a bulk body is never re-scanned
//! (its length is known), so the saving is small and the state machine much harder to read.
//!
//! Inline commands (what `telnet` or `nc` users type): a line not starting with a RESP type
//! byte is split on spaces and tabs into bulk strings. Quotes are not interpreted (Redis
//! does); empty lines are skipped.
//!
//! Bulk bodies are not copied: once a frame is whole, its bytes are split off the buffer and
//! frozen, and each bulk of `BULK_COPY_BYTES_MAX` or more becomes a slice of them (a small one is
//! copied: a slice would keep the whole receive buffer alive for a few bytes). The road not
//! taken: slicing every bulk. A pipelined burst of small SETs would then pin its buffer until
//! the last of them is answered, and a new buffer would be allocated for every burst.

use bytes::{Buf, Bytes, BytesMut};

use super::{Frame, Limits, ProtocolError};

/// Bulks at least this long are handed out as slices of the receive buffer, not copied.
const BULK_COPY_BYTES_MAX: usize = 16 << 10;

/// A result with three outcomes: a value, "need more bytes" (`Ok(None)`), or a protocol error.
type Step<T> = Result<Option<T>, ProtocolError>;

/// Return `Ok(None)` from the enclosing function when more bytes are needed.
macro_rules! need {
    ($e:expr) => {
        match $e? {
            Some(v) => v,
            None => return Ok(None),
        }
    };
}

/// Take one frame off the front of `buf`: `Ok(Some)` consumed it, `Ok(None)` needs more bytes
/// and consumed nothing, `Err` means the stream is not RESP and the connection must close.
pub fn parse_frame(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Frame>, ProtocolError> {
    loop {
        let mut cursor = Cursor::new(&buf[..], limits);
        let Some(first) = cursor.buf.first().copied() else {
            return Ok(None);
        };
        let parsed = if is_type_byte(first) {
            cursor.frame(0)?.map(Some)
        } else {
            cursor.inline()?
        };
        let (consumed, large) = (cursor.pos, cursor.large);
        match parsed {
            None => return Ok(None),
            Some(None) => buf.advance(consumed), // an empty inline line: skip it
            Some(Some(mut frame)) => {
                let bytes = buf.split_to(consumed).freeze();
                if !large.is_empty() {
                    fill_large(&mut frame, &bytes, &mut large.iter().peekable(), &mut 0);
                }
                return Ok(Some(frame));
            }
        }
    }
}

/// How many bytes the partial frame at the front of `buf` needs in all, once a bulk header has
/// said how long its body is; 0 when that is not known yet. A connection reserves that much
/// before reading on, so a large value lands in one allocation (see the module docs of
/// `resp`). Bounded by the frame limits: a header over `bulk_bytes_max` is an error, not a
/// reservation.
pub fn bulk_bytes_wanted(buf: &[u8], limits: &Limits) -> usize {
    let mut cursor = Cursor::new(buf, limits);
    match buf.first() {
        Some(&b) if is_type_byte(b) => {
            let _ = cursor.frame(0);
            cursor.wanted
        }
        _ => 0,
    }
}

/// Replace the placeholders of large bulks (in the order the cursor met every bulk) with
/// slices of the frame's frozen bytes.
fn fill_large(
    frame: &mut Frame,
    bytes: &Bytes,
    large: &mut std::iter::Peekable<std::slice::Iter<'_, LargeBulk>>,
    seen: &mut usize,
) {
    match frame {
        Frame::Bulk(body) => {
            if let Some(l) = large.next_if(|l| l.seq == *seen) {
                *body = bytes.slice(l.start..l.end);
            }
            *seen += 1;
        }
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            for item in items {
                fill_large(item, bytes, large, seen);
            }
        }
        Frame::Map(pairs) | Frame::Pairs(pairs) => {
            for (k, v) in pairs {
                fill_large(k, bytes, large, seen);
                fill_large(v, bytes, large, seen);
            }
        }
        _ => {}
    }
}

fn is_type_byte(b: u8) -> bool {
    matches!(
        b,
        b'+' | b'-' | b':' | b'$' | b'*' | b'_' | b',' | b'%' | b'~' | b'>' | b'^'
    )
}

/// Where a large bulk's body lies in the frame's bytes, and which bulk it is.
struct LargeBulk {
    /// Its rank among the frame's bulks, in the order they were met.
    seq: usize,
    /// The body's first byte.
    start: usize,
    /// One past its last byte.
    end: usize,
}

/// A read position over the buffered bytes; nothing is consumed until a frame is whole.
struct Cursor<'a> {
    /// The bytes received so far.
    buf: &'a [u8],
    /// How far this parse has got.
    pos: usize,
    /// The bounds every length is checked against before it is trusted.
    limits: &'a Limits,
    /// Bulks met so far.
    bulks: usize,
    /// The large bulks, left empty in the frame until its bytes are frozen.
    large: Vec<LargeBulk>,
    /// The bytes the frame needs in all, once a bulk body is known to be missing.
    wanted: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8], limits: &'a Limits) -> Self {
        Cursor {
            buf,
            pos: 0,
            limits,
            bulks: 0,
            large: Vec::new(),
            wanted: 0,
        }
    }

    /// One typed frame at `depth` levels of array nesting.
    fn frame(&mut self, depth: usize) -> Step<Frame> {
        let Some(&kind) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let line = need!(self.line(true));
        match kind {
            b'+' => Ok(Some(Frame::Simple(text(line)?))),
            b'-' => Ok(Some(Frame::Error(text(line)?))),
            b':' => Ok(Some(Frame::Integer(integer(line, "integer")?))),
            b'$' => self.bulk(line),
            b'*' => self.array(line, depth, Frame::Array),
            b'~' => self.array(line, depth, Frame::Set),
            b'>' => self.array(line, depth, Frame::Push),
            b'%' => self.map(line, depth, Frame::Map),
            b'^' => self.map(line, depth, Frame::Pairs),
            b'_' if line.is_empty() => Ok(Some(Frame::Null)),
            b'_' => Err(ProtocolError::new("a RESP3 null has no payload")),
            b',' => Ok(Some(Frame::Double(Bytes::copy_from_slice(line)))),
            other => Err(ProtocolError::new(format!(
                "expected a RESP type byte, got {}",
                printable(other)
            ))),
        }
    }

    fn bulk(&mut self, header: &[u8]) -> Step<Frame> {
        let len = integer(header, "bulk length")?;
        if len == -1 {
            return Ok(Some(Frame::Null));
        }
        let max = self.limits.bulk_bytes_max;
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= max)
            .ok_or_else(|| {
                ProtocolError::new(format!("invalid bulk length {len} (bulk_bytes_max {max})"))
            })?;
        let end = self.pos + len;
        if self.buf.len() < end + 2 {
            self.wanted = end + 2;
            return Ok(None);
        }
        if &self.buf[end..end + 2] != b"\r\n" {
            return Err(ProtocolError::new(format!(
                "bulk string of {len} bytes is not followed by CRLF"
            )));
        }
        let body = if len >= BULK_COPY_BYTES_MAX {
            let (seq, start) = (self.bulks, self.pos);
            self.large.push(LargeBulk { seq, start, end });
            Bytes::new()
        } else {
            Bytes::copy_from_slice(&self.buf[self.pos..end])
        };
        self.bulks += 1;
        self.pos = end + 2;
        Ok(Some(Frame::Bulk(body)))
    }

    /// An aggregate of `header` elements (`*`, `~`, `>`), built by `shape`.
    fn array(
        &mut self,
        header: &[u8],
        depth: usize,
        shape: fn(Vec<Frame>) -> Frame,
    ) -> Step<Frame> {
        let Some(len) = self.aggregate_len(header, depth, 1)? else {
            return Ok(Some(Frame::NullArray));
        };
        // Every element takes at least 3 bytes (`:0\r\n` is 4), so a length far beyond what is
        // buffered only needs more bytes; reserving for it now would trust the header.
        let mut items = Vec::with_capacity(len.min(self.buf.len() / 3 + 1));
        for _ in 0..len {
            items.push(need!(self.frame(depth + 1)));
        }
        Ok(Some(shape(items)))
    }

    /// A RESP3 map (`%`), or the peers' pairs (`^`), of `header` pairs, built by `shape`.
    fn map(
        &mut self,
        header: &[u8],
        depth: usize,
        shape: fn(Vec<(Frame, Frame)>) -> Frame,
    ) -> Step<Frame> {
        let Some(len) = self.aggregate_len(header, depth, 2)? else {
            return Err(ProtocolError::new("a RESP3 map cannot be null"));
        };
        let mut pairs = Vec::with_capacity(len.min(self.buf.len() / 6 + 1));
        for _ in 0..len {
            let k = need!(self.frame(depth + 1));
            let v = need!(self.frame(depth + 1));
            pairs.push((k, v));
        }
        Ok(Some(shape(pairs)))
    }

    /// An aggregate's element count (`None` for -1), checked against the bounds: `per` frames
    /// per element count against `array_len_max`.
    fn aggregate_len(&self, header: &[u8], depth: usize, per: usize) -> Step<usize> {
        let len = integer(header, "multibulk length")?;
        if len == -1 {
            return Ok(None);
        }
        let max = self.limits.array_len_max;
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n.saturating_mul(per) <= max)
            .ok_or_else(|| {
                ProtocolError::new(format!(
                    "invalid multibulk length {len} (array_len_max {max})"
                ))
            })?;
        if depth + 1 > self.limits.depth_max {
            return Err(ProtocolError::new(format!(
                "arrays nested deeper than depth_max {}",
                self.limits.depth_max
            )));
        }
        Ok(Some(len))
    }

    /// One line up to CRLF (or, for inline commands, a bare LF), without its terminator.
    fn line(&mut self, crlf_required: bool) -> Step<&'a [u8]> {
        let rest: &'a [u8] = &self.buf[self.pos..];
        let window = &rest[..rest.len().min(self.limits.line_bytes_max + 2)];
        let Some(lf) = window.iter().position(|&b| b == b'\n') else {
            if rest.len() > self.limits.line_bytes_max + 1 {
                return Err(ProtocolError::new(format!(
                    "line longer than line_bytes_max {}",
                    self.limits.line_bytes_max
                )));
            }
            return Ok(None);
        };
        let cr = lf > 0 && rest[lf - 1] == b'\r';
        if crlf_required && !cr {
            return Err(ProtocolError::new("expected CRLF, got a bare LF"));
        }
        self.pos += lf + 1;
        Ok(Some(&rest[..if cr { lf - 1 } else { lf }]))
    }

    /// An inline command; `Some(None)` for an empty line, which is skipped.
    fn inline(&mut self) -> Step<Option<Frame>> {
        let line = need!(self.line(false));
        let words: Vec<Frame> = line
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|w| !w.is_empty())
            .map(|w| Frame::Bulk(Bytes::copy_from_slice(w)))
            .collect();
        if words.len() > self.limits.array_len_max {
            return Err(ProtocolError::new("too many words in an inline command"));
        }
        Ok(Some((!words.is_empty()).then_some(Frame::Array(words))))
    }
}

/// A `+` or `-` line as text; RESP says it is text, so invalid UTF-8 is a protocol error.
fn text(line: &[u8]) -> Result<String, ProtocolError> {
    String::from_utf8(line.to_vec())
        .map_err(|_| ProtocolError::new("simple string or error is not valid UTF-8"))
}

/// A strict decimal i64: optional `-`, digits only, no `+`, no spaces.
fn integer(line: &[u8], what: &str) -> Result<i64, ProtocolError> {
    let bad = || {
        ProtocolError::new(format!(
            "invalid {what} '{}'",
            String::from_utf8_lossy(&line[..line.len().min(32)])
        ))
    };
    let digits = line.strip_prefix(b"-").unwrap_or(line);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)
}

fn printable(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(bytes: &[u8]) -> (Vec<Frame>, Result<(), ProtocolError>, usize) {
        let mut buf = BytesMut::from(bytes);
        let mut frames = Vec::new();
        loop {
            match parse_frame(&mut buf, &Limits::default()) {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => return (frames, Ok(()), buf.len()),
                Err(e) => return (frames, Err(e), buf.len()),
            }
        }
    }

    fn cmd(words: &[&str]) -> Frame {
        Frame::Array(words.iter().map(|w| Frame::bulk(w.to_string())).collect())
    }

    #[test]
    fn a_command_split_at_every_byte_is_parsed_only_once_it_is_whole() {
        let wire = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        for cut in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..cut]);
            assert_eq!(parse_frame(&mut buf, &Limits::default()), Ok(None));
            assert_eq!(buf.len(), cut, "a partial frame consumes nothing");
            buf.extend_from_slice(&wire[cut..]);
            let frame = parse_frame(&mut buf, &Limits::default()).unwrap();
            assert_eq!(frame, Some(cmd(&["GET", "k"])));
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn pipelined_commands_come_out_one_per_call_in_order() {
        let (frames, result, left) =
            parse_all(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*1\r\n$4\r\nPI");
        assert_eq!(frames, vec![cmd(&["PING"]), cmd(&["ECHO", "hi"])]);
        assert_eq!(result, Ok(()));
        assert_eq!(left, 10, "the partial third command waits in the buffer");
    }

    #[test]
    fn inline_commands_split_on_spaces_and_empty_lines_are_skipped() {
        let (frames, result, _) = parse_all(b"\r\nSET  k v\r\nPING\n");
        assert_eq!(frames, vec![cmd(&["SET", "k", "v"]), cmd(&["PING"])]);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn every_reply_type_parses_including_nulls_and_nesting() {
        let (frames, result, _) =
            parse_all(b"+OK\r\n-ERR no\r\n:-7\r\n$-1\r\n*-1\r\n*2\r\n:1\r\n*1\r\n$0\r\n\r\n");
        assert_eq!(result, Ok(()));
        let nested = Frame::Array(vec![Frame::Integer(1), Frame::Array(vec![Frame::bulk("")])]);
        let expected = vec![
            Frame::Simple("OK".into()),
            Frame::Error("ERR no".into()),
            Frame::Integer(-7),
            Frame::Null,
            Frame::NullArray,
            nested,
        ];
        assert_eq!(frames, expected);
    }

    #[test]
    fn a_bulk_length_over_the_bound_is_a_protocol_error_before_any_body_arrives() {
        let limits = Limits {
            bulk_bytes_max: 10,
            ..Limits::default()
        };
        let mut buf = BytesMut::from(&b"*1\r\n$11\r\n"[..]);
        let err = parse_frame(&mut buf, &limits).unwrap_err();
        assert!(err.to_string().contains("invalid bulk length 11"), "{err}");
        assert!(err.to_frame().to_string().contains("ERR Protocol error"));
    }

    #[test]
    fn huge_arrays_deep_nesting_bad_lengths_and_long_lines_are_protocol_errors() {
        let limits = Limits {
            line_bytes_max: 16,
            depth_max: 2,
            ..Limits::default()
        };
        let cases: &[(&[u8], &str)] = &[
            (b"*99999999999\r\n", "invalid multibulk length"),
            (b"*1\r\n*1\r\n*1\r\n", "nested deeper"),
            (b"$-5\r\n", "invalid bulk length -5"),
            (b"$+5\r\n", "invalid bulk length '+5'"),
            (b":12a\r\n", "invalid integer"),
            (b"$2\r\nabcd\r\n", "not followed by CRLF"),
            (b"+OK\n", "bare LF"),
            (b"GET aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "line longer"),
            (b"*1\r\n!x\r\n", "expected a RESP type byte"),
        ];
        for (wire, needle) in cases {
            let mut buf = BytesMut::from(*wire);
            let err = parse_frame(&mut buf, &limits).unwrap_err().to_string();
            assert!(err.contains(needle), "{wire:?}: {err}");
        }
    }

    #[test]
    fn resp3_types_parse_into_their_own_frames() {
        let (frames, result, _) =
            parse_all(b"_\r\n,1.5\r\n%1\r\n$1\r\na\r\n:1\r\n~1\r\n$1\r\nm\r\n>1\r\n$2\r\nhi\r\n");
        assert_eq!(result, Ok(()));
        let expected = vec![
            Frame::Null,
            Frame::Double("1.5".into()),
            Frame::Map(vec![(Frame::bulk("a"), Frame::Integer(1))]),
            Frame::Set(vec![Frame::bulk("m")]),
            Frame::Push(vec![Frame::bulk("hi")]),
        ];
        assert_eq!(frames, expected);
        let mut buf = BytesMut::from(&b"%-1\r\n"[..]);
        assert!(parse_frame(&mut buf, &Limits::default()).is_err());
    }

    #[test]
    fn a_large_bulk_is_a_slice_of_the_receive_buffer_and_a_small_one_a_copy() {
        let big = vec![b'v'; BULK_COPY_BYTES_MAX + 1];
        let mut wire = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n".to_vec();
        wire.extend_from_slice(format!("${}\r\n", big.len()).as_bytes());
        wire.extend_from_slice(&big);
        wire.extend_from_slice(b"\r\n");
        let mut buf = BytesMut::from(&wire[..]);
        let start = buf.as_ptr() as usize;
        let Some(Frame::Array(words)) = parse_frame(&mut buf, &Limits::default()).unwrap() else {
            panic!("a command");
        };
        assert_eq!(words[1], Frame::bulk("k"));
        let Frame::Bulk(value) = &words[2] else {
            panic!("a bulk")
        };
        assert_eq!(value.as_ref(), &big[..]);
        let offset = value.as_ptr() as usize - start;
        assert_eq!(
            offset,
            wire.len() - big.len() - 2,
            "the value was not copied"
        );
    }

    #[test]
    fn a_partial_frame_says_how_many_bytes_its_bulk_needs_once_the_header_is_in() {
        let limits = Limits::default();
        assert_eq!(bulk_bytes_wanted(b"*2\r\n$3\r\nGET\r\n", &limits), 0);
        let head = b"*2\r\n$3\r\nSET\r\n$1000000\r\nabc";
        assert_eq!(bulk_bytes_wanted(head, &limits), 23 + 1_000_000 + 2);
        assert_eq!(bulk_bytes_wanted(b"GET k", &limits), 0);
    }
}
