//! No-op writes: a write that, on the state as it stands, would change nothing, and its reply.
//!
//! `SADD s m` when `m` is already a member, `SPOP s` on an absent set, `DEL k` on an absent
//! key: Redis runs these, changes nothing, and neither appends them to its AOF nor replicates
//! them (its `dirty` counter does not move). Here every write goes through the log and a
//! majority's fsync, so without more care such a write costs as much as a real one: a tenth of
//! what Redis does in `redis-benchmark`'s SADD, SPOP, ZADD and ZPOPMIN tests, which after
//! their first request hit one member or an empty key over and over.
//!
//! ```text
//!   leader, write w from client c          (replica noop.rs decides when to ask)
//!     read path (ReadIndex or lease) confirms the state as of now
//!     reply_if_noop(state, w) ── Some(reply) ──► answer reply, no log entry   (like a read)
//!                             └─ None ─────────► propose w as usual
//! ```
//!
//! Why this is linearizable: the answer is computed on a state the read path has confirmed
//! (every write that completed before `w` arrived is in it, nothing uncommitted is), and at
//! that point running `w` would leave the state exactly as it is and answer exactly `reply`.
//! So `w` takes effect at that point, the way a read does. What the replica must add (and
//! does, in its `noop.rs`): the client's session has no write of its own still in flight
//! (else `w` could overtake it), and `w` is not a retry of something that may still apply.
//!
//! Which writes: an allowlist, each with a reason it is exact.
//! - Absent keys (`ABSENT_KEY_WRITES`): every key the command names reads as absent (expired
//!   counts as absent). The command then behaves exactly as it would on an empty keyspace, so
//!   it is run there, by its own function, and it is a no-op if that keyspace is still empty
//!   afterwards. The reply comes from the command's own code, never restated here. Only
//!   commands whose every key is in the table's key positions and that read nothing else are
//!   listed: not the `numkeys` forms (ZUNIONSTORE, LMPOP), not SORT (BY/GET read other keys).
//! - Present keys: `SADD` whose members all exist, `SREM`/`ZREM`/`HDEL` naming none that
//!   exist, `ZADD` without options whose members all exist with those exact scores. Each
//!   answers `0`, as the command itself does then.
//!
//! The road not taken: running any write on a copy of its keys and comparing. Exact for every
//! command, but it copies whole containers (a million-member set for one SADD) on the write
//! path; the allowlist costs a lookup per member.
//!
//! A no-op answered here does not touch the key's version, so a WATCH on it stays valid; the
//! same write through the log bumps the version (conservative: the EXEC fails, which is always
//! safe). Redis does not signal a no-op either.

use bytes::Bytes;

use crate::codec::Limits;
use crate::command::Command;
use crate::db::Db;
use crate::exec::float::float;
use crate::exec::typed::{read_at, Hash, Set};
use crate::exec::{run, ReadCtx, WriteCtx};
use crate::reply::Reply;
use crate::value::{Score, ZSet};

/// Writes that change nothing when every key they name is absent (see the module docs).
const ABSENT_KEY_WRITES: &[&str] = &[
    "del",
    "unlink",
    "getdel",
    "lpop",
    "rpop",
    "lrem",
    "ltrim",
    "spop",
    "srem",
    "zpopmin",
    "zpopmax",
    "zrem",
    "hdel",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "persist",
];

/// Writes with a present-key check below.
const PRESENT_KEY_WRITES: &[&str] = &["sadd", "srem", "zadd", "zrem", "hdel"];

/// True if `command` is a write this file may find to be a no-op.
pub(crate) fn may_be_noop(command: &Command) -> bool {
    let name = command.name();
    !command.is_read_only()
        && (ABSENT_KEY_WRITES.contains(&name) || PRESENT_KEY_WRITES.contains(&name))
}

/// The reply `command` would give on this state if running it would change nothing; `None` if
/// it would (or might) change something.
pub(crate) fn reply_if_noop(
    ctx: &ReadCtx<'_>,
    limits: &Limits,
    command: &Command,
) -> Option<Reply> {
    if !may_be_noop(command) {
        return None;
    }
    let all_absent = command
        .keys()
        .all(|k| ctx.db.value(k, ctx.now_ms).is_none());
    if all_absent && ABSENT_KEY_WRITES.contains(&command.name()) {
        return on_empty_keyspace(ctx, limits, command);
    }
    let (key, rest) = command.args().split_first()?;
    let unchanged = match command.name() {
        "sadd" => read_at::<Set>(ctx, key).ok()??.is_superset_of(rest),
        "srem" => !read_at::<Set>(ctx, key).ok()??.contains_any(rest),
        "zrem" => !read_at::<ZSet>(ctx, key).ok()??.contains_any(rest),
        "hdel" => {
            let hash = read_at::<Hash>(ctx, key).ok()??;
            !rest.iter().any(|f| hash.contains_key(f))
        }
        "zadd" => zadd_unchanged(read_at::<ZSet>(ctx, key).ok()??, rest),
        _ => false,
    };
    unchanged.then_some(Reply::Int(0))
}

/// Run `command` on an empty keyspace: its reply if the keyspace is still empty after it.
fn on_empty_keyspace(ctx: &ReadCtx<'_>, limits: &Limits, command: &Command) -> Option<Reply> {
    let mut empty = Db::default();
    let mut scratch = WriteCtx {
        db: &mut empty,
        index: ctx.applied_index,
        now_ms: ctx.now_ms,
        limits,
    };
    let reply = run(&mut scratch, command);
    (empty.len() == 0).then_some(reply)
}

/// `ZADD key score member …` without options: every member already has exactly that score.
/// Any option word (NX, XX, GT, LT, CH, INCR) fails to parse as a score, so it answers false
/// and the command goes through the log, which handles every option.
fn zadd_unchanged(z: &ZSet, pairs: &[Bytes]) -> bool {
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return false;
    }
    pairs.chunks_exact(2).all(|pair| {
        let score = float(&pair[0]).ok().and_then(Score::new);
        score.is_some() && z.score(&pair[1]) == score
    })
}

/// Membership questions the checks above ask of the containers.
trait Members {
    fn has(&self, member: &[u8]) -> bool;

    fn is_superset_of(&self, members: &[Bytes]) -> bool {
        members.iter().all(|m| self.has(m))
    }

    fn contains_any(&self, members: &[Bytes]) -> bool {
        members.iter().any(|m| self.has(m))
    }
}

impl Members for Set {
    fn has(&self, member: &[u8]) -> bool {
        self.contains(member)
    }
}

impl Members for ZSet {
    fn has(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }
}
