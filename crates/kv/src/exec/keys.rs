//! The keyspace commands that work on keys of any type. Expiry (`EXPIRE`, `TTL`, …) is in
//! `expire.rs`, walks (`KEYS`, `SCAN`) in `keyscan.rs`.
//!
//! ```text
//!   DEL k…, UNLINK k…   how many of the keys existed (and are now gone)
//!   EXISTS k…, TOUCH k… how many of the keys exist (a key named twice counts twice, as Redis)
//!   TYPE k              +string | +hash | +list | +set | +zset | +none
//!   RENAME src dst      OK (dst replaced; src's TTL moves with it) | ERR no such key
//!   RENAMENX src dst    1 | 0 if dst exists                       | ERR no such key
//!   COPY src dst [DB 0] [REPLACE]   1 | 0 (no src, or dst exists without REPLACE)
//!   RANDOMKEY           a live key | nil, picked from the read's seed (below)
//!   DBSIZE              how many keys are live
//!   FLUSHDB, FLUSHALL [ASYNC|SYNC]   OK: every key gone, through the log
//! ```
//!
//! There is one database, number 0: `COPY … DB 0` is accepted, any other number answers
//! Redis' `ERR DB index is out of range`, what a Redis started with `databases 1` says.
//! `ASYNC` and `SYNC` are accepted and mean the same: the flush is one log entry, applied by
//! every replica when it applies that entry.
//!
//! DBSIZE counts live keys only, where Redis counts every key it has not reclaimed yet
//! (expired ones included until its active expiry or an access deletes them): here an
//! expired key is absent everywhere, DBSIZE included, and the count costs one step per
//! expired-but-unreclaimed key, which the leader's active expiry keeps few.
//!
//! RANDOMKEY is a read: it starts at a scan position drawn by SplitMix64 from the read's
//! `random_seed` (fresh per call outside the log; the log index of its entry inside a
//! MULTI/EXEC, so every replica agrees there) and answers the first live key from there in
//! scan order (`db.rs`), wrapping around: a picture of Redis' behaviour, not of its
//! distribution (keys after a wide gap in scan positions come up more often). The generator
//! is SPOP's (`exec/random.rs`).
//!
//! Invariant: an expired key counts as absent everywhere (`Db::lookup`); `DEL` of an expired
//! key answers 0 but still removes its leftover entry.

use bytes::Bytes;

use super::args::{int, is, syntax};
use super::random::Picker;
use super::{count, ReadCtx, WriteCtx};
use crate::command::table::flags::{R, RF, W, WD, WF};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::{KvError, Reply};

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::Generic;

/// The keyspace family's rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "del", -2, W, KeySpec::ALL, "1.0.0", "Deletes one or more keys.", Exec::Write(del)),
    Spec::new(GROUP, "unlink", -2, WF, KeySpec::ALL, "4.0.0", "Deletes one or more keys (the same as DEL here: every delete is one log entry).", Exec::Write(del)),
    Spec::new(GROUP, "exists", -2, RF, KeySpec::ALL, "1.0.0", "Determines whether one or more keys exist.", Exec::Read(exists)),
    Spec::new(GROUP, "touch", -2, RF, KeySpec::ALL, "3.2.1", "Returns the number of existing keys out of those specified (no access times are kept).", Exec::Read(exists)),
    Spec::new(GROUP, "type", 2, RF, KeySpec::FIRST, "1.0.0", "Determines the type of value stored at a key.", Exec::Read(type_of)),
    Spec::new(GROUP, "rename", 3, W, KeySpec::FIRST_TWO, "1.0.0", "Renames a key and overwrites the destination.", Exec::Write(rename)),
    Spec::new(GROUP, "renamenx", 3, WF, KeySpec::FIRST_TWO, "1.0.0", "Renames a key only when the target key name doesn't exist.", Exec::Write(renamenx)),
    Spec::new(GROUP, "copy", -3, WD, KeySpec::FIRST_TWO, "6.2.0", "Copies the value of a key to a new key.", Exec::Write(copy)),
    Spec::new(GROUP, "randomkey", 1, R, KeySpec::NONE, "1.0.0", "Returns a random key name from the database (per call; inside MULTI, per log index).", Exec::Read(randomkey)),
    Spec::new(GROUP, "dbsize", 1, RF, KeySpec::NONE, "1.0.0", "Returns the number of live keys in the database.", Exec::Read(dbsize)),
    Spec::new(GROUP, "flushdb", -1, W, KeySpec::NONE, "1.0.0", "Removes all keys from the current database.", Exec::Write(flush)),
    Spec::new(GROUP, "flushall", -1, W, KeySpec::NONE, "1.0.0", "Removes all keys from all databases.", Exec::Write(flush)),
];

fn del(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let mut removed = 0;
    for key in args {
        let live = ctx.db.lookup(key, ctx.now_ms).is_some();
        if ctx.db.remove(key, ctx.index).is_some() && live {
            removed += 1;
        }
    }
    count(removed)
}

fn exists(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    count(
        args.iter()
            .filter(|k| ctx.db.lookup(k, ctx.now_ms).is_some())
            .count(),
    )
}

fn type_of(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let name = ctx
        .db
        .value(&args[0], ctx.now_ms)
        .map_or("none", |v| v.type_name());
    Reply::Status(Bytes::from_static(name.as_bytes()))
}

fn rename(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    match move_key(ctx, &args[0], &args[1], false) {
        Ok(_) => Reply::ok(),
        Err(e) => e,
    }
}

fn renamenx(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    match move_key(ctx, &args[0], &args[1], true) {
        Ok(moved) => Reply::Int(i64::from(moved)),
        Err(e) => e,
    }
}

/// RENAME's work: `Err(no such key)` for a missing `src`; `Ok(false)` if nothing moved (the
/// same key, or `dst` exists and `nx`); else `src`'s value and TTL now live under `dst`.
fn move_key(ctx: &mut WriteCtx<'_>, src: &Bytes, dst: &Bytes, nx: bool) -> Result<bool, Reply> {
    if ctx.db.lookup(src, ctx.now_ms).is_none() {
        return Err(Reply::error("ERR", "no such key"));
    }
    if src == dst || (nx && ctx.db.lookup(dst, ctx.now_ms).is_some()) {
        return Ok(false);
    }
    let entry = (ctx.db.remove(src, ctx.index)).expect("looked up above");
    let expires_at = entry.expires_at_ms();
    ctx.db
        .insert(dst.clone(), entry.value, expires_at, ctx.index);
    Ok(true)
}

/// COPY's options: `REPLACE`, and `DB n` where only 0 exists.
fn copy_replaces(options: &[Bytes]) -> Result<bool, Reply> {
    let mut replace = false;
    let mut k = 0;
    while k < options.len() {
        if is(&options[k], "REPLACE") {
            replace = true;
        } else if is(&options[k], "DB") && k + 1 < options.len() {
            let db = int(&options[k + 1])?;
            if i32::try_from(db).is_err() {
                return Err(Reply::Error(KvError::NotAnInteger)); // Redis reads an `int`
            }
            if db != 0 {
                return Err(Reply::error("ERR", "DB index is out of range"));
            }
            k += 1;
        } else {
            return Err(syntax());
        }
        k += 1;
    }
    Ok(replace)
}

fn copy(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let (src, dst) = (&args[0], &args[1]);
    let replace = match copy_replaces(&args[2..]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if src == dst {
        return Reply::error("ERR", "source and destination objects are the same");
    }
    let Some(entry) = ctx.db.lookup(src, ctx.now_ms) else {
        return Reply::Int(0);
    };
    if !replace && ctx.db.lookup(dst, ctx.now_ms).is_some() {
        return Reply::Int(0);
    }
    let (value, expires_at) = (entry.value.clone(), entry.expires_at_ms());
    ctx.db.insert(dst.clone(), value, expires_at, ctx.index);
    Reply::Int(1)
}

fn randomkey(ctx: &ReadCtx<'_>, _args: &[Bytes]) -> Reply {
    let start = Picker::from_state(ctx.random_seed).next_u64();
    let live = |(_, key): &(u64, &Bytes)| ctx.db.lookup(key, ctx.now_ms).is_some();
    // At most one pass over the stored keys: from `start` to the end, then from the beginning.
    let wrapped = ctx.db.scan_from(0).take_while(|(p, _)| *p < start);
    let found = ctx.db.scan_from(start).chain(wrapped).find(live);
    Reply::bulk_or_null(found.map(|(_, key)| key.clone()))
}

fn dbsize(ctx: &ReadCtx<'_>, _args: &[Bytes]) -> Reply {
    count(ctx.db.live_len(ctx.now_ms))
}

fn flush(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    match args {
        [] => {}
        [mode] if is(mode, "ASYNC") || is(mode, "SYNC") => {}
        _ => return syntax(),
    }
    ctx.db.flush(ctx.index);
    Reply::ok()
}
