//! RESP, the Redis serialization protocol, in both versions: the frames, their bounds, and the
//! error that ends a connection. `parse.rs` reads frames out of a byte buffer; `encode.rs`
//! writes them in the version a connection speaks (RESP2 by default, RESP3 after `HELLO 3`).
//!
//! ```text
//!   Frame              RESP2                          RESP3
//!   Simple("OK")       +OK\r\n                         +OK\r\n
//!   Error("ERR x")     -ERR x\r\n                      -ERR x\r\n
//!   Integer(42)        :42\r\n                         :42\r\n
//!   Bulk("foo")        $3\r\nfoo\r\n                   $3\r\nfoo\r\n
//!   Null               $-1\r\n                         _\r\n
//!   NullArray          *-1\r\n                         _\r\n
//!   Array([..])        *n\r\n …                        *n\r\n …
//!   Map([(k, v)..])    *2n\r\n k v … (flattened)       %n\r\n k v …
//!   Pairs([(a, b)..])  *2n\r\n a b … (flattened)       *n\r\n *2\r\n a b …   (WITHSCORES)
//!   Set([..])          *n\r\n …                        ~n\r\n …
//!   Double("1.5")      $3\r\n1.5\r\n (as text)         ,1.5\r\n
//!   Push([..])         *n\r\n …                        >n\r\n …   (pub/sub messages)
//!   GET k\r\n  (inline command, what telnet users type) ──► Array([Bulk("GET"), Bulk("k")])
//! ```
//!
//! One frame type for both versions: the node builds the richest shape (a map is a `Map`), and
//! only the encoder, which knows the connection's version, flattens it for RESP2. A third
//! dialect carries replies between nodes (a follower relays the leader's answer to a forwarded
//! request): RESP3's types with RESP2's two nulls, and pairs as `^n` then 2n frames (a type
//! byte RESP3 does not use, sent only between nodes), so nothing is lost on the way whichever
//! version the client at the other end speaks. The parser reads all three.
//!
//! ```text
//!   socket bytes ──► BytesMut ──► parse_frame ─┬─ Ok(Some(frame)) consumed, call again (pipelining)
//!                                              ├─ Ok(None)        need more bytes, nothing consumed
//!                                              └─ Err(ProtocolError) reply -ERR Protocol error: …, close
//! ```
//!
//! Invariants: the parser never panics and never allocates more than the [`Limits`] allow
//! for one frame, whatever the bytes; a partial frame consumes nothing; a frame that the
//! encoder writes parses back to itself.
//!
//! Large bulk strings: the parser hands a bulk body out of the receive buffer without copying it
//! (`BytesMut::split_to`), and a connection reserves room for a body as soon as its header says
//! how long it is (`bulk_bytes_wanted`), so a 64 MiB value is read into one allocation instead of
//! being copied each time the buffer doubles.

mod encode;
mod parse;

use std::fmt;

use bytes::Bytes;

pub use encode::{encode, encode_as, encode_for_peer};
pub use parse::{bulk_bytes_wanted, parse_frame};

/// The RESP version a connection speaks: 2 until the client sends `HELLO 3`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Proto {
    /// RESP2: what every Redis client speaks by default.
    #[default]
    Resp2,
    /// RESP3 (Redis 6+): maps, sets, doubles, a null of its own, and push messages.
    Resp3,
}

impl Proto {
    /// The number `HELLO` and `CLIENT LIST` print: 2 or 3.
    pub fn number(self) -> i64 {
        match self {
            Proto::Resp2 => 2,
            Proto::Resp3 => 3,
        }
    }
}

/// One RESP value (RESP3's shapes; see the module docs for how RESP2 writes each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// `+text`: a short status such as `OK` or `PONG`. Never contains CR or LF.
    Simple(String),
    /// `-CODE message`: an error reply. The first word is the code clients switch on.
    Error(String),
    /// `:n`: a count or a number.
    Integer(i64),
    /// `$len bytes`: binary-safe bytes (keys and values).
    Bulk(Bytes),
    /// `$-1`: "no value", e.g. GET of a missing key.
    Null,
    /// `*-1`: "no array", e.g. EXEC after a WATCHed key changed.
    NullArray,
    /// `*n`: a list of frames; client commands are arrays of bulk strings.
    Array(Vec<Frame>),
    /// `%n`: field/value pairs (HELLO, CONFIG GET, HGETALL); a flat array in RESP2.
    Map(Vec<(Frame, Frame)>),
    /// An ordered list of pairs (ZRANGE WITHSCORES): flat in RESP2, an array of two-element
    /// arrays in RESP3, `^n` between nodes. Not a map: keys may repeat, order matters.
    Pairs(Vec<(Frame, Frame)>),
    /// `~n`: members without order or duplicates (SMEMBERS); an array in RESP2.
    Set(Vec<Frame>),
    /// `,text`: a floating-point number as Redis prints it (`1.5`, `inf`); a bulk in RESP2.
    Double(Bytes),
    /// `>n`: an out-of-band message (pub/sub); an array in RESP2.
    Push(Vec<Frame>),
}

impl Frame {
    /// A bulk string from anything byte-like.
    pub fn bulk(bytes: impl Into<Bytes>) -> Frame {
        Frame::Bulk(bytes.into())
    }

    /// An error reply `-{code} {message}`.
    pub fn error(code: &str, message: impl fmt::Display) -> Frame {
        Frame::Error(format!("{code} {message}"))
    }

    /// `+OK`.
    pub fn ok() -> Frame {
        Frame::Simple("OK".into())
    }

    /// True for an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Simple(s) => write!(f, "Simple{{{s}}}"),
            Frame::Error(s) => write!(f, "Error{{{s}}}"),
            Frame::Integer(n) => write!(f, "Integer{{{n}}}"),
            Frame::Bulk(b) => write!(f, "Bulk{{{}}}", String::from_utf8_lossy(b)),
            Frame::Null => write!(f, "Null{{}}"),
            Frame::NullArray => write!(f, "NullArray{{}}"),
            Frame::Array(items) => write!(f, "Array{{n={}}}", items.len()),
            Frame::Map(pairs) => write!(f, "Map{{n={}}}", pairs.len()),
            Frame::Pairs(pairs) => write!(f, "Pairs{{n={}}}", pairs.len()),
            Frame::Set(items) => write!(f, "Set{{n={}}}", items.len()),
            Frame::Double(d) => write!(f, "Double{{{}}}", String::from_utf8_lossy(d)),
            Frame::Push(items) => write!(f, "Push{{n={}}}", items.len()),
        }
    }
}

/// Bounds on one frame. Everything from a socket is untrusted: each bound is checked before
/// the memory it guards is reserved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk string: Redis' `proto-max-bulk-len` (512 MiB by default). The node sets it
    /// from `NodeConfig::proto_max_bulk_len`, the same number as kv's `value_bytes_max`, so a
    /// value the parser accepts is one the replicated map accepts (`config.rs`).
    pub bulk_bytes_max: usize,
    /// Most elements in one array: a client cannot make us reserve a billion slots with a
    /// ten-byte header.
    pub array_len_max: usize,
    /// Deepest array nesting. Commands are flat; replies nest at most twice. Bounds recursion.
    pub depth_max: usize,
    /// Longest line: a `+`/`-`/`:` line, a length header, or an inline command. Without it a
    /// client that never sends `\n` makes us buffer forever.
    pub line_bytes_max: usize,
}

impl Default for Limits {
    /// Redis' defaults where it has them (512 MiB bulk, 64 KiB inline), generous elsewhere.
    fn default() -> Self {
        Limits {
            bulk_bytes_max: 512 << 20,
            array_len_max: 1 << 20,
            depth_max: 8,
            line_bytes_max: 64 << 10,
        }
    }
}

/// A stream that is not RESP. The connection is answered once and closed, as Redis does:
/// after a framing error there is no way to find the next frame boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    /// What was wrong, for the client and the log: `expected '$', got 'x'`.
    pub message: String,
}

impl ProtocolError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ProtocolError {
            message: message.into(),
        }
    }

    /// The reply a client gets before the connection is closed.
    pub fn to_frame(&self) -> Frame {
        Frame::error("ERR", self)
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Protocol error: {}", self.message)
    }
}

impl std::error::Error for ProtocolError {}
