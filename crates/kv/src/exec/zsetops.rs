//! Sorted-set algebra: union, intersection and difference of several keys, answered, stored
//! or counted (Redis' `zunionInterDiffGenericCommand`).
//!
//! ```text
//!   ZUNION|ZINTER numkeys k… [WEIGHTS w…] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]   members
//!   ZDIFF numkeys k… [WITHSCORES]                                                members
//!   ZUNIONSTORE|ZINTERSTORE dst numkeys k… [WEIGHTS w…] [AGGREGATE SUM|MIN|MAX]  size stored
//!   ZDIFFSTORE dst numkeys k…                                                    size stored
//!   ZINTERCARD numkeys k… [LIMIT n]                     size of the intersection, up to n
//!
//!   numkeys ──► "at least 1 input key" if < 1, syntax error if more than the words left
//!           ──► every key's type (a sorted set, a set, or absent; else WRONGTYPE)
//!           ──► the options, in any order, each in Redis' order of checks
//!           ──► the result, in (score, member) order
//! ```
//!
//! Scores, Redis' rules: a plain set counts as a sorted set whose every member scores 1; an
//! input's score is multiplied by its weight (default 1), and a product that is NaN (`inf`
//! times 0) counts as 0; AGGREGATE SUM adds the weighted scores, and a NaN sum (`inf` plus
//! `-inf`) counts as 0; MIN and MAX keep the least or greatest. ZDIFF keeps the first key's
//! members that no other key has, with their scores unweighted. Union and intersection visit
//! the inputs smallest first, as Redis does, so a sum over three or more inputs rounds as
//! Redis' does.
//!
//! The *STORE commands replace whatever the destination held (any type, and its TTL), or
//! delete it when the result is empty. Absent keys are empty inputs.
//!
//! Invariant: no result holds a NaN score (every product and sum is checked), and an error
//! reply changed nothing (everything is read and parsed before the one write).

use std::collections::BTreeMap;

use bytes::Bytes;

use super::args::{int, is, non_negative, syntax};
use super::float::parse_float;
use super::typed::{store, wrong_type, Set};
use super::zsets::score_reply;
use super::{answer, count, ReadCtx, WriteCtx};
use crate::command::table::flags::{R, WD};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::Reply;
use crate::value::{Score, Value, ZSet};

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::SortedSet;

/// The sorted sets family's rows for set algebra. Redis' legacy key spec cannot say "numkeys
/// keys after the count": the readers report none, the *STORE commands their destination.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "zunion", -3, R, KeySpec::NONE, "6.2.0", "Returns the union of sorted sets (sets count with score 1), scores weighted and aggregated.", Exec::Read(zunion)),
    Spec::new(GROUP, "zinter", -3, R, KeySpec::NONE, "6.2.0", "Returns the intersection of sorted sets (sets count with score 1), scores weighted and aggregated.", Exec::Read(zinter)),
    Spec::new(GROUP, "zdiff", -3, R, KeySpec::NONE, "6.2.0", "Returns the members of the first sorted set that are in none of the others.", Exec::Read(zdiff)),
    Spec::new(GROUP, "zunionstore", -4, WD, KeySpec::FIRST, "2.0.0", "Stores the union of sorted sets in a key.", Exec::Write(zunionstore)),
    Spec::new(GROUP, "zinterstore", -4, WD, KeySpec::FIRST, "2.0.0", "Stores the intersection of sorted sets in a key.", Exec::Write(zinterstore)),
    Spec::new(GROUP, "zdiffstore", -4, WD, KeySpec::FIRST, "6.2.0", "Stores the difference of sorted sets in a key.", Exec::Write(zdiffstore)),
    Spec::new(GROUP, "zintercard", -3, R, KeySpec::NONE, "7.0.0", "Returns the number of members in the intersection of sorted sets, counted up to a limit.", Exec::Read(zintercard)),
];

/// Which algebra.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

/// What the command does with the result; it decides which options it takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// ZUNION, ZINTER, ZDIFF: the members, WITHSCORES allowed.
    Reply,
    /// The *STORE commands: no WITHSCORES.
    Store,
    /// ZINTERCARD: LIMIT only.
    Card,
}

/// How the weighted scores of one member combine.
#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis' `zunionInterAggregate`: a NaN sum counts as 0.
    fn fold(self, acc: f64, x: f64) -> f64 {
        match self {
            Aggregate::Sum => {
                let sum = acc + x;
                if sum.is_nan() {
                    0.0
                } else {
                    sum
                }
            }
            Aggregate::Min => acc.min(x),
            Aggregate::Max => acc.max(x),
        }
    }
}

/// One input key as these commands see it.
enum Source<'a> {
    Absent,
    Sorted(&'a ZSet),
    /// A plain set: every member scores 1.
    Plain(&'a Set),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Absent => 0,
            Source::Sorted(z) => z.len(),
            Source::Plain(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Absent => None,
            Source::Sorted(z) => z.score(member).map(Score::get),
            Source::Plain(s) => s.contains(member).then_some(1.0),
        }
    }

    fn members(&self) -> Box<dyn Iterator<Item = (&Bytes, f64)> + '_> {
        match self {
            Source::Absent => Box::new(std::iter::empty()),
            Source::Sorted(z) => Box::new(z.iter().map(|(m, s)| (m, s.get()))),
            Source::Plain(s) => Box::new(s.iter().map(|m| (m, 1.0))),
        }
    }
}

/// A score times a weight; NaN (`inf` times 0) counts as 0, as in Redis.
fn weighted(score: f64, weight: f64) -> f64 {
    let x = score * weight;
    if x.is_nan() {
        0.0
    } else {
        x
    }
}

/// A command once read: the inputs with their weights, and the options.
struct Query<'a> {
    inputs: Vec<(Source<'a>, f64)>,
    aggregate: Aggregate,
    with_scores: bool,
    /// ZINTERCARD's LIMIT; 0 is none.
    limit: usize,
}

/// Read `numkeys k… options` (`args` starts at numkeys), in Redis' order of checks.
fn query<'a>(
    ctx: &ReadCtx<'a>,
    name: &str,
    args: &[Bytes],
    op: Op,
    mode: Mode,
) -> Result<Query<'a>, Reply> {
    let numkeys = int(&args[0])?;
    if numkeys < 1 {
        return Err(Reply::error(
            "ERR",
            format!("at least 1 input key is needed for '{name}' command"),
        ));
    }
    let rest = &args[1..];
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > rest.len() {
        return Err(syntax());
    }
    let (keys, options) = rest.split_at(numkeys);
    let mut inputs = Vec::with_capacity(keys.len());
    for key in keys {
        let source = match ctx.db.value(key, ctx.now_ms) {
            None => Source::Absent,
            Some(Value::ZSet(z)) => Source::Sorted(z),
            Some(Value::Set(s)) => Source::Plain(s),
            Some(_) => return Err(wrong_type()),
        };
        inputs.push((source, 1.0));
    }
    let mut q = Query {
        inputs,
        aggregate: Aggregate::Sum,
        with_scores: false,
        limit: 0,
    };
    options_into(&mut q, options, op, mode)?;
    Ok(q)
}

/// The options after the keys, each taken only where Redis takes it (else a syntax error).
fn options_into(q: &mut Query<'_>, options: &[Bytes], op: Op, mode: Mode) -> Result<(), Reply> {
    let weighs = op != Op::Diff && mode != Mode::Card;
    let mut k = 0;
    while let Some(word) = options.get(k) {
        let left = options.len() - k;
        if weighs && left > q.inputs.len() && is(word, "WEIGHTS") {
            let weights = &options[k + 1..=k + q.inputs.len()];
            for ((_, weight), text) in q.inputs.iter_mut().zip(weights) {
                *weight = parse_float(text)
                    .ok_or_else(|| Reply::error("ERR", "weight value is not a float"))?;
            }
            k += 1 + q.inputs.len();
        } else if weighs && left >= 2 && is(word, "AGGREGATE") {
            let how = &options[k + 1];
            q.aggregate = if is(how, "SUM") {
                Aggregate::Sum
            } else if is(how, "MIN") {
                Aggregate::Min
            } else if is(how, "MAX") {
                Aggregate::Max
            } else {
                return Err(syntax());
            };
            k += 2;
        } else if mode == Mode::Reply && is(word, "WITHSCORES") {
            q.with_scores = true;
            k += 1;
        } else if mode == Mode::Card && left >= 2 && is(word, "LIMIT") {
            q.limit = non_negative(&options[k + 1], "LIMIT can't be negative")?;
            k += 2;
        } else {
            return Err(syntax());
        }
    }
    Ok(())
}

/// The inputs' positions, smallest first (stable): the order Redis visits them in.
fn smallest_first(q: &Query<'_>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..q.inputs.len()).collect();
    order.sort_by_key(|&i| q.inputs[i].0.len());
    order
}

/// The union, as member → score.
fn union(q: &Query<'_>) -> BTreeMap<Bytes, f64> {
    let mut acc: BTreeMap<Bytes, f64> = BTreeMap::new();
    for i in smallest_first(q) {
        let (source, weight) = &q.inputs[i];
        for (m, s) in source.members() {
            let x = weighted(s, *weight);
            match acc.get_mut(m) {
                Some(a) => *a = q.aggregate.fold(*a, x),
                None => {
                    acc.insert(m.clone(), x);
                }
            }
        }
    }
    acc
}

/// The intersection, as member → score, stopping after `limit` members (0: no limit).
fn inter(q: &Query<'_>, limit: usize) -> BTreeMap<Bytes, f64> {
    let order = smallest_first(q);
    let (first, others) = order.split_first().expect("numkeys >= 1 was checked");
    let (source, weight) = &q.inputs[*first];
    let mut acc = BTreeMap::new();
    'members: for (m, s) in source.members() {
        let mut score = weighted(s, *weight);
        for &j in others {
            let (other, w) = &q.inputs[j];
            let Some(t) = other.score(m) else {
                continue 'members;
            };
            score = q.aggregate.fold(score, weighted(t, *w));
        }
        acc.insert(m.clone(), score);
        if acc.len() == limit {
            break;
        }
    }
    acc
}

/// The first input's members that no other input has, with their own scores.
fn diff(q: &Query<'_>) -> BTreeMap<Bytes, f64> {
    let (first, others) = q.inputs.split_first().expect("numkeys >= 1 was checked");
    first
        .0
        .members()
        .filter(|(m, _)| others.iter().all(|(o, _)| o.score(m).is_none()))
        .map(|(m, s)| (m.clone(), s))
        .collect()
}

/// The result as a sorted set.
fn result(q: &Query<'_>, op: Op) -> ZSet {
    let scores = match op {
        Op::Union => union(q),
        Op::Inter => inter(q, 0),
        Op::Diff => diff(q),
    };
    let mut z = ZSet::new();
    for (m, s) in scores {
        z.insert(m, Score::new(s).expect("products and sums are NaN-checked"));
    }
    z
}

/// ZUNION, ZINTER, ZDIFF.
fn reply(ctx: &ReadCtx<'_>, name: &str, args: &[Bytes], op: Op) -> Reply {
    answer(query(ctx, name, args, op, Mode::Reply).map(|q| {
        let z = result(&q, op);
        if q.with_scores {
            let pairs = z
                .iter()
                .map(|(m, s)| (Reply::Bulk(m.clone()), score_reply(s)));
            return Reply::Pairs(pairs.collect());
        }
        Reply::Array(z.iter().map(|(m, _)| Reply::Bulk(m.clone())).collect())
    }))
}

/// The *STORE commands: `args` is `dst numkeys k… options`.
fn store_result(ctx: &mut WriteCtx<'_>, name: &str, args: &[Bytes], op: Op) -> Reply {
    let z = match query(&ctx.as_read(), name, &args[1..], op, Mode::Store) {
        Ok(q) => result(&q, op),
        Err(e) => return e,
    };
    let size = z.len();
    store(ctx, &args[0], Value::ZSet(z), size)
}

fn zunion(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(ctx, "zunion", args, Op::Union)
}

fn zinter(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(ctx, "zinter", args, Op::Inter)
}

fn zdiff(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(ctx, "zdiff", args, Op::Diff)
}

fn zunionstore(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    store_result(ctx, "zunionstore", args, Op::Union)
}

fn zinterstore(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    store_result(ctx, "zinterstore", args, Op::Inter)
}

fn zdiffstore(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    store_result(ctx, "zdiffstore", args, Op::Diff)
}

/// ZINTERCARD numkeys k… [LIMIT n]: the intersection's size, counting stops at n (0: never).
fn zintercard(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let q = query(ctx, "zintercard", args, Op::Inter, Mode::Card);
    answer(q.map(|q| count(inter(&q, q.limit).len())))
}
