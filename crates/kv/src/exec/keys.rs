//! The keyspace commands that work on keys of any type.
//!
//! ```text
//!   DEL k…       how many of the keys existed (and are now gone)
//!   EXISTS k…    how many of the keys exist (a key named twice counts twice, as in Redis)
//! ```
//!
//! Invariant: an expired key counts as absent everywhere (`Db::lookup`), and `DEL` of an
//! expired key answers 0 but still removes its leftover entry.

use bytes::Bytes;

use super::{count, ReadCtx, WriteCtx};
use crate::command::table::{Exec, Flags, Group, KeySpec, Spec};
use crate::reply::Reply;

/// The keyspace family's rows of the command table.
pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "del",
        arity: -2,
        flags: Flags::WRITE,
        keys: KeySpec::ALL,
        group: Group::Generic,
        summary: "Deletes one or more keys.",
        since: "1.0.0",
        exec: Exec::Write(del),
    },
    Spec {
        name: "exists",
        arity: -2,
        flags: Flags::READONLY.with(Flags::FAST),
        keys: KeySpec::ALL,
        group: Group::Generic,
        summary: "Determines whether one or more keys exist.",
        since: "1.0.0",
        exec: Exec::Read(exists),
    },
];

fn del(ctx: &mut WriteCtx<'_>, args: &[Bytes]) -> Reply {
    let mut removed = 0;
    for key in args {
        let live = ctx.db.lookup(key, ctx.now_ms).is_some();
        if ctx.db.remove(key, ctx.index).is_some() && live {
            removed += 1;
        }
    }
    count(removed)
}

fn exists(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    count(
        args.iter()
            .filter(|k| ctx.db.lookup(k, ctx.now_ms).is_some())
            .count(),
    )
}
