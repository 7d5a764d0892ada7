//! Byte ranges of a string: its length, a slice of it, and writes at an offset.
//!
//! ```text
//!   APPEND k v              new length (creates the key; keeps the TTL)
//!   STRLEN k                length | 0 for a missing key
//!   GETRANGE k start end    the bytes start..=end (negative: from the end, clamped) | ""
//!   SUBSTR k start end      GETRANGE's old name
//!   SETRANGE k offset v     new length; zero bytes pad a gap; keeps the TTL
//!     "Hello World" SETRANGE 6 "Redis" ──► "Hello Redis"      "" SETRANGE 3 "x" ──► "\0\0\0x"
//! ```
//!
//! Redis' rules, Redis' errors: an offset below 0 is `ERR offset is out of range`; a result
//! longer than `value_bytes_max` is refused before anything is written (Redis' bound is
//! `proto-max-bulk-len`, 512 MB by default; ours is the same limit every value has); writing
//! nothing (`SETRANGE k 5 ""`) creates nothing and answers the current length.
//!
//! Invariant: no value grows past `value_bytes_max`; a refused command changed nothing.

use bytes::{Bytes, BytesMut};

use super::args::int;
use super::{count, string_at, ReadCtx, WriteCtx};
use crate::command::table::flags::{R, RF, WD, WDF};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::{KvError, Reply};
use crate::value::Value;

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::String;

/// The byte-range rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "append", 3, WDF, KeySpec::FIRST, "2.0.0", "Appends a string to the value of a key; creates the key if absent.", Exec::Write(append)),
    Spec::new(GROUP, "strlen", 2, RF, KeySpec::FIRST, "2.2.0", "Returns the length of a string value.", Exec::Read(strlen)),
    Spec::new(GROUP, "getrange", 4, R, KeySpec::FIRST, "2.4.0", "Returns a substring of the string stored at a key.", Exec::Read(getrange)),
    Spec::new(GROUP, "substr", 4, R, KeySpec::FIRST, "1.0.0", "Returns a substring of the string stored at a key (GETRANGE's old name).", Exec::Read(getrange)),
    Spec::new(GROUP, "setrange", 4, WD, KeySpec::FIRST, "2.2.0", "Overwrites a part of a string value at an offset; creates the key if absent.", Exec::Write(setrange)),
];

/// The error for a string that would grow to `bytes`.
fn too_large(bytes: u64, max: usize) -> Reply {
    Reply::Error(KvError::ValueTooLarge {
        bytes,
        max: max as u64,
    })
}

/// Replace the string under `key` with `value`, keeping its TTL, or create it without one.
fn store(ctx: &mut WriteCtx<'_>, key: &Bytes, value: Bytes) {
    let value = Value::Str(value);
    match ctx.db.entry_mut(key, ctx.index, ctx.now_ms) {
        Some(entry) => entry.value = value,
        None => ctx.db.insert(key.clone(), value, None, ctx.index),
    }
}

fn append(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let (key, tail) = (&args[0], &args[1]);
    let max = ctx.limits.value_bytes_max;
    let old = match string_at(&ctx.as_read(), key) {
        Ok(v) => v.cloned().unwrap_or_default(),
        Err(e) => return e,
    };
    let new_len = old.len() + tail.len();
    if new_len > max {
        return too_large(new_len as u64, max);
    }
    let mut joined = BytesMut::with_capacity(new_len);
    joined.extend_from_slice(&old);
    joined.extend_from_slice(tail);
    store(ctx, key, joined.freeze());
    count(new_len)
}

fn strlen(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match string_at(ctx, &args[0]) {
        Ok(v) => count(v.map_or(0, Bytes::len)),
        Err(e) => e,
    }
}

fn getrange(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let (start, end) = match (int(&args[1]), int(&args[2])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let value = match string_at(ctx, &args[0]) {
        Ok(v) => v.cloned().unwrap_or_default(),
        Err(e) => return e,
    };
    Reply::Bulk(match byte_range(start, end, value.len()) {
        Some((from, to)) => value.slice(from..=to),
        None => Bytes::new(),
    })
}

/// GETRANGE's positions, as Redis computes them: both negative and crossed is nothing, a
/// negative one counts from the end, both are clamped into the string; `None` for nothing.
fn byte_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = i128::try_from(len).unwrap_or(i128::MAX);
    let from_end = |i: i64| {
        let i = i128::from(i);
        (if i < 0 { len + i } else { i }).max(0)
    };
    let (start, end) = (from_end(start), from_end(end).min(len - 1));
    if len == 0 || start > end {
        return None;
    }
    Some((start as usize, end as usize))
}

fn setrange(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let (key, patch) = (&args[0], &args[2]);
    let offset = match int(&args[1]) {
        Ok(o) if o < 0 => return Reply::error("ERR", "offset is out of range"),
        Ok(o) => o.unsigned_abs(),
        Err(e) => return e,
    };
    let old = match string_at(&ctx.as_read(), key) {
        Ok(v) => v.cloned(),
        Err(e) => return e,
    };
    if patch.is_empty() {
        return count(old.map_or(0, |v| v.len())); // writes nothing, creates nothing
    }
    let max = ctx.limits.value_bytes_max;
    let end = offset.saturating_add(patch.len() as u64);
    if end > max as u64 {
        return too_large(end, max);
    }
    let (offset, end) = (offset as usize, end as usize); // both <= max, a usize
    let old = old.unwrap_or_default();
    let mut value = BytesMut::from(&old[..]);
    if value.len() < end {
        value.resize(end, 0);
    }
    value[offset..end].copy_from_slice(patch);
    let new_len = value.len();
    store(ctx, key, value.freeze());
    count(new_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_count_from_the_end_and_clamp_as_redis_does() {
        // "Hello World": GETRANGE 0 4 "Hello", -5 -1 "World", 0 -1 all, 5 2 nothing.
        assert_eq!(byte_range(0, 4, 11), Some((0, 4)));
        assert_eq!(byte_range(-5, -1, 11), Some((6, 10)));
        assert_eq!(byte_range(0, -1, 11), Some((0, 10)));
        assert_eq!(byte_range(0, 100, 11), Some((0, 10)));
        assert_eq!(byte_range(-100, 2, 11), Some((0, 2)));
        assert_eq!(byte_range(5, 2, 11), None);
        assert_eq!(byte_range(-1, -5, 11), None);
        assert_eq!(
            byte_range(0, -100, 11),
            Some((0, 0)),
            "Redis clamps end to 0"
        );
        assert_eq!(byte_range(0, 0, 0), None);
        assert_eq!(byte_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
    }
}
