//! Questions about one key's storage rather than its value: MEMORY USAGE and OBJECT REFCOUNT.
//!
//! ```text
//!   MEMORY USAGE k [SAMPLES n]   an estimate of the bytes this store holds for k | nil
//!   OBJECT REFCOUNT k            1 | nil
//!   OBJECT HELP, MEMORY HELP     the subcommands, one line each
//! ```
//!
//! MEMORY USAGE is an estimate, computed from the value itself, never sampled: the key's bytes,
//! the value's bytes, and for every stored piece the handle that holds it here (a `Bytes`
//! handle per key, field, element or member; the `Entry` itself; the key's place in the scan
//! index and, with a TTL, in the expiry index; a sorted-set member's score in both of its
//! indexes). Not counted: the B-trees' node slack, a deque's spare capacity and the
//! allocator's rounding, which depend on history and the allocator, not on the value (Redis'
//! own answer includes its allocator's sizes, so the two never agree byte for byte).
//! `SAMPLES` is accepted and ignored: nothing is sampled.
//!
//! OBJECT REFCOUNT answers 1 for any key: values here are never shared between keys the way
//! Redis shares its small integers (COPY and every other write make a key its own value).
//! OBJECT ENCODING, FREQ and IDLETIME are refused: this store keeps no encodings (one
//! container per type, `value.rs`), no access counts and no access times.

use std::mem::size_of;

use bytes::Bytes;

use super::args::{int, is, syntax};
use super::ReadCtx;
use crate::command::table::flags::R;
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::db::Entry;
use crate::reply::{KvError, Reply};
use crate::value::{Score, Value};

/// The key comes after the subcommand.
const SECOND: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

/// The introspection rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(Group::Server, "memory", -2, R, SECOND, "4.0.0", "USAGE: an estimate of the bytes a key uses here (key, value and per-entry overhead); HELP.", Exec::Read(memory)),
    Spec::new(Group::Generic, "object", -2, R, SECOND, "2.2.3", "REFCOUNT (always 1: values are never shared); HELP. ENCODING, FREQ and IDLETIME are not kept.", Exec::Read(object)),
];

/// Redis' error for a subcommand it does not know.
fn unknown_subcommand(sub: &Bytes, command: &str) -> Reply {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    Reply::error(
        "ERR",
        format!("unknown subcommand '{sub}'. Try {command} HELP."),
    )
}

/// Redis' error for a known subcommand given the wrong number of arguments.
fn wrong_arity(name: &str) -> Reply {
    Reply::Error(KvError::WrongArity {
        command: name.to_string(),
    })
}

/// HELP's lines.
fn help(lines: &[&'static str]) -> Reply {
    Reply::Array(
        lines
            .iter()
            .map(|l| Reply::Status(Bytes::from_static(l.as_bytes())))
            .collect(),
    )
}

fn memory(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let sub = &args[0];
    if is(sub, "HELP") && args.len() == 1 {
        return help(&[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "USAGE <key> [SAMPLES <count>]",
            "    Return an estimate of the bytes this store holds for <key> (see COMMAND DOCS).",
            "HELP",
            "    Print this help.",
        ]);
    }
    if !is(sub, "USAGE") {
        return unknown_subcommand(sub, "MEMORY");
    }
    match &args[1..] {
        [] => return wrong_arity("memory|usage"),
        [_] => {}
        [_, samples, n] if is(samples, "SAMPLES") => {
            if let Err(e) = int(n) {
                return e;
            }
        }
        _ => return syntax(),
    }
    let key = &args[1];
    match ctx.db.lookup(key, ctx.now_ms) {
        None => Reply::Null,
        Some(entry) => super::count(key_bytes(key, entry)),
    }
}

/// The estimate MEMORY USAGE answers (see the module docs).
pub(crate) fn key_bytes(key: &[u8], entry: &Entry) -> usize {
    let handle = size_of::<Bytes>();
    let index_slot = size_of::<(u64, Bytes)>(); // scan_order, and expiring with a TTL
    let ttl = if entry.expires_at_ms().is_some() {
        index_slot
    } else {
        0
    };
    key.len() + handle + size_of::<Entry>() + index_slot + ttl + value_bytes(&entry.value)
}

/// The value's bytes and the handles holding them, beyond the `Value` inside the `Entry`.
fn value_bytes(value: &Value) -> usize {
    let handle = size_of::<Bytes>();
    match value {
        Value::Str(s) => s.len(),
        Value::Hash(h) => h.iter().map(|(f, v)| 2 * handle + f.len() + v.len()).sum(),
        Value::List(l) => l.iter().map(|e| handle + e.len()).sum(),
        Value::Set(s) => s.iter().map(|m| handle + m.len()).sum(),
        Value::ZSet(z) => {
            // member → score, and (score, member): two handles on one member's bytes.
            let per = 2 * (handle + size_of::<Score>());
            z.iter().map(|(m, _)| per + m.len()).sum()
        }
    }
}

fn object(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let sub = &args[0];
    if is(sub, "HELP") && args.len() == 1 {
        return help(&[
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "REFCOUNT <key>",
            "    Return the number of references of the value of <key>: always 1 here.",
            "HELP",
            "    Print this help.",
        ]);
    }
    let kept = ["ENCODING", "FREQ", "IDLETIME"];
    if let Some(name) = kept.iter().find(|n| is(sub, n)) {
        let text = format!(
            "OBJECT {name} is not supported: this store keeps no encodings, access times or \
             access counts"
        );
        return Reply::error("ERR", text);
    }
    if !is(sub, "REFCOUNT") {
        return unknown_subcommand(sub, "OBJECT");
    }
    if args.len() != 2 {
        return wrong_arity("object|refcount");
    }
    match ctx.db.lookup(&args[1], ctx.now_ms) {
        None => Reply::Null,
        Some(_) => Reply::Int(1),
    }
}
