//! Sorted-set ranges: by rank, by score, by member bytes ("lex"), forwards or backwards.
//!
//! ```text
//!   ZRANGE k start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
//!   ZRANGEBYSCORE k min max [WITHSCORES] [LIMIT o c]     ZREVRANGE k start stop [WITHSCORES]
//!   ZREVRANGEBYSCORE k max min [WITHSCORES] [LIMIT o c]  ZRANGEBYLEX k min max [LIMIT o c]
//!   ZREVRANGEBYLEX k max min [LIMIT o c]
//!   ZRANGESTORE dst k start stop [BYSCORE|BYLEX] [REV] [LIMIT o c]   size stored in dst
//!   ZCOUNT k min max      ZLEXCOUNT k min max            how many in the range
//!   ZREMRANGEBYRANK k start stop    ZREMRANGEBYSCORE k min max    ZREMRANGEBYLEX k min max
//!                                                        how many removed
//!
//!   rank   0 1 … -2 -1             (negative from the end; clamped as LRANGE)
//!   score  1.5  (1.5  -inf  +inf   ("(": exclusive)
//!   lex    [abc  (abc  -  +        ("[": inclusive, "(": exclusive, - and +: the ends)
//! ```
//!
//! All the range commands share Redis' one parser (`zrangeGenericCommand`): the options in any
//! order, then the checks (LIMIT needs BYSCORE or BYLEX, WITHSCORES refuses BYLEX), then REV
//! swaps min and max for score and lex ranges, then the range is parsed, then the key looked
//! up. `LIMIT offset count`: a negative offset gives nothing, a negative count everything.
//!
//! Lex ranges assume every member has the same score, as Redis says: they walk (score, member)
//! order from the first member at or past `min` to the first past `max`, keeping those inside
//! both ends. With equal scores that is exactly Redis' answer; with mixed scores Redis' answer
//! depends on its skiplist's random node levels, ours is this walk's, the same on every replica.
//!
//! Ranks cost O(rank) here (a `BTreeSet` has no subtree counts); score and lex ranges start in
//! O(log n) for score and O(position) for lex.

use bytes::Bytes;

use super::args::{index_range, int, is, syntax};
use super::float::parse_bound;
use super::typed::{modify_at, read_at, store};
use super::zsets::score_reply;
use super::{answer, count, ReadCtx, WriteCtx};
use crate::command::table::flags::{R, RF, W, WD};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::Reply;
use crate::value::{Score, ScoreRange, Value, ZSet};

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::SortedSet;

/// The sorted sets family's rows for ranges.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "zrange", -4, R, KeySpec::FIRST, "1.2.0", "Returns members of a sorted set in a range of ranks, scores or members.", Exec::Read(zrange)),
    Spec::new(GROUP, "zrangebyscore", -4, R, KeySpec::FIRST, "1.0.5", "Returns members of a sorted set in a range of scores.", Exec::Read(zrangebyscore)),
    Spec::new(GROUP, "zrevrange", -4, R, KeySpec::FIRST, "1.2.0", "Returns members of a sorted set in a range of ranks, highest score first.", Exec::Read(zrevrange)),
    Spec::new(GROUP, "zrevrangebyscore", -4, R, KeySpec::FIRST, "2.2.0", "Returns members of a sorted set in a range of scores, highest first.", Exec::Read(zrevrangebyscore)),
    Spec::new(GROUP, "zrangebylex", -4, R, KeySpec::FIRST, "2.8.9", "Returns members of a sorted set in a range of member bytes.", Exec::Read(zrangebylex)),
    Spec::new(GROUP, "zrevrangebylex", -4, R, KeySpec::FIRST, "2.8.9", "Returns members of a sorted set in a range of member bytes, last first.", Exec::Read(zrevrangebylex)),
    Spec::new(GROUP, "zrangestore", -5, WD, KeySpec::FIRST_TWO, "6.2.0", "Stores a range of a sorted set (by rank, score or member bytes) in a key.", Exec::Write(zrangestore)),
    Spec::new(GROUP, "zcount", 4, RF, KeySpec::FIRST, "2.0.0", "Returns the number of members of a sorted set in a range of scores.", Exec::Read(zcount)),
    Spec::new(GROUP, "zlexcount", 4, RF, KeySpec::FIRST, "2.8.9", "Returns the number of members of a sorted set in a range of member bytes.", Exec::Read(zlexcount)),
    Spec::new(GROUP, "zremrangebyrank", 4, W, KeySpec::FIRST, "2.0.0", "Removes the members of a sorted set in a range of ranks.", Exec::Write(zremrangebyrank)),
    Spec::new(GROUP, "zremrangebyscore", 4, W, KeySpec::FIRST, "1.2.0", "Removes the members of a sorted set in a range of scores.", Exec::Write(zremrangebyscore)),
    Spec::new(GROUP, "zremrangebylex", 4, W, KeySpec::FIRST, "2.8.9", "Removes the members of a sorted set in a range of member bytes.", Exec::Write(zremrangebylex)),
];

/// What a range is over.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// One end of a lex range.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Lex {
    /// `-`: before every member.
    Min,
    /// `+`: after every member.
    Max,
    /// `[m` (true) or `(m` (false).
    Member(Bytes, bool),
}

impl Lex {
    fn parse(arg: &Bytes) -> Option<Lex> {
        match arg.first()? {
            b'-' if arg.len() == 1 => Some(Lex::Min),
            b'+' if arg.len() == 1 => Some(Lex::Max),
            b'[' => Some(Lex::Member(arg.slice(1..), true)),
            b'(' => Some(Lex::Member(arg.slice(1..), false)),
            _ => None,
        }
    }

    /// True if `m` is at or after this lower end.
    fn below(&self, m: &[u8]) -> bool {
        match self {
            Lex::Min => true,
            Lex::Max => false,
            Lex::Member(x, inclusive) => m > x.as_ref() || (*inclusive && m == x.as_ref()),
        }
    }

    /// True if `m` is at or before this upper end.
    fn above(&self, m: &[u8]) -> bool {
        match self {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Member(x, inclusive) => m < x.as_ref() || (*inclusive && m == x.as_ref()),
        }
    }
}

/// A parsed range.
enum Range {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(Lex, Lex),
}

/// Read a score range (`ERR min or max is not a float`).
fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Reply> {
    let bad = || Reply::error("ERR", "min or max is not a float");
    let ((min, min_exclusive), (max, max_exclusive)) = (
        parse_bound(min).ok_or_else(bad)?,
        parse_bound(max).ok_or_else(bad)?,
    );
    let score = |x| Score::new(x).expect("parse_bound refuses NaN");
    Ok(ScoreRange {
        min: score(min),
        min_exclusive,
        max: score(max),
        max_exclusive,
    })
}

/// Read a lex range (`ERR min or max not valid string range item`).
fn lex_range(min: &Bytes, max: &Bytes) -> Result<(Lex, Lex), Reply> {
    let bad = || Reply::error("ERR", "min or max not valid string range item");
    Ok((
        Lex::parse(min).ok_or_else(bad)?,
        Lex::parse(max).ok_or_else(bad)?,
    ))
}

fn parse_range(by: By, min: &Bytes, max: &Bytes) -> Result<Range, Reply> {
    Ok(match by {
        By::Rank => Range::Rank(int(min)?, int(max)?),
        By::Score => Range::Score(score_range(min, max)?),
        By::Lex => {
            let (min, max) = lex_range(min, max)?;
            Range::Lex(min, max)
        }
    })
}

/// A ZRANGE-family query once read.
struct Query {
    range: Range,
    reverse: bool,
    /// `LIMIT offset count`.
    limit: Option<(i64, i64)>,
    with_scores: bool,
}

/// Redis' `zrangeGenericCommand` parser: `by` and `reverse` are fixed by the command's name
/// (ZRANGEBYSCORE, ZREVRANGE…) or left to the options (`None`, ZRANGE and ZRANGESTORE);
/// `args` starts at the source key. ZRANGESTORE (`store`) takes no WITHSCORES.
fn query(
    args: &[Bytes],
    by: Option<By>,
    reverse: Option<bool>,
    store: bool,
) -> Result<Query, Reply> {
    let (mut by_opt, mut rev_opt) = (by, reverse);
    let (mut limit, mut with_scores) = (None, false);
    let mut k = 3;
    while let Some(word) = args.get(k) {
        if !store && is(word, "WITHSCORES") {
            with_scores = true;
        } else if is(word, "LIMIT") && k + 2 < args.len() {
            limit = Some((int(&args[k + 1])?, int(&args[k + 2])?));
            k += 2;
        } else if rev_opt.is_none() && is(word, "REV") {
            rev_opt = Some(true);
        } else if by_opt.is_none() && is(word, "BYSCORE") {
            by_opt = Some(By::Score);
        } else if by_opt.is_none() && is(word, "BYLEX") {
            by_opt = Some(By::Lex);
        } else {
            return Err(syntax());
        }
        k += 1;
    }
    let (by, reverse) = (by_opt.unwrap_or(By::Rank), rev_opt.unwrap_or(false));
    if limit.is_some() && by == By::Rank {
        return Err(Reply::error(
            "ERR",
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && by == By::Lex {
        return Err(Reply::error(
            "ERR",
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (min, max) = if reverse && by != By::Rank {
        (&args[2], &args[1])
    } else {
        (&args[1], &args[2])
    };
    let range = parse_range(by, min, max)?;
    Ok(Query {
        range,
        reverse,
        limit,
        with_scores,
    })
}

/// The members a range selects, in reply order, lazily (LIMIT stops the walk early).
fn select<'a>(
    z: &'a ZSet,
    range: &'a Range,
    reverse: bool,
) -> Box<dyn Iterator<Item = (&'a Bytes, Score)> + 'a> {
    match range {
        Range::Rank(start, stop) => match index_range(*start, *stop, z.len()) {
            None => Box::new(std::iter::empty()),
            Some((a, b)) if reverse => Box::new(z.iter().rev().skip(a).take(b - a + 1)),
            Some((a, b)) => Box::new(z.iter().skip(a).take(b - a + 1)),
        },
        Range::Score(r) if reverse => Box::new(z.range_by_score(*r).rev()),
        Range::Score(r) => Box::new(z.range_by_score(*r)),
        Range::Lex(min, max) if reverse => Box::new(
            z.iter()
                .rev()
                .skip_while(|(m, _)| !max.above(m))
                .take_while(|(m, _)| min.below(m))
                .filter(|(m, _)| max.above(m)),
        ),
        Range::Lex(min, max) => Box::new(
            z.iter()
                .skip_while(|(m, _)| !min.below(m))
                .take_while(|(m, _)| max.above(m))
                .filter(|(m, _)| min.below(m)),
        ),
    }
}

fn run_query(ctx: &ReadCtx<'_>, args: &[Bytes], q: Query) -> Result<Reply, Reply> {
    let Some(z) = read_at::<ZSet>(ctx, &args[0])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let (offset, limit) = limit_window(q.limit);
    let selected = select(z, &q.range, q.reverse).skip(offset).take(limit);
    if q.with_scores {
        let pairs = selected.map(|(m, s)| (Reply::Bulk(m.clone()), score_reply(s)));
        return Ok(Reply::Pairs(pairs.collect()));
    }
    Ok(Reply::Array(
        selected.map(|(m, _)| Reply::Bulk(m.clone())).collect(),
    ))
}

fn range_command(ctx: &ReadCtx<'_>, args: &[Bytes], by: Option<By>, rev: Option<bool>) -> Reply {
    answer(query(args, by, rev, false).and_then(|q| run_query(ctx, args, q)))
}

fn zrange(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    range_command(ctx, args, None, None)
}

fn zrangebyscore(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    range_command(ctx, args, Some(By::Score), Some(false))
}

fn zrevrange(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    range_command(ctx, args, Some(By::Rank), Some(true))
}

fn zrevrangebyscore(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    range_command(ctx, args, Some(By::Score), Some(true))
}

fn zrangebylex(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    range_command(ctx, args, Some(By::Lex), Some(false))
}

fn zrevrangebylex(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    range_command(ctx, args, Some(By::Lex), Some(true))
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]: the range replaces
/// whatever `dst` held, or deletes it when empty (an absent source is an empty range).
fn zrangestore(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(store_range(ctx, args))
}

fn store_range(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let (dst, src_args) = (&args[0], &args[1..]);
    let q = query(src_args, None, None, true)?;
    let mut range = ZSet::new();
    if let Some(z) = read_at::<ZSet>(&ctx.as_read(), &src_args[0])? {
        let (offset, limit) = limit_window(q.limit);
        for (m, s) in select(z, &q.range, q.reverse).skip(offset).take(limit) {
            range.insert(m.clone(), s);
        }
    }
    let size = range.len();
    Ok(store(ctx, dst, Value::ZSet(range), size))
}

/// LIMIT as (members skipped, members kept): a negative offset keeps none, a negative count
/// keeps all the rest.
fn limit_window(limit: Option<(i64, i64)>) -> (usize, usize) {
    match limit {
        None => (0, usize::MAX),
        Some((offset, _)) if offset < 0 => (0, 0),
        Some((offset, count)) => (
            usize::try_from(offset).unwrap_or(usize::MAX),
            usize::try_from(count).unwrap_or(usize::MAX),
        ),
    }
}

/// ZCOUNT / ZLEXCOUNT: the range is read before the key is looked up, as in Redis.
fn count_in(ctx: &ReadCtx<'_>, args: &[Bytes], by: By) -> Result<Reply, Reply> {
    let range = parse_range(by, &args[1], &args[2])?;
    let Some(z) = read_at::<ZSet>(ctx, &args[0])? else {
        return Ok(Reply::Int(0));
    };
    Ok(count(select(z, &range, false).count()))
}

fn zcount(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(count_in(ctx, args, By::Score))
}

fn zlexcount(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(count_in(ctx, args, By::Lex))
}

/// ZREMRANGEBY*: the members the range selects are removed; the last one deletes the key.
fn remove_range(ctx: &mut WriteCtx<'_>, args: &[Bytes], by: By) -> Result<Reply, Reply> {
    let range = parse_range(by, &args[1], &args[2])?;
    let doomed: Vec<Bytes> = match read_at::<ZSet>(&ctx.as_read(), &args[0])? {
        None => return Ok(Reply::Int(0)),
        Some(z) => select(z, &range, false).map(|(m, _)| m.clone()).collect(),
    };
    if doomed.is_empty() {
        return Ok(Reply::Int(0));
    }
    modify_at(ctx, &args[0], |z: &mut ZSet| {
        for m in &doomed {
            z.remove(m);
        }
    })?;
    Ok(count(doomed.len()))
}

fn zremrangebyrank(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(remove_range(ctx, args, By::Rank))
}

fn zremrangebyscore(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(remove_range(ctx, args, By::Score))
}

fn zremrangebylex(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(remove_range(ctx, args, By::Lex))
}
