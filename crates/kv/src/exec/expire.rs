//! Expiry: setting, reading and removing a key's time to live, all in the log's milliseconds,
//! and `DISTRIBUTED.EXPIRE`, the entry a leader proposes to reclaim keys whose time came.
//!
//! ```text
//!   EXPIRE k s, PEXPIRE k ms          [NX|XX|GT|LT]   1 set (or deleted, if already past) | 0
//!   EXPIREAT k t, PEXPIREAT k t-ms    [NX|XX|GT|LT]   the same, at an absolute Unix time
//!   TTL k, PTTL k                     remaining s (rounded) / ms | -1 no expiry | -2 no key
//!   EXPIRETIME k, PEXPIRETIME k       the absolute expiry, s (rounded) / ms | -1 | -2
//!   PERSIST k                         1 expiry removed | 0 (no key, or none to remove)
//!   DISTRIBUTED.EXPIRE k…             how many of the keys were expired and are now reclaimed
//!
//!   NX: only without an expiry   XX: only with one   GT / LT: only later / earlier than now's
//!   (no expiry counts as infinite: GT never passes it, LT always does; NX with another, or GT
//!   with LT, is an error)
//! ```
//!
//! "Now" is the log time of the entry being applied (a read: of the last entry applied), the
//! time the leader stamped (`machine.rs`), so every replica computes the same expiry and the
//! same TTL. Between entries the log time stands still: `TTL` on an idle cluster answers the
//! time left as of the last entry, and counts down as entries are applied (Redis counts down
//! with its wall clock). Relative times are added to it with Redis' overflow checks: an
//! expiry that does not fit 63 bits is `ERR invalid expire time in '<command>' command`; a
//! negative or past one deletes the key at once, as Redis does on a primary.
//!
//! `DISTRIBUTED.EXPIRE` is active expiry made deterministic. Redis' primary deletes expired
//! keys on a timer and replicates the deletions as DELs; here the leader, when its clock
//! passes the earliest expiry in its state machine, proposes this command naming the keys due
//! (`StateMachine::expiry_request`, bounded per entry), stamped with its clock. Applying it
//! re-checks each key at the entry's log time: a key that was re-set or given a later expiry
//! after the proposal is live then and is left alone, so a late or repeated entry is harmless.
//! Sent by a client it is just as harmless: it only removes keys that are already expired.

use bytes::Bytes;

use super::args::int;
use super::{count, ReadCtx, WriteCtx};
use crate::command::table::flags::{RF, WF};
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::Reply;

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::Generic;

/// The expiry family's rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "expire", -3, WF, KeySpec::FIRST, "1.0.0", "Sets the expiration time of a key in seconds.", Exec::Write(expire)),
    Spec::new(GROUP, "pexpire", -3, WF, KeySpec::FIRST, "2.6.0", "Sets the expiration time of a key in milliseconds.", Exec::Write(pexpire)),
    Spec::new(GROUP, "expireat", -3, WF, KeySpec::FIRST, "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", Exec::Write(expireat)),
    Spec::new(GROUP, "pexpireat", -3, WF, KeySpec::FIRST, "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", Exec::Write(pexpireat)),
    Spec::new(GROUP, "ttl", 2, RF, KeySpec::FIRST, "1.0.0", "Returns the expiration time in seconds of a key (as of the last applied entry's log time).", Exec::Read(ttl)),
    Spec::new(GROUP, "pttl", 2, RF, KeySpec::FIRST, "2.6.0", "Returns the expiration time in milliseconds of a key (as of the last applied entry's log time).", Exec::Read(pttl)),
    Spec::new(GROUP, "expiretime", 2, RF, KeySpec::FIRST, "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", Exec::Read(expiretime)),
    Spec::new(GROUP, "pexpiretime", 2, RF, KeySpec::FIRST, "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", Exec::Read(pexpiretime)),
    Spec::new(GROUP, "persist", 2, WF, KeySpec::FIRST, "2.2.0", "Removes the expiration time of a key.", Exec::Write(persist)),
    Spec {
        name: "distributed.expire",
        arity: -2,
        flags: WF,
        keys: KeySpec::ALL,
        group: Group::Distributed,
        summary: "Deletes those of the keys that are expired at this entry's log time: the leader's active expiry.",
        since: "0.1.0",
        exec: Exec::Write(reclaim),
    },
];

/// EXPIRE's condition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Condition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Read `[NX|XX|GT|LT]…` with Redis' texts for an unknown option or a clash.
fn condition(options: &[Bytes]) -> Result<Condition, Reply> {
    let mut c = Condition::default();
    for opt in options {
        let flag = match opt.to_ascii_uppercase().as_slice() {
            b"NX" => &mut c.nx,
            b"XX" => &mut c.xx,
            b"GT" => &mut c.gt,
            b"LT" => &mut c.lt,
            _ => {
                let shown = String::from_utf8_lossy(opt);
                return Err(Reply::error("ERR", format!("Unsupported option {shown}")));
            }
        };
        *flag = true;
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        let message = "NX and XX, GT or LT options at the same time are not compatible";
        return Err(Reply::error("ERR", message));
    }
    if c.gt && c.lt {
        let message = "GT and LT options at the same time are not compatible";
        return Err(Reply::error("ERR", message));
    }
    Ok(c)
}

impl Condition {
    /// True if an expiry `when` may replace `current` (`None`: no expiry, an infinite TTL).
    fn allows(self, when: i128, current: Option<u64>) -> bool {
        let current = current.map(i128::from);
        !(self.nx && current.is_some()
            || self.xx && current.is_none()
            || self.gt && current.is_none_or(|c| when <= c)
            || self.lt && current.is_some_and(|c| when >= c))
    }
}

fn expire(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, true, 1000, "expire")
}

fn pexpire(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, true, 1, "pexpire")
}

fn expireat(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, false, 1000, "expireat")
}

fn pexpireat(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, false, 1, "pexpireat")
}

/// The four EXPIREs: `args[1]` in units of `unit_ms`, from the log time if `relative`.
fn expire_generic(
    ctx: &mut WriteCtx<'_>,
    args: &[Bytes],
    relative: bool,
    unit_ms: i128,
    name: &str,
) -> Reply {
    let (key, now) = (&args[0], ctx.now_ms);
    let checked = condition(&args[2..]).and_then(|c| int(&args[1]).map(|n| (c, n)));
    let (condition, n) = match checked {
        Ok(parsed) => parsed,
        Err(e) => return e,
    };
    // Redis' checks: the product and the sum must each fit an i64.
    let base = if relative { i128::from(now) } else { 0 };
    let when = i128::from(n) * unit_ms + base;
    let fits = |x: i128| i64::try_from(x).is_ok();
    if !fits(i128::from(n) * unit_ms) || !fits(when) {
        let message = format!("invalid expire time in '{name}' command");
        return Reply::error("ERR", message);
    }
    let Some(entry) = ctx.db.lookup(key, now) else {
        return Reply::Int(0);
    };
    if !condition.allows(when, entry.expires_at_ms()) {
        return Reply::Int(0);
    }
    if when <= i128::from(now) {
        ctx.db.remove(key, ctx.index); // already past: deleted, as on a Redis primary
    } else {
        let at = u64::try_from(when).expect("after now, so positive");
        ctx.db.set_expiry(key, Some(at), ctx.index);
    }
    Reply::Int(1)
}

/// TTL and its three cousins: `-2` missing, `-1` no expiry, else the time left (`relative`)
/// or the expiry time, in ms or in seconds rounded to the nearest.
fn ttl_generic(ctx: &ReadCtx<'_>, key: &[u8], millis: bool, relative: bool) -> Reply {
    let Some(entry) = ctx.db.lookup(key, ctx.now_ms) else {
        return Reply::Int(-2);
    };
    let Some(at) = entry.expires_at_ms() else {
        return Reply::Int(-1);
    };
    let ms = if relative {
        at.saturating_sub(ctx.now_ms)
    } else {
        at
    };
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    Reply::Int(if millis {
        ms
    } else {
        ms.saturating_add(500) / 1000
    })
}

fn ttl(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, &args[0], false, true)
}

fn pttl(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, &args[0], true, true)
}

fn expiretime(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, &args[0], false, false)
}

fn pexpiretime(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, &args[0], true, false)
}

fn persist(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let key = &args[0];
    let has_expiry = (ctx.db.lookup(key, ctx.now_ms)).is_some_and(|e| e.expires_at_ms().is_some());
    if has_expiry {
        ctx.db.set_expiry(key, None, ctx.index);
    }
    Reply::Int(i64::from(has_expiry))
}

/// `DISTRIBUTED.EXPIRE k…`: remove each key that is stored and expired at this entry's time.
fn reclaim(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let mut reclaimed = 0;
    for key in args {
        let expired = ctx.db.lookup(key, ctx.now_ms).is_none();
        if expired && ctx.db.expire(key, ctx.index).is_some() {
            reclaimed += 1;
        }
    }
    count(reclaimed)
}
