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

#[cfg(test)]
mod tests {
    //! The TTL rule, checked on every family's writes at once: a container given a TTL by
    //! `PEXPIREAT` keeps it through writes and loses it only by being replaced.
    use super::*;
    use crate::codec::Limits;
    use crate::command::Command;
    use crate::db::Db;
    use crate::exec::run;

    fn exec(db: &mut Db, index: u64, now_ms: u64, words: &[&str]) -> Reply {
        let limits = Limits::default();
        let mut ctx = WriteCtx {
            db,
            index,
            now_ms,
            limits: &limits,
        };
        let words = words.iter().map(|w| Bytes::copy_from_slice(w.as_bytes()));
        run(&mut ctx, &Command::from_words(words.collect()).unwrap())
    }

    /// `setup` at index 1, `PEXPIREAT k 100`, `modify` at index 2, time 50.
    fn ttl_after(setup: &[&str], modify: &[&str]) -> (Reply, Option<u64>, Db) {
        let mut db = Db::default();
        assert!(!exec(&mut db, 1, 0, setup).is_error(), "{setup:?}");
        assert_eq!(
            exec(&mut db, 1, 0, &["pexpireat", "k", "100"]),
            Reply::Int(1)
        );
        let reply = exec(&mut db, 2, 50, modify);
        let ttl = db.lookup(b"k", 50).and_then(|e| e.expires_at_ms());
        (reply, ttl, db)
    }

    #[test]
    fn every_family_s_writes_keep_a_container_s_ttl() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["hset", "k", "f", "1", "g", "2"], &["hset", "k", "h", "3"]),
            (&["hset", "k", "f", "1", "g", "2"], &["hdel", "k", "f"]),
            (&["hset", "k", "f", "1"], &["hincrby", "k", "f", "2"]),
            (&["hset", "k", "f", "1"], &["hincrbyfloat", "k", "f", "0.5"]),
            (&["rpush", "k", "a", "b", "c"], &["lpush", "k", "z"]),
            (&["rpush", "k", "a", "b", "c"], &["lpop", "k"]),
            (&["rpush", "k", "a", "b", "c"], &["lset", "k", "0", "x"]),
            (&["rpush", "k", "a", "b", "c"], &["ltrim", "k", "0", "1"]),
            (
                &["rpush", "k", "a", "b", "c"],
                &["linsert", "k", "AFTER", "a", "x"],
            ),
            (
                &["rpush", "k", "a", "b", "c"],
                &["lmove", "k", "k", "LEFT", "RIGHT"],
            ),
            (&["rpush", "k", "a", "b", "c"], &["rpoplpush", "k", "other"]),
            (&["rpush", "k", "a"], &["lmove", "k", "k", "LEFT", "LEFT"]),
            (&["sadd", "k", "a", "b", "c"], &["sadd", "k", "d"]),
            (&["sadd", "k", "a", "b", "c"], &["srem", "k", "a"]),
            (&["sadd", "k", "a", "b", "c"], &["spop", "k"]),
            (&["zadd", "k", "1", "a", "2", "b"], &["zadd", "k", "3", "c"]),
            (
                &["zadd", "k", "1", "a", "2", "b"],
                &["zincrby", "k", "1", "a"],
            ),
            (&["zadd", "k", "1", "a", "2", "b"], &["zpopmin", "k"]),
            (
                &["zadd", "k", "1", "a", "2", "b"],
                &["zremrangebyscore", "k", "1", "1"],
            ),
        ];
        for (setup, modify) in cases {
            let (reply, ttl, _) = ttl_after(setup, modify);
            assert!(!reply.is_error(), "{modify:?}: {reply:?}");
            assert_eq!(ttl, Some(100), "{modify:?} keeps the TTL");
        }
    }

    #[test]
    fn a_container_moved_into_gets_no_ttl_and_a_stored_result_replaces_the_old_one() {
        let (_, _, mut db) = ttl_after(&["sadd", "k", "a"], &["smove", "k", "fresh", "a"]);
        assert_eq!(db.lookup(b"fresh", 50).unwrap().expires_at_ms(), None);
        assert!(
            db.lookup(b"k", 50).is_none(),
            "the emptied source is deleted"
        );
        exec(&mut db, 3, 50, &["sadd", "k", "x"]);
        assert_eq!(
            exec(&mut db, 3, 50, &["pexpireat", "k", "100"]),
            Reply::Int(1)
        );
        exec(&mut db, 4, 50, &["sunionstore", "k", "fresh"]);
        assert_eq!(db.lookup(b"k", 50).unwrap().expires_at_ms(), None);
    }

    #[test]
    fn an_expired_container_reads_as_absent_and_a_write_starts_a_new_one_without_ttl() {
        let (_, _, mut db) = ttl_after(&["rpush", "k", "a", "b"], &["llen", "k"]);
        assert_eq!(exec(&mut db, 3, 100, &["llen", "k"]), Reply::Int(0));
        assert_eq!(exec(&mut db, 4, 100, &["rpush", "k", "z"]), Reply::Int(1));
        let entry = db.lookup(b"k", 100).unwrap();
        assert_eq!(entry.expires_at_ms(), None);
        assert_eq!(entry.version, 4);
    }

    #[test]
    fn an_error_reply_leaves_the_version_alone() {
        let mut db = Db::default();
        exec(&mut db, 1, 0, &["hset", "k", "f", "text"]);
        let error = exec(&mut db, 2, 0, &["hincrby", "k", "f", "1"]);
        assert!(error.is_error());
        assert_eq!(exec(&mut db, 3, 0, &["lpush", "k", "x"]), wrong_type());
        assert_eq!(db.lookup(b"k", 0).unwrap().version, 1);
    }
}
