//! From a RESP command to what the node does with it, and from a [`kv::Reply`] to a RESP frame.
//!
//! ```text
//!   RESP array of bulk strings
//!     │ PING ECHO COMMAND CLIENT CONFIG SELECT HELLO, errors ──► Action::Reply (local, at once)
//!     │ INFO, DISTRIBUTED.STATUS ───────────────────────────► Action::Status (node state)
//!     │ QUIT ───────────────────────────────────────────────► Action::Quit
//!     │ READONLY / READWRITE ───────────────────────────────► Action::ReadOnly(on/off)
//!     │ a name in kv's command table (GET SET DEL …) ───────► kv::Command::new: arity checked
//!     ▼
//!   Action::Kv(kv::Command) ──► through the Raft log (or a read path) ──► kv::Reply ──► RESP
//! ```
//!
//! The keyspace commands are kv's: this file does not parse their arguments, it hands the
//! words to `kv::Command::new`, which checks the name and arity against the one command table,
//! and every replica runs them the same way. So a command added to kv's table is served here
//! without a line changing. `CAS key expected new` is ours, not Redis'; a null bulk (`$-1`) as
//! `expected` means "the key must be absent" and becomes `CAS key new` (redis-cli cannot send
//! one; `SET k v NX` can).
//!
//! The connection-time commands that redis-cli and redis-benchmark send (`COMMAND DOCS`,
//! `CLIENT SETNAME`, `CONFIG GET save`) get harmless answers so those tools work unchanged.

use bytes::Bytes;
use kv::{Command, Reply};

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
    if name == "cas" {
        return cas(args).map(Action::Kv);
    }
    let words = non_null(name, args)?;
    Command::new(name.as_bytes(), words)
        .map(Action::Kv)
        .map_err(|e| Frame::error(e.code(), &e))
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

/// `CAS key expected new`; a null `expected` (the key must be absent) is `CAS key new`.
fn cas(args: Args<'_>) -> Result<Command, Frame> {
    match args {
        [Some(key), expected, Some(new)] => {
            Ok(Command::cas(key.clone(), expected.clone(), new.clone()))
        }
        [Some(key), Some(new)] => Ok(Command::cas(key.clone(), None, new.clone())),
        _ => Err(arity("cas")),
    }
}

fn one(name: &str, args: Args<'_>) -> Result<Bytes, Frame> {
    match args {
        [Some(arg)] => Ok(arg.clone()),
        [None] => Err(Frame::error("ERR", format!("null argument to '{name}'"))),
        _ => Err(arity(name)),
    }
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

/// The RESP2 frame for a state machine reply: the table in `kv::reply` (a map flattens into
/// an array of its pairs, a set into an array, a double into its text).
pub fn reply_frame(reply: &Reply) -> Frame {
    match reply {
        Reply::Status(s) => Frame::Simple(String::from_utf8_lossy(s).into_owned()),
        Reply::Error(e) => Frame::error(e.code(), e),
        Reply::Int(n) => Frame::Integer(*n),
        Reply::Bulk(b) | Reply::Double(b) => Frame::Bulk(b.clone()),
        Reply::Null => Frame::Null,
        Reply::NullArray => Frame::NullArray,
        Reply::Array(items) | Reply::Set(items) => {
            Frame::Array(items.iter().map(reply_frame).collect())
        }
        Reply::Map(pairs) => Frame::Array(
            pairs
                .iter()
                .flat_map(|(k, v)| [reply_frame(k), reply_frame(v)])
                .collect(),
        ),
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
    fn keyspace_commands_pass_through_as_kv_commands_with_their_words() {
        let words = |c: &Command| {
            let mut w = vec![c.name().to_string()];
            w.extend(
                c.args()
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned()),
            );
            w
        };
        for case in [
            &["get", "k"][..],
            &["set", "k", "v", "EX", "10", "NX"],
            &["del", "a", "b"],
            &["decrby", "n", "5"],
            &["mset", "a", "1", "b", "2"],
            &["cas", "k", "old", "new"],
        ] {
            let upper: Vec<String> = case.iter().map(|w| w.to_uppercase()).collect();
            let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
            let Action::Kv(command) = run(&upper) else {
                panic!("{case:?} is a kv command");
            };
            let mut expected: Vec<String> = case.iter().map(|w| w.to_string()).collect();
            expected[1..].iter_mut().for_each(|w| *w = w.to_uppercase());
            assert_eq!(words(&command), expected, "{case:?}");
        }
    }

    #[test]
    fn cas_with_a_null_expected_value_means_the_key_must_be_absent() {
        let frame = Frame::Array(vec![
            Frame::bulk("CAS"),
            Frame::bulk("k"),
            Frame::Null,
            Frame::bulk("v"),
        ]);
        assert_eq!(
            interpret(frame),
            Action::Kv(Command::cas(b("k"), None, b("v")))
        );
        assert_eq!(
            run(&["CAS", "k", "v"]),
            Action::Kv(Command::cas(b("k"), None, b("v")))
        );
    }

    #[test]
    fn wrong_arity_bad_numbers_and_unknown_commands_get_redis_style_errors() {
        assert!(error_text(run(&["GET"])).contains("wrong number of arguments for 'get'"));
        assert!(error_text(run(&["MSET", "a"])).contains("wrong number of arguments"));
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
    fn every_reply_shape_becomes_its_resp2_frame() {
        assert_eq!(reply_frame(&Reply::Null), Frame::Null);
        assert_eq!(reply_frame(&Reply::NullArray), Frame::NullArray);
        assert_eq!(reply_frame(&Reply::ok()), Frame::Simple("OK".into()));
        let map = Reply::Map(vec![(Reply::Bulk(b("f")), Reply::Bulk(b("v")))]);
        assert_eq!(
            reply_frame(&map),
            Frame::Array(vec![Frame::bulk("f"), Frame::bulk("v")])
        );
        assert_eq!(reply_frame(&Reply::Double(b("1.5"))), Frame::bulk("1.5"));
        let e = reply_frame(&Reply::Error(kv::KvError::NotAnInteger));
        assert_eq!(
            e,
            Frame::Error("ERR value is not an integer or out of range".into())
        );
        let wrong = reply_frame(&Reply::Error(kv::KvError::WrongType));
        assert_eq!(
            wrong,
            Frame::Error(
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            )
        );
    }
}
