//! Sorted sets: a key holding members with scores, ordered by (score, member bytes). This
//! file has the commands on members; `zrange.rs` has the ones on ranges.
//!
//! ```text
//!   ZADD k [NX|XX] [GT|LT] [CH] [INCR] score m [score m …]
//!                        members added (CH: added or changed) | INCR: the new score or nil
//!   ZINCRBY k by m       the new score           ZREM k m…       members removed
//!   ZSCORE k m           score | nil             ZMSCORE k m…    [score | nil …]
//!   ZCARD k              size                    ZRANK/ZREVRANK k m    rank | nil
//!   ZPOPMIN/ZPOPMAX k [n]   [m score …], lowest (highest) first
//!   ZSCAN k cursor [MATCH p] [COUNT n]   [cursor, [m score …]], cursor = the next member
//!   ZRANDMEMBER k [count [WITHSCORES]]   a member | nil; with a count [m …] or [m score …]:
//!                        distinct (count >= 0) or |count| draws with repeats (random.rs)
//! ```
//!
//! ZADD's options, Redis 7's rules: NX and XX exclude each other; GT, LT and NX exclude each
//! other (XX goes with GT or LT); INCR takes one score-member pair. NX: only add new members;
//! XX: only update existing ones; GT/LT: update only to a greater/lesser score (new members
//! are still added); CH: count updated members too. Every score is parsed before anything is
//! written, and a NaN sum (`+inf` plus `-inf`) is refused before the write.
//!
//! Scores are replied as `Reply::Double` (RESP2 shows them as bulk strings) in Redis 7.2's
//! text (`float.rs`); member/score pairs are `Reply::Pairs`, flat in RESP2 (`[m s m s]`) and
//! nested in RESP3 (`[[m s] [m s]]`), as Redis 7 answers. ZPOPMIN without a count answers one
//! flat `[m s]` in both, as Redis does.
//!
//! Invariants: a sorted set is never empty and never holds a NaN score; an error reply
//! changed nothing; a modified sorted set keeps its TTL.

use bytes::Bytes;

use super::args::{is, non_negative, syntax, MUST_BE_POSITIVE};
use super::float::{float, reply_text};
use super::random::{count_arg, Picker};
use super::typed::{modify_at, read_at, write_at};
use super::{answer, count, scan, ReadCtx, WriteCtx};
use crate::command::table::flags::{R, RF, WDF, WF};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::Reply;
use crate::value::{Score, ZSet};

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::SortedSet;

/// The sorted sets family's rows for single members (ranges: `zrange::SPECS`).
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "zadd", -4, WDF, KeySpec::FIRST, "1.2.0", "Adds members to a sorted set, or updates their scores; creates the sorted set if absent.", Exec::Write(zadd)),
    Spec::new(GROUP, "zincrby", 4, WDF, KeySpec::FIRST, "1.2.0", "Increments the score of a member in a sorted set.", Exec::Write(zincrby)),
    Spec::new(GROUP, "zrem", -3, WF, KeySpec::FIRST, "1.2.0", "Removes one or more members from a sorted set; deletes it when it empties.", Exec::Write(zrem)),
    Spec::new(GROUP, "zscore", 3, RF, KeySpec::FIRST, "1.2.0", "Returns the score of a member in a sorted set.", Exec::Read(zscore)),
    Spec::new(GROUP, "zmscore", -3, RF, KeySpec::FIRST, "6.2.0", "Returns the scores of several members in a sorted set.", Exec::Read(zmscore)),
    Spec::new(GROUP, "zcard", 2, RF, KeySpec::FIRST, "1.2.0", "Returns the number of members in a sorted set.", Exec::Read(zcard)),
    Spec::new(GROUP, "zrank", 3, RF, KeySpec::FIRST, "2.0.0", "Returns the index of a member in a sorted set ordered by ascending score.", Exec::Read(zrank)),
    Spec::new(GROUP, "zrevrank", 3, RF, KeySpec::FIRST, "2.0.0", "Returns the index of a member in a sorted set ordered by descending score.", Exec::Read(zrevrank)),
    Spec::new(GROUP, "zpopmin", -2, WF, KeySpec::FIRST, "5.0.0", "Removes and returns the members with the lowest scores in a sorted set.", Exec::Write(zpopmin)),
    Spec::new(GROUP, "zpopmax", -2, WF, KeySpec::FIRST, "5.0.0", "Removes and returns the members with the highest scores in a sorted set.", Exec::Write(zpopmax)),
    Spec::new(GROUP, "zscan", -3, R, KeySpec::FIRST, "2.8.0", "Iterates over the members and scores of a sorted set, a page at a time.", Exec::Read(zscan)),
    Spec::new(GROUP, "zrandmember", -2, R, KeySpec::FIRST, "6.2.0", "Returns members picked at random from a sorted set, optionally with their scores.", Exec::Read(zrandmember)),
];

/// A score as a reply.
pub(super) fn score_reply(score: Score) -> Reply {
    Reply::Double(reply_text(score.get()))
}

/// `ERR resulting score is not a number (NaN)`.
fn nan_sum() -> Reply {
    Reply::error("ERR", "resulting score is not a number (NaN)")
}

/// ZADD's flags, once read.
#[derive(Clone, Copy, Default)]
struct ZaddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// Read ZADD's flags and its score-member pairs (scores parsed), with Redis' errors in
/// Redis' order.
fn zadd_args(args: &[Bytes]) -> Result<(ZaddFlags, Vec<(Score, Bytes)>), Reply> {
    let mut f = ZaddFlags::default();
    let mut k = 0;
    while let Some(word) = args.get(k) {
        let mut names = [
            ("NX", &mut f.nx),
            ("XX", &mut f.xx),
            ("GT", &mut f.gt),
            ("LT", &mut f.lt),
            ("CH", &mut f.ch),
            ("INCR", &mut f.incr),
        ];
        let Some((_, flag)) = names.iter_mut().find(|(name, _)| is(word, name)) else {
            break;
        };
        **flag = true;
        k += 1;
    }
    let pairs = &args[k..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(syntax());
    }
    if f.nx && f.xx {
        return Err(Reply::error(
            "ERR",
            "XX and NX options at the same time are not compatible",
        ));
    }
    if [f.gt, f.lt, f.nx].iter().filter(|on| **on).count() > 1 {
        return Err(Reply::error(
            "ERR",
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && pairs.len() > 2 {
        return Err(Reply::error(
            "ERR",
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut parsed = Vec::with_capacity(pairs.len() / 2);
    for pair in pairs.chunks_exact(2) {
        let score = Score::new(float(&pair[0])?).expect("float() never yields NaN");
        parsed.push((score, pair[1].clone()));
    }
    Ok((f, parsed))
}

/// What ZADD did to one member.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Added,
    Updated,
    /// Processed, the score unchanged.
    Same,
    /// Skipped by NX, XX, GT or LT.
    Skipped,
}

/// One member's ZADD (Redis' `zsetAdd`): the outcome and the member's score after it.
fn add_one(z: &mut ZSet, f: ZaddFlags, score: Score, member: &Bytes) -> (Outcome, Option<Score>) {
    let Some(current) = z.score(member) else {
        if f.xx {
            return (Outcome::Skipped, None);
        }
        z.insert(member.clone(), score);
        return (Outcome::Added, Some(score));
    };
    if f.nx {
        return (Outcome::Skipped, Some(current));
    }
    let new = if f.incr {
        // A NaN sum was refused before the write (`zadd_checked`).
        Score::new(current.get() + score.get()).unwrap_or(current)
    } else {
        score
    };
    if (f.lt && new >= current) || (f.gt && new <= current) {
        return (Outcome::Skipped, Some(current));
    }
    if new == current {
        return (Outcome::Same, Some(new));
    }
    z.insert(member.clone(), new);
    (Outcome::Updated, Some(new))
}

fn zadd(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(zadd_checked(ctx, &args[0], &args[1..]))
}

fn zadd_checked(ctx: &mut WriteCtx<'_>, key: &Bytes, args: &[Bytes]) -> Result<Reply, Reply> {
    let (f, pairs) = zadd_args(args)?;
    let existing = read_at::<ZSet>(&ctx.as_read(), key)?;
    if f.incr {
        let (by, member) = &pairs[0];
        let current = existing.and_then(|z| z.score(member));
        if current.is_some_and(|c| (c.get() + by.get()).is_nan()) {
            return Err(nan_sum());
        }
    }
    let outcomes = write_at(ctx, key, |z: &mut ZSet| {
        pairs
            .iter()
            .map(|(score, member)| add_one(z, f, *score, member))
            .collect::<Vec<_>>()
    })?;
    if f.incr {
        let (outcome, score) = outcomes[0];
        return Ok(match (outcome, score) {
            (Outcome::Skipped, _) | (_, None) => Reply::Null,
            (_, Some(s)) => score_reply(s),
        });
    }
    let counted =
        |o: &&(Outcome, Option<Score>)| o.0 == Outcome::Added || (f.ch && o.0 == Outcome::Updated);
    Ok(count(outcomes.iter().filter(counted).count()))
}

fn zincrby(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let words = [
        Bytes::from_static(b"INCR"),
        args[1].clone(),
        args[2].clone(),
    ];
    answer(zadd_checked(ctx, &args[0], &words))
}

fn zrem(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let (key, members) = (&args[0], &args[1..]);
    match read_at::<ZSet>(&ctx.as_read(), key) {
        Err(e) => return e,
        Ok(Some(z)) if members.iter().any(|m| z.score(m).is_some()) => {}
        Ok(_) => return Reply::Int(0),
    }
    let removed = modify_at(ctx, key, |z: &mut ZSet| {
        members.iter().filter(|m| z.remove(m).is_some()).count()
    });
    answer(removed.map(|n| count(n.unwrap_or(0))))
}

fn zscore(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<ZSet>(ctx, &args[0]) {
        Ok(z) => z
            .and_then(|z| z.score(&args[1]))
            .map_or(Reply::Null, score_reply),
        Err(e) => e,
    }
}

fn zmscore(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<ZSet>(ctx, &args[0]) {
        Ok(z) => Reply::Array(
            args[1..]
                .iter()
                .map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Null, score_reply))
                .collect(),
        ),
        Err(e) => e,
    }
}

fn zcard(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<ZSet>(ctx, &args[0]) {
        Ok(z) => count(z.map_or(0, ZSet::len)),
        Err(e) => e,
    }
}

fn zrank(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    rank(ctx, args, false)
}

fn zrevrank(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    rank(ctx, args, true)
}

fn rank(ctx: &ReadCtx<'_>, args: &[Bytes], reverse: bool) -> Reply {
    match read_at::<ZSet>(ctx, &args[0]) {
        Ok(z) => {
            let rank = z.and_then(|z| {
                let r = z.rank(&args[1])?;
                Some(if reverse { z.len() - 1 - r } else { r })
            });
            rank.map_or(Reply::Null, count)
        }
        Err(e) => e,
    }
}

fn zpopmin(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(pop(ctx, args, false))
}

fn zpopmax(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(pop(ctx, args, true))
}

/// ZPOPMIN/ZPOPMAX k [n]: `[m s …]`, lowest (highest) first; `[]` for an absent key or n = 0.
fn pop(ctx: &mut WriteCtx<'_>, args: &[Bytes], highest: bool) -> Result<Reply, Reply> {
    let wanted = match args {
        [_] => 1,
        [_, n] => non_negative(n, MUST_BE_POSITIVE)?,
        _ => return Err(syntax()),
    };
    if read_at::<ZSet>(&ctx.as_read(), &args[0])?.is_none() || wanted == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let popped = modify_at(ctx, &args[0], |z: &mut ZSet| {
        let n = wanted.min(z.len());
        let next = |z: &mut ZSet| if highest { z.pop_last() } else { z.pop_first() };
        (0..n).filter_map(|_| next(z)).collect::<Vec<_>>()
    })?
    .unwrap_or_default();
    let pairs = popped
        .into_iter()
        .map(|(m, s)| (Reply::Bulk(m), score_reply(s)));
    if args.len() == 1 {
        let flat = pairs.flat_map(|(m, s)| [m, s]);
        return Ok(Reply::Array(flat.collect()));
    }
    Ok(Reply::Pairs(pairs.collect()))
}

fn zscan(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(scan_members(ctx, args))
}

/// ZSCAN: members in byte order (not score order), each with its score as a bulk string.
fn scan_members(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let from = scan::cursor_arg(&args[1])?;
    let Some(z) = read_at::<ZSet>(ctx, &args[0])? else {
        return Ok(scan::empty());
    };
    let options = scan::options(&args[2..], scan::Takes::MatchCount)?;
    let (cursor, items) = scan::page(z.members_from(&from), &from, &options);
    let pairs = items
        .into_iter()
        .flat_map(|(m, s)| [Reply::Bulk(m.clone()), Reply::Bulk(reply_text(s.get()))]);
    Ok(scan::reply(cursor, pairs.collect()))
}

fn zrandmember(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(random_members(ctx, args))
}

/// ZRANDMEMBER: one member (bulk or nil) without a count; else an array, or member/score
/// `Reply::Pairs` with WITHSCORES (flat in RESP2, nested in RESP3), as HRANDFIELD.
fn random_members(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let key = &args[0];
    let wanted = args.get(1).map(|c| count_arg(c)).transpose()?;
    let with_scores = match args.get(2) {
        None => false,
        Some(w) if is(w, "WITHSCORES") && args.len() == 3 => true,
        Some(_) => return Err(syntax()),
    };
    let Some(z) = read_at::<ZSet>(ctx, key)? else {
        return Ok(wanted.map_or(Reply::Null, |_| Reply::Array(Vec::new())));
    };
    let mut picker = Picker::new(key, ctx.random_seed, z.len());
    let members: Vec<(&Bytes, Score)> = z.iter().collect();
    let Some(wanted) = wanted else {
        let (m, _) = members[picker.below(members.len())];
        return Ok(Reply::Bulk(m.clone()));
    };
    let picked = wanted
        .positions(&mut picker, members.len())
        .into_iter()
        .map(|i| members[i]);
    if with_scores {
        let pairs = picked.map(|(m, s)| (Reply::Bulk(m.clone()), score_reply(s)));
        return Ok(Reply::Pairs(pairs.collect()));
    }
    Ok(Reply::Array(
        picked.map(|(m, _)| Reply::Bulk(m.clone())).collect(),
    ))
}
