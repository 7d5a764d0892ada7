//! The byte-level primitives under the request codec and the snapshot format.
//!
//! Everything is little-endian and length-prefixed:
//!
//! ```text
//!   u8 | u32 LE | u64 LE | i64 LE | bytes = u32 LE length, then that many bytes
//! ```
//!
//! Writing goes through [`Sink`], which is implemented both by `Vec<u8>` (to build bytes) and by
//! the FNV-1a hasher in `hash.rs` (to fingerprint the same bytes without building them). That is
//! why the digest and the snapshot can never disagree about what the state is.
//!
//! Reading goes through [`Reader`], which treats its input as hostile: every read checks what is
//! left before it slices, every length is checked against its limit *before* anything is copied,
//! and every failure is a [`DecodeError`] naming the byte offset and the field. No read panics.

use std::fmt;

use bytes::Bytes;

/// Why some bytes did not decode, and where. Always a message, never a panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset into the input where decoding stopped, so a corrupt entry can be inspected.
    pub offset: usize,
    /// What was wrong, naming the field and the limit it broke.
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for DecodeError {}

/// Somewhere to write encoded bytes: a buffer or a hasher.
pub(crate) trait Sink {
    /// Write raw bytes. Every other method is built on this one.
    fn put(&mut self, bytes: &[u8]);

    fn put_u8(&mut self, v: u8) {
        self.put(&[v]);
    }

    fn put_u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }

    fn put_u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }

    fn put_i64(&mut self, v: i64) {
        self.put(&v.to_le_bytes());
    }

    /// A length-prefixed byte string. Limits (validated in `Config`) keep every key and value
    /// far below 4 GiB, so a longer one is a bug in this crate, not bad input.
    fn put_bytes(&mut self, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).expect("wire: byte string longer than a u32 length");
        self.put_u32(len);
        self.put(bytes);
    }

    /// A count of items that follow; the same 4 GiB argument as `put_bytes`.
    fn put_count(&mut self, n: usize) {
        self.put_u32(u32::try_from(n).expect("wire: count does not fit a u32"));
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A cursor over untrusted bytes.
pub(crate) struct Reader<'a> {
    /// The whole input, kept whole so errors can report absolute offsets.
    buf: &'a [u8],
    /// The next byte to read. Never past `buf.len()`.
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// An error at the current offset.
    pub(crate) fn error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError {
            offset: self.pos,
            message: message.into(),
        }
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Take exactly `n` bytes, or fail naming `what` was cut short.
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.error(format!(
                "{what}: needs {n} bytes, only {} left",
                self.remaining()
            )));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// A u32-prefixed byte string of at most `max` bytes (`limit` names the setting).
    pub(crate) fn bytes(
        &mut self,
        what: &str,
        limit: &str,
        max: usize,
    ) -> Result<Bytes, DecodeError> {
        let start = self.pos;
        let len = self.u32(what)? as usize;
        if len > max {
            self.pos = start;
            return Err(self.error(format!("{what}: {len} bytes exceeds {limit} {max}")));
        }
        Ok(Bytes::copy_from_slice(self.take(len, what)?))
    }

    /// A u32 item count between `min` and `max` (`limit` names the setting).
    pub(crate) fn count(
        &mut self,
        what: &str,
        limit: &str,
        min: usize,
        max: usize,
    ) -> Result<usize, DecodeError> {
        let start = self.pos;
        let n = self.u32(what)? as usize;
        if n < min || n > max {
            self.pos = start;
            return Err(self.error(format!("{what}: count {n} outside {min}..={max} ({limit})")));
        }
        Ok(n)
    }

    /// Fail if anything is left: trailing bytes mean the writer and reader disagree on the format.
    pub(crate) fn finish(&self, what: &str) -> Result<(), DecodeError> {
        if self.remaining() != 0 {
            return Err(self.error(format!(
                "{what}: {} trailing bytes after the last field",
                self.remaining()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_reads_back_what_a_sink_wrote() {
        let mut buf = Vec::new();
        buf.put_u8(7);
        buf.put_u32(70_000);
        buf.put_u64(u64::MAX);
        buf.put_i64(-5);
        buf.put_bytes(b"hello");
        let mut r = Reader::new(&buf);
        assert_eq!(r.u8("a"), Ok(7));
        assert_eq!(r.u32("b"), Ok(70_000));
        assert_eq!(r.u64("c"), Ok(u64::MAX));
        assert_eq!(r.i64("d"), Ok(-5));
        assert_eq!(r.bytes("e", "max", 5), Ok(Bytes::from_static(b"hello")));
        assert_eq!(r.finish("all"), Ok(()));
    }

    #[test]
    fn a_length_over_its_limit_is_refused_before_anything_is_copied() {
        let mut buf = Vec::new();
        buf.put_bytes(b"too long");
        let err = Reader::new(&buf)
            .bytes("key", "key_bytes_max", 3)
            .unwrap_err();
        assert_eq!(err.offset, 0);
        assert!(err.message.contains("key_bytes_max 3"), "{err}");
    }

    #[test]
    fn a_cut_short_input_names_the_field_and_the_shortfall() {
        let err = Reader::new(&[1, 2]).u64("seq").unwrap_err();
        assert_eq!(
            err.to_string(),
            "at byte 0: seq: needs 8 bytes, only 2 left"
        );
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let r = Reader::new(&[0]);
        assert!(r.finish("request").is_err());
    }
}
