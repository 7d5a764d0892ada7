//! Strings: the commands on byte-string values, integers kept as their decimal text included.
//!
//! ```text
//!   GET k                         bulk | nil | WRONGTYPE
//!   SET k v [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]
//!                                 OK | nil (condition failed) | old value (GET) | WRONGTYPE
//!   APPEND k v                    new length (keeps the TTL)
//!   INCR k, DECR k, INCRBY k n, DECRBY k n      new value (keeps the TTL)
//!   MGET k…                       a bulk or nil per key (nil for other types, as Redis)
//!   MSET k v [k v …]              OK (each key loses its TTL, as with SET)
//!   CAS k expected new | CAS k new              [1|0, current]   (ours)
//! ```
//!
//! Invariants: a command that answers an error changed nothing; a value never grows past
//! `value_bytes_max`; `SET` without `KEEPTTL` clears a key's expiry, `APPEND` and `INCR` keep it.

use bytes::{Bytes, BytesMut};

use super::args::{expiry, int, is, parse_integer, syntax, ExpiryUnit};
use super::{count, string_at, ReadCtx, WriteCtx};
use crate::command::table::{Exec, Flags, Group, KeySpec, Spec};
use crate::reply::{KvError, Reply};
use crate::value::Value;

const R: Flags = Flags::READONLY.with(Flags::FAST);
const W: Flags = Flags::WRITE.with(Flags::DENYOOM);

/// The strings family's rows of the command table.
pub(crate) const SPECS: &[Spec] = &[
    spec("get", 2, R, KeySpec::FIRST, "Returns the string value of a key.", Exec::Read(get)),
    spec("set", -3, W, KeySpec::FIRST, "Sets the string value of a key, ignoring its type, with an optional condition and expiry.", Exec::Write(set)),
    spec("append", 3, W.with(Flags::FAST), KeySpec::FIRST, "Appends a string to the value of a key; creates the key if absent.", Exec::Write(append)),
    spec("incr", 2, W.with(Flags::FAST), KeySpec::FIRST, "Increments the integer value of a key by one.", Exec::Write(incr)),
    spec("decr", 2, W.with(Flags::FAST), KeySpec::FIRST, "Decrements the integer value of a key by one.", Exec::Write(decr)),
    spec("incrby", 3, W.with(Flags::FAST), KeySpec::FIRST, "Increments the integer value of a key by a number.", Exec::Write(incrby)),
    spec("decrby", 3, W.with(Flags::FAST), KeySpec::FIRST, "Decrements the integer value of a key by a number.", Exec::Write(decrby)),
    spec("mget", -2, R, KeySpec::ALL, "Returns the string values of one or more keys.", Exec::Read(mget)),
    spec("mset", -3, W, KeySpec { first: 1, last: -1, step: 2 }, "Sets the string values of one or more keys.", Exec::Write(mset)),
    spec("cas", -3, W.with(Flags::FAST), KeySpec::FIRST, "Sets a key only if it holds an expected value (or is absent); answers [1|0, current]. Not in Redis.", Exec::Write(cas)),
];

const fn spec(
    name: &'static str,
    arity: i16,
    flags: Flags,
    keys: KeySpec,
    summary: &'static str,
    exec: Exec,
) -> Spec {
    Spec {
        name,
        arity,
        flags,
        keys,
        group: Group::String,
        summary,
        since: "1.0.0",
        exec,
    }
}

fn get(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match string_at(ctx, &args[0]) {
        Ok(v) => Reply::bulk_or_null(v.cloned()),
        Err(e) => e,
    }
}

fn mget(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let value = |k: &Bytes| match ctx.db.value(k, ctx.now_ms) {
        Some(Value::Str(s)) => Reply::Bulk(s.clone()),
        _ => Reply::Null,
    };
    Reply::Array(args.iter().map(value).collect())
}

/// SET's options, once parsed.
#[derive(Default)]
struct SetOptions {
    /// `NX` (Some(false): only if absent) or `XX` (Some(true): only if present).
    if_present: Option<bool>,
    /// `GET`: answer the old value.
    get: bool,
    /// An expiry option and its value.
    expire: Option<(ExpiryUnit, Bytes)>,
    /// `KEEPTTL`.
    keep_ttl: bool,
}

fn set_options(options: &[Bytes]) -> Result<SetOptions, Reply> {
    let mut o = SetOptions::default();
    let mut k = 0;
    while k < options.len() {
        let opt = &options[k];
        let conflict = if is(opt, "NX") || is(opt, "XX") {
            let present = is(opt, "XX");
            let clash = o.if_present.is_some_and(|p| p != present);
            o.if_present = Some(present);
            clash
        } else if is(opt, "GET") {
            o.get = true;
            false
        } else if is(opt, "KEEPTTL") {
            o.keep_ttl = true;
            o.expire.is_some()
        } else if let Some(unit) = ExpiryUnit::of(opt) {
            let value = options.get(k + 1).ok_or_else(syntax)?;
            let clash = o.expire.is_some() || o.keep_ttl;
            o.expire = Some((unit, value.clone()));
            k += 1;
            clash
        } else {
            true
        };
        if conflict {
            return Err(syntax());
        }
        k += 1;
    }
    Ok(o)
}

fn set(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let (key, value) = (&args[0], &args[1]);
    let o = match set_options(&args[2..]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let expires_at = match &o.expire {
        None => None,
        Some((unit, v)) => match expiry(*unit, v, ctx.now_ms, "set") {
            Ok(at) => Some(at),
            Err(e) => return e,
        },
    };
    let read = ctx.as_read();
    let old = match (o.get, string_at(&read, key)) {
        (true, Err(wrong_type)) => return wrong_type,
        (_, Ok(v)) => v.cloned(),
        (false, Err(_)) => None,
    };
    let present = ctx.db.lookup(key, ctx.now_ms);
    let keep = if o.keep_ttl {
        present.and_then(|e| e.expires_at_ms)
    } else {
        expires_at
    };
    let proceed = o.if_present.is_none_or(|want| want == present.is_some());
    if proceed {
        let value = Value::Str(value.clone());
        ctx.db.insert(key.clone(), value, keep, ctx.index);
    }
    match (o.get, proceed) {
        (true, _) => Reply::bulk_or_null(old),
        (false, true) => Reply::ok(),
        (false, false) => Reply::Null,
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
        return Reply::Error(KvError::ValueTooLarge {
            bytes: new_len as u64,
            max: max as u64,
        });
    }
    let mut joined = BytesMut::with_capacity(new_len);
    joined.extend_from_slice(&old);
    joined.extend_from_slice(tail);
    let joined = Value::Str(joined.freeze());
    match ctx.db.entry_mut(key, ctx.index, ctx.now_ms) {
        Some(entry) => entry.value = joined,
        None => ctx.db.insert(key.clone(), joined, None, ctx.index),
    }
    count(new_len)
}

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
    let text = Value::Str(Bytes::from(new.to_string()));
    match ctx.db.entry_mut(key, ctx.index, ctx.now_ms) {
        Some(entry) => entry.value = text,
        None => ctx.db.insert(key.clone(), text, None, ctx.index),
    }
    Reply::Int(new)
}

fn mset(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    if !args.len().is_multiple_of(2) {
        return Reply::Error(KvError::WrongArity {
            command: "mset".into(),
        });
    }
    for pair in args.chunks_exact(2) {
        let value = Value::Str(pair[1].clone());
        ctx.db.insert(pair[0].clone(), value, None, ctx.index);
    }
    Reply::ok()
}

fn cas(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let (key, expected, new) = match args {
        [key, new] => (key, None, new),
        [key, expected, new] => (key, Some(expected), new),
        _ => {
            return Reply::Error(KvError::WrongArity {
                command: "cas".into(),
            })
        }
    };
    let current = match string_at(&ctx.as_read(), key) {
        Ok(v) => v.cloned(),
        Err(e) => return e,
    };
    if current.as_ref() != expected {
        return Reply::Array(vec![Reply::Int(0), Reply::bulk_or_null(current)]);
    }
    let keep = ctx.db.lookup(key, ctx.now_ms).and_then(|e| e.expires_at_ms);
    ctx.db
        .insert(key.clone(), Value::Str(new.clone()), keep, ctx.index);
    Reply::Array(vec![Reply::Int(1), Reply::Bulk(new.clone())])
}
