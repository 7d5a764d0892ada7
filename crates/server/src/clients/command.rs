//! From a RESP command to what the node does with it, and from a [`kv::Reply`] to a RESP frame.
//!
//! ```text
//!   RESP array of bulk strings
//!     │ PING ECHO COMMAND CLIENT CONFIG SELECT HELLO, errors ──► Action::Reply (local, at once)
//!     │ INFO, DISTRIBUTED.STATUS ───────────────────────────► Action::Status (node state)
//!     │ QUIT ───────────────────────────────────────────────► Action::Quit
//!     │ READONLY / READWRITE ───────────────────────────────► Action::ReadOnly(on/off)
//!     │ GET SET DEL EXISTS INCR INCRBY DECR DECRBY APPEND MGET MSET CAS
//!     ▼
//!   Action::Kv(kv::Command) ──► through the Raft log ──► kv::Reply ──► reply_frame ──► RESP
//! ```
//!
//! The kv side of the table lives in `kv::command` and `kv::reply`; this file only parses
//! arguments. `CAS key expected new` is ours, not Redis': it writes `new` only if the key holds
//! exactly `expected` and answers `*2 [:1|:0, current value]`. A null bulk (`$-1`) as
//! `expected` means "the key must be absent" (redis-cli cannot send one; `SET k v NX` can).
//!
//! Expiry (`EX`, `PX`, `EXAT`, `PXAT`, `KEEPTTL`) is refused: a TTL needs a clock, and replicas'
//! clocks differ, so a key would expire at different log positions on different replicas.
//!
//! The connection-time commands that redis-cli and redis-benchmark send (`COMMAND DOCS`,
//! `CLIENT SETNAME`, `CONFIG GET save`) get harmless answers so those tools work unchanged.

use bytes::Bytes;
use kv::{Command, Condition, Reply};

use crate::clients::resp::Frame;

/// What the node must do for one client frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer with this frame at once; nothing is replicated.
    Reply(Frame),
    /// Run this command through the replicated log and answer with its reply.
    Kv(Command),
    /// Answer with the node's status (role, term, leader, indexes), as a bulk string.
    Status,
    /// Answer `+OK` and close the connection.
    Quit,
    /// Serve this connection's reads from the local state machine (true: possibly stale) or
    /// through the configured linearizable read path (false, the default); answer `+OK`.
    ReadOnly(bool),
}

/// True for commands whose request needs no session: they never change the map, so replaying
/// one is harmless and exactly-once buys nothing. The connection sends them as
/// `kv::Request::once` (client 0), which keeps reads out of the session table.
///
/// Why here and not in `kv`: kv accepts a read in a session too (it caches no reply for it);
/// sending reads without one is this front end's choice, built on kv's fact
/// `Command::is_read_only`, so it sits with the rest of the RESP command table.
pub fn needs_no_session(command: &Command) -> bool {
    command.is_read_only()
}

/// Interpret one frame from a client.
pub fn interpret(frame: Frame) -> Action {
    let Frame::Array(items) = frame else {
        return Action::Reply(Frame::error(
            "ERR",
            "Protocol error: expected an array of bulk strings",
        ));
    };
    let mut args = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Frame::Bulk(b) => args.push(Some(b)),
            Frame::Null => args.push(None),
            _ => {
                return Action::Reply(Frame::error("ERR", "Protocol error: expected bulk strings"))
            }
        }
    }
    let Some(Some(name)) = args.first().cloned() else {
        return Action::Reply(Frame::error("ERR", "empty command"));
    };
    let name = String::from_utf8_lossy(&name).to_ascii_lowercase();
    match interpret_named(&name, &args[1..]) {
        Ok(action) => action,
        Err(frame) => Action::Reply(frame),
    }
}

/// Arguments after the command name; `None` is a null bulk.
type Args<'a> = &'a [Option<Bytes>];

fn interpret_named(name: &str, args: Args<'_>) -> Result<Action, Frame> {
    if let Some(action) = connection_command(name, args)? {
        return Ok(action);
    }
    let command = match name {
        "get" => Command::Get {
            key: one(name, args)?,
        },
        "set" => set(args)?,
        "del" => Command::Delete {
            keys: keys(name, args)?,
        },
        "exists" => Command::Exists {
            keys: keys(name, args)?,
        },
        "mget" => Command::MultiGet {
            keys: keys(name, args)?,
        },
        "incr" => increment(name, args, Some(1))?,
        "decr" => increment(name, args, Some(-1))?,
        "incrby" | "decrby" => increment(name, args, None)?,
        "append" => {
            let [key, value] = exact(name, args)?;
            Command::Append { key, value }
        }
        "mset" => mset(args)?,
        "cas" => cas(args)?,
        _ => return Err(unknown(name, args)),
    };
    Ok(Action::Kv(command))
}

/// The commands answered without the log; `Ok(None)` for every other name.
fn connection_command(name: &str, args: Args<'_>) -> Result<Option<Action>, Frame> {
    let action = match name {
        "ping" => match args {
            [] => Action::Reply(Frame::Simple("PONG".into())),
            [Some(text)] => Action::Reply(Frame::Bulk(text.clone())),
            _ => return Err(arity(name)),
        },
        "echo" => Action::Reply(Frame::Bulk(one(name, args)?)),
        "quit" => Action::Quit,
        "readonly" if args.is_empty() => Action::ReadOnly(true),
        "readwrite" if args.is_empty() => Action::ReadOnly(false),
        "readonly" | "readwrite" => return Err(arity(name)),
        "info" | "distributed.status" => Action::Status,
        // redis-cli asks for command docs at start; an empty list makes it skip hints.
        "command" => Action::Reply(Frame::Array(Vec::new())),
        "client" => Action::Reply(Frame::Simple("OK".into())),
        "config" => Action::Reply(config(args)),
        "select" => match args {
            [Some(db)] if db.as_ref() == b"0" => Action::Reply(Frame::Simple("OK".into())),
            _ => {
                return Err(Frame::error(
                    "ERR",
                    "DB index is out of range: only db 0 exists",
                ))
            }
        },
        "hello" => match args {
            [] => return Err(Frame::error("NOPROTO", "use RESP2: HELLO is not supported")),
            _ => {
                return Err(Frame::error(
                    "NOPROTO",
                    "unsupported protocol version: only RESP2",
                ))
            }
        },
        _ => return Ok(None),
    };
    Ok(Some(action))
}

/// `CONFIG GET param…`: what redis-benchmark asks at start. Pairs for the few we can answer.
fn config(args: Args<'_>) -> Frame {
    let mut pairs = Vec::new();
    let is_get = matches!(args.first(), Some(Some(s)) if s.eq_ignore_ascii_case(b"get"));
    if !is_get {
        return Frame::error("ERR", "only CONFIG GET is supported");
    }
    for param in args[1..].iter().flatten() {
        let value: &[u8] = match param.to_ascii_lowercase().as_slice() {
            b"appendonly" => b"yes", // every write is fdatasynced to the WAL before its reply
            b"save" => b"",
            _ => continue,
        };
        pairs.push(Frame::Bulk(param.clone()));
        pairs.push(Frame::bulk(value.to_vec()));
    }
    Frame::Array(pairs)
}

/// `SET key value [NX|XX]`; expiry and `GET` are refused with the reason.
fn set(args: Args<'_>) -> Result<Command, Frame> {
    let [Some(key), Some(value), options @ ..] = args else {
        return Err(arity("set"));
    };
    let mut condition = None;
    for option in options {
        let option = option.as_deref().unwrap_or_default().to_ascii_uppercase();
        let wanted = match option.as_slice() {
            b"NX" => Condition::IfAbsent,
            b"XX" => Condition::IfPresent,
            b"EX" | b"PX" | b"EXAT" | b"PXAT" | b"KEEPTTL" => {
                let why = "expiry is not supported: it is not replicated deterministically";
                return Err(Frame::error("ERR", why));
            }
            b"GET" => return Err(Frame::error("ERR", "SET ... GET is not supported")),
            _ => return Err(Frame::error("ERR", "syntax error")),
        };
        if condition.is_some_and(|c| c != wanted) {
            return Err(Frame::error(
                "ERR",
                "syntax error: NX and XX exclude each other",
            ));
        }
        condition = Some(wanted);
    }
    let (key, value) = (key.clone(), value.clone());
    Ok(match condition {
        None => Command::Put { key, value },
        Some(condition) => Command::PutIf {
            key,
            value,
            condition,
        },
    })
}

/// `INCR k`, `DECR k` (fixed `by`), `INCRBY k n`, `DECRBY k n`.
fn increment(name: &str, args: Args<'_>, by: Option<i64>) -> Result<Command, Frame> {
    let (key, by) = match by {
        Some(by) => (one(name, args)?, by),
        None => {
            let [key, n] = exact(name, args)?;
            let n = std::str::from_utf8(&n)
                .ok()
                .and_then(|s| s.parse::<i64>().ok());
            let not_an_integer = || Frame::error("ERR", kv::KvError::NotAnInteger);
            let n = n.ok_or_else(not_an_integer)?;
            let by = if name == "decrby" {
                n.checked_neg().ok_or_else(not_an_integer)?
            } else {
                n
            };
            (key, by)
        }
    };
    Ok(Command::Increment { key, by })
}

fn mset(args: Args<'_>) -> Result<Command, Frame> {
    if args.is_empty() || !args.len().is_multiple_of(2) {
        return Err(arity("mset"));
    }
    let all: Vec<Bytes> = non_null("mset", args)?;
    let pairs = all
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    Ok(Command::MultiPut { pairs })
}

fn cas(args: Args<'_>) -> Result<Command, Frame> {
    let [Some(key), expected, Some(new)] = args else {
        return Err(arity("cas"));
    };
    Ok(Command::CompareAndSet {
        key: key.clone(),
        expected: expected.clone(),
        new: new.clone(),
    })
}

fn one(name: &str, args: Args<'_>) -> Result<Bytes, Frame> {
    let [key] = exact(name, args)?;
    Ok(key)
}

fn exact<const N: usize>(name: &str, args: Args<'_>) -> Result<[Bytes; N], Frame> {
    let all = non_null(name, args)?;
    all.try_into().map_err(|_| arity(name))
}

fn keys(name: &str, args: Args<'_>) -> Result<Vec<Bytes>, Frame> {
    if args.is_empty() {
        return Err(arity(name));
    }
    non_null(name, args)
}

fn non_null(name: &str, args: Args<'_>) -> Result<Vec<Bytes>, Frame> {
    args.iter()
        .map(|a| {
            a.clone()
                .ok_or_else(|| Frame::error("ERR", format!("null argument to '{name}'")))
        })
        .collect()
}

fn arity(name: &str) -> Frame {
    Frame::error(
        "ERR",
        format!("wrong number of arguments for '{name}' command"),
    )
}

fn unknown(name: &str, args: Args<'_>) -> Frame {
    let shown: Vec<String> = args
        .iter()
        .take(3)
        .map(|a| {
            format!(
                "'{}'",
                String::from_utf8_lossy(a.as_deref().unwrap_or_default())
            )
        })
        .collect();
    Frame::error(
        "ERR",
        format!(
            "unknown command '{name}', with args beginning with: {}",
            shown.join(" ")
        ),
    )
}

/// The RESP frame for a state machine reply: the table in `kv::reply`.
pub fn reply_frame(reply: &Reply) -> Frame {
    let value = |v: &Option<Bytes>| v.clone().map_or(Frame::Null, Frame::Bulk);
    match reply {
        Reply::Ok => Frame::Simple("OK".into()),
        Reply::Skipped => Frame::Null,
        Reply::Value(v) => value(v),
        Reply::Values(vs) => Frame::Array(vs.iter().map(value).collect()),
        Reply::Int(n) => Frame::Integer(*n),
        Reply::Cas { ok, current } => {
            Frame::Array(vec![Frame::Integer(i64::from(*ok)), value(current)])
        }
        Reply::Error(e) => Frame::error(e.code(), e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(words: &[&str]) -> Action {
        let frame = Frame::Array(words.iter().map(|w| Frame::bulk(w.to_string())).collect());
        interpret(frame)
    }

    fn b(s: &str) -> Bytes {
        Bytes::from(s.to_string())
    }

    fn error_text(action: Action) -> String {
        match action {
            Action::Reply(Frame::Error(e)) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn reads_go_without_a_session_and_writes_in_one() {
        let kv = |words: &[&str]| match run(words) {
            Action::Kv(command) => command,
            other => panic!("expected a kv command, got {other:?}"),
        };
        for read in [&["GET", "k"][..], &["MGET", "a", "b"], &["EXISTS", "k"]] {
            assert!(needs_no_session(&kv(read)), "{read:?}");
        }
        for write in [&["SET", "k", "v"][..], &["INCR", "k"], &["DEL", "k"]] {
            assert!(!needs_no_session(&kv(write)), "{write:?}");
        }
    }

    #[test]
    fn redis_commands_map_one_to_one_onto_kv_commands() {
        let cases = [
            (run(&["get", "k"]), Command::Get { key: b("k") }),
            (
                run(&["SET", "k", "v"]),
                Command::Put {
                    key: b("k"),
                    value: b("v"),
                },
            ),
            (
                run(&["set", "k", "v", "nx"]),
                Command::PutIf {
                    key: b("k"),
                    value: b("v"),
                    condition: Condition::IfAbsent,
                },
            ),
            (
                run(&["DEL", "a", "b"]),
                Command::Delete {
                    keys: vec![b("a"), b("b")],
                },
            ),
            (
                run(&["EXISTS", "a"]),
                Command::Exists { keys: vec![b("a")] },
            ),
            (
                run(&["INCR", "n"]),
                Command::Increment { key: b("n"), by: 1 },
            ),
            (
                run(&["DECRBY", "n", "5"]),
                Command::Increment {
                    key: b("n"),
                    by: -5,
                },
            ),
            (
                run(&["APPEND", "k", "x"]),
                Command::Append {
                    key: b("k"),
                    value: b("x"),
                },
            ),
            (
                run(&["MGET", "a", "b"]),
                Command::MultiGet {
                    keys: vec![b("a"), b("b")],
                },
            ),
            (
                run(&["MSET", "a", "1", "b", "2"]),
                Command::MultiPut {
                    pairs: vec![(b("a"), b("1")), (b("b"), b("2"))],
                },
            ),
            (
                run(&["CAS", "k", "old", "new"]),
                Command::CompareAndSet {
                    key: b("k"),
                    expected: Some(b("old")),
                    new: b("new"),
                },
            ),
        ];
        for (action, command) in cases {
            assert_eq!(action, Action::Kv(command));
        }
    }

    #[test]
    fn expiry_is_refused_with_the_reason() {
        let err = error_text(run(&["SET", "k", "v", "EX", "10"]));
        assert_eq!(
            err,
            "ERR expiry is not supported: it is not replicated deterministically"
        );
    }

    #[test]
    fn wrong_arity_bad_numbers_and_unknown_commands_get_redis_style_errors() {
        assert!(error_text(run(&["GET"])).contains("wrong number of arguments for 'get'"));
        assert!(error_text(run(&["MSET", "a"])).contains("wrong number of arguments"));
        assert!(error_text(run(&["INCRBY", "n", "x"])).contains("not an integer"));
        assert!(error_text(run(&["SET", "k", "v", "NX", "XX"])).contains("syntax error"));
        assert!(error_text(run(&["FLY", "me"])).contains("unknown command 'fly'"));
        assert!(error_text(run(&["HELLO", "3"])).starts_with("NOPROTO"));
    }

    #[test]
    fn connection_time_commands_of_redis_tools_get_harmless_answers() {
        assert_eq!(run(&["PING"]), Action::Reply(Frame::Simple("PONG".into())));
        assert_eq!(
            run(&["COMMAND", "DOCS"]),
            Action::Reply(Frame::Array(vec![]))
        );
        assert_eq!(
            run(&["CLIENT", "SETNAME", "x"]),
            Action::Reply(Frame::Simple("OK".into()))
        );
        let save = run(&["CONFIG", "GET", "save"]);
        assert_eq!(
            save,
            Action::Reply(Frame::Array(vec![Frame::bulk("save"), Frame::bulk("")]))
        );
        assert_eq!(run(&["INFO", "replication"]), Action::Status);
        assert_eq!(run(&["READONLY"]), Action::ReadOnly(true));
        assert_eq!(run(&["readwrite"]), Action::ReadOnly(false));
    }

    #[test]
    fn every_reply_shape_becomes_its_resp_frame() {
        assert_eq!(reply_frame(&Reply::Skipped), Frame::Null);
        assert_eq!(reply_frame(&Reply::Value(None)), Frame::Null);
        let cas = Reply::Cas {
            ok: false,
            current: Some(b("x")),
        };
        assert_eq!(
            reply_frame(&cas),
            Frame::Array(vec![Frame::Integer(0), Frame::bulk("x")])
        );
        let e = reply_frame(&Reply::Error(kv::KvError::NotAnInteger));
        assert_eq!(
            e,
            Frame::Error("ERR value is not an integer or out of range".into())
        );
    }
}
