//! RESP2, the Redis serialization protocol: the frames, their bounds, and the error that ends a
//! connection. `parse.rs` reads frames out of a byte buffer; `encode.rs` writes them.
//!
//! ```text
//!   +OK\r\n                      Simple("OK")
//!   -ERR wrong type\r\n          Error("ERR wrong type")
//!   :42\r\n                      Integer(42)
//!   $3\r\nfoo\r\n                Bulk("foo")          $-1\r\n  Null
//!   *2\r\n$3\r\nGET\r\n$1\r\nk\r\n   Array([Bulk("GET"), Bulk("k")])   *-1\r\n  Null
//!   GET k\r\n                    inline command: Array([Bulk("GET"), Bulk("k")])
//!
//!   socket bytes ──► BytesMut ──► parse_frame ─┬─ Ok(Some(frame)) consumed, call again (pipelining)
//!                                              ├─ Ok(None)        need more bytes, nothing consumed
//!                                              └─ Err(ProtocolError) reply -ERR Protocol error: …, close
//! ```
//!
//! Invariants: the parser never panics and never allocates more than the [`Limits`] allow
//! for one frame, whatever the bytes; a partial frame consumes nothing; a frame that the
//! encoder writes parses back to itself.
//!
//! The road not taken: RESP3 (`HELLO 3`). redis-cli and redis-benchmark speak RESP2 by default,
//! and RESP3's maps and sets add nothing our replies need.

mod encode;
mod parse;

use std::fmt;

use bytes::Bytes;

pub use encode::encode;
pub use parse::parse_frame;

/// One RESP2 value.
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
        }
    }
}

/// Bounds on one frame. Everything from a socket is untrusted: each bound is checked before
/// the memory it guards is reserved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk string. Redis' `proto-max-bulk-len` is 512 MiB; the replicated map refuses
    /// far smaller values anyway (kv `value_bytes_max`), but the framing error is clearer here.
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
