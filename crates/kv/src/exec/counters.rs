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
//! Floats are read, added and printed by `float.rs`, as HINCRBYFLOAT's are: Redis' `string2ld`
//! to read (`long_float`), `f64` arithmetic, the shortest round-trip digits without an
//! exponent to store (`value_text`).
//!
//! Not matched, on purpose: Redis adds in `long double` and prints 17 fixed decimals, which
//! hides binary noise (`0.1 + 0.2` is `0.3` there, `0.30000000000000004` here). 80-bit floats
//! are not portable Rust, and every replica must compute the same bits. Redis itself
//! replicates INCRBYFLOAT as a SET of its result for the same reason; here every replica runs
//! the same `f64` addition, which IEEE 754 makes exact to the bit everywhere.

use bytes::Bytes;

use super::args::{int, parse_integer};
use super::float::{long_float, value_text};
use super::{string_at, WriteCtx};
use crate::command::table::flags::WDF;
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::{KvError, Reply};
use crate::value::Value;

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::String;

/// The counters' rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "incr", 2, WDF, KeySpec::FIRST, "1.0.0", "Increments the integer value of a key by one.", Exec::Write(incr)),
    Spec::new(GROUP, "decr", 2, WDF, KeySpec::FIRST, "1.0.0", "Decrements the integer value of a key by one.", Exec::Write(decr)),
    Spec::new(GROUP, "incrby", 3, WDF, KeySpec::FIRST, "1.0.0", "Increments the integer value of a key by a number.", Exec::Write(incrby)),
    Spec::new(GROUP, "decrby", 3, WDF, KeySpec::FIRST, "1.0.0", "Decrements the integer value of a key by a number.", Exec::Write(decrby)),
    Spec::new(GROUP, "incrbyfloat", 3, WDF, KeySpec::FIRST, "2.6.0", "Increments the floating point value of a key by a number.", Exec::Write(incrbyfloat)),
];

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

fn incrbyfloat(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[0];
    let old = match string_at(&ctx.as_read(), key) {
        Ok(None) => 0.0,
        Ok(Some(v)) => match long_float(v) {
            Ok(x) => x,
            Err(e) => return e,
        },
        Err(e) => return e,
    };
    let by = match long_float(&args[1]) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let new = old + by;
    if !new.is_finite() {
        return Reply::error("ERR", "increment would produce NaN or Infinity");
    }
    let text = value_text(new);
    if text.len() > ctx.limits.value_bytes_max {
        return Reply::Error(KvError::ValueTooLarge {
            bytes: text.len() as u64,
            max: ctx.limits.value_bytes_max as u64,
        });
    }
    store(ctx, key, text.clone());
    Reply::Bulk(text)
}
