//! The one binary vocabulary of the workspace: how `kv` (requests, snapshots), `storage`
//! (WAL segment headers, record framing, snapshot file headers) and `server` (WAL records,
//! peer frames, snapshot file contents) write integers and byte strings, and how they read
//! them back from bytes nobody vouches for.
//!
//! ```text
//!   u8 | u32 LE | u64 LE | i64 LE | bool = u8 0 or 1 | bytes = u32 LE length ‖ that many bytes
//!
//!   value ──Sink::put_*──► Vec<u8> / BytesMut / a hasher (kv's FNV digest: same bytes, unbuilt)
//!   bytes ──Reader──► value, or DecodeError{offset, message naming the field}
//! ```
//!
//! **One byte order: little-endian**, everywhere, so a learner reading a hex dump of a WAL
//! segment, a peer frame or a snapshot reads the same order in each (and it is the order of
//! every machine this runs on, so nothing is swapped). Formats stay versioned by their owners;
//! this file only fixes how a field is spelled.
//!
//! The reader's promises (each has a test below):
//! - every read checks what is left *before* it slices or allocates; a length is checked
//!   against its limit, then against what is left, before anything is copied;
//! - offsets and sizes use checked arithmetic: a hostile length or count cannot wrap;
//! - every failure is a [`DecodeError`] naming the field, the shortfall or the limit, and the
//!   offset where it was found (`at byte 12: entry data: needs 40 bytes, only 3 left`; a
//!   length or count over its limit is reported at its own first byte); nothing panics;
//! - [`Reader::finish`] refuses trailing bytes: a writer and reader that disagree on a format
//!   are found, not papered over.
//!
//! How many bytes a value takes, without writing it, is [`WireSize`] (`wire/size.rs`): what the
//! simulator counts when it compares protocols by bytes on the wire.
//!
//! The road not taken: `bytes::Buf`/`BufMut`. Their `get_*` panic on short input and their
//! `put_u32` is big-endian, the opposite of this format; a trait of our own also lets the kv
//! digest hash exactly the bytes a snapshot would hold without building them.

use std::fmt;

use bytes::{Bytes, BytesMut};

pub mod size;

pub use size::{WireSize, KIND_BYTES, U32_BYTES, U64_BYTES, U8_BYTES};

/// Why some bytes did not decode, and where. Always a value, never a panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset into the input where the failing field starts, so a corrupt record or
    /// frame can be inspected with a hex dump.
    pub offset: usize,
    /// What was wrong, naming the field and the limit it broke.
    pub message: String,
}

impl DecodeError {
    /// An error at `offset` about `message`.
    pub fn at(offset: usize, message: impl Into<String>) -> DecodeError {
        DecodeError {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for DecodeError {}

/// Somewhere to write encoded bytes: a buffer, or a hasher that never builds them.
///
/// Writing never fails. A length or count above `u32::MAX` is a bug of the caller (every
/// format bounds its fields far below 4 GiB before encoding), so it is an `assert`, not an
/// error.
pub trait Sink {
    /// Write raw bytes. Every other method is built on this one.
    fn put_slice(&mut self, bytes: &[u8]);

    /// One byte.
    fn put_u8(&mut self, v: u8) {
        self.put_slice(&[v]);
    }

    /// A bool as one byte, 0 or 1.
    fn put_bool(&mut self, v: bool) {
        self.put_u8(u8::from(v));
    }

    /// Four bytes, little-endian.
    fn put_u32(&mut self, v: u32) {
        self.put_slice(&v.to_le_bytes());
    }

    /// Eight bytes, little-endian.
    fn put_u64(&mut self, v: u64) {
        self.put_slice(&v.to_le_bytes());
    }

    /// Eight bytes, two's complement, little-endian.
    fn put_i64(&mut self, v: i64) {
        self.put_slice(&v.to_le_bytes());
    }

    /// A byte string: its u32 length, then the bytes.
    fn put_bytes(&mut self, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).expect("wire: a byte string longer than a u32 length");
        self.put_u32(len);
        self.put_slice(bytes);
    }

    /// A u32 count of the items that follow.
    fn put_count(&mut self, n: usize) {
        self.put_u32(u32::try_from(n).expect("wire: a count that does not fit a u32"));
    }
}

impl Sink for Vec<u8> {
    fn put_slice(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for BytesMut {
    fn put_slice(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A cursor over untrusted bytes. See the module docs for its promises.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    /// The whole input, kept whole so errors report absolute offsets.
    buf: &'a [u8],
    /// The next byte to read. Never past `buf.len()`.
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// An error at the current offset.
    pub fn error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError::at(self.pos, message)
    }

    /// Bytes read so far: the offset of the next field.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Take exactly `n` bytes, or fail naming `what` was cut short and by how much.
    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len());
        let Some(end) = end else {
            return Err(self.error(format!(
                "{what}: needs {n} bytes, only {} left",
                self.remaining()
            )));
        };
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Exactly `N` bytes, as an array (a magic number, a fixed-width field).
    pub fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A little-endian u32.
    pub fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A little-endian u64.
    pub fn u64(&mut self, what: &str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A little-endian i64.
    pub fn i64(&mut self, what: &str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// A bool: 0 or 1, anything else refused.
    pub fn bool(&mut self, what: &str) -> Result<bool, DecodeError> {
        let start = self.pos;
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError::at(
                start,
                format!("{what}: {other} is not a bool (0 or 1)"),
            )),
        }
    }

    /// A u32-prefixed byte string, bounded only by the input itself (the framing around it,
    /// a CRC'd record or a length-checked frame, already bounds the input).
    pub fn bytes(&mut self, what: &str) -> Result<Bytes, DecodeError> {
        self.bytes_bounded(what, "the input size", usize::MAX)
    }

    /// A u32-prefixed byte string of at most `max` bytes (`limit` names the setting). The
    /// length is checked against `max`, then against what is left, before anything is copied.
    pub fn bytes_bounded(
        &mut self,
        what: &str,
        limit: &str,
        max: usize,
    ) -> Result<Bytes, DecodeError> {
        let start = self.pos;
        let len = self.u32(what)?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > max {
            self.pos = start;
            return Err(self.error(format!("{what}: {len} bytes exceeds {limit} {max}")));
        }
        Ok(Bytes::copy_from_slice(self.take(len, what)?))
    }

    /// A u32 item count between `min` and `max` (`limit` names the setting).
    pub fn count(
        &mut self,
        what: &str,
        limit: &str,
        min: usize,
        max: usize,
    ) -> Result<usize, DecodeError> {
        let start = self.pos;
        let n = usize::try_from(self.u32(what)?).unwrap_or(usize::MAX);
        if n < min || n > max {
            self.pos = start;
            return Err(self.error(format!("{what}: count {n} outside {min}..={max} ({limit})")));
        }
        Ok(n)
    }

    /// A u32 count of items each at least `item_bytes_min` long: refused unless that many
    /// could fit in what is left, so a hostile count cannot make the caller reserve memory
    /// for items that are not there.
    pub fn count_fitting(
        &mut self,
        what: &str,
        item_bytes_min: usize,
    ) -> Result<usize, DecodeError> {
        let start = self.pos;
        let n = usize::try_from(self.u32(what)?).unwrap_or(usize::MAX);
        let left = self.remaining();
        let fits = n
            .checked_mul(item_bytes_min)
            .is_some_and(|bytes| bytes <= left);
        if !fits {
            self.pos = start;
            return Err(self.error(format!(
                "{what}: {n} items of at least {item_bytes_min} bytes cannot fit in the {left} \
                 bytes left"
            )));
        }
        Ok(n)
    }

    /// Fail if anything is left: trailing bytes mean the writer and reader disagree on the
    /// format.
    pub fn finish(&self, what: &str) -> Result<(), DecodeError> {
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
        buf.put_bool(true);
        buf.put_u32(70_000);
        buf.put_u64(u64::MAX);
        buf.put_i64(-5);
        buf.put_bytes(b"hello");
        buf.put_count(2);
        let mut r = Reader::new(&buf);
        assert_eq!(r.u8("a"), Ok(7));
        assert_eq!(r.bool("b"), Ok(true));
        assert_eq!(r.u32("c"), Ok(70_000));
        assert_eq!(r.u64("d"), Ok(u64::MAX));
        assert_eq!(r.i64("e"), Ok(-5));
        assert_eq!(r.bytes("f"), Ok(Bytes::from_static(b"hello")));
        assert_eq!(r.count("g", "max", 0, 2), Ok(2));
        assert_eq!(r.finish("all"), Ok(()));
    }

    #[test]
    fn every_integer_is_little_endian_whatever_the_sink() {
        let mut vec = Vec::new();
        vec.put_u32(0x0102_0304);
        let mut bytes = BytesMut::new();
        bytes.put_u32(0x0102_0304);
        assert_eq!(vec, [4, 3, 2, 1]);
        assert_eq!(&bytes[..], [4, 3, 2, 1]);
    }

    #[test]
    fn a_length_over_its_limit_is_refused_before_anything_is_copied() {
        let mut buf = Vec::new();
        buf.put_bytes(b"too long");
        let mut r = Reader::new(&buf);
        let err = r.bytes_bounded("key", "key_bytes_max", 3).unwrap_err();
        assert_eq!(err.offset, 0);
        assert_eq!(err.message, "key: 8 bytes exceeds key_bytes_max 3");
        assert_eq!(r.offset(), 0, "nothing was consumed");
    }

    #[test]
    fn a_length_past_the_end_is_refused_where_the_bytes_should_start() {
        // A length of 4 GiB - 1 with three bytes behind it: refused, nothing allocated.
        let mut r = Reader::new(&[9, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
        assert_eq!(r.u8("kind"), Ok(9));
        let err = r.bytes("entry data").unwrap_err();
        assert_eq!(
            err.to_string(),
            "at byte 5: entry data: needs 4294967295 bytes, only 3 left"
        );
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
    fn trailing_bytes_are_refused() {
        let mut r = Reader::new(&[0, 1]);
        assert_eq!(r.u8("flag"), Ok(0));
        let err = r.finish("request").unwrap_err();
        assert_eq!(
            err.to_string(),
            "at byte 1: request: 1 trailing bytes after the last field"
        );
    }

    #[test]
    fn huge_counts_are_refused_before_the_caller_reserves_anything() {
        let mut buf = Vec::new();
        buf.put_u32(u32::MAX);
        buf.put_u64(1);
        let err = Reader::new(&buf).count_fitting("entries", 20).unwrap_err();
        assert!(err.message.contains("cannot fit"), "{err}");
        // Even an item size whose product with the count overflows usize is refused.
        let err = Reader::new(&buf)
            .count_fitting("entries", usize::MAX)
            .unwrap_err();
        assert!(err.message.contains("cannot fit"), "{err}");
        let err = Reader::new(&buf).count("keys", "keys_per_command_max", 1, 1024);
        assert!(err.unwrap_err().message.contains("keys_per_command_max"));
        assert_eq!(
            Reader::new(&buf).count_fitting("entries", 8),
            Err(DecodeError::at(
                0,
                "entries: 4294967295 items of at least 8 bytes cannot fit in the 8 bytes left"
            ))
        );
    }

    #[test]
    fn a_bool_other_than_zero_or_one_is_refused() {
        let err = Reader::new(&[2]).bool("granted").unwrap_err();
        assert_eq!(
            err.to_string(),
            "at byte 0: granted: 2 is not a bool (0 or 1)"
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic_any_read() {
        // Every prefix of a mixed buffer, read every way: errors, never panics.
        let mut buf = Vec::new();
        buf.put_bytes(b"abc");
        buf.put_u32(u32::MAX);
        buf.put_u64(3);
        for cut in 0..=buf.len() {
            let input = &buf[..cut];
            let _ = Reader::new(input).bytes("b");
            let _ = Reader::new(input).count_fitting("c", 1);
            let _ = Reader::new(input).u64("u");
            let _ = Reader::new(input).array::<16>("a");
            let mut r = Reader::new(input);
            let _ = r.take(usize::MAX, "everything");
            assert!(r.finish("f").is_err() || cut == 0);
        }
    }
}
