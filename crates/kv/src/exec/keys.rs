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
//!   RANDOMKEY           a live key | nil, picked from the log index (below)
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
//! RANDOMKEY is a read, served without the log, and must not pick differently on two
//! replicas that applied the same entries: it starts at a scan position drawn by SplitMix64
//! from the applied index the read saw (the log index of its entry inside a MULTI/EXEC) and
//! answers the first live key from there in scan order (`db.rs`), wrapping around. So it
//! changes with every applied entry, and repeats between them; a picture of Redis' behaviour,
//! not of its distribution (keys after a wide gap in scan positions come up more often).
//! The kv-types branch seeds SPOP's picks the same way (`exec/random.rs`); one generator at
//! merge.
//!
//! Invariant: an expired key counts as absent everywhere (`Db::lookup`); `DEL` of an expired
//! key answers 0 but still removes its leftover entry.

use bytes::Bytes;

use super::args::{int, is, syntax};
use super::{count, ReadCtx, WriteCtx};
use crate::command::table::{Exec, Flags, Group, KeySpec, Spec};
use crate::reply::{KvError, Reply};

const R: Flags = Flags::READONLY;
const RF: Flags = Flags::READONLY.with(Flags::FAST);
const W: Flags = Flags::WRITE;
const WF: Flags = Flags::WRITE.with(Flags::FAST);
/// The first two arguments are keys (`RENAME src dst`, `COPY src dst …`).
const TWO: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

/// The keyspace family's rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    generic("del", -2, W, KeySpec::ALL, "1.0.0", "Deletes one or more keys.", Exec::Write(del)),
    generic("unlink", -2, WF, KeySpec::ALL, "4.0.0", "Deletes one or more keys (the same as DEL here: every delete is one log entry).", Exec::Write(del)),
    generic("exists", -2, RF, KeySpec::ALL, "1.0.0", "Determines whether one or more keys exist.", Exec::Read(exists)),
    generic("touch", -2, RF, KeySpec::ALL, "3.2.1", "Returns the number of existing keys out of those specified (no access times are kept).", Exec::Read(exists)),
    generic("type", 2, RF, KeySpec::FIRST, "1.0.0", "Determines the type of value stored at a key.", Exec::Read(type_of)),
    generic("rename", 3, W, TWO, "1.0.0", "Renames a key and overwrites the destination.", Exec::Write(rename)),
    generic("renamenx", 3, WF, TWO, "1.0.0", "Renames a key only when the target key name doesn't exist.", Exec::Write(renamenx)),
    generic("copy", -3, W.with(Flags::DENYOOM), TWO, "6.2.0", "Copies the value of a key to a new key.", Exec::Write(copy)),
    generic("randomkey", 1, R, KeySpec::NONE, "1.0.0", "Returns a random key name from the database, picked from the log index.", Exec::Read(randomkey)),
    generic("dbsize", 1, RF, KeySpec::NONE, "1.0.0", "Returns the number of live keys in the database.", Exec::Read(dbsize)),
    generic("flushdb", -1, W, KeySpec::NONE, "1.0.0", "Removes all keys from the current database.", Exec::Write(flush)),
    generic("flushall", -1, W, KeySpec::NONE, "1.0.0", "Removes all keys from all databases.", Exec::Write(flush)),
];

/// A row of the generic group.
pub(super) const fn generic(
    name: &'static str,
    arity: i16,
    flags: Flags,
    keys: KeySpec,
    since: &'static str,
    summary: &'static str,
    exec: Exec,
) -> Spec {
    Spec {
        name,
        arity,
        flags,
        keys,
        group: Group::Generic,
        summary,
        since,
        exec,
    }
}

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

/// SplitMix64's output for `x` (Steele, Lea, Flood 2014): RANDOMKEY's starting position.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn randomkey(ctx: &ReadCtx<'_>, _args: &[Bytes]) -> Reply {
    let start = splitmix64(ctx.applied_index);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_its_reference_output() {
        // The first output of the reference generator seeded with 0 (Vigna's splitmix64.c).
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    }
}
