//! Strings as arrays of bits: bit 0 is the most significant bit of the first byte, as in Redis.
//!
//! ```text
//!   SETBIT k offset 0|1          the old bit; zero bytes pad the string up to the bit's byte
//!   GETBIT k offset              the bit | 0 past the end or for a missing key
//!   BITCOUNT k [start end [BYTE|BIT]]       how many bits are 1 in the range
//!   BITPOS k 0|1 [start [end [BYTE|BIT]]]   the first 0 or 1 bit in the range | -1
//!   BITOP AND|OR|XOR|NOT dest k…            dest = the sources combined; answers its length
//!
//!   "@" = 0x40 = 0100_0000      GETBIT 1 ──► 1     SETBIT 2 1 ──► "`" = 0110_0000
//! ```
//!
//! Ranges are GETRANGE's: negative positions count from the end, both ends are clamped into
//! the string, in bytes by default or in bits with `BIT` (Redis 7). A missing key is an
//! endless run of 0 bits: BITPOS k 0 answers 0 and BITPOS k 1 answers -1. BITPOS for a 0
//! without an explicit end treats the string as followed by 0 bits (it answers the position
//! just past the string when every bit is 1); with an explicit end it stays inside the range
//! and answers -1.
//!
//! BITOP's result is as long as its longest source; a shorter or missing source counts as zero
//! bytes (so `AND` with a missing key is all zeros). An empty result deletes `dest`, as in
//! Redis; the result replaces `dest` whatever it held, without a TTL (Redis' `setKey`).
//!
//! Bounds: a bit offset must name a byte below 512 MB (Redis' default `proto-max-bulk-len`,
//! its bound on offsets: `ERR bit offset is not an integer or out of range`); SETBIT also
//! refuses to grow a string past `value_bytes_max`, SETRANGE's error. Every command here walks
//! at most the bytes of its strings.

use bytes::{Bytes, BytesMut};

use super::args::{int, is, parse_integer, syntax};
use super::{string_at, ReadCtx, WriteCtx};
use crate::command::table::flags::{R, RF, WD};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::{KvError, Reply};
use crate::value::Value;

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::String;

/// BITOP's keys: the destination and every source.
const DEST_AND_SOURCES: KeySpec = KeySpec {
    first: 2,
    last: -1,
    step: 1,
};

/// The bit rows of the command table (Redis files them under `bitmap`).
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "setbit", 4, WD, KeySpec::FIRST, "2.2.0", "Sets or clears the bit at an offset of a string value; creates the key if absent.", Exec::Write(setbit)),
    Spec::new(GROUP, "getbit", 3, RF, KeySpec::FIRST, "2.2.0", "Returns a bit value by offset.", Exec::Read(getbit)),
    Spec::new(GROUP, "bitcount", -2, R, KeySpec::FIRST, "2.6.0", "Counts the number of set bits (population counting) in a string, in a byte or bit range.", Exec::Read(bitcount)),
    Spec::new(GROUP, "bitpos", -3, R, KeySpec::FIRST, "2.8.7", "Finds the first set (1) or clear (0) bit in a string, in a byte or bit range.", Exec::Read(bitpos)),
    Spec::new(GROUP, "bitop", -4, WD, DEST_AND_SOURCES, "2.6.0", "Performs AND, OR, XOR or NOT on strings and stores the result in a key.", Exec::Write(bitop)),
];

/// The largest byte a bit offset may name, exclusive: Redis' default `proto-max-bulk-len`.
const BIT_OFFSET_BYTES_MAX: u64 = 512 * 1024 * 1024;

/// A bit offset, with Redis' error for a bad or out-of-range one.
fn bit_offset(arg: &[u8]) -> Result<u64, Reply> {
    parse_integer(arg)
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| n >> 3 < BIT_OFFSET_BYTES_MAX)
        .ok_or_else(|| Reply::error("ERR", "bit offset is not an integer or out of range"))
}

/// The bit at `offset` of `bytes` (0 past the end).
fn bit_at(bytes: &[u8], offset: u64) -> bool {
    let byte = usize::try_from(offset >> 3).ok().and_then(|i| bytes.get(i));
    byte.is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

fn setbit(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let offset = match bit_offset(&args[1]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let on = match args[2].as_ref() {
        b"0" => false,
        b"1" => true,
        _ => return Reply::error("ERR", "bit is not an integer or out of range"),
    };
    let old = match string_at(&ctx.as_read(), &args[0]) {
        Ok(v) => v.cloned(),
        Err(e) => return e,
    };
    let byte = (offset >> 3) as usize; // below 512 MB, a usize
    let max = ctx.limits.value_bytes_max;
    if byte >= max {
        let bytes = byte as u64 + 1;
        return Reply::Error(KvError::ValueTooLarge {
            bytes,
            max: max as u64,
        });
    }
    let existed = old.is_some();
    let mut value = BytesMut::from(&old.unwrap_or_default()[..]);
    if value.len() <= byte {
        value.resize(byte + 1, 0);
    }
    let mask = 0x80u8 >> (offset & 7);
    let was = value[byte] & mask != 0;
    if on {
        value[byte] |= mask;
    } else {
        value[byte] &= !mask;
    }
    let value = Value::Str(value.freeze());
    match ctx.db.entry_mut(&args[0], ctx.index, ctx.now_ms) {
        Some(entry) if existed => entry.value = value, // keeps the TTL
        _ => ctx.db.insert(args[0].clone(), value, None, ctx.index),
    }
    Reply::Int(i64::from(was))
}

fn getbit(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let offset = match bit_offset(&args[1]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    match string_at(ctx, &args[0]) {
        Ok(v) => Reply::Int(i64::from(v.is_some_and(|s| bit_at(s, offset)))),
        Err(e) => e,
    }
}

/// A range's unit: `BYTE` (the default) or `BIT`.
fn unit_is_bit(arg: Option<&Bytes>) -> Result<bool, Reply> {
    match arg {
        None => Ok(false),
        Some(a) if is(a, "BYTE") => Ok(false),
        Some(a) if is(a, "BIT") => Ok(true),
        Some(_) => Err(syntax()),
    }
}

/// The bits `start..=end` of a string of `len` bytes, from positions counted in bits or bytes
/// (negative: from the end), clamped as Redis clamps them; `None` for an empty range.
fn bit_range(start: i64, end: i64, len: usize, in_bits: bool) -> Option<(u64, u64)> {
    let total = i128::try_from(len).unwrap_or(i128::MAX) * if in_bits { 8 } else { 1 };
    let from_end = |i: i64| {
        let i = i128::from(i);
        (if i < 0 { total + i } else { i }).max(0)
    };
    let (start, end) = (from_end(start), from_end(end).min(total - 1));
    if total == 0 || start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64); // 0 <= start <= end < total
    Some(if in_bits {
        (start, end)
    } else {
        (start * 8, end * 8 + 7)
    })
}

/// How many bits of `bytes` in `first..=last` (bit positions inside `bytes`) are 1.
fn count_ones(bytes: &[u8], first: u64, last: u64) -> u64 {
    let (a, b) = ((first >> 3) as usize, (last >> 3) as usize);
    let whole: u64 = bytes[a..=b].iter().map(|x| u64::from(x.count_ones())).sum();
    let head = bytes[a].checked_shr(8 - (first & 7) as u32).unwrap_or(0); // bits before `first`
    let tail = bytes[b] & (0xffu8 >> (last & 7) >> 1); // bits after `last`
    whole - u64::from(head.count_ones()) - u64::from(tail.count_ones())
}

fn bitcount(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    // Redis 7.0 looks the key up first: a missing key is 0 whatever the other arguments.
    let value = match string_at(ctx, &args[0]) {
        Ok(Some(v)) => v.clone(),
        Ok(None) => return Reply::Int(0),
        Err(e) => return e,
    };
    let (first, last) = match args.len() {
        1 => match bit_range(0, -1, value.len(), false) {
            Some(r) => r,
            None => return Reply::Int(0),
        },
        3 | 4 => {
            let range = int(&args[1]).and_then(|s| Ok((s, int(&args[2])?)));
            let ((start, end), in_bits) = match (range, unit_is_bit(args.get(3))) {
                (Ok(r), Ok(b)) => (r, b),
                (Err(e), _) | (_, Err(e)) => return e,
            };
            if start < 0 && end < 0 && start > end {
                return Reply::Int(0);
            }
            match bit_range(start, end, value.len(), in_bits) {
                Some(r) => r,
                None => return Reply::Int(0),
            }
        }
        _ => return syntax(),
    };
    Reply::Int(count_ones(&value, first, last) as i64)
}

/// BITPOS's range: the bits to search and whether the caller gave an end.
fn bitpos_range(args: &[Bytes], len: usize) -> Result<(Option<(u64, u64)>, bool), Reply> {
    if args.len() == 2 {
        return Ok((bit_range(0, -1, len, false), false));
    }
    if args.len() > 5 {
        return Err(syntax());
    }
    let start = int(&args[2])?;
    let in_bits = unit_is_bit(args.get(4))?;
    let end = match args.get(3) {
        Some(e) => Some(int(e)?),
        None => None,
    };
    Ok((
        bit_range(start, end.unwrap_or(-1), len, in_bits),
        end.is_some(),
    ))
}

fn bitpos(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let want = match int(&args[1]) {
        Ok(b @ (0 | 1)) => b == 1,
        Ok(_) => return Reply::error("ERR", "The bit argument must be 1 or 0."),
        Err(e) => return e,
    };
    let value = match string_at(ctx, &args[0]) {
        Ok(Some(v)) => v.clone(),
        Ok(None) => return Reply::Int(if want { -1 } else { 0 }), // endless 0 bits
        Err(e) => return e,
    };
    let (range, end_given) = match bitpos_range(args, value.len()) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some((first, last)) = range else {
        return Reply::Int(-1); // an empty range holds neither a 0 nor a 1
    };
    let found = first_bit(&value, want, first, last);
    Reply::Int(match found {
        Some(p) => p as i64,
        None if !want && !end_given => last as i64 + 1, // the 0 bits after the string
        None => -1,
    })
}

/// The first bit equal to `want` in `first..=last`: whole bytes are skipped at once.
fn first_bit(bytes: &[u8], want: bool, first: u64, last: u64) -> Option<u64> {
    let skip = if want { 0x00 } else { 0xff };
    let mut p = first;
    while p <= last {
        if p & 7 == 0 && p + 7 <= last && bytes[(p >> 3) as usize] == skip {
            p += 8;
            continue;
        }
        if bit_at(bytes, p) == want {
            return Some(p);
        }
        p += 1;
    }
    None
}

/// BITOP's operations.
#[derive(Clone, Copy)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let op = match &args[0] {
        a if is(a, "AND") => BitOp::And,
        a if is(a, "OR") => BitOp::Or,
        a if is(a, "XOR") => BitOp::Xor,
        a if is(a, "NOT") => BitOp::Not,
        _ => return syntax(),
    };
    let (dest, sources) = (&args[1], &args[2..]);
    if matches!(op, BitOp::Not) && sources.len() != 1 {
        return Reply::error("ERR", "BITOP NOT must be called with a single source key.");
    }
    let mut strings = Vec::with_capacity(sources.len());
    for key in sources {
        match string_at(&ctx.as_read(), key) {
            Ok(v) => strings.push(v.cloned().unwrap_or_default()),
            Err(e) => return e,
        }
    }
    let result = combine(op, &strings);
    let len = result.len();
    if result.is_empty() {
        ctx.db.remove(dest, ctx.index);
    } else {
        let value = Value::Str(result);
        ctx.db.insert(dest.clone(), value, None, ctx.index);
    }
    super::count(len)
}

/// The sources combined byte by byte, as long as the longest; missing bytes count as 0.
fn combine(op: BitOp, sources: &[Bytes]) -> Bytes {
    let len = sources.iter().map(Bytes::len).max().unwrap_or(0);
    let byte = |s: &Bytes, i: usize| s.get(i).copied().unwrap_or(0);
    let out: Vec<u8> = (0..len)
        .map(|i| {
            let mut bytes = sources.iter().map(|s| byte(s, i));
            let head = bytes.next().unwrap_or(0);
            match op {
                BitOp::And => bytes.fold(head, |a, b| a & b),
                BitOp::Or => bytes.fold(head, |a, b| a | b),
                BitOp::Xor => bytes.fold(head, |a, b| a ^ b),
                BitOp::Not => !head,
            }
        })
        .collect();
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_ones_excludes_the_bits_outside_the_range_in_the_edge_bytes() {
        let bytes = [0xff, 0xff];
        assert_eq!(count_ones(&bytes, 0, 15), 16);
        assert_eq!(count_ones(&bytes, 3, 3), 1);
        assert_eq!(count_ones(&bytes, 1, 14), 14);
        assert_eq!(count_ones(&[0b1010_0101], 0, 7), 4);
        assert_eq!(count_ones(&[0b1010_0101], 2, 5), 2);
    }

    #[test]
    fn bit_ranges_clamp_like_getrange_in_bytes_or_bits() {
        assert_eq!(bit_range(0, -1, 2, false), Some((0, 15)));
        assert_eq!(bit_range(1, 1, 2, false), Some((8, 15)));
        assert_eq!(bit_range(5, 30, 2, true), Some((5, 15)));
        assert_eq!(bit_range(-3, -1, 2, true), Some((13, 15)));
        assert_eq!(bit_range(2, 1, 2, false), None);
        assert_eq!(bit_range(0, -1, 0, false), None);
        assert_eq!(bit_range(i64::MIN, i64::MAX, 1, true), Some((0, 7)));
    }
}
