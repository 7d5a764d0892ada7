//! Typed access to the containers (hash, list, set, sorted set): one place for the three rules
//! every container command keeps.
//!
//! ```text
//!   read_at::<Hash>(ctx, k)        absent ─► Ok(None)   other type ─► Err(WRONGTYPE)
//!   write_at::<Hash>(ctx, k, f)    other type ─► Err(WRONGTYPE), nothing touched
//!                                  absent ─► f(new empty hash) ─► stored if f left it nonempty
//!                                  present ─► entry_mut (version = index, TTL kept) ─► f(hash)
//!                                             ─► the key deleted if f left it empty
//!   modify_at::<Hash>(ctx, k, f)   as write_at, but an absent key stays absent: Ok(None)
//! ```
//!
//! Rules:
//! - WRONGTYPE is decided on a read before anything is written, so an error reply changes
//!   nothing, not even the key's version.
//! - Empty containers are deleted (`Db::drop_if_empty`): no entry ever holds one, and a key
//!   emptied by `HDEL`, `LPOP`, `SREM`, `ZREM`… reads as absent and is tombstoned for WATCH.
//! - A modified container keeps its expiry, as in Redis; a created one has none.
//!
//! `f` must decide before it changes anything: if it answers an error, it has changed nothing.
//! Writing through `entry_mut` stamps the version even when `f` then changes nothing; that is a
//! spurious WATCH abort at worst (safe), and commands that can tell cheaply first check on a
//! read (`HDEL` of absent fields, `SREM` of non-members) and skip the write.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use super::{ReadCtx, WriteCtx};
use crate::reply::{KvError, Reply};
use crate::value::{Value, ZSet};

/// A hash's fields.
pub(crate) type Hash = BTreeMap<Bytes, Bytes>;
/// A list's elements.
pub(crate) type List = VecDeque<Bytes>;
/// A set's members.
pub(crate) type Set = BTreeSet<Bytes>;

/// One of the container types a `Value` can hold.
pub(crate) trait Container: Default + Sized {
    /// The container inside `value`, if `value` is of this type.
    fn of(value: &Value) -> Option<&Self>;
    /// The same, mutable.
    fn of_mut(value: &mut Value) -> Option<&mut Self>;
    /// `self` as a value.
    fn into_value(self) -> Value;
}

macro_rules! container {
    ($t:ty, $variant:ident) => {
        impl Container for $t {
            fn of(value: &Value) -> Option<&Self> {
                match value {
                    Value::$variant(c) => Some(c),
                    _ => None,
                }
            }
            fn of_mut(value: &mut Value) -> Option<&mut Self> {
                match value {
                    Value::$variant(c) => Some(c),
                    _ => None,
                }
            }
            fn into_value(self) -> Value {
                Value::$variant(self)
            }
        }
    };
}

container!(Hash, Hash);
container!(List, List);
container!(Set, Set);
container!(ZSet, ZSet);

/// `WRONGTYPE Operation against a key holding the wrong kind of value`.
pub(crate) fn wrong_type() -> Reply {
    Reply::Error(KvError::WrongType)
}

/// The container of type `C` under `key`: `Ok(None)` if absent (or expired), WRONGTYPE if the
/// key holds another type.
pub(crate) fn read_at<'db, C: Container>(
    ctx: &ReadCtx<'db>,
    key: &[u8],
) -> Result<Option<&'db C>, Reply> {
    match ctx.db.value(key, ctx.now_ms) {
        None => Ok(None),
        Some(v) => C::of(v).map(Some).ok_or_else(wrong_type),
    }
}

/// Run `f` on the container of type `C` under `key`, creating an empty one if the key is
/// absent; store the result, or delete the key if `f` left it empty (see the module docs).
pub(crate) fn write_at<C: Container, R>(
    ctx: &mut WriteCtx<'_>,
    key: &Bytes,
    f: impl FnOnce(&mut C) -> R,
) -> Result<R, Reply> {
    let exists = read_at::<C>(&ctx.as_read(), key)?.is_some();
    if exists {
        return Ok(modify_present(ctx, key, f));
    }
    let mut fresh = C::default();
    let r = f(&mut fresh);
    let value = fresh.into_value();
    if !value.is_empty_container() {
        ctx.db.insert(key.clone(), value, None, ctx.index);
    }
    Ok(r)
}

/// Run `f` on the container of type `C` under `key` if there is one (`Ok(None)` if not),
/// deleting the key if `f` left it empty.
pub(crate) fn modify_at<C: Container, R>(
    ctx: &mut WriteCtx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut C) -> R,
) -> Result<Option<R>, Reply> {
    if read_at::<C>(&ctx.as_read(), key)?.is_none() {
        return Ok(None);
    }
    Ok(Some(modify_present(ctx, key, f)))
}

/// `f` on a container just seen live and of type `C`.
fn modify_present<C: Container, R>(
    ctx: &mut WriteCtx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut C) -> R,
) -> R {
    let entry = ctx
        .db
        .entry_mut(key, ctx.index, ctx.now_ms)
        .expect("the key was read live at this log time");
    let container = C::of_mut(&mut entry.value).expect("the type was checked on the read");
    let r = f(container);
    ctx.db.drop_if_empty(key, ctx.index);
    r
}

/// Replace whatever `key` holds with `value` (no expiry), or delete the key if `value` is an
/// empty container: how `SINTERSTORE` and friends store their result. Answers the size stored.
pub(crate) fn store(ctx: &mut WriteCtx<'_>, key: &Bytes, value: Value, size: usize) -> Reply {
    if value.is_empty_container() {
        ctx.db.remove(key, ctx.index);
    } else {
        ctx.db.insert(key.clone(), value, None, ctx.index);
    }
    super::count(size)
}
