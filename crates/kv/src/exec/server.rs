//! This project's own commands, named `DISTRIBUTED.*` so they never collide with Redis'.
//!
//! ```text
//!   DISTRIBUTED.NOOP    through the log, changes nothing: OK      (tests; a leader's barrier)
//!   DISTRIBUTED.INDEX   read-only: the applied index the read saw (WATCH takes it, EXEC
//!                       carries it back so the state machine can tell what changed since)
//! ```

use bytes::Bytes;

use super::{ReadCtx, WriteCtx};
use crate::command::table::{Exec, Flags, Group, KeySpec, Spec};
use crate::reply::Reply;

/// Our own rows of the command table.
pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "distributed.noop",
        arity: 1,
        flags: Flags::WRITE.with(Flags::FAST),
        keys: KeySpec::NONE,
        group: Group::Distributed,
        summary: "Does nothing, through the replicated log.",
        since: "0.1.0",
        exec: Exec::Write(noop),
    },
    Spec {
        name: "distributed.index",
        arity: 1,
        flags: Flags::READONLY.with(Flags::FAST),
        keys: KeySpec::NONE,
        group: Group::Distributed,
        summary: "Returns the log index the state this read saw was applied through.",
        since: "0.1.0",
        exec: Exec::Read(index),
    },
];

fn noop(_ctx: &mut WriteCtx<'_>, _args: &[Bytes]) -> Reply {
    Reply::ok()
}

fn index(ctx: &ReadCtx<'_>, _args: &[Bytes]) -> Reply {
    Reply::Int(i64::try_from(ctx.applied_index).unwrap_or(i64::MAX))
}
