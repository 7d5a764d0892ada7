//! LMPOP and ZMPOP: pop from the first non-empty of several lists (sorted sets), Redis 7.
//!
//! ```text
//!   LMPOP numkeys k1 … kn LEFT|RIGHT [COUNT c]    [key, [e1 … ec]] | nil array
//!   ZMPOP numkeys k1 … kn MIN|MAX   [COUNT c]     [key, [[m1, s1] … [mc, sc]]] | nil array
//!         keys are tried in order: an absent key is skipped, a key of another type answers
//!         WRONGTYPE (unless an earlier key already answered), the first live one pops up to c
//! ```
//!
//! They are also the non-blocking forms the server's blocking commands try through the log
//! (server `clients/blocking.rs`: BLPOP k1 k2 0 is first LMPOP 2 k1 k2 LEFT, BZPOPMIN is ZMPOP
//! … MIN): a replicated state machine cannot hold a client waiting inside an apply, so the
//! waiting lives in the front end and every pop is one ordinary log entry.
//!
//! Argument errors are Redis' own, checked before any key is read: `numkeys should be greater
//! than 0`, `syntax error` (the end word, anything after it but one COUNT), `count should be
//! greater than 0`.
//!
//! The key spec says "from the second word to the one before the last" (LEFT and a COUNT
//! clause included): kv's `KeySpec` has no numkeys form, and the spec only bounds how big a
//! word may be (codec) and what COMMAND GETKEYS answers. The road not taken: a numkeys kind
//! of `KeySpec`, which every user of the table would have to learn.
//!
//! Invariants: an error reply changed nothing; a popped-empty container is deleted
//! (`typed.rs`); at most `count` elements leave, all from one key.

use bytes::Bytes;

use super::args::{int, is, syntax};
use super::typed::{modify_at, read_at, Container, List};
use super::zsets::score_reply;
use super::{answer, WriteCtx};
use crate::command::table::flags::W;
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::Reply;
use crate::value::ZSet;

/// The keys of `LMPOP numkeys k… END [COUNT c]`, as far as a fixed spec can say (module docs).
const NUMKEYS: KeySpec = KeySpec {
    first: 2,
    last: -2,
    step: 1,
};

/// The rows of the multi-key pops.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(Group::List, "lmpop", -4, W, NUMKEYS, "7.0.0", "Pops elements from the first non-empty of several lists.", Exec::Write(lmpop)),
    Spec::new(Group::SortedSet, "zmpop", -4, W, NUMKEYS, "7.0.0", "Pops the lowest or highest scored members from the first non-empty of several sorted sets.", Exec::Write(zmpop)),
];

/// The parsed arguments: which keys, which end (true: LEFT / MIN), how many at most.
struct Plan<'a> {
    keys: &'a [Bytes],
    front: bool,
    count: usize,
}

/// `numkeys k… END [COUNT c]` with `END` one of `ends` (front first), Redis' checks in order.
fn plan<'a>(args: &'a [Bytes], ends: [&str; 2]) -> Result<Plan<'a>, Reply> {
    let numkeys = int(&args[0])
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Reply::error("ERR", "numkeys should be greater than 0"))?;
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    let end_at = numkeys.checked_add(1).filter(|&i| i < args.len());
    let end_at = end_at.ok_or_else(syntax)?;
    let front = match &args[end_at] {
        end if is(end, ends[0]) => true,
        end if is(end, ends[1]) => false,
        _ => return Err(syntax()),
    };
    let count = match &args[end_at + 1..] {
        [] => 1,
        [option, n] if is(option, "COUNT") => int(n)
            .ok()
            .filter(|n| *n > 0)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| Reply::error("ERR", "count should be greater than 0"))?,
        _ => return Err(syntax()),
    };
    Ok(Plan {
        keys: &args[1..end_at],
        front,
        count,
    })
}

/// The first key of `keys` that holds a live `C`, WRONGTYPE if one before it holds another
/// type, `None` if every one is absent.
fn first_live<'k, C: Container>(
    ctx: &WriteCtx<'_>,
    keys: &'k [Bytes],
) -> Result<Option<&'k Bytes>, Reply> {
    for key in keys {
        if read_at::<C>(&ctx.as_read(), key)?.is_some() {
            return Ok(Some(key));
        }
    }
    Ok(None)
}

fn lmpop(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(list_pop(ctx, args))
}

fn list_pop(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let plan = plan(args, ["LEFT", "RIGHT"])?;
    let Some(key) = first_live::<List>(ctx, plan.keys)? else {
        return Ok(Reply::NullArray);
    };
    let popped = modify_at(ctx, key, |l: &mut List| {
        let n = plan.count.min(l.len());
        let pop = |l: &mut List| {
            if plan.front {
                l.pop_front()
            } else {
                l.pop_back()
            }
        };
        (0..n).filter_map(|_| pop(l)).collect::<Vec<_>>()
    })?
    .unwrap_or_default();
    let elements = popped.into_iter().map(Reply::Bulk).collect();
    Ok(Reply::Array(vec![
        Reply::Bulk(key.clone()),
        Reply::Array(elements),
    ]))
}

fn zmpop(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(zset_pop(ctx, args))
}

fn zset_pop(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let plan = plan(args, ["MIN", "MAX"])?;
    let Some(key) = first_live::<ZSet>(ctx, plan.keys)? else {
        return Ok(Reply::NullArray);
    };
    let popped = modify_at(ctx, key, |z: &mut ZSet| {
        let n = plan.count.min(z.len());
        let pop = |z: &mut ZSet| {
            if plan.front {
                z.pop_first()
            } else {
                z.pop_last()
            }
        };
        (0..n).filter_map(|_| pop(z)).collect::<Vec<_>>()
    })?
    .unwrap_or_default();
    let pairs = popped
        .into_iter()
        .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), score_reply(s)]))
        .collect();
    Ok(Reply::Array(vec![
        Reply::Bulk(key.clone()),
        Reply::Array(pairs),
    ]))
}
