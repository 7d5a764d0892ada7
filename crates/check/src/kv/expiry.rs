//! Keys with a deadline (`put px`, `pexpire`, `pttl`), judged from the history's times alone.
//!
//! The store: the leader stamps its clock on each log entry, the store's clock is the largest
//! stamp applied so far, and an operation sees the clock of the last entry applied before it.
//! A key set with `px N` by an entry stamped `s` expires at `E = s + N`; it is gone for any
//! operation whose clock is past `E`. The history does not show stamps, only intervals:
//!
//! ```text
//!   put(k, "v", px=N)  [inv ─────── ret]        stamp s somewhere in here
//!                                   E somewhere in [inv + N, ret + N] = [lo, hi]
//!   time ──────────────────────────────|lo─────────hi|────────────────────►
//!   read R with ret_R < lo             │  in doubt   │  a write W with inv_W > hi
//!   ─► must see k (its clock ≤ ret_R   │  either way │  ─► k is gone at W (W's stamp
//!      < lo ≤ E)                       │             │     ≥ inv_W > hi ≥ E) and after
//! ```
//!
//! The rules, per possible world of the model's state (`kv/state.rs`):
//! 1. *Certain expiry.* A write (logged, so stamped at or after its invoke) with `inv > hi`
//!    runs on a clock past every such `E`: those keys are gone before it, in every world.
//! 2. *Certain presence.* An operation with `ret < lo` runs on a clock no later than its
//!    return, before `E`: the key is there.
//! 3. *Doubt.* Otherwise an operation touching the key may see it either way: the world
//!    splits in two, key present (deadline kept) and key gone. The answers prune them: a
//!    `get` that saw nil keeps only "gone", and **gone stays gone**: the clock never goes
//!    back (stamps are monotonic in log order, which is the linearization order), so no
//!    later operation can see the key again unless a later write sets it.
//! 4. `pttl` answers `E - clock`: at most `ttl_ms` (the clock is past the setter's stamp) and
//!    at least `lo - ret` (the clock is at most its return). `ttl` is the same in seconds,
//!    read with Redis's rounding or a truncation (see [`ttl_fits`]).
//!
//! Why it is sound (no false violation): in the real run, order the operations by log position
//! (reads at the entry they read after). Every rule above holds of that order, so every world
//! that matches the real clock survives each step, and the search finds that order. Boundaries
//! are read permissively (`ret >= lo` allows gone, `inv > hi` is needed to force it), so it
//! does not matter whether the store expires at `clock > E` or `clock >= E`.
//!
//! What it cannot catch: a read long after `hi` that still sees the key is accepted when no
//! write in the same partition since proves the clock moved (an idle store's clock stands
//! still; writes to other partitions are not visible here); a store whose stamps stray
//! outside the operation's interval (a leader clock that runs ahead) breaks the premise.
//! The state grows by at most one world per operation in doubt; past [`WORLDS_MAX`] worlds
//! the model gives up on the path (the search answers unknown rather than guess).

use super::command::Command;
use super::outcome::Outcome;
use super::types::{Deadline, Slot, Value};
use crate::model::Interval;

/// Most possible worlds one state may hold before the model gives up on the path.
pub const WORLDS_MAX: usize = 32;

impl Deadline {
    /// The deadline set by an operation that ran during `at`, with time to live `ttl_ms`.
    pub(crate) fn set_during(at: Interval, ttl_ms: u64) -> Deadline {
        Deadline {
            lo: at.invoke.saturating_add(ttl_ms),
            hi: at.ret.map_or(u64::MAX, |r| r.saturating_add(ttl_ms)),
            ttl_ms,
        }
    }
}

/// Rule 1: before a logged write invoked at `invoke`, drop every key whose latest possible
/// expiry is already past.
pub(crate) fn expire_certain(world: &mut [Slot], invoke: u64) {
    for slot in world {
        if matches!(slot, Some(e) if e.deadline.is_some_and(|d| d.hi < invoke)) {
            *slot = None;
        }
    }
}

/// Rules 2 and 3: whether an operation during `at` may see this key either way.
pub(crate) fn in_doubt(slot: &Slot, at: Interval) -> bool {
    match slot.as_ref().and_then(|e| e.deadline) {
        Some(d) => at.ret.is_none_or(|r| r >= d.lo),
        None => false,
    }
}

/// Run `put px`, `pexpire` or `pttl` on `slot` (already resolved: present or gone); the
/// store's answer, or `None` if `command` is none of them.
pub(crate) fn run_expiry(slot: &mut Slot, command: &Command, at: Interval) -> Option<Outcome> {
    let answer = match command {
        Command::PutPx { value, ttl_ms, .. } => {
            *slot = Some(super::types::Entry {
                value: Value::Str(value.clone()),
                deadline: Some(Deadline::set_during(at, *ttl_ms)),
            });
            Outcome::Done
        }
        Command::PExpire { ttl_ms, .. } => match slot {
            Some(entry) => {
                entry.deadline = Some(Deadline::set_during(at, *ttl_ms));
                Outcome::Int(1)
            }
            None => Outcome::Int(0),
        },
        Command::Persist { .. } => match slot {
            Some(entry) if entry.deadline.is_some() => {
                entry.deadline = None;
                Outcome::Int(1)
            }
            _ => Outcome::Int(0),
        },
        Command::Exists { .. } => Outcome::Int(i64::from(slot.is_some())),
        Command::PTtl { .. } | Command::Ttl { .. } => match slot.as_ref().map(|e| e.deadline) {
            None => Outcome::Int(-2),
            Some(None) => Outcome::Int(-1),
            // A range, not one answer: `ttl_fits` judges it.
            Some(Some(_)) => return None,
        },
        _ => return None,
    };
    Some(answer)
}

/// Rule 4: whether a `pttl` (`seconds` false) or `ttl` (true) during `at` that answered
/// `said` fits a present key with deadline `d`.
///
/// `ttl` answers whole seconds. Redis rounds (`(ms + 500) / 1000`); a store that truncates
/// would answer one less. Both readings are allowed: `said` seconds stand for any time left
/// in `[said·1000 − 500, said·1000 + 999]` ms, and that range must meet the possible one.
pub(crate) fn ttl_fits(d: Deadline, said: i64, at: Interval, seconds: bool) -> bool {
    let Ok(said) = u64::try_from(said) else {
        return false;
    };
    let least = at.ret.map_or(0, |r| d.lo.saturating_sub(r));
    let (lo, hi) = if seconds {
        let ms = said.saturating_mul(1000);
        (ms.saturating_sub(500), ms.saturating_add(999))
    } else {
        (said, said)
    };
    lo <= d.ttl_ms && least <= hi
}
