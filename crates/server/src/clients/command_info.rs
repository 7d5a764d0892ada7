//! `COMMAND` and its subcommands, answered from the two tables (kv's and the connection's,
//! joined in `table.rs`): what redis-cli reads for its hints and client libraries for key
//! positions.
//!
//! ```text
//!   COMMAND                  [info…] of every command
//!   COMMAND COUNT            how many
//!   COMMAND LIST [FILTERBY PATTERN p]    names
//!   COMMAND INFO [name…]     [name, arity, flags, first, last, step, acl categories, tips,
//!                             key specs, subcommands] per name (nil for an unknown one)
//!   COMMAND DOCS [name…]     {name: {summary, since, group, complexity, arguments}} (a map)
//!   COMMAND GETKEYS cmd arg… the arguments of a keyspace command that are keys
//! ```
//!
//! Invariant: every reply is a pure function of the tables and the arguments; nothing here
//! knows a command by name.

use bytes::Bytes;
use kv::Command;

use crate::clients::glob::glob_match;
use crate::clients::resp::Frame;
use crate::clients::table::{row_of, rows, Row};

/// The reply to `COMMAND args…` (the subcommand first).
pub fn command(args: &[Bytes]) -> Frame {
    let Some(sub) = args.first() else {
        return Frame::Array(rows().iter().map(info).collect());
    };
    let rest = &args[1..];
    match sub.to_ascii_lowercase().as_slice() {
        b"count" if rest.is_empty() => Frame::Integer(rows().len() as i64),
        b"list" => list(rest),
        b"info" if rest.is_empty() => Frame::Array(rows().iter().map(info).collect()),
        b"info" => Frame::Array(
            rest.iter()
                .map(|n| row_of(n).map_or(Frame::Null, |r| info(&r)))
                .collect(),
        ),
        b"docs" if rest.is_empty() => Frame::Map(rows().iter().map(docs).collect()),
        b"docs" => Frame::Map(
            rest.iter()
                .filter_map(|n| row_of(n))
                .map(|r| docs(&r))
                .collect(),
        ),
        b"getkeys" => getkeys(rest),
        b"count" => Frame::error(
            "ERR",
            "wrong number of arguments for 'command|count' command",
        ),
        _ => Frame::error(
            "ERR",
            format!(
                "unknown subcommand '{}'. Try COMMAND HELP.",
                String::from_utf8_lossy(sub)
            ),
        ),
    }
}

/// `COMMAND LIST [FILTERBY PATTERN p]`.
fn list(args: &[Bytes]) -> Frame {
    let pattern = match args {
        [] => None,
        [by, kind, p]
            if by.eq_ignore_ascii_case(b"filterby") && kind.eq_ignore_ascii_case(b"pattern") =>
        {
            Some(p)
        }
        _ => return Frame::error("ERR", "syntax error"),
    };
    Frame::Array(
        rows()
            .iter()
            .filter(|r| pattern.is_none_or(|p| glob_match(p, r.name.as_bytes(), true)))
            .map(|r| Frame::bulk(r.name))
            .collect(),
    )
}

/// One command's `COMMAND INFO` entry (Redis 7's ten fields).
fn info(r: &Row) -> Frame {
    let statuses = |names: Vec<String>| Frame::Set(names.into_iter().map(Frame::Simple).collect());
    let flags = r.flags.iter().map(|f| f.to_string()).collect();
    Frame::Array(vec![
        Frame::bulk(r.name),
        Frame::Integer(i64::from(r.arity)),
        statuses(flags),
        Frame::Integer(i64::from(r.keys.first)),
        Frame::Integer(i64::from(r.keys.last)),
        Frame::Integer(i64::from(r.keys.step)),
        statuses(acl_categories(r)),
        Frame::Set(Vec::new()),
        Frame::Array(Vec::new()),
        Frame::Array(Vec::new()),
    ])
}

/// Redis' ACL categories, derived from the flags and the group.
fn acl_categories(r: &Row) -> Vec<String> {
    let mut cats = Vec::new();
    for (flag, cat) in [
        ("write", "@write"),
        ("readonly", "@read"),
        ("fast", "@fast"),
    ] {
        if r.flags.contains(&flag) {
            cats.push(cat.to_string());
        }
    }
    let group = match r.group {
        "generic" => "keyspace",
        "transactions" => "transaction",
        "server" | "cluster" => "admin",
        other => other,
    };
    cats.push(format!("@{group}"));
    cats
}

/// One command's `COMMAND DOCS` entry: `name → {summary, since, group, complexity, arguments}`.
fn docs(r: &Row) -> (Frame, Frame) {
    let field = |k: &'static str, v: &'static str| (Frame::bulk(k), Frame::bulk(v));
    let doc = Frame::Map(vec![
        field("summary", r.summary),
        field("since", r.since),
        field("group", r.group),
        field("complexity", ""),
        (Frame::bulk("arguments"), Frame::Array(Vec::new())),
    ]);
    (Frame::bulk(r.name), doc)
}

/// `COMMAND GETKEYS cmd arg…`: the keys of a keyspace command, by its key spec.
fn getkeys(args: &[Bytes]) -> Frame {
    let Some(name) = args.first() else {
        return Frame::error(
            "ERR",
            "wrong number of arguments for 'command|getkeys' command",
        );
    };
    if kv::table::lookup(name).is_none() {
        return match row_of(name) {
            Some(_) => Frame::error("ERR", "The command has no key arguments"),
            None => Frame::error("ERR", "Invalid command specified"),
        };
    }
    match Command::new(name, args[1..].to_vec()) {
        Ok(c) if c.keys().next().is_none() => {
            Frame::error("ERR", "The command has no key arguments")
        }
        Ok(c) => Frame::Array(c.keys().map(|k| Frame::Bulk(k.clone())).collect()),
        Err(_) => Frame::error("ERR", "Invalid number of arguments specified for command"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(words: &[&str]) -> Frame {
        let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.to_string())).collect();
        command(&args)
    }

    #[test]
    fn count_and_list_cover_both_tables() {
        let Frame::Integer(n) = run(&["COUNT"]) else {
            panic!("a count")
        };
        let Frame::Array(names) = run(&["LIST"]) else {
            panic!("a list")
        };
        assert_eq!(n as usize, names.len());
        assert!(names.contains(&Frame::bulk("get")) && names.contains(&Frame::bulk("multi")));
        let Frame::Array(sub) = run(&["LIST", "FILTERBY", "PATTERN", "*sub*"]) else {
            panic!("a list")
        };
        assert!(sub.contains(&Frame::bulk("psubscribe")) && !sub.contains(&Frame::bulk("get")));
    }

    #[test]
    fn info_gives_arity_flags_and_key_positions_and_nil_for_an_unknown_name() {
        let Frame::Array(entries) = run(&["INFO", "get", "nosuch", "mset"]) else {
            panic!("an array")
        };
        let Frame::Array(get) = &entries[0] else {
            panic!("get's entry")
        };
        assert_eq!(get[0], Frame::bulk("get"));
        assert_eq!(get[1], Frame::Integer(2));
        assert_eq!(
            &get[3..6],
            &[Frame::Integer(1), Frame::Integer(1), Frame::Integer(1)]
        );
        assert_eq!(entries[1], Frame::Null);
        let Frame::Array(mset) = &entries[2] else {
            panic!("mset's entry")
        };
        assert_eq!(
            &mset[3..6],
            &[Frame::Integer(1), Frame::Integer(-1), Frame::Integer(2)]
        );
    }

    #[test]
    fn docs_is_a_map_of_summaries_and_getkeys_follows_the_key_spec() {
        let Frame::Map(docs) = run(&["DOCS", "exec"]) else {
            panic!("a map")
        };
        assert_eq!(docs[0].0, Frame::bulk("exec"));
        let keys = run(&["GETKEYS", "MSET", "a", "1", "b", "2"]);
        assert_eq!(keys, Frame::Array(vec![Frame::bulk("a"), Frame::bulk("b")]));
        assert!(run(&["GETKEYS", "PING"]).is_error());
        assert!(run(&["NOPE"]).is_error());
    }
}
