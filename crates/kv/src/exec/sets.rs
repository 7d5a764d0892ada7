//! Sets: a key holding distinct byte strings (a `BTreeSet`, so members are in byte order).
//!
//! ```text
//!   SADD k m…   members added        SREM k m…   members removed (the last deletes the key)
//!   SMEMBERS k  set                  SISMEMBER k m  1 | 0     SMISMEMBER k m…  [1|0 …]
//!   SCARD k     size
//!   SINTER/SUNION/SDIFF k…           set (an absent key is the empty set)
//!   SINTERSTORE/SUNIONSTORE/SDIFFSTORE dst k…    size stored (0: dst deleted)
//!   SINTERCARD numkeys k… [LIMIT n]  size of the intersection, counted up to n
//!   SMOVE src dst m                  1 | 0
//!   SPOP k [n], SRANDMEMBER k [n]    seeded picks (random.rs): SPOP by the entry's index,
//!                                    SRANDMEMBER by the read's seed (fresh per call)
//!   SSCAN k cursor [MATCH p] [COUNT n]   cursor = the next member (scan.rs)
//! ```
//!
//! Order: Redis documents SMEMBERS, SINTER, SUNION, SDIFF, SPOP and SRANDMEMBER replies as
//! unordered; here they come in member byte order (SRANDMEMBER with a negative count: in
//! draw order), the same on every replica.
//!
//! Invariants: a set is never empty; every key a command names is type-checked before
//! anything is written (WRONGTYPE for any non-set, as Redis); a modified set keeps its TTL, a
//! stored result (`*STORE`) replaces the destination, type and TTL included.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::args::{non_negative, syntax, MUST_BE_POSITIVE};
use super::random::{count_arg, Picker};
use super::typed::{modify_at, read_at, store, write_at, Set};
use super::{answer, bulks, count, scan, ReadCtx, WriteCtx};
use crate::command::table::flags::{R, RF, WD, WDF, WF};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::Reply;
use crate::value::Value;

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::Set;

/// The sets family's rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "sadd", -3, WDF, KeySpec::FIRST, "1.0.0", "Adds one or more members to a set; creates the set if absent.", Exec::Write(sadd)),
    Spec::new(GROUP, "srem", -3, WF, KeySpec::FIRST, "1.0.0", "Removes one or more members from a set; deletes the set when it empties.", Exec::Write(srem)),
    Spec::new(GROUP, "smembers", 2, R, KeySpec::FIRST, "1.0.0", "Returns every member of a set.", Exec::Read(smembers)),
    Spec::new(GROUP, "sismember", 3, RF, KeySpec::FIRST, "1.0.0", "Determines whether a member belongs to a set.", Exec::Read(sismember)),
    Spec::new(GROUP, "smismember", -3, RF, KeySpec::FIRST, "6.2.0", "Determines whether each of several members belongs to a set.", Exec::Read(smismember)),
    Spec::new(GROUP, "scard", 2, RF, KeySpec::FIRST, "1.0.0", "Returns the number of members in a set.", Exec::Read(scard)),
    Spec::new(GROUP, "sinter", -2, R, KeySpec::ALL, "1.0.0", "Returns the intersection of sets.", Exec::Read(sinter)),
    Spec::new(GROUP, "sunion", -2, R, KeySpec::ALL, "1.0.0", "Returns the union of sets.", Exec::Read(sunion)),
    Spec::new(GROUP, "sdiff", -2, R, KeySpec::ALL, "1.0.0", "Returns the members of the first set that are in none of the others.", Exec::Read(sdiff)),
    Spec::new(GROUP, "sinterstore", -3, WD, KeySpec::ALL, "1.0.0", "Stores the intersection of sets in a key.", Exec::Write(sinterstore)),
    Spec::new(GROUP, "sunionstore", -3, WD, KeySpec::ALL, "1.0.0", "Stores the union of sets in a key.", Exec::Write(sunionstore)),
    Spec::new(GROUP, "sdiffstore", -3, WD, KeySpec::ALL, "1.0.0", "Stores the difference of sets in a key.", Exec::Write(sdiffstore)),
    // Redis' legacy key spec cannot say "numkeys keys after the count": it reports none.
    Spec::new(GROUP, "sintercard", -3, R, KeySpec::NONE, "7.0.0", "Returns the number of members in the intersection of sets, counted up to a limit.", Exec::Read(sintercard)),
    Spec::new(GROUP, "smove", 4, WF, KeySpec::FIRST_TWO, "1.0.0", "Moves a member from one set to another.", Exec::Write(smove)),
    Spec::new(GROUP, "spop", -2, WF, KeySpec::FIRST, "1.0.0", "Removes and returns members picked from a set, the same on every replica at one log index.", Exec::Write(spop)),
    Spec::new(GROUP, "srandmember", -2, R, KeySpec::FIRST, "1.0.0", "Returns members picked at random from a set (per call; inside MULTI, per log index).", Exec::Read(srandmember)),
    Spec::new(GROUP, "sscan", -3, R, KeySpec::FIRST, "2.8.0", "Iterates over the members of a set, a page at a time.", Exec::Read(sscan)),
];

fn sadd(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let added = write_at(ctx, &args[0], |s: &mut Set| {
        args[1..].iter().filter(|m| s.insert((*m).clone())).count()
    });
    answer(added.map(count))
}

fn srem(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let (key, members) = (&args[0], &args[1..]);
    match read_at::<Set>(&ctx.as_read(), key) {
        Err(e) => return e,
        Ok(Some(s)) if members.iter().any(|m| s.contains(m)) => {}
        Ok(_) => return Reply::Int(0),
    }
    let removed = modify_at(ctx, key, |s: &mut Set| {
        members.iter().filter(|m| s.remove(*m)).count()
    });
    answer(removed.map(|n| count(n.unwrap_or(0))))
}

fn smembers(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Set>(ctx, &args[0]) {
        Ok(s) => Reply::Set(bulks(s.into_iter().flatten())),
        Err(e) => e,
    }
}

fn sismember(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Set>(ctx, &args[0]) {
        Ok(s) => Reply::Int(i64::from(s.is_some_and(|s| s.contains(&args[1])))),
        Err(e) => e,
    }
}

fn smismember(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Set>(ctx, &args[0]) {
        Ok(s) => Reply::Array(
            args[1..]
                .iter()
                .map(|m| Reply::Int(i64::from(s.is_some_and(|s| s.contains(m)))))
                .collect(),
        ),
        Err(e) => e,
    }
}

fn scard(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<Set>(ctx, &args[0]) {
        Ok(s) => count(s.map_or(0, |s| s.len())),
        Err(e) => e,
    }
}

/// How several sets combine.
#[derive(Clone, Copy)]
enum Algebra {
    Inter,
    Union,
    Diff,
}

/// The sets under `keys` combined; every key is type-checked first, an absent one is empty.
fn combine(ctx: &ReadCtx<'_>, keys: &[Bytes], op: Algebra) -> Result<Set, Reply> {
    let empty = Set::new();
    let mut sets = Vec::with_capacity(keys.len());
    for key in keys {
        sets.push(read_at::<Set>(ctx, key)?.unwrap_or(&empty));
    }
    let (first, rest) = sets.split_first().expect("arity gives at least one key");
    let result = match op {
        Algebra::Inter => {
            let smallest = sets
                .iter()
                .min_by_key(|s| s.len())
                .expect("one set at least");
            smallest
                .iter()
                .filter(|m| sets.iter().all(|s| s.contains(*m)))
                .cloned()
                .collect()
        }
        Algebra::Union => sets.iter().flat_map(|s| s.iter()).cloned().collect(),
        Algebra::Diff => first
            .iter()
            .filter(|m| !rest.iter().any(|s| s.contains(*m)))
            .cloned()
            .collect(),
    };
    Ok(result)
}

fn sinter(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(combine(ctx, args, Algebra::Inter).map(|s| Reply::Set(bulks(&s))))
}

fn sunion(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(combine(ctx, args, Algebra::Union).map(|s| Reply::Set(bulks(&s))))
}

fn sdiff(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(combine(ctx, args, Algebra::Diff).map(|s| Reply::Set(bulks(&s))))
}

fn sinterstore(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    combine_into(ctx, args, Algebra::Inter)
}

fn sunionstore(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    combine_into(ctx, args, Algebra::Union)
}

fn sdiffstore(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    combine_into(ctx, args, Algebra::Diff)
}

/// `*STORE dst k…`: the combination replaces `dst` (whatever it held), or deletes it if empty.
fn combine_into(ctx: &mut WriteCtx<'_>, args: &[Bytes], op: Algebra) -> Reply {
    let (destination, keys) = (&args[0], &args[1..]);
    match combine(&ctx.as_read(), keys, op) {
        Ok(result) => {
            let size = result.len();
            store(ctx, destination, Value::Set(result), size)
        }
        Err(e) => e,
    }
}

fn sintercard(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(intersection_size(ctx, args))
}

/// SINTERCARD numkeys k… [LIMIT n]: Redis' argument errors, then the keys' types.
fn intersection_size(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let numkeys = non_negative(&args[0], "numkeys should be greater than 0")?;
    if numkeys == 0 {
        return Err(Reply::error("ERR", "numkeys should be greater than 0"));
    }
    let rest = &args[1..];
    if numkeys > rest.len() {
        return Err(Reply::error(
            "ERR",
            "Number of keys can't be greater than number of args",
        ));
    }
    let (keys, options) = rest.split_at(numkeys);
    let limit = match options {
        [] => 0,
        [name, n] if super::args::is(name, "LIMIT") => non_negative(n, "LIMIT can't be negative")?,
        _ => return Err(syntax()),
    };
    let size = combine(ctx, keys, Algebra::Inter)?.len();
    Ok(count(if limit == 0 { size } else { size.min(limit) }))
}

fn smove(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(move_member(ctx, &args[0], &args[1], &args[2]))
}

/// SMOVE: 0 if the source is absent (before any type check, as Redis), else both types are
/// checked, then the member moves if the source has it.
fn move_member(
    ctx: &mut WriteCtx<'_>,
    source: &Bytes,
    destination: &Bytes,
    member: &Bytes,
) -> Result<Reply, Reply> {
    let read = ctx.as_read();
    if read.db.value(source, read.now_ms).is_none() {
        return Ok(Reply::Int(0));
    }
    let has = read_at::<Set>(&read, source)?.is_some_and(|s| s.contains(member));
    read_at::<Set>(&read, destination)?;
    if !has || source == destination {
        return Ok(Reply::Int(i64::from(has)));
    }
    modify_at(ctx, source, |s: &mut Set| s.remove(member))?;
    // A destination that already has the member is not written at all, so a WATCH on it
    // holds and no notification names it (Redis: "SMOVE only notify dstset when the
    // addition is successful").
    let read = ctx.as_read();
    let already = read_at::<Set>(&read, destination)?.is_some_and(|s| s.contains(member));
    if !already {
        write_at(ctx, destination, |s: &mut Set| s.insert(member.clone()))?;
    }
    Ok(Reply::Int(1))
}

fn spop(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(pop(ctx, args))
}

/// SPOP k: one member or nil. SPOP k n: a set of up to n members (empty for an absent key).
fn pop(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let key = &args[0];
    let wanted = match args {
        [_] => None,
        [_, n] => Some(non_negative(n, MUST_BE_POSITIVE)?),
        _ => return Err(syntax()),
    };
    let Some(len) = read_at::<Set>(&ctx.as_read(), key)?.map(|s| s.len()) else {
        return Ok(wanted.map_or(Reply::Null, |_| Reply::Set(Vec::new())));
    };
    let mut picker = Picker::new(key, ctx.index, len);
    let positions = picker.distinct(len, wanted.unwrap_or(1));
    if positions.is_empty() {
        return Ok(Reply::Set(Vec::new()));
    }
    let popped = modify_at(ctx, key, |s: &mut Set| {
        let chosen: Vec<Bytes> = pick(s, &positions);
        for m in &chosen {
            s.remove(m);
        }
        chosen
    })?
    .unwrap_or_default();
    Ok(match wanted {
        None => Reply::bulk_or_null(popped.into_iter().next()),
        Some(_) => Reply::Set(bulks(&popped)),
    })
}

/// The members at `positions` (ascending), in one walk.
fn pick(set: &Set, positions: &BTreeSet<usize>) -> Vec<Bytes> {
    set.iter()
        .enumerate()
        .filter(|(i, _)| positions.contains(i))
        .map(|(_, m)| m.clone())
        .collect()
}

fn srandmember(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(random_members(ctx, args))
}

/// SRANDMEMBER k: one member or nil. With a count: distinct members (n >= 0) or |n| draws
/// with repeats (n < 0), an empty array for an absent key.
fn random_members(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let key = &args[0];
    let wanted = match args {
        [_] => None,
        [_, n] => Some(count_arg(n)?),
        _ => return Err(syntax()),
    };
    let Some(set) = read_at::<Set>(ctx, key)? else {
        return Ok(wanted.map_or(Reply::Null, |_| Reply::Array(Vec::new())));
    };
    let mut picker = Picker::new(key, ctx.random_seed, set.len());
    let members: Vec<&Bytes> = set.iter().collect();
    let Some(wanted) = wanted else {
        return Ok(Reply::Bulk(members[picker.below(members.len())].clone()));
    };
    let positions = wanted.positions(&mut picker, members.len());
    Ok(Reply::Array(
        positions
            .into_iter()
            .map(|i| Reply::Bulk(members[i].clone()))
            .collect(),
    ))
}

fn sscan(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(scan_members(ctx, args))
}

/// SSCAN: the cursor, then the key, then the options, as in Redis.
fn scan_members(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let from = scan::cursor_arg(&args[1])?;
    let Some(set) = read_at::<Set>(ctx, &args[0])? else {
        return Ok(scan::empty());
    };
    let options = scan::options(&args[2..], scan::Takes::MatchCount)?;
    let range = set.range::<[u8], _>(scan::from(&from)).map(|m| (m, ()));
    let (cursor, items) = scan::page(range, &from, &options);
    let members = items.into_iter().map(|(m, ())| Reply::Bulk(m.clone()));
    Ok(scan::reply(cursor, members.collect()))
}
