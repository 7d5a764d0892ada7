//! Lists: a key holding a sequence of byte strings, pushed and popped at both ends (a
//! `VecDeque`: O(1) at the ends, O(n) in the middle, as Redis' quicklist).
//!
//! ```text
//!   LPUSH/RPUSH k e…       new length (creates the list)   LPUSHX/RPUSHX   0 if absent
//!   LPOP/RPOP k            bulk | nil
//!   LPOP/RPOP k n          array of up to n | nil array if the key is absent | [] for n = 0
//!   LRANGE k a b   LLEN k   LINDEX k i (nil out of range)
//!   LSET k i e             OK | ERR no such key | ERR index out of range
//!   LREM k n e             removed (n > 0 from the head, n < 0 from the tail, 0 all)
//!   LTRIM k a b            OK      LINSERT k BEFORE|AFTER pivot e    length | -1 | 0
//!   LPOS k e [RANK r] [COUNT n] [MAXLEN m]     index | nil, or an array with COUNT
//!   LMOVE src dst LEFT|RIGHT LEFT|RIGHT, RPOPLPUSH src dst     the moved element | nil
//! ```
//!
//! Positions count from 0 at the head; negative ones from the tail (-1 is the last). No
//! blocking commands (BLPOP, BLMOVE…): a replicated state machine cannot hold a client
//! waiting inside an apply; that belongs to the front end, later, if ever.
//!
//! Invariants: a list is never empty (the last element popped, removed or trimmed away
//! deletes the key); an error reply changed nothing; a modified list keeps its TTL.

use bytes::Bytes;

use super::args::{index_in, index_range, int, is, non_negative, syntax, MUST_BE_POSITIVE};
use super::typed::{modify_at, read_at, write_at, List};
use super::{answer, bulks, count, ReadCtx, WriteCtx};
use crate::command::table::flags::{R, RF, W, WD, WDF, WF};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::{KvError, Reply};

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::List;

/// The lists family's rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "lpush", -3, WDF, KeySpec::FIRST, "1.0.0", "Prepends one or more elements to a list; creates the list if absent.", Exec::Write(lpush)),
    Spec::new(GROUP, "rpush", -3, WDF, KeySpec::FIRST, "1.0.0", "Appends one or more elements to a list; creates the list if absent.", Exec::Write(rpush)),
    Spec::new(GROUP, "lpushx", -3, WDF, KeySpec::FIRST, "2.2.0", "Prepends one or more elements to a list only if the list exists.", Exec::Write(lpushx)),
    Spec::new(GROUP, "rpushx", -3, WDF, KeySpec::FIRST, "2.2.0", "Appends one or more elements to a list only if the list exists.", Exec::Write(rpushx)),
    Spec::new(GROUP, "lpop", -2, WF, KeySpec::FIRST, "1.0.0", "Removes and returns the first elements of a list; deletes the list when it empties.", Exec::Write(lpop)),
    Spec::new(GROUP, "rpop", -2, WF, KeySpec::FIRST, "1.0.0", "Removes and returns the last elements of a list; deletes the list when it empties.", Exec::Write(rpop)),
    Spec::new(GROUP, "lrange", 4, R, KeySpec::FIRST, "1.0.0", "Returns a range of elements from a list.", Exec::Read(lrange)),
    Spec::new(GROUP, "llen", 2, RF, KeySpec::FIRST, "1.0.0", "Returns the length of a list.", Exec::Read(llen)),
    Spec::new(GROUP, "lindex", 3, R, KeySpec::FIRST, "1.0.0", "Returns an element of a list by its index.", Exec::Read(lindex)),
    Spec::new(GROUP, "lset", 4, WD, KeySpec::FIRST, "1.0.0", "Sets the value of an element of a list by its index.", Exec::Write(lset)),
    Spec::new(GROUP, "lrem", 4, W, KeySpec::FIRST, "1.0.0", "Removes elements equal to a value from a list.", Exec::Write(lrem)),
    Spec::new(GROUP, "ltrim", 4, W, KeySpec::FIRST, "1.0.0", "Keeps only a range of elements of a list.", Exec::Write(ltrim)),
    Spec::new(GROUP, "linsert", 5, WD, KeySpec::FIRST, "2.2.0", "Inserts an element before or after another element in a list.", Exec::Write(linsert)),
    Spec::new(GROUP, "lpos", -3, R, KeySpec::FIRST, "6.0.6", "Returns the index of matching elements in a list.", Exec::Read(lpos)),
    Spec::new(GROUP, "lmove", 5, WD, KeySpec::FIRST_TWO, "6.2.0", "Pops an element from one end of a list and pushes it to an end of another.", Exec::Write(lmove)),
    Spec::new(GROUP, "rpoplpush", 3, WD, KeySpec::FIRST_TWO, "1.2.0", "Pops the last element of a list and pushes it to the head of another.", Exec::Write(rpoplpush)),
];

/// Which end of a list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// The head (LEFT, LPUSH).
    Left,
    /// The tail (RIGHT, RPUSH).
    Right,
}

impl End {
    fn of(arg: &[u8]) -> Result<End, Reply> {
        if is(arg, "LEFT") {
            Ok(End::Left)
        } else if is(arg, "RIGHT") {
            Ok(End::Right)
        } else {
            Err(syntax())
        }
    }

    fn push(self, list: &mut List, element: Bytes) {
        match self {
            End::Left => list.push_front(element),
            End::Right => list.push_back(element),
        }
    }

    fn pop(self, list: &mut List) -> Option<Bytes> {
        match self {
            End::Left => list.pop_front(),
            End::Right => list.pop_back(),
        }
    }
}

fn lpush(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    push(ctx, args, End::Left, true)
}

fn rpush(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    push(ctx, args, End::Right, true)
}

fn lpushx(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    push(ctx, args, End::Left, false)
}

fn rpushx(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    push(ctx, args, End::Right, false)
}

/// Push every element in order at `end` (so LPUSH k a b leaves b first); `create` false is the
/// X variant, which answers 0 for an absent key.
fn push(ctx: &mut WriteCtx<'_>, args: &[Bytes], end: End, create: bool) -> Reply {
    let (key, elements) = (&args[0], &args[1..]);
    let push_all = |list: &mut List| {
        for e in elements {
            end.push(list, e.clone());
        }
        list.len()
    };
    let len = if create {
        write_at(ctx, key, push_all).map(Some)
    } else {
        modify_at(ctx, key, push_all)
    };
    answer(len.map(|n| count(n.unwrap_or(0))))
}

fn lpop(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(pop(ctx, args, End::Left))
}

fn rpop(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(pop(ctx, args, End::Right))
}

/// LPOP/RPOP: without a count a bulk or nil; with one an array, a nil array for an absent
/// key, and an empty array for a count of 0 (Redis 7).
fn pop(ctx: &mut WriteCtx<'_>, args: &[Bytes], end: End) -> Result<Reply, Reply> {
    let key = &args[0];
    let wanted = match args {
        [_] => None,
        [_, n] => Some(non_negative(n, MUST_BE_POSITIVE)?),
        _ => {
            let name = if end == End::Left { "lpop" } else { "rpop" };
            return Err(Reply::Error(KvError::WrongArity {
                command: name.into(),
            }));
        }
    };
    if read_at::<List>(&ctx.as_read(), key)?.is_none() {
        return Ok(wanted.map_or(Reply::Null, |_| Reply::NullArray));
    }
    match wanted {
        None => {
            let popped = modify_at(ctx, key, |l: &mut List| end.pop(l))?;
            Ok(Reply::bulk_or_null(popped.flatten()))
        }
        Some(0) => Ok(Reply::Array(Vec::new())),
        Some(n) => {
            let popped = modify_at(ctx, key, |l: &mut List| {
                let n = n.min(l.len());
                (0..n).filter_map(|_| end.pop(l)).collect::<Vec<_>>()
            })?;
            Ok(Reply::Array(bulks(popped.iter().flatten())))
        }
    }
}

fn lrange(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(range(ctx, args))
}

fn range(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let (start, stop) = (int(&args[1])?, int(&args[2])?);
    let Some(list) = read_at::<List>(ctx, &args[0])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let items = match index_range(start, stop, list.len()) {
        Some((a, b)) => bulks(list.range(a..=b)),
        None => Vec::new(),
    };
    Ok(Reply::Array(items))
}

fn llen(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match read_at::<List>(ctx, &args[0]) {
        Ok(l) => count(l.map_or(0, |l| l.len())),
        Err(e) => e,
    }
}

fn lindex(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(element_at(ctx, args))
}

/// LINDEX: the key is looked up before the index is read, as in Redis.
fn element_at(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let Some(list) = read_at::<List>(ctx, &args[0])? else {
        return Ok(Reply::Null);
    };
    let index = int(&args[1])?;
    let element = index_in(index, list.len()).and_then(|i| list.get(i));
    Ok(Reply::bulk_or_null(element.cloned()))
}

fn lset(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(set_element(ctx, args))
}

fn set_element(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let (key, element) = (&args[0], &args[2]);
    let Some(len) = read_at::<List>(&ctx.as_read(), key)?.map(|l| l.len()) else {
        return Err(Reply::error("ERR", "no such key"));
    };
    let index = int(&args[1])?;
    let i = index_in(index, len).ok_or_else(|| Reply::error("ERR", "index out of range"))?;
    modify_at(ctx, key, |l: &mut List| l[i] = element.clone())?;
    Ok(Reply::ok())
}

fn lrem(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(remove_equal(ctx, args))
}

/// LREM: up to |n| elements equal to `e`, from the head for n > 0, the tail for n < 0, every
/// one for n = 0.
fn remove_equal(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let (key, element) = (&args[0], &args[2]);
    let n = int(&args[1])?;
    match read_at::<List>(&ctx.as_read(), key)? {
        Some(l) if l.contains(element) => {}
        _ => return Ok(Reply::Int(0)),
    }
    let limit = if n == 0 {
        usize::MAX
    } else {
        usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX)
    };
    let removed = modify_at(ctx, key, |l: &mut List| {
        // One pass (`retain`), not one `remove` per match, which is O(n) each.
        let matches = l.iter().filter(|e| *e == element).count();
        let removing = matches.min(limit);
        let first = if n < 0 { matches - removing } else { 0 };
        let mut seen = 0;
        l.retain(|e| {
            if e != element {
                return true;
            }
            seen += 1;
            !(first < seen && seen <= first + removing)
        });
        removing
    })?;
    Ok(count(removed.unwrap_or(0)))
}

fn ltrim(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(trim(ctx, args))
}

fn trim(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let (start, stop) = (int(&args[1])?, int(&args[2])?);
    modify_at(ctx, &args[0], |l: &mut List| {
        match index_range(start, stop, l.len()) {
            Some((a, b)) => {
                l.truncate(b + 1);
                l.drain(..a);
            }
            None => l.clear(),
        }
    })?;
    Ok(Reply::ok())
}

fn linsert(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(insert(ctx, args))
}

/// LINSERT: the new length, -1 if the pivot is not there, 0 if the key is absent.
fn insert(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let (key, pivot, element) = (&args[0], &args[2], &args[3]);
    let after = if is(&args[1], "AFTER") {
        true
    } else if is(&args[1], "BEFORE") {
        false
    } else {
        return Err(syntax());
    };
    let at = match read_at::<List>(&ctx.as_read(), key)? {
        None => return Ok(Reply::Int(0)),
        Some(l) => match l.iter().position(|e| e == pivot) {
            None => return Ok(Reply::Int(-1)),
            Some(i) => i + usize::from(after),
        },
    };
    let len = modify_at(ctx, key, |l: &mut List| {
        l.insert(at, element.clone());
        l.len()
    })?;
    Ok(count(len.unwrap_or(0)))
}

fn lpos(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    answer(position(ctx, args))
}

/// LPOS's options: which match to start from, how many to return, how far to look.
struct LposOptions {
    /// The 1-based match to start at; negative: count matches from the tail.
    rank: i64,
    /// `COUNT n` (0: every match); `None` without COUNT (a single index or nil).
    count: Option<usize>,
    /// Elements compared at most (0: the whole list).
    maxlen: usize,
}

fn lpos_options(args: &[Bytes]) -> Result<LposOptions, Reply> {
    let mut o = LposOptions {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    for pair in args.chunks(2) {
        match pair {
            [name, value] if is(name, "RANK") => {
                o.rank = int(value)?;
                if o.rank == 0 {
                    return Err(Reply::error(
                        "ERR",
                        "RANK can't be zero: use 1 to start from the first match, 2 from the \
                         second ... or use negative to start from the end of the list",
                    ));
                }
            }
            [name, value] if is(name, "COUNT") => {
                o.count = Some(non_negative(value, "COUNT can't be negative")?);
            }
            [name, value] if is(name, "MAXLEN") => {
                o.maxlen = non_negative(value, "MAXLEN can't be negative")?;
            }
            _ => return Err(syntax()),
        }
    }
    Ok(o)
}

/// LPOS: the options are read before the key is looked up, as in Redis.
fn position(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Result<Reply, Reply> {
    let (key, element) = (&args[0], &args[1]);
    let o = lpos_options(&args[2..])?;
    let Some(list) = read_at::<List>(ctx, key)? else {
        return Ok(o.count.map_or(Reply::Null, |_| Reply::Array(Vec::new())));
    };
    let len = list.len();
    let scanned = if o.maxlen == 0 {
        len
    } else {
        o.maxlen.min(len)
    };
    let indexes: Box<dyn Iterator<Item = usize>> = if o.rank > 0 {
        Box::new(0..scanned)
    } else {
        Box::new((len - scanned..len).rev())
    };
    let skip = usize::try_from(o.rank.unsigned_abs() - 1).unwrap_or(usize::MAX);
    let wanted = match o.count {
        None => 1,
        Some(0) => usize::MAX,
        Some(n) => n,
    };
    let found: Vec<Reply> = indexes
        .filter(|&i| list[i] == *element)
        .skip(skip)
        .take(wanted)
        .map(count)
        .collect();
    Ok(match o.count {
        Some(_) => Reply::Array(found),
        None => found.into_iter().next().unwrap_or(Reply::Null),
    })
}

fn lmove(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(End::of(&args[2]).and_then(|from| {
        let to = End::of(&args[3])?;
        move_element(ctx, &args[0], &args[1], from, to)
    }))
}

fn rpoplpush(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    answer(move_element(ctx, &args[0], &args[1], End::Right, End::Left))
}

/// Pop at `from` of `source`, push at `to` of `destination`; both types are checked before
/// anything moves. A list moved onto itself rotates in place (keeping its TTL, as in Redis).
fn move_element(
    ctx: &mut WriteCtx<'_>,
    source: &Bytes,
    destination: &Bytes,
    from: End,
    to: End,
) -> Result<Reply, Reply> {
    let read = ctx.as_read();
    if read_at::<List>(&read, source)?.is_none() {
        return Ok(Reply::Null);
    }
    read_at::<List>(&read, destination)?;
    if source == destination {
        let moved = modify_at(ctx, source, |l: &mut List| {
            let e = from.pop(l).expect("a stored list is never empty");
            to.push(l, e.clone());
            e
        })?;
        return Ok(Reply::bulk_or_null(moved));
    }
    let moved = modify_at(ctx, source, |l: &mut List| from.pop(l))?.flatten();
    let Some(element) = moved else {
        return Ok(Reply::Null);
    };
    write_at(ctx, destination, |l: &mut List| to.push(l, element.clone()))?;
    Ok(Reply::Bulk(element))
}
