//! What each command means: a pure function from (keyspace, command, log index, log time) to
//! (keyspace', reply), one file per family of commands.
//!
//! ```text
//!   Body::One(cmd) ──► table row ──► Exec::Write(f) ──► f(&mut WriteCtx, args) ──► Reply
//!                                └─► Exec::Read(f)  ──► f(&ReadCtx, args)      ──► Reply
//!   Body::Exec{watched, since, cmds}
//!        a watched key changed after `since` ──► NullArray, nothing runs     (WATCH)
//!        else ──► Array(every cmd's reply, in order, at this one index)      (MULTI/EXEC)
//!   read(cmd, random_seed) (no log: ReadIndex, lease) ──► Exec::Read only; a writer refused
//! ```
//!
//! Invariants:
//! - Deterministic: the reply and the new keyspace depend only on the old keyspace, the
//!   command, the index, the log time and the limits. No clock, no randomness source but the
//!   index (`random.rs`), ordered maps only: every replica computes the same thing. A read
//!   outside the log also depends on the `random_seed` its caller hands in (`ReadCtx`): it
//!   changes no state, so its random picks may differ per call, and are still a pure function
//!   of what the caller passed.
//! - All or nothing per command: a command that answers an error has changed nothing. Checks
//!   happen before the first write.
//! - Never panics on client data: a bad number, a wrong type or an overflow is an error reply.
//!
//! Semantics follow Redis 7; replies and error texts are Redis' own, so clients and Redis'
//! test suite see what they expect.
//!
//! ## Layout
//!
//! ```text
//! mod.rs      this map, the contexts, dispatch, transactions, the families' tables
//! args.rs           argument parsing with Redis' error texts (integers, options, expiry, ranges)
//! float.rs          floats as Redis reads them and as Redis 7.2 prints them (scores, *BYFLOAT)
//! typed.rs          typed container access: WRONGTYPE first, empty containers deleted, TTL kept
//! random.rs         seeded picks (SPOP …RANDMEMBER HRANDFIELD): SplitMix64; log index or read seed
//! scan.rs           HSCAN/SSCAN/ZSCAN cursors (the next member, valid on any replica)
//! strings.rs        GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX CAS
//! counters.rs       INCR DECR INCRBY DECRBY INCRBYFLOAT
//! string_ranges.rs  APPEND STRLEN GETRANGE SUBSTR SETRANGE
//! bits.rs           SETBIT GETBIT BITCOUNT BITPOS BITOP (strings as arrays of bits)
//! lcs.rs            LCS (longest common subsequence, its table bounded)
//! keys.rs           DEL UNLINK EXISTS TOUCH TYPE RENAME RENAMENX COPY RANDOMKEY DBSIZE FLUSH*
//! keyscan.rs        KEYS, SCAN (a cursor valid on every replica)
//! introspect.rs     MEMORY USAGE (an estimate), OBJECT REFCOUNT
//! glob.rs           Redis' glob patterns, matched without recursion
//! expire.rs         EXPIRE… TTL… PERSIST, and DISTRIBUTED.EXPIRE (the leader's active expiry)
//! hashes.rs         HSET HGET HGETALL HDEL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN…
//! lists.rs          LPUSH RPUSH LPOP RPOP LRANGE LSET LREM LTRIM LINSERT LPOS LMOVE…
//! mpop.rs           LMPOP ZMPOP: pop from the first non-empty of several keys (BLPOP's try)
//! sort.rs           SORT SORT_RO (BY, LIMIT, GET, ASC|DESC, ALPHA, STORE)
//! sets.rs           SADD SREM SMEMBERS SINTER SUNION SDIFF *STORE SINTERCARD SMOVE SPOP…
//! zsets.rs          ZADD ZINCRBY ZREM ZSCORE ZRANK ZPOPMIN ZSCAN… (sorted sets, by member)
//! zrange.rs         ZRANGE ZRANGEBYSCORE ZRANGEBYLEX ZRANGESTORE ZCOUNT ZREMRANGEBY… (by range)
//! zsetops.rs        ZUNION ZINTER ZDIFF *STORE ZINTERCARD (sorted-set algebra, sets as score 1)
//! noop.rs           writes that would change nothing, and their replies (answered off the log)
//! pubsub.rs         PUBLISH: through the log, changes no key; the machine's outbox carries it
//! server.rs         DISTRIBUTED.* commands of our own
//! ```

pub(crate) mod args;
mod bits;
mod counters;
mod expire;
mod float;
mod glob;
mod hashes;
mod introspect;
mod keys;
mod keyscan;
mod lcs;
mod lists;
mod mpop;
pub(crate) mod noop;
pub(crate) mod pubsub;
mod random;
mod scan;
mod server;
mod sets;
mod sort;
mod string_ranges;
mod strings;
mod typed;
mod zrange;
mod zsetops;
mod zsets;

use bytes::Bytes;

use crate::codec::Limits;
use crate::command::table::{Exec, Spec};
use crate::command::{Body, Command};
use crate::db::Db;
use crate::notify::{self, KeyspaceEvents};
use crate::reply::{KvError, Reply};
use crate::value::Value;

/// A read-only command's function.
pub(crate) type ReadFn = fn(&ReadCtx<'_>, &[Bytes]) -> Reply;
/// A writing command's function.
pub(crate) type WriteFn = fn(&mut WriteCtx<'_>, &[Bytes]) -> Reply;

/// Every family's rows; `command::table` indexes them by name.
pub(crate) const FAMILIES: &[&[Spec]] = &[
    strings::SPECS,
    counters::SPECS,
    string_ranges::SPECS,
    bits::SPECS,
    lcs::SPECS,
    keys::SPECS,
    keyscan::SPECS,
    introspect::SPECS,
    expire::SPECS,
    hashes::SPECS,
    lists::SPECS,
    mpop::SPECS,
    sets::SPECS,
    sort::SPECS,
    zsets::SPECS,
    zrange::SPECS,
    zsetops::SPECS,
    server::SPECS,
    pubsub::SPECS,
];

/// What a read sees: the keyspace as of `applied_index`, at the log time of that entry.
pub(crate) struct ReadCtx<'a> {
    /// The keyspace, read-only.
    pub(crate) db: &'a Db,
    /// The log time: expiry is judged against it.
    pub(crate) now_ms: u64,
    /// The last applied index (what `DISTRIBUTED.INDEX` answers, for WATCH).
    pub(crate) applied_index: u64,
    /// Where the random picks of SRANDMEMBER, HRANDFIELD, ZRANDMEMBER and RANDOMKEY start
    /// (`random.rs`). A read outside the log gets its caller's seed, fresh per call: its reply
    /// changes no state, so two replicas (or two calls) may answer differently. A read run
    /// inside a log entry (MULTI/EXEC) gets the entry's index, so every replica agrees.
    pub(crate) random_seed: u64,
}

/// What a write sees: the keyspace, and the index and log time of the entry being applied.
pub(crate) struct WriteCtx<'a> {
    /// The keyspace.
    pub(crate) db: &'a mut Db,
    /// The log index of the entry: every write stamps it as the key's version.
    pub(crate) index: u64,
    /// The entry's log time.
    pub(crate) now_ms: u64,
    /// Size limits.
    pub(crate) limits: &'a Limits,
}

impl WriteCtx<'_> {
    /// The same state, read-only, as a read inside this entry sees it: its random picks are
    /// seeded by the entry's index, the same on every replica.
    pub(crate) fn as_read(&self) -> ReadCtx<'_> {
        ReadCtx {
            db: self.db,
            now_ms: self.now_ms,
            applied_index: self.index,
            random_seed: self.index,
        }
    }
}

/// Run one command of a log entry.
pub(crate) fn run(ctx: &mut WriteCtx<'_>, command: &Command) -> Reply {
    match command.spec().exec {
        Exec::Write(f) => f(ctx, command.args()),
        Exec::Read(f) => f(&ctx.as_read(), command.args()),
    }
}

/// Answer a read-only command without the log.
pub(crate) fn read(ctx: &ReadCtx<'_>, command: &Command) -> Reply {
    match command.spec().exec {
        Exec::Read(f) => f(ctx, command.args()),
        Exec::Write(_) => Reply::Error(KvError::NotReadOnly {
            command: command.name().to_string(),
        }),
    }
}

/// Apply a log entry's body. What it publishes goes to `outbox`, command by command: PUBLISH's
/// messages, and with `events` on, the keyspace notifications of the keys each command
/// changed (`notify.rs`, from the keyspace's journal).
pub(crate) fn apply(
    ctx: &mut WriteCtx<'_>,
    body: &Body,
    events: KeyspaceEvents,
    outbox: &mut Vec<(Bytes, Bytes)>,
) -> Reply {
    match body {
        Body::One(command) => run_and_publish(ctx, command, events, outbox),
        Body::Exec {
            watched,
            since,
            commands,
        } => {
            let (db, now) = (&*ctx.db, ctx.now_ms);
            if watched.iter().any(|k| db.changed_since(k, *since, now)) {
                return Reply::NullArray;
            }
            let replies = commands
                .iter()
                .map(|c| run_and_publish(ctx, c, events, outbox))
                .collect();
            Reply::Array(replies)
        }
    }
}

fn run_and_publish(
    ctx: &mut WriteCtx<'_>,
    command: &Command,
    events: KeyspaceEvents,
    outbox: &mut Vec<(Bytes, Bytes)>,
) -> Reply {
    let reply = run(ctx, command);
    if let (pubsub::PUBLISH, [channel, message]) = (command.name(), command.args()) {
        outbox.push((channel.clone(), message.clone()));
    }
    if events.is_on() {
        let changes = ctx.db.take_journal();
        notify::events(events, command, &reply, &changes, outbox);
    }
    reply
}

/// The string under `key`: `Ok(None)` if absent, `Err(WRONGTYPE)` if it holds another type.
pub(crate) fn string_at<'a>(ctx: &'a ReadCtx<'_>, key: &[u8]) -> Result<Option<&'a Bytes>, Reply> {
    match ctx.db.value(key, ctx.now_ms) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(Reply::Error(KvError::WrongType)),
    }
}

/// A count for a reply (lists are bounded far below `i64::MAX`).
pub(crate) fn count(n: usize) -> Reply {
    Reply::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The reply of a command body written with `?`: an error reply is the reply.
pub(crate) fn answer(result: Result<Reply, Reply>) -> Reply {
    result.unwrap_or_else(|error| error)
}

/// Byte strings as a reply array.
pub(crate) fn bulks<'a>(items: impl IntoIterator<Item = &'a Bytes>) -> Vec<Reply> {
    items.into_iter().cloned().map(Reply::Bulk).collect()
}
