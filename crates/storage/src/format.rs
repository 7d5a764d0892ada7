//! The on-disk format of a WAL segment: a fixed header, then records, each one framed and
//! checksummed on its own so recovery can tell exactly where good data ends.
//!
//! ```text
//!   wal-00000000000000000001.log          file name = first LSN, 20 digits, so names sort by LSN
//!   ┌──────────────────────────────────────────────────────────────┐
//!   │ segment header (20 bytes)                                     │
//!   │   magic "DWAL" │ version:u32 (=1) │ first_lsn:u64 │ crc:u32   │  crc = CRC-32(bytes 0..16)
//!   ├──────────────────────────────────────────────────────────────┤
//!   │ record (LSN = first_lsn)                                      │
//!   │   magic "DWR1" │ len:u32 │ crc:u32 │ payload[len]             │  crc = CRC-32(len ‖ payload)
//!   ├──────────────────────────────────────────────────────────────┤
//!   │ record (LSN = first_lsn + 1) …                                │
//!   └──────────────────────────────────────────────────────────────┘
//!   All integers little-endian, written and read through `distributed_core::wire` (the one
//!   vocabulary kv and server use too). A record's LSN is its position, never stored: the
//!   segment header anchors the count, and the file name must agree with the header.
//! ```
//!
//! Invariants: records are contiguous (no padding, no gaps); a segment's LSNs are consecutive;
//! `len <= RECORD_BYTES_LIMIT`. A record either parses completely with a matching CRC or it is
//! bad, and a bad record is the end of the valid prefix.
//!
//! Why a per-record magic: a run of zero bytes (a file extended but never written, the classic
//! torn tail on XFS and after preallocation) must never parse as a record. With only
//! `len ‖ crc`, an all-zero header is an empty record whenever CRC-32(0u32) happens to be the
//! stored value. The magic also lets recovery *search* for a valid record after a bad one,
//! which is how it tells a torn tail (nothing valid follows) from corruption (something does).
//!
//! The checksum is CRC-32 (IEEE, the one `crc32fast` computes and the kv snapshot uses), so one
//! function covers every byte this project writes. CRC-32C would be as good; the road not taken
//! because it would add a dependency for no gain in detecting torn writes and flipped bits.

use std::fmt;

use distributed_core::wire::{DecodeError, Reader, Sink};

/// A record's sequence number: the first record ever written is `Lsn(1)`, each append adds one.
/// `Lsn(0)` means "before every record", e.g. the durable LSN of a WAL that holds nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// The LSN before every record.
    pub const ZERO: Lsn = Lsn(0);

    /// The largest LSN a segment may start at: half the u64 range. LSNs count records ever
    /// appended, so a real WAL never comes near it (2^63 appends at a million a second take
    /// 292,000 years); a segment claiming more is damage or a forgery, and refusing it keeps
    /// every `first + count`, `lsn + 1` and `lsn - 1` of recovery and appending in range.
    pub const MAX: Lsn = Lsn(u64::MAX >> 1);

    /// The LSN after this one.
    pub fn next(self) -> Lsn {
        Lsn(self.0 + 1)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// First bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 4] = *b"DWAL";
/// The segment format this build writes and reads.
pub const SEGMENT_VERSION: u32 = 1;
/// Size of the segment header: magic, version, first LSN, CRC.
pub const SEGMENT_HEADER_BYTES: usize = 20;
/// First bytes of every record.
pub const RECORD_MAGIC: [u8; 4] = *b"DWR1";
/// Size of a record header: magic, length, CRC.
pub const RECORD_HEADER_BYTES: usize = 12;
/// The largest payload the format allows, whatever the options say. Recovery checks lengths
/// against this (not against `record_bytes_max`) so that lowering the option never turns
/// records that were valid when written into "corruption".
pub const RECORD_BYTES_LIMIT: usize = 1 << 30;

// The header sizes are the sums of their fields, and a record's length must fit its u32 field.
const _: () = assert!(SEGMENT_HEADER_BYTES == SEGMENT_MAGIC.len() + 4 + 8 + 4);
const _: () = assert!(RECORD_HEADER_BYTES == RECORD_MAGIC.len() + 4 + 4);
const _: () = assert!(RECORD_BYTES_LIMIT <= u32::MAX as usize);

/// Encode `payload` as one record at the end of `out`.
pub(crate) fn encode_record(payload: &[u8], out: &mut Vec<u8>) {
    assert!(
        payload.len() <= RECORD_BYTES_LIMIT,
        "callers check record_bytes_max first"
    );
    let len = u32::try_from(payload.len()).expect("RECORD_BYTES_LIMIT fits a u32");
    let start = out.len();
    out.put_slice(&RECORD_MAGIC);
    out.put_u32(len);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&out[start + 4..]); // the length as written
    crc.update(payload);
    out.put_u32(crc.finalize());
    out.put_slice(payload);
}

/// Parse the record at `buf[at..]`: its payload and the offset just past it, or why it is bad.
pub(crate) fn parse_record(buf: &[u8], at: usize) -> Result<(&[u8], usize), String> {
    let left = buf.len() - at;
    if left < RECORD_HEADER_BYTES {
        return Err(format!(
            "{left} bytes left, a record header needs {RECORD_HEADER_BYTES}"
        ));
    }
    let mut r = Reader::new(&buf[at..]);
    let magic: [u8; 4] = r.array("record magic").map_err(|e| e.to_string())?;
    if magic != RECORD_MAGIC {
        return Err(format!("bad record magic {magic:02x?}"));
    }
    let len_bytes = &buf[at + 4..at + 8];
    let len = r.u32("record length").map_err(|e| e.to_string())?;
    let stored = r.u32("record CRC").map_err(|e| e.to_string())?;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > RECORD_BYTES_LIMIT {
        return Err(format!(
            "record length {len} exceeds the format limit {RECORD_BYTES_LIMIT}"
        ));
    }
    let body = r.remaining();
    if len > body {
        return Err(format!(
            "record length {len} runs past the end of the file ({body} bytes follow the header)"
        ));
    }
    let payload = r.take(len, "record payload").map_err(|e| e.to_string())?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(len_bytes);
    crc.update(payload);
    let computed = crc.finalize();
    if stored != computed {
        return Err(format!(
            "record CRC-32 mismatch: stored {stored:#010x}, computed {computed:#010x}"
        ));
    }
    Ok((payload, at + r.offset()))
}

/// The first offset in `buf[from..]` where a complete, valid record starts, if any.
///
/// Recovery calls this after a bad record: a valid record beyond it proves the bad one is not
/// a torn tail but damage in the middle of the log. Cost is one pass over the rest of the file,
/// paid only when something is already wrong.
pub(crate) fn find_valid_record(buf: &[u8], from: usize) -> Option<usize> {
    let last_start = buf.len().checked_sub(RECORD_HEADER_BYTES)?;
    (from..=last_start)
        .filter(|&at| buf[at..at + 4] == RECORD_MAGIC)
        .find(|&at| parse_record(buf, at).is_ok())
}

/// The 20-byte header that opens a segment whose first record is `first`.
pub(crate) fn encode_segment_header(first: Lsn) -> Vec<u8> {
    let mut out = Vec::with_capacity(SEGMENT_HEADER_BYTES);
    out.put_slice(&SEGMENT_MAGIC);
    out.put_u32(SEGMENT_VERSION);
    out.put_u64(first.0);
    let crc = crc32fast::hash(&out);
    out.put_u32(crc);
    assert_eq!(out.len(), SEGMENT_HEADER_BYTES, "the header layout above");
    out
}

/// The first LSN a segment header names, or why the header is bad.
pub(crate) fn parse_segment_header(buf: &[u8]) -> Result<Lsn, String> {
    if buf.len() < SEGMENT_HEADER_BYTES {
        return Err(format!(
            "{} bytes, a segment header needs {SEGMENT_HEADER_BYTES}",
            buf.len()
        ));
    }
    let header = SegmentHeader::read(&mut Reader::new(buf)).map_err(|e| e.to_string())?;
    let SegmentHeader {
        magic,
        version,
        first,
        crc: stored,
    } = header;
    if magic != SEGMENT_MAGIC {
        return Err(format!("bad segment magic {magic:02x?}"));
    }
    let computed = crc32fast::hash(&buf[..SEGMENT_HEADER_BYTES - 4]);
    if stored != computed {
        return Err(format!(
            "segment header CRC-32 mismatch: stored {stored:#010x}, computed {computed:#010x}"
        ));
    }
    if version != SEGMENT_VERSION {
        return Err(format!(
            "segment version {version}, this build reads {SEGMENT_VERSION}"
        ));
    }
    Ok(Lsn(first))
}

/// A segment header's fields as read, before any of them is checked.
struct SegmentHeader {
    /// Should be `SEGMENT_MAGIC`.
    magic: [u8; 4],
    /// Should be `SEGMENT_VERSION`; checked after the CRC, so a flipped bit reads as one.
    version: u32,
    /// The LSN of the segment's first record.
    first: u64,
    /// CRC-32 of the 16 bytes before it.
    crc: u32,
}

impl SegmentHeader {
    fn read(r: &mut Reader<'_>) -> Result<SegmentHeader, DecodeError> {
        Ok(SegmentHeader {
            magic: r.array("segment magic")?,
            version: r.u32("segment version")?,
            first: r.u64("first LSN")?,
            crc: r.u32("segment header CRC")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_records() -> Vec<u8> {
        let mut buf = Vec::new();
        encode_record(b"hello", &mut buf);
        encode_record(b"", &mut buf);
        buf
    }

    #[test]
    fn records_parse_back_in_order_including_an_empty_one() {
        let buf = two_records();
        let (first, next) = parse_record(&buf, 0).expect("first record");
        assert_eq!(first, b"hello");
        let (second, end) = parse_record(&buf, next).expect("second record");
        assert_eq!(second, b"");
        assert_eq!(end, buf.len());
    }

    #[test]
    fn zero_bytes_never_parse_as_a_record() {
        let zeros = vec![0u8; 64];
        let err = parse_record(&zeros, 0).unwrap_err();
        assert!(err.contains("magic"), "{err}");
        assert_eq!(find_valid_record(&zeros, 0), None);
    }

    #[test]
    fn a_flipped_payload_bit_fails_the_crc() {
        let mut buf = two_records();
        buf[RECORD_HEADER_BYTES] ^= 0x01;
        let err = parse_record(&buf, 0).unwrap_err();
        assert!(err.contains("CRC-32 mismatch"), "{err}");
    }

    #[test]
    fn the_search_finds_the_valid_record_after_a_damaged_one() {
        let mut buf = two_records();
        buf[RECORD_HEADER_BYTES] ^= 0x01;
        let second = RECORD_HEADER_BYTES + 5;
        assert_eq!(find_valid_record(&buf, 1), Some(second));
    }

    #[test]
    fn a_segment_header_round_trips_and_refuses_a_flipped_bit() {
        let mut header = encode_segment_header(Lsn(4711));
        assert_eq!(parse_segment_header(&header), Ok(Lsn(4711)));
        header[9] ^= 0x10;
        assert!(parse_segment_header(&header)
            .unwrap_err()
            .contains("CRC-32"));
    }

    #[test]
    fn a_short_segment_header_is_refused_with_its_length() {
        let header = encode_segment_header(Lsn(1));
        let err = parse_segment_header(&header[..7]).unwrap_err();
        assert!(err.starts_with("7 bytes"), "{err}");
    }
}
