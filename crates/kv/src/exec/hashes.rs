//! Hashes: a key holding field → value pairs (a `BTreeMap`, so fields are in byte order).
//!
//! ```text
//!   HSET k f v [f v …]     fields added (an update counts 0)     HSETNX k f v   1 | 0
//!   HMSET k f v [f v …]    OK (HSET's old form)
//!   HGET k f               bulk | nil                            HMGET k f…     bulk|nil each
//!   HGETALL k              map f → v (empty if absent)           HKEYS, HVALS, HLEN
//!   HDEL k f…              fields removed; the last one deletes the key
//!   HEXISTS k f            1 | 0                                 HSTRLEN k f    length | 0
//!   HINCRBY k f n          new integer                           HINCRBYFLOAT k f x  new text
//!   HRANDFIELD k [n [WITHVALUES]]    seeded picks (random.rs), fresh per call
//!   HSCAN k cursor [MATCH p] [COUNT n]   cursor = the next field (scan.rs)
//! ```
//!
//! Order: Redis documents HGETALL, HKEYS, HVALS and HSCAN as unordered (hash-table order,
//! different on every server); here they come in field byte order, the same on every replica.
//!
//! Invariants: a hash is never empty (`typed.rs` deletes an emptied one); an error reply
//! changed nothing; a modified hash keeps its TTL. `HINCRBYFLOAT` stores the shortest text
//! that reads back as the sum (`float.rs`), never longer than `value_bytes_max`.

use bytes::Bytes;

use super::args::{int, is, parse_integer, syntax};
use super::float::{long_float, parse_long_float, value_text};
use super::random::{count_arg, Picker};
use super::typed::{modify_at, read_at, write_at, Hash};
use super::{answer, bulks, count, scan, ReadCtx, WriteCtx};
use crate::command::table::flags::{R, RF, WDF, WF};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::{KvError, Reply};

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::Hash;

/// The hashes family's rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "hset", -4, WDF, KeySpec::FIRST, "2.0.0", "Sets the values of one or more fields in a hash; creates the hash if absent.", Exec::Write(hset)),
    Spec::new(GROUP, "hmset", -4, WDF, KeySpec::FIRST, "2.0.0", "Sets the values of one or more fields in a hash (HSET's old form: answers OK).", Exec::Write(hmset)),
    Spec::new(GROUP, "hsetnx", 4, WDF, KeySpec::FIRST, "2.0.0", "Sets the value of a field in a hash only if the field does not exist.", Exec::Write(hsetnx)),
    Spec::new(GROUP, "hget", 3, RF, KeySpec::FIRST, "2.0.0", "Returns the value of a field in a hash.", Exec::Read(hget)),
    Spec::new(GROUP, "hmget", -3, RF, KeySpec::FIRST, "2.0.0", "Returns the values of the given fields in a hash.", Exec::Read(hmget)),
    Spec::new(GROUP, "hgetall", 2, R, KeySpec::FIRST, "2.0.0", "Returns every field and value in a hash.", Exec::Read(hgetall)),
    Spec::new(GROUP, "hdel", -3, WF, KeySpec::FIRST, "2.0.0", "Deletes one or more fields from a hash; deletes the hash when it empties.", Exec::Write(hdel)),
    Spec::new(GROUP, "hexists", 3, RF, KeySpec::FIRST, "2.0.0", "Determines whether a field exists in a hash.", Exec::Read(hexists)),
    Spec::new(GROUP, "hincrby", 4, WDF, KeySpec::FIRST, "2.0.0", "Increments the integer value of a field in a hash by a number.", Exec::Write(hincrby)),
    Spec::new(GROUP, "hincrbyfloat", 4, WDF, KeySpec::FIRST, "2.6.0", "Increments the floating-point value of a field in a hash by a number.", Exec::Write(hincrbyfloat)),
    Spec::new(GROUP, "hlen", 2, RF, KeySpec::FIRST, "2.0.0", "Returns the number of fields in a hash.", Exec::Read(hlen)),
    Spec::new(GROUP, "hkeys", 2, R, KeySpec::FIRST, "2.0.0", "Returns every field in a hash.", Exec::Read(hkeys)),
    Spec::new(GROUP, "hvals", 2, R, KeySpec::FIRST, "2.0.0", "Returns every value in a hash.", Exec::Read(hvals)),
    Spec::new(GROUP, "hstrlen", 3, RF, KeySpec::FIRST, "3.2.0", "Returns the length of the value of a field in a hash.", Exec::Read(hstrlen)),
    Spec::new(GROUP, "hrandfield", -2, R, KeySpec::FIRST, "6.2.0", "Returns one or more fields picked at random from a hash (per call; inside MULTI, per log index).", Exec::Read(hrandfield)),
    Spec::new(GROUP, "hscan", -3, R, KeySpec::FIRST, "2.8.0", "Iterates over the fields and values of a hash, a page at a time.", Exec::Read(hscan)),
];

fn hset(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    set_fields(ctx, args, "hset")
}

fn hmset(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    match set_fields(ctx, args, "hmset") {
        Reply::Int(_) => Reply::ok(),
        other => other,
    }
}

/// HSET's work, for `command`'s error text: how many fields were new.
fn set_fields(ctx: &mut WriteCtx<'_>, args: &[Bytes], command: &str) -> Reply {
    if args.len().is_multiple_of(2) {
        return Reply::Error(KvError::WrongArity {
            command: command.into(),
        });
    }
    let added = write_at::<Hash, _>(ctx, &args[0], |h| {
        let pairs = args[1..].chunks_exact(2);
        pairs
            .filter(|p| h.insert(p[0].clone(), p[1].clone()).is_none())
            .count()
    });
    answer(added.map(count))
}

fn hsetnx(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let (key, field, value) = (&args[0], &args[1], &args[2]);
    match read_at::<Hash>(&ctx.as_read(), key) {
        Err(e) => return e,
        Ok(Some(h)) if h.contains_key(field) => return Reply::Int(0),
        Ok(_) => {}
    }
    let set = write_at::<Hash, _>(ctx, key, |h| h.insert(field.clone(), value.clone()));
    answer(set.map(|_| Reply::Int(1)))
}

fn hget(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Hash>(ctx, &args[0]) {
        Ok(h) => Reply::bulk_or_null(h.and_then(|h| h.get(&args[1])).cloned()),
        Err(e) => e,
    }
}

fn hmget(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Hash>(ctx, &args[0]) {
        Ok(h) => Reply::Array(
            args[1..]
                .iter()
                .map(|f| Reply::bulk_or_null(h.and_then(|h| h.get(f)).cloned()))
                .collect(),
        ),
        Err(e) => e,
    }
}

fn hgetall(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Hash>(ctx, &args[0]) {
        Ok(h) => Reply::Map(
            h.into_iter()
                .flatten()
                .map(|(f, v)| (Reply::Bulk(f.clone()), Reply::Bulk(v.clone())))
                .collect(),
        ),
        Err(e) => e,
    }
}

fn hdel(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let (key, fields) = (&args[0], &args[1..]);
    match read_at::<Hash>(&ctx.as_read(), key) {
        Err(e) => return e,
        Ok(Some(h)) if fields.iter().any(|f| h.contains_key(f)) => {}
        Ok(_) => return Reply::Int(0),
    }
    let removed = modify_at::<Hash, _>(ctx, key, |h| {
        fields.iter().filter(|f| h.remove(*f).is_some()).count()
    });
    answer(removed.map(|n| count(n.unwrap_or(0))))
}

fn hexists(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Hash>(ctx, &args[0]) {
        Ok(h) => Reply::Int(i64::from(h.is_some_and(|h| h.contains_key(&args[1])))),
        Err(e) => e,
    }
}

fn hincrby(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(increment_int(ctx, args))
}

/// HINCRBY: the increment is read first, then the field (0 if absent), as in Redis.
fn increment_int(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let (key, field) = (&args[0], &args[1]);
    let by = int(&args[2])?;
    let old = match read_at::<Hash>(&ctx.as_read(), key)?.and_then(|h| h.get(field)) {
        None => 0,
        Some(v) => {
            parse_integer(v).ok_or_else(|| Reply::error("ERR", "hash value is not an integer"))?
        }
    };
    let new = old.checked_add(by).ok_or(Reply::Error(KvError::Overflow))?;
    let text = Bytes::from(new.to_string());
    write_at::<Hash, _>(ctx, key, |h| h.insert(field.clone(), text))?;
    Ok(Reply::Int(new))
}

fn hincrbyfloat(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(increment_float(ctx, args))
}

/// HINCRBYFLOAT: Redis' checks in Redis' order; the stored text is the reply.
fn increment_float(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let (key, field) = (&args[0], &args[1]);
    let by = long_float(&args[2])?;
    if !by.is_finite() {
        return Err(Reply::error("ERR", "value is NaN or Infinity"));
    }
    let old = match read_at::<Hash>(&ctx.as_read(), key)?.and_then(|h| h.get(field)) {
        None => 0.0,
        Some(v) => {
            parse_long_float(v).ok_or_else(|| Reply::error("ERR", "hash value is not a float"))?
        }
    };
    let new = old + by;
    if !new.is_finite() {
        return Err(Reply::error(
            "ERR",
            "increment would produce NaN or Infinity",
        ));
    }
    let text = value_text(new);
    let max = ctx.limits.value_bytes_max;
    if text.len() > max {
        return Err(Reply::Error(KvError::ValueTooLarge {
            bytes: text.len() as u64,
            max: max as u64,
        }));
    }
    write_at::<Hash, _>(ctx, key, |h| h.insert(field.clone(), text.clone()))?;
    Ok(Reply::Bulk(text))
}

fn hlen(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Hash>(ctx, &args[0]) {
        Ok(h) => count(h.map_or(0, |h| h.len())),
        Err(e) => e,
    }
}

fn hkeys(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Hash>(ctx, &args[0]) {
        Ok(h) => Reply::Array(bulks(h.into_iter().flat_map(|h| h.keys()))),
        Err(e) => e,
    }
}

fn hvals(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Hash>(ctx, &args[0]) {
        Ok(h) => Reply::Array(bulks(h.into_iter().flat_map(|h| h.values()))),
        Err(e) => e,
    }
}

fn hstrlen(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Hash>(ctx, &args[0]) {
        Ok(h) => count(h.and_then(|h| h.get(&args[1])).map_or(0, Bytes::len)),
        Err(e) => e,
    }
}

fn hrandfield(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(random_fields(ctx, args))
}

/// HRANDFIELD: one field (bulk or nil) without a count; else an array, or field/value
/// `Reply::Pairs` with WITHVALUES (flat in RESP2, nested in RESP3).
fn random_fields(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let key = &args[0];
    let wanted = args.get(1).map(|c| count_arg(c)).transpose()?;
    let with_values = match args.get(2) {
        None => false,
        Some(w) if is(w, "WITHVALUES") && args.len() == 3 => true,
        Some(_) => return Err(syntax()),
    };
    let Some(h) = read_at::<Hash>(ctx, key)? else {
        return Ok(wanted.map_or(Reply::Null, |_| Reply::Array(Vec::new())));
    };
    let mut picker = Picker::new(key, ctx.random_seed, h.len());
    let fields: Vec<(&Bytes, &Bytes)> = h.iter().collect();
    let Some(wanted) = wanted else {
        let (f, _) = fields[picker.below(fields.len())];
        return Ok(Reply::Bulk(f.clone()));
    };
    let positions = wanted.positions(&mut picker, fields.len());
    let picked = positions.into_iter().map(|i| fields[i]);
    if with_values {
        let pairs = picked.map(|(f, v)| (Reply::Bulk(f.clone()), Reply::Bulk(v.clone())));
        return Ok(Reply::Pairs(pairs.collect()));
    }
    Ok(Reply::Array(
        picked.map(|(f, _)| Reply::Bulk(f.clone())).collect(),
    ))
}

fn hscan(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(scan_fields(ctx, args))
}

/// HSCAN: the cursor is read first, then the key, then the options, as in Redis.
fn scan_fields(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let from = scan::cursor_arg(&args[1])?;
    let Some(h) = read_at::<Hash>(ctx, &args[0])? else {
        return Ok(scan::empty());
    };
    let options = scan::options(&args[2..], scan::Takes::MatchCount)?;
    let range = h.range::<[u8], _>(scan::from(&from));
    let (cursor, items) = scan::page(range, &from, &options);
    let pairs = items
        .into_iter()
        .flat_map(|(f, v)| [Reply::Bulk(f.clone()), Reply::Bulk(v.clone())]);
    Ok(scan::reply(cursor, pairs.collect()))
}
