//! Counters: strings that hold a number in decimal text, changed in place.
//!
//! ```text
//!   INCR k, DECR k, INCRBY k n, DECRBY k n   new value (an i64; absent counts as 0)
//!   INCRBYFLOAT k x                          new value as a bulk string (absent counts as 0)
//!     "10.5" + "0.1" ──► 10.6 ──► stored and answered as "10.6"
//!     "abc" or "1 " ──► ERR value is not a valid float
//!     result inf or NaN ──► ERR increment would produce NaN or Infinity
//! ```
//!
//! Every one keeps the key's TTL (Redis overwrites the value, not the key).
//!
//! Floats, INCRBYFLOAT's own (`parse_float`, `float_text` below): the kv-types branch writes
//! the float helpers of HINCRBYFLOAT and ZADD in `exec/float.rs` with the same rules; the two
//! are to become one at merge. The rules: reading is Redis' `string2ld` (the whole text is one
//! number, no leading space, `inf` spelled out, no NaN, no overflow to infinity, no nonzero
//! number underflowing to 0, at most 5 KiB); arithmetic is `f64`, the same bits on every
//! replica; the stored text is the shortest decimal that reads back as the same `f64`,
//! never in exponent form, `-0` written `0`.
//!
//! Not matched, on purpose: Redis adds in `long double` and prints 17 fixed decimals, which
//! hides binary noise (`0.1 + 0.2` is `0.3` there, `0.30000000000000004` here). 80-bit floats
//! are not portable Rust, and every replica must compute the same bits. Redis itself
//! replicates INCRBYFLOAT as a SET of its result for the same reason; here every replica runs
//! the same `f64` addition, which IEEE 754 makes exact to the bit everywhere.

use bytes::Bytes;

use super::args::{int, parse_integer};
use super::strings::spec;
use super::{string_at, WriteCtx};
use crate::command::table::{Exec, Flags, KeySpec, Spec};
use crate::reply::{KvError, Reply};
use crate::value::Value;

const W: Flags = Flags::WRITE.with(Flags::DENYOOM).with(Flags::FAST);

/// The counters' rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    spec("incr", 2, W, KeySpec::FIRST, "1.0.0", "Increments the integer value of a key by one.", Exec::Write(incr)),
    spec("decr", 2, W, KeySpec::FIRST, "1.0.0", "Decrements the integer value of a key by one.", Exec::Write(decr)),
    spec("incrby", 3, W, KeySpec::FIRST, "1.0.0", "Increments the integer value of a key by a number.", Exec::Write(incrby)),
    spec("decrby", 3, W, KeySpec::FIRST, "1.0.0", "Decrements the integer value of a key by a number.", Exec::Write(decrby)),
    spec("incrbyfloat", 3, W, KeySpec::FIRST, "2.6.0", "Increments the floating point value of a key by a number.", Exec::Write(incrbyfloat)),
];

/// The longest text Redis reads as a float (`MAX_LONG_DOUBLE_CHARS`, less its terminator).
const FLOAT_TEXT_BYTES_MAX: usize = 5 * 1024 - 1;

fn incr(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    increment(ctx, &args[0], 1)
}

fn decr(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    increment(ctx, &args[0], -1)
}

fn incrby(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    match int(&args[1]) {
        Ok(by) => increment(ctx, &args[0], by),
        Err(e) => e,
    }
}

fn decrby(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    match int(&args[1]).map(i64::checked_neg) {
        Ok(Some(by)) => increment(ctx, &args[0], by),
        Ok(None) => Reply::error("ERR", "decrement would overflow"),
        Err(e) => e,
    }
}

/// Replace the string under `key` with `text`, keeping its TTL, or create it without one.
fn store(ctx: &mut WriteCtx<'_>, key: &Bytes, text: Bytes) {
    let text = Value::Str(text);
    match ctx.db.entry_mut(key, ctx.index, ctx.now_ms) {
        Some(entry) => entry.value = text,
        None => ctx.db.insert(key.clone(), text, None, ctx.index),
    }
}

/// Add `by` to the integer under `key` (0 if absent), keeping its TTL.
fn increment(ctx: &mut WriteCtx<'_>, key: &Bytes, by: i64) -> Reply {
    let old = match string_at(&ctx.as_read(), key) {
        Ok(None) => 0,
        Ok(Some(v)) => match parse_integer(v) {
            Some(n) => n,
            None => return Reply::Error(KvError::NotAnInteger),
        },
        Err(e) => return e,
    };
    let Some(new) = old.checked_add(by) else {
        return Reply::Error(KvError::Overflow);
    };
    store(ctx, key, Bytes::from(new.to_string()));
    Reply::Int(new)
}

/// `ERR value is not a valid float`.
fn not_a_float() -> Reply {
    Reply::error("ERR", "value is not a valid float")
}

fn incrbyfloat(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[0];
    let old = match string_at(&ctx.as_read(), key) {
        Ok(None) => 0.0,
        Ok(Some(v)) => match parse_float(v) {
            Some(x) => x,
            None => return not_a_float(),
        },
        Err(e) => return e,
    };
    let Some(by) = parse_float(&args[1]) else {
        return not_a_float();
    };
    let new = old + by;
    if !new.is_finite() {
        return Reply::error("ERR", "increment would produce NaN or Infinity");
    }
    let text = float_text(new);
    if text.len() > ctx.limits.value_bytes_max {
        return Reply::Error(KvError::ValueTooLarge {
            bytes: text.len() as u64,
            max: ctx.limits.value_bytes_max as u64,
        });
    }
    store(ctx, key, text.clone());
    Reply::Bulk(text)
}

/// Redis' strict float (`string2ld`), or `None`: see the module docs.
pub(crate) fn parse_float(text: &[u8]) -> Option<f64> {
    if text.is_empty() || text.len() > FLOAT_TEXT_BYTES_MAX {
        return None;
    }
    let s = std::str::from_utf8(text).ok()?;
    let x: f64 = s.parse().ok()?;
    let unsigned = s.trim_start_matches(['+', '-']);
    let says_infinity =
        unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity");
    let mantissa = unsigned.split(['e', 'E']).next().unwrap_or("");
    let nonzero_digit = mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    let overflowed = x.is_infinite() && !says_infinity;
    let underflowed = x == 0.0 && nonzero_digit;
    (!x.is_nan() && !overflowed && !underflowed).then_some(x)
}

/// The text INCRBYFLOAT stores for finite `x`: the shortest digits that read back as `x`,
/// never an exponent, `0` for either zero.
pub(crate) fn float_text(x: f64) -> Bytes {
    let x = if x == 0.0 { 0.0 } else { x };
    Bytes::from(format!("{x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_read_as_redis_reads_them() {
        for (text, want) in [
            (&b"1.5"[..], 1.5),
            (b"-2e3", -2000.0),
            (b"+inf", f64::INFINITY),
            (b"-Infinity", f64::NEG_INFINITY),
            (b"10", 10.0),
            (b".5", 0.5),
        ] {
            assert_eq!(parse_float(text), Some(want), "{text:?}");
        }
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"abc",
            b"1e",
            b"0x10",
        ] {
            assert_eq!(parse_float(bad), None, "{bad:?}");
        }
        assert_eq!(parse_float(b"0e-400"), Some(0.0), "zero is no underflow");
        assert_eq!(parse_float(&[b'1'; FLOAT_TEXT_BYTES_MAX + 1]), None);
    }

    #[test]
    fn float_text_is_the_shortest_round_trip_without_exponent_or_negative_zero() {
        assert_eq!(float_text(10.6), "10.6");
        assert_eq!(float_text(3.0), "3");
        assert_eq!(float_text(-0.0), "0");
        assert_eq!(float_text(17179869185.5), "17179869185.5");
        assert_eq!(float_text(1e21), "1000000000000000000000");
        assert_eq!(float_text(1e-7), "0.0000001");
        for x in [0.1 + 0.2, 1.0 / 41.0, -5e-300, 1.7976931348623157e308] {
            let text = float_text(x);
            assert_eq!(parse_float(&text), Some(x), "{x} reads back");
        }
    }
}
