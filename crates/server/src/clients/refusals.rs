//! What this server refuses on purpose, and the one part of a refused family it answers.
//!
//! ```text
//!   EVAL EVALSHA SCRIPT FCALL FUNCTION …  ──► ERR '<name>' is not supported: Lua is out of scope
//!   FUNCTION FLUSH [ASYNC|SYNC], LIST      ──► OK, [] (true for a server that holds no functions)
//!   AUTH                                   ──► Redis' own "no password configured" error
//! ```
//!
//! Why a file of its own: these are product decisions, not parsing; a reader looking for
//! "why does EVAL fail" finds the reason here, next to the one exception.

use crate::clients::command::Args;
use crate::clients::resp::Frame;

/// `FUNCTION FLUSH [ASYNC|SYNC]` and `FUNCTION LIST`, answered truthfully for a server that can
/// hold no functions: flushing none succeeds, the list is empty. Clients and Redis's own test
/// suite send `FUNCTION FLUSH` when they reset a server; refusing it would make them fail on a
/// reset they don't need. Every other `FUNCTION` subcommand (LOAD, …) is refused below.
pub(super) fn no_functions(args: Args<'_>) -> Option<Frame> {
    let word = |i: usize| {
        args.get(i)
            .and_then(|a| a.as_ref())
            .map(|a| a.to_ascii_lowercase())
    };
    match (word(0).as_deref(), args.len()) {
        (Some(b"flush"), 1) => Some(Frame::ok()),
        (Some(b"flush"), 2) if matches!(word(1).as_deref(), Some(b"async" | b"sync")) => {
            Some(Frame::ok())
        }
        (Some(b"list"), 1) => Some(Frame::Array(Vec::new())),
        _ => None,
    }
}

/// The commands refused on purpose, with the reason.
pub(super) fn refused(name: &str) -> Option<Frame> {
    match name {
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "script" | "function" | "fcall"
        | "fcall_ro" => Some(Frame::error(
            "ERR",
            format!(
                "'{name}' is not supported: Lua scripts and functions are out of scope for \
                 this server (MULTI/EXEC gives atomic groups of commands)"
            ),
        )),
        "auth" => Some(Frame::error(
            "ERR",
            "AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        )),
        _ => None,
    }
}
