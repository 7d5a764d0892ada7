//! Strings: reading and writing whole byte-string values, with their conditions and expiry.
//! Counters (`INCR`…, `INCRBYFLOAT`) are in `counters.rs`, byte ranges (`APPEND`, `STRLEN`,
//! `GETRANGE`, `SETRANGE`) in `string_ranges.rs`.
//!
//! ```text
//!   GET k                         bulk | nil | WRONGTYPE
//!   SET k v [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]
//!                                 OK | nil (condition failed) | old value (GET) | WRONGTYPE
//!   SETNX k v                     1 | 0                  SET k v NX, as an integer
//!   SETEX k s v, PSETEX k ms v    OK                     SET k v EX s | PX ms
//!   GETSET k v                    old value | nil        SET k v GET
//!   GETDEL k                      value | nil            and the key is gone
//!   GETEX k [EX s|PX ms|EXAT t|PXAT t|PERSIST]
//!                                 value | nil            and the key's expiry changed
//!   MGET k…                       a bulk or nil per key (nil for other types, as Redis)
//!   MSET k v [k v …]              OK (each key loses its TTL, as with SET)
//!   MSETNX k v [k v …]            1 if no key existed and all were set, else 0 (none set)
//!   CAS k expected new | CAS k new              [1|0, current]   (ours)
//! ```
//!
//! Options are read as Redis reads them (`parseExtendedStringArgumentsOrReply`): in any case,
//! an option may repeat, two different expiry options or an expiry with `KEEPTTL`/`PERSIST`
//! are a syntax error. GETEX reads its expiry value only once it found a string: on a missing
//! key `GETEX k EX 0` answers nil, as in Redis.
//!
//! Invariants: a command that answers an error changed nothing; `SET` and its shorthands
//! clear a key's expiry unless `KEEPTTL`; an expiry time at or before the entry's log time
//! (`GETEX … EXAT` in the past) deletes the key at once.

use bytes::Bytes;

use super::args::{expiry, is, syntax, ExpiryUnit};
use super::{string_at, ReadCtx, WriteCtx};
use crate::command::table::flags::{RF, WD, WDF, WF};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::{KvError, Reply};
use crate::value::Value;

const PAIRS: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 2,
};

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::String;

/// The strings family's rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "get", 2, RF, KeySpec::FIRST, "1.0.0", "Returns the string value of a key.", Exec::Read(get)),
    Spec::new(GROUP, "set", -3, WD, KeySpec::FIRST, "1.0.0", "Sets the string value of a key, ignoring its type, with an optional condition and expiry.", Exec::Write(set)),
    Spec::new(GROUP, "setnx", 3, WDF, KeySpec::FIRST, "1.0.0", "Sets the string value of a key only when the key does not exist.", Exec::Write(setnx)),
    Spec::new(GROUP, "setex", 4, WD, KeySpec::FIRST, "2.0.0", "Sets the string value and expiration time (seconds) of a key.", Exec::Write(setex)),
    Spec::new(GROUP, "psetex", 4, WD, KeySpec::FIRST, "2.6.0", "Sets the string value and expiration time (milliseconds) of a key.", Exec::Write(psetex)),
    Spec::new(GROUP, "getset", 3, WDF, KeySpec::FIRST, "1.0.0", "Returns the previous string value of a key after setting it to a new value.", Exec::Write(getset)),
    Spec::new(GROUP, "getdel", 2, WF, KeySpec::FIRST, "6.2.0", "Returns the string value of a key after deleting the key.", Exec::Write(getdel)),
    Spec::new(GROUP, "getex", -2, WF, KeySpec::FIRST, "6.2.0", "Returns the string value of a key after setting its expiration time.", Exec::Write(getex)),
    Spec::new(GROUP, "mget", -2, RF, KeySpec::ALL, "1.0.0", "Returns the string values of one or more keys.", Exec::Read(mget)),
    Spec::new(GROUP, "mset", -3, WD, PAIRS, "1.0.0", "Sets the string values of one or more keys.", Exec::Write(mset)),
    Spec::new(GROUP, "msetnx", -3, WD, PAIRS, "1.0.1", "Sets the string values of one or more keys only when all keys do not exist.", Exec::Write(msetnx)),
    Spec::new(GROUP, "cas", -3, WF, KeySpec::FIRST, "1.0.0", "Sets a key only if it holds an expected value (or is absent); answers [1|0, current]. Not in Redis.", Exec::Write(cas)),
];

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

/// Record expiry option `unit` with the word after it (at `k + 1`): a syntax error if there is
/// none or another kind of expiry was given (the same option twice is allowed; the last wins).
fn expire_option(
    current: &mut Option<(ExpiryUnit, Bytes)>,
    unit: ExpiryUnit,
    options: &[Bytes],
    k: usize,
) -> Result<(), Reply> {
    let value = options.get(k + 1).ok_or_else(syntax)?;
    if current.as_ref().is_some_and(|(u, _)| *u != unit) {
        return Err(syntax());
    }
    *current = Some((unit, value.clone()));
    Ok(())
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
            expire_option(&mut o.expire, unit, options, k)?;
            k += 1;
            o.keep_ttl
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

/// The absolute expiry an option names at the entry's log time, for `command`'s error text.
fn expiry_of(
    expire: &Option<(ExpiryUnit, Bytes)>,
    now_ms: u64,
    command: &str,
) -> Result<Option<u64>, Reply> {
    match expire {
        None => Ok(None),
        Some((unit, v)) => expiry(*unit, v, now_ms, command).map(Some),
    }
}

fn set(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    match set_options(&args[2..]) {
        Ok(o) => set_with(ctx, &args[0], &args[1], &o, "set"),
        Err(e) => e,
    }
}

/// SET and its shorthands: every check first, then at most one write.
fn set_with(
    ctx: &mut WriteCtx<'_>,
    key: &Bytes,
    value: &Bytes,
    o: &SetOptions,
    command: &str,
) -> Reply {
    let expires_at = match expiry_of(&o.expire, ctx.now_ms, command) {
        Ok(at) => at,
        Err(e) => return e,
    };
    let old = match (o.get, string_at(&ctx.as_read(), key)) {
        (true, Err(wrong_type)) => return wrong_type,
        (_, Ok(v)) => v.cloned(),
        (false, Err(_)) => None,
    };
    let present = ctx.db.lookup(key, ctx.now_ms);
    let keep = if o.keep_ttl {
        present.and_then(|e| e.expires_at_ms())
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

fn setnx(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let nx = SetOptions {
        if_present: Some(false),
        ..SetOptions::default()
    };
    match set_with(ctx, &args[0], &args[1], &nx, "setnx") {
        Reply::Null => Reply::Int(0),
        _ => Reply::Int(1),
    }
}

fn setex(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    set_expiring(ctx, args, ExpiryUnit::Seconds, "setex")
}

fn psetex(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    set_expiring(ctx, args, ExpiryUnit::Millis, "psetex")
}

/// `SETEX k time v` and `PSETEX k time v`.
fn set_expiring(ctx: &mut WriteCtx<'_>, args: &[Bytes], unit: ExpiryUnit, name: &str) -> Reply {
    let o = SetOptions {
        expire: Some((unit, args[1].clone())),
        ..SetOptions::default()
    };
    set_with(ctx, &args[0], &args[2], &o, name)
}

fn getset(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let get = SetOptions {
        get: true,
        ..SetOptions::default()
    };
    set_with(ctx, &args[0], &args[1], &get, "getset")
}

fn getdel(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[0];
    match string_at(&ctx.as_read(), key).map(|v| v.cloned()) {
        Ok(Some(value)) => {
            ctx.db.remove(key, ctx.index);
            Reply::Bulk(value)
        }
        Ok(None) => Reply::Null,
        Err(e) => e,
    }
}

/// GETEX's option: a new expiry, or `PERSIST`, or neither (a plain GET).
fn getex_options(options: &[Bytes]) -> Result<(Option<(ExpiryUnit, Bytes)>, bool), Reply> {
    let (mut expire, mut persist) = (None, false);
    let mut k = 0;
    while k < options.len() {
        let opt = &options[k];
        if is(opt, "PERSIST") && expire.is_none() {
            persist = true;
        } else if let Some(unit) = ExpiryUnit::of(opt).filter(|_| !persist) {
            expire_option(&mut expire, unit, options, k)?;
            k += 1;
        } else {
            return Err(syntax());
        }
        k += 1;
    }
    Ok((expire, persist))
}

fn getex(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[0];
    let (expire, persist) = match getex_options(&args[1..]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let value = match string_at(&ctx.as_read(), key) {
        Ok(Some(v)) => v.clone(),
        Ok(None) => return Reply::Null,
        Err(e) => return e,
    };
    let expires_at = match expiry_of(&expire, ctx.now_ms, "getex") {
        Ok(at) => at,
        Err(e) => return e,
    };
    let had_expiry = ctx
        .db
        .lookup(key, ctx.now_ms)
        .and_then(|e| e.expires_at_ms());
    match expires_at {
        Some(at) if at <= ctx.now_ms => {
            ctx.db.remove(key, ctx.index); // EXAT / PXAT in the past
        }
        Some(at) => {
            ctx.db.set_expiry(key, Some(at), ctx.index);
        }
        None if persist && had_expiry.is_some() => {
            ctx.db.set_expiry(key, None, ctx.index);
        }
        None => {}
    }
    Reply::Bulk(value)
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

fn msetnx(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    if !args.len().is_multiple_of(2) {
        return Reply::Error(KvError::WrongArity {
            command: "msetnx".into(),
        });
    }
    let now = ctx.now_ms;
    let any_exists = (args.chunks_exact(2)).any(|pair| ctx.db.lookup(&pair[0], now).is_some());
    if any_exists {
        return Reply::Int(0);
    }
    mset(ctx, args);
    Reply::Int(1)
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
    let keep = (ctx.db.lookup(key, ctx.now_ms)).and_then(|e| e.expires_at_ms());
    ctx.db
        .insert(key.clone(), Value::Str(new.clone()), keep, ctx.index);
    Reply::Array(vec![Reply::Int(1), Reply::Bulk(new.clone())])
}
