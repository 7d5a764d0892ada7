//! SORT and SORT_RO: the elements of a list, set or sorted set, sorted, sliced, optionally
//! replaced by other keys' values, and (SORT only) stored as a list.
//!
//! ```text
//!   SORT k [BY pattern] [LIMIT offset count] [GET pattern …] [ASC|DESC] [ALPHA] [STORE dest]
//!   SORT_RO k …the same without STORE…
//!
//!   elements ──weights──► sorted (stable) ──LIMIT──► each element, or its GET values
//!       weight: the element itself, or the value BY's pattern names for it
//!       numeric (default): the weight read as a float, a missing one 0, ties by element bytes
//!       ALPHA: the weight's bytes, a missing one first
//!   pattern: the first `*` replaced by the element: "w_*" ──► the string at key w_<element>
//!            "h_*->f" ──► field f of the hash at h_<element>; "#" ──► the element itself
//!   BY a pattern without `*` (BY nosort): no sorting; a list keeps its order, a sorted set
//!   its score order, a set its member byte order; DESC reverses it (Redis reverses a list
//!   and a sorted set; a set comes in its hash order there, sorted when STOREd)
//!   STORE dest: the result as a list (a missing GET value stored as ""); an empty result
//!   deletes dest; answers its length
//! ```
//!
//! Errors are Redis': a source of another type is WRONGTYPE, a weight that is not a number
//! without ALPHA is `ERR One or more scores can't be converted into double`, `STORE` in SORT_RO
//! or an unknown option is a syntax error. A BY or GET value that is missing or of another type
//! reads as missing, as in Redis.
//!
//! Floats are read by `float.rs`'s strict rules (Redis uses `strtod`, which also accepts
//! leading spaces and hexadecimal): a weight with those is an error here. Ties: Redis' quicksort
//! leaves equal ALPHA weights in an unspecified order; here the sort is stable (the source's
//! order), the same on every replica.
//!
//! Bounds: the work is the source's size times (1 + GET patterns), each a key lookup; the
//! source is one key's container, so it is bounded by what a key can hold; the stored list
//! is at most that long times the GET patterns, bounded by the command's arguments.

use std::cmp::Ordering;

use bytes::Bytes;

use super::args::{int, is, syntax};
use super::float::parse_float;
use super::typed::wrong_type;
use super::{ReadCtx, WriteCtx};
use crate::command::table::flags::{R, WD};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::Reply;
use crate::value::Value;

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::Generic;

/// The SORT rows of the command table. STORE's key is found by the parser, not by position
/// (Redis declares it with a keyword-searched key spec), so the request codec bounds it as a
/// value: `sort` checks it against `key_bytes_max` itself.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "sort", -2, WD, KeySpec::FIRST, "1.0.0", "Sorts the elements of a list, set or sorted set (BY, LIMIT, GET, ASC|DESC, ALPHA), optionally storing the result.", Exec::Write(sort)),
    Spec::new(GROUP, "sort_ro", -2, R, KeySpec::FIRST, "7.0.0", "Sorts the elements of a list, set or sorted set (BY, LIMIT, GET, ASC|DESC, ALPHA); never writes.", Exec::Read(sort_ro)),
];

/// SORT's options.
#[derive(Default)]
struct Options {
    /// BY's pattern; `None` sorts by the elements themselves.
    by: Option<Bytes>,
    /// BY named a pattern without `*`: keep the source's order.
    no_sort: bool,
    /// `LIMIT offset count` (count < 0: to the end).
    limit: Option<(i64, i64)>,
    /// GET's patterns, in order.
    get: Vec<Bytes>,
    /// `DESC`.
    desc: bool,
    /// `ALPHA`.
    alpha: bool,
    /// `STORE dest`.
    store: Option<Bytes>,
}

fn options(args: &[Bytes], can_store: bool) -> Result<Options, Reply> {
    let mut o = Options::default();
    let mut k = 0;
    while k < args.len() {
        let (a, more) = (&args[k], args.len() - 1 - k);
        if is(a, "ASC") || is(a, "DESC") {
            o.desc = is(a, "DESC");
        } else if is(a, "ALPHA") {
            o.alpha = true;
        } else if is(a, "LIMIT") && more >= 2 {
            o.limit = Some((int(&args[k + 1])?, int(&args[k + 2])?));
            k += 2;
        } else if is(a, "STORE") && more >= 1 && can_store {
            o.store = Some(args[k + 1].clone());
            k += 1;
        } else if is(a, "BY") && more >= 1 {
            let pattern = &args[k + 1];
            o.no_sort = !pattern.contains(&b'*');
            o.by = Some(pattern.clone());
            k += 1;
        } else if is(a, "GET") && more >= 1 {
            o.get.push(args[k + 1].clone());
            k += 1;
        } else {
            return Err(syntax());
        }
        k += 1;
    }
    Ok(o)
}

fn sort(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let o = match options(&args[1..], true) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let result = match sorted(&ctx.as_read(), &args[0], &o) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(dest) = &o.store else {
        return Reply::Array(result.into_iter().map(Reply::bulk_or_null).collect());
    };
    let max = ctx.limits.key_bytes_max;
    if dest.len() > max {
        let text = format!(
            "STORE key of {} bytes exceeds key_bytes_max {max}",
            dest.len()
        );
        return Reply::error("ERR", text);
    }
    let list: std::collections::VecDeque<Bytes> =
        result.into_iter().map(Option::unwrap_or_default).collect();
    let len = list.len();
    super::typed::store(ctx, dest, Value::List(list), len)
}

fn sort_ro(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let o = match options(&args[1..], false) {
        Ok(o) => o,
        Err(e) => return e,
    };
    match sorted(ctx, &args[0], &o) {
        Ok(r) => Reply::Array(r.into_iter().map(Reply::bulk_or_null).collect()),
        Err(e) => e,
    }
}

/// The source's elements in the order the result walks them, before LIMIT.
fn elements(ctx: &ReadCtx<'_>, key: &[u8], o: &Options) -> Result<Vec<Bytes>, Reply> {
    let mut items: Vec<Bytes> = match ctx.db.value(key, ctx.now_ms) {
        None => Vec::new(),
        Some(Value::List(l)) => l.iter().cloned().collect(),
        Some(Value::Set(s)) => s.iter().cloned().collect(),
        Some(Value::ZSet(z)) => z.iter().map(|(m, _)| m.clone()).collect(),
        Some(_) => return Err(wrong_type()),
    };
    if o.no_sort && o.desc {
        items.reverse(); // what Redis answers for a list or a sorted set
    }
    Ok(items)
}

/// SORT's result: per element kept, the element or each GET value (`None`: missing).
fn sorted(ctx: &ReadCtx<'_>, key: &[u8], o: &Options) -> Result<Vec<Option<Bytes>>, Reply> {
    let mut items = elements(ctx, key, o)?;
    if !o.no_sort {
        items = sort_by_weight(ctx, items, o)?;
    }
    let (from, to) = limit(o.limit, items.len());
    let kept = items.get(from..to).unwrap_or_default();
    if o.get.is_empty() {
        return Ok(kept.iter().cloned().map(Some).collect());
    }
    let mut out = Vec::with_capacity(kept.len() * o.get.len());
    for element in kept {
        for pattern in &o.get {
            out.push(lookup(ctx, pattern, element));
        }
    }
    Ok(out)
}

/// LIMIT's slice, as Redis computes it: a negative offset is 0, a negative count is "to the
/// end", and the slice is clamped into the elements.
fn limit(limit: Option<(i64, i64)>, len: usize) -> (usize, usize) {
    let Some((offset, count)) = limit else {
        return (0, len);
    };
    let from = usize::try_from(offset.max(0))
        .unwrap_or(usize::MAX)
        .min(len);
    let to = match usize::try_from(count) {
        Ok(count) => from.saturating_add(count).min(len),
        Err(_) => len,
    };
    (from, to)
}

/// A weight to sort by.
enum Weight {
    /// Numeric: the float (0 for a missing weight).
    Number(f64),
    /// ALPHA: the bytes (`None` for a missing weight, which sorts first).
    Text(Option<Bytes>),
}

fn sort_by_weight(ctx: &ReadCtx<'_>, items: Vec<Bytes>, o: &Options) -> Result<Vec<Bytes>, Reply> {
    let mut weighed = Vec::with_capacity(items.len());
    for element in items {
        let weight = match &o.by {
            Some(pattern) => lookup(ctx, pattern, &element),
            None => Some(element.clone()),
        };
        let weight = if o.alpha {
            Weight::Text(weight)
        } else {
            match weight {
                None => Weight::Number(0.0),
                Some(w) => Weight::Number(parse_float(&w).ok_or_else(not_a_double)?),
            }
        };
        weighed.push((weight, element));
    }
    weighed.sort_by(|(wa, a), (wb, b)| {
        let order = match (wa, wb) {
            (Weight::Number(x), Weight::Number(y)) => x.total_cmp(y).then_with(|| a.cmp(b)),
            (Weight::Text(x), Weight::Text(y)) => x.cmp(y), // None first
            _ => Ordering::Equal,                           // one mode per sort: never mixed
        };
        if o.desc {
            order.reverse()
        } else {
            order
        }
    });
    Ok(weighed.into_iter().map(|(_, element)| element).collect())
}

/// Redis' error for a weight that is not a number.
fn not_a_double() -> Reply {
    Reply::error("ERR", "One or more scores can't be converted into double")
}

/// What `pattern` names for `element` (see the module docs); `None` if missing or of another
/// type, or if the pattern has no `*` (a fixed key, which Redis does not look up either).
fn lookup(ctx: &ReadCtx<'_>, pattern: &Bytes, element: &Bytes) -> Option<Bytes> {
    if pattern.as_ref() == b"#" {
        return Some(element.clone());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = after.windows(2).position(|w| w == b"->");
    let (suffix, field) = match arrow {
        Some(at) if at + 2 < after.len() => (&after[..at], Some(&after[at + 2..])),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(star + element.len() + suffix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(suffix);
    match (ctx.db.value(&key, ctx.now_ms)?, field) {
        (Value::Str(s), None) => Some(s.clone()),
        (Value::Hash(h), Some(f)) => h.get(f).cloned(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_clamps_like_redis() {
        assert_eq!(limit(None, 5), (0, 5));
        assert_eq!(limit(Some((1, 2)), 5), (1, 3));
        assert_eq!(limit(Some((-3, 2)), 5), (0, 2));
        assert_eq!(limit(Some((2, -1)), 5), (2, 5));
        assert_eq!(limit(Some((9, 2)), 5), (5, 5));
        assert_eq!(limit(Some((i64::MAX, i64::MAX)), 5), (5, 5));
    }
}
