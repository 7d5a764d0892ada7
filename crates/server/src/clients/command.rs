//! From a RESP command to what the connection does with it, and from a [`kv::Reply`] to a frame.
//!
//! ```text
//!   RESP array of bulk strings
//!     │ unknown name, wrong arity, EVAL/FUNCTION/AUTH ──────────► Action::Refused (counted)
//!     │ a name in kv's command table (GET SET DEL PUBLISH …) ──► Action::Kv(kv::Command)
//!     │ ECHO COMMAND SELECT (answers from the tables) ─────────► Action::Local(frame)
//!     │ INFO, DISTRIBUTED.STATUS ──────────────────────────────► Action::Status (node state)
//!     │ QUIT ──────────────────────────────────────────────────► Action::Quit
//!     │ BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP ─► Action::Block
//!     └ the rest of the connection table (table.rs) ───────────► Action::Conn(ConnOp): MULTI
//!       EXEC DISCARD WATCH UNWATCH, (P)(UN)SUBSCRIBE PUBSUB, PING, HELLO CLIENT CONFIG
//!       READONLY READWRITE RESET: they read or change this connection's state (connection.rs)
//!   Action::Kv ──► through the Raft log (or a read path) ──► kv::Reply ──► reply_frame ──► RESP
//! ```
//!
//! The keyspace commands are kv's: this file does not parse their arguments, it hands the
//! words to `kv::Command::new`, which checks the name and arity against the one command table,
//! and every replica runs them the same way. So a command added to kv's table is served here
//! without a line changing. The connection commands' arity is checked here against their own
//! table (`table.rs`), before anything runs, as Redis checks every command before queueing it
//! in a transaction. `CAS key expected new` is ours, not Redis'; a null bulk (`$-1`) as
//! `expected` means "the key must be absent" and becomes `CAS key new`.
//!
//! Refused on purpose, with a reason: Lua (`EVAL`, `EVALSHA`, `SCRIPT`, `FUNCTION`) is out of
//! scope; `AUTH` answers what Redis answers when no password is configured.

use bytes::Bytes;
use kv::{Command, Reply};

use crate::clients::blocking::{self, Blocking};
use crate::clients::command_info;
use crate::clients::refusals::{no_functions, refused};
use crate::clients::resp::{Frame, Proto};
use crate::clients::table::{self, ConnSpec};

/// What the connection must do for one client frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer with this frame at once; it depends on nothing but the tables and arguments.
    Local(Frame),
    /// Refused before running (unknown command, wrong arity, a refused command): answer the
    /// error. Inside MULTI it also aborts the transaction, as in Redis.
    Refused {
        /// The error.
        frame: Frame,
        /// True for an unknown command name (counted in `errors_total{kind="unknown_command"}`).
        unknown: bool,
    },
    /// Run this command through the replicated log (or a read path) and answer its reply.
    Kv(Command),
    /// Answer with the node's status (role, term, leader, indexes), as a bulk string.
    Status,
    /// Answer `+OK` and close the connection.
    Quit,
    /// A command on this connection's own state.
    Conn(ConnOp),
    /// A blocking pop (BLPOP, BZPOPMIN, …): tried through the log, parked until a key fills
    /// (`blocking.rs`); inside MULTI, its non-blocking form.
    Block(Blocking),
}

/// The connection commands that read or change the connection's state, arguments checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnOp {
    /// `PING [message]`: `PONG`, or `[pong, message]` in RESP2 subscribed mode.
    Ping(Option<Bytes>),
    /// `READONLY` (true) / `READWRITE` (false).
    ReadOnly(bool),
    /// `MULTI`.
    Multi,
    /// `EXEC`.
    Exec,
    /// `DISCARD`.
    Discard,
    /// `WATCH key…`.
    Watch(Vec<Bytes>),
    /// `UNWATCH`.
    Unwatch,
    /// `SUBSCRIBE ch…` (`pattern`: `PSUBSCRIBE`).
    Subscribe {
        /// Patterns rather than channels.
        pattern: bool,
        /// The names.
        names: Vec<Bytes>,
    },
    /// `UNSUBSCRIBE [ch…]` (`pattern`: `PUNSUBSCRIBE`); no names means all.
    Unsubscribe {
        /// Patterns rather than channels.
        pattern: bool,
        /// The names.
        names: Vec<Bytes>,
    },
    /// `PUBSUB CHANNELS|NUMSUB|NUMPAT …`: this node's subscriptions.
    PubSub(Vec<Bytes>),
    /// `HELLO [protover [AUTH u p] [SETNAME n]]`, options checked.
    Hello {
        /// The version asked for; `None` keeps the current one.
        proto: Option<Proto>,
        /// `SETNAME`.
        name: Option<Bytes>,
    },
    /// `CLIENT subcommand …`.
    Client(Vec<Bytes>),
    /// `CONFIG subcommand …`.
    Config(Vec<Bytes>),
    /// `RESET`.
    Reset,
}

impl ConnOp {
    /// True for an op that changes the connection, so it may not wait in a transaction queue.
    pub fn changes_the_connection(&self) -> bool {
        match self {
            ConnOp::Client(args) => !matches!(
                args.first().map(|s| s.to_ascii_lowercase()).as_deref(),
                Some(b"id" | b"info" | b"list" | b"getname")
            ),
            ConnOp::Ping(_) | ConnOp::PubSub(_) | ConnOp::Config(_) | ConnOp::Unwatch => false,
            _ => true,
        }
    }
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
    let refuse = |message: &str| Action::Refused {
        frame: Frame::error("ERR", message),
        unknown: false,
    };
    let Frame::Array(items) = frame else {
        return refuse("Protocol error: expected an array of bulk strings");
    };
    let mut args = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Frame::Bulk(b) => args.push(Some(b)),
            Frame::Null => args.push(None),
            _ => return refuse("Protocol error: expected bulk strings"),
        }
    }
    let Some(Some(name)) = args.first().cloned() else {
        return refuse("empty command");
    };
    let lower = String::from_utf8_lossy(&name).to_ascii_lowercase();
    match interpret_named(&lower, &name, &args[1..]) {
        Ok(action) => action,
        Err(frame) => Action::Refused {
            frame,
            unknown: false,
        },
    }
}

/// Arguments after the command name; `None` is a null bulk.
pub(super) type Args<'a> = &'a [Option<Bytes>];

fn interpret_named(name: &str, raw: &Bytes, args: Args<'_>) -> Result<Action, Frame> {
    if let Some(spec) = table::lookup(name) {
        if !table::arity_accepts(spec.arity, args.len() + 1) {
            return Err(arity(name));
        }
        return connection_command(spec, non_null(name, args)?);
    }
    if let Some(frame) = (name == "function").then(|| no_functions(args)).flatten() {
        return Ok(Action::Local(frame));
    }
    if let Some(why) = refused(name) {
        return Err(why);
    }
    if name == "cas" {
        return cas(args).map(Action::Kv);
    }
    let words = non_null(name, args)?;
    match Command::new(raw, words) {
        Ok(command) => Ok(Action::Kv(command)),
        Err(e) => Ok(Action::Refused {
            frame: Frame::error(e.code(), &e),
            unknown: kv::table::lookup(raw).is_none(),
        }),
    }
}

/// TIME: this node's wall clock as Redis answers it, `[seconds, microseconds]` (two bulks).
/// Only the answer: expiry is judged by the log's clock, never by this one (kv `lib.rs`).
fn time_now() -> Frame {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Frame::Array(vec![
        Frame::bulk(since_epoch.as_secs().to_string()),
        Frame::bulk(since_epoch.subsec_micros().to_string()),
    ])
}

/// A connection command whose arity was checked.
fn connection_command(spec: &ConnSpec, args: Vec<Bytes>) -> Result<Action, Frame> {
    let op = match spec.name {
        "echo" => return Ok(Action::Local(Frame::Bulk(args[0].clone()))),
        "time" => return Ok(Action::Local(time_now())),
        "command" => return Ok(Action::Local(command_info::command(&args))),
        "select" => return select(&args[0]).map(Action::Local),
        "quit" => return Ok(Action::Quit),
        "info" | "distributed.status" => return Ok(Action::Status),
        "ping" if args.len() > 1 => return Err(arity("ping")),
        "ping" => ConnOp::Ping(args.into_iter().next()),
        "readonly" => ConnOp::ReadOnly(true),
        "readwrite" => ConnOp::ReadOnly(false),
        "multi" => ConnOp::Multi,
        "exec" => ConnOp::Exec,
        "discard" => ConnOp::Discard,
        "watch" => ConnOp::Watch(args),
        "unwatch" => ConnOp::Unwatch,
        "reset" => ConnOp::Reset,
        "subscribe" | "psubscribe" => ConnOp::Subscribe {
            pattern: spec.name == "psubscribe",
            names: args,
        },
        "unsubscribe" | "punsubscribe" => ConnOp::Unsubscribe {
            pattern: spec.name == "punsubscribe",
            names: args,
        },
        "pubsub" => ConnOp::PubSub(args),
        "hello" => hello(&args)?,
        "client" => ConnOp::Client(args),
        "config" => ConnOp::Config(args),
        // A bad timeout is answered as the command's reply (inside MULTI, in EXEC's array).
        name if blocking::NAMES.contains(&name) => {
            return Ok(blocking::parse(name, &args).map_or_else(Action::Local, Action::Block))
        }
        other => unreachable!("the connection table row '{other}' has no interpretation"),
    };
    Ok(Action::Conn(op))
}

/// `SELECT db`: only database 0 exists.
fn select(db: &[u8]) -> Result<Frame, Frame> {
    match db {
        b"0" => Ok(Frame::ok()),
        _ if std::str::from_utf8(db).is_ok_and(|s| s.parse::<i64>().is_ok()) => {
            Err(Frame::error("ERR", "DB index is out of range"))
        }
        _ => Err(Frame::error(
            "ERR",
            "value is not an integer or out of range",
        )),
    }
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`, Redis' checks and texts.
fn hello(args: &[Bytes]) -> Result<ConnOp, Frame> {
    let mut proto = None;
    let mut name = None;
    let mut rest = args;
    if let Some((version, tail)) = args.split_first() {
        let v: i64 = std::str::from_utf8(version)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                Frame::error("ERR", "Protocol version is not an integer or out of range")
            })?;
        proto = Some(match v {
            2 => Proto::Resp2,
            3 => Proto::Resp3,
            _ => return Err(Frame::error("NOPROTO", "unsupported protocol version")),
        });
        rest = tail;
    }
    while let Some((opt, tail)) = rest.split_first() {
        match (opt.to_ascii_lowercase().as_slice(), tail) {
            (b"auth", [_, _, ..]) => {
                return Err(Frame::error(
                    "ERR",
                    "HELLO AUTH is not supported: this server has no users or passwords \
                     (send HELLO without AUTH)",
                ))
            }
            (b"setname", [n, more @ ..]) => {
                name = Some(n.clone());
                rest = more;
            }
            _ => {
                let why = format!(
                    "Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(opt)
                );
                return Err(Frame::error("ERR", why));
            }
        }
    }
    Ok(ConnOp::Hello { proto, name })
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

/// The frame for a state machine reply, shape for shape (the table in `kv::reply`); the
/// encoder flattens maps, sets and doubles for a RESP2 connection.
pub fn reply_frame(reply: &Reply) -> Frame {
    let all = |items: &[Reply]| items.iter().map(reply_frame).collect();
    match reply {
        Reply::Status(s) => Frame::Simple(String::from_utf8_lossy(s).into_owned()),
        Reply::Error(e) => Frame::error(e.code(), e),
        Reply::Int(n) => Frame::Integer(*n),
        Reply::Bulk(b) => Frame::Bulk(b.clone()),
        Reply::Double(d) => Frame::Double(d.clone()),
        Reply::Null => Frame::Null,
        Reply::NullArray => Frame::NullArray,
        Reply::Array(items) => Frame::Array(all(items)),
        Reply::Set(items) => Frame::Set(all(items)),
        Reply::Map(pairs) => Frame::Map(all_pairs(pairs)),
        Reply::Pairs(pairs) => Frame::Pairs(all_pairs(pairs)),
    }
}

fn all_pairs(pairs: &[(Reply, Reply)]) -> Vec<(Frame, Frame)> {
    pairs
        .iter()
        .map(|(k, v)| (reply_frame(k), reply_frame(v)))
        .collect()
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
            Action::Refused {
                frame: Frame::Error(e),
                ..
            } => e,
            other => panic!("expected a refusal, got {other:?}"),
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
        for write in [
            &["SET", "k", "v"][..],
            &["INCR", "k"],
            &["DEL", "k"],
            &["PUBLISH", "c", "m"],
        ] {
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
    fn function_flush_and_list_answer_for_a_server_without_functions_and_the_rest_is_refused() {
        for flush in [&["FUNCTION", "FLUSH"][..], &["function", "flush", "ASYNC"]] {
            assert_eq!(run(flush), Action::Local(Frame::ok()), "{flush:?}");
        }
        assert_eq!(
            run(&["FUNCTION", "LIST"]),
            Action::Local(Frame::Array(Vec::new()))
        );
        for refused in [
            &["FUNCTION", "LOAD", "#!lua name=x"][..],
            &["FUNCTION", "FLUSH", "NOW"],
            &["FUNCTION"],
            &["EVAL", "return 1", "0"],
        ] {
            assert!(
                error_text(run(refused)).contains("is not supported"),
                "{refused:?}"
            );
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
    fn wrong_arity_and_unknown_commands_are_refused_with_redis_texts_and_unknown_is_marked() {
        assert!(error_text(run(&["GET"])).contains("wrong number of arguments for 'get'"));
        assert!(error_text(run(&["MULTI", "x"])).contains("wrong number of arguments for 'multi'"));
        assert!(error_text(run(&["WATCH"])).contains("wrong number of arguments for 'watch'"));
        let unknown = run(&["FLY", "me"]);
        assert!(matches!(unknown, Action::Refused { unknown: true, .. }));
        assert!(error_text(unknown).contains("unknown command 'FLY'"));
        assert!(matches!(
            run(&["GET"]),
            Action::Refused { unknown: false, .. }
        ));
        assert!(error_text(run(&["EVAL", "return 1", "0"])).contains("Lua"));
        assert!(error_text(run(&["AUTH", "pw"])).contains("without any password configured"));
    }

    #[test]
    fn hello_checks_its_version_and_options_as_redis_does() {
        let hello3 = ConnOp::Hello {
            proto: Some(Proto::Resp3),
            name: Some(b("me")),
        };
        assert_eq!(run(&["HELLO", "3", "SETNAME", "me"]), Action::Conn(hello3));
        assert_eq!(
            run(&["HELLO"]),
            Action::Conn(ConnOp::Hello {
                proto: None,
                name: None
            })
        );
        assert!(
            error_text(run(&["HELLO", "4"])).starts_with("NOPROTO unsupported protocol version")
        );
        assert!(error_text(run(&["HELLO", "x"])).contains("Protocol version is not an integer"));
        assert!(error_text(run(&["HELLO", "3", "AUTH", "u", "p"])).contains("no users"));
        assert!(
            error_text(run(&["HELLO", "3", "FOO"])).contains("Syntax error in HELLO option 'FOO'")
        );
    }

    #[test]
    fn connection_commands_become_ops_on_the_connection_and_tables_answer_at_once() {
        assert_eq!(run(&["PING"]), Action::Conn(ConnOp::Ping(None)));
        assert_eq!(run(&["MULTI"]), Action::Conn(ConnOp::Multi));
        assert_eq!(
            run(&["watch", "a", "b"]),
            Action::Conn(ConnOp::Watch(vec![b("a"), b("b")]))
        );
        assert_eq!(
            run(&["PSUBSCRIBE", "n*"]),
            Action::Conn(ConnOp::Subscribe {
                pattern: true,
                names: vec![b("n*")]
            })
        );
        assert_eq!(run(&["ECHO", "hi"]), Action::Local(Frame::bulk("hi")));
        assert!(matches!(
            run(&["COMMAND", "DOCS"]),
            Action::Local(Frame::Map(_))
        ));
        assert_eq!(run(&["SELECT", "0"]), Action::Local(Frame::ok()));
        assert_eq!(
            error_text(run(&["SELECT", "9"])),
            "ERR DB index is out of range"
        );
        assert_eq!(run(&["INFO", "replication"]), Action::Status);
        assert_eq!(run(&["READONLY"]), Action::Conn(ConnOp::ReadOnly(true)));
        assert_eq!(run(&["readwrite"]), Action::Conn(ConnOp::ReadOnly(false)));
        assert!(!ConnOp::Client(vec![b("ID")]).changes_the_connection());
        assert!(ConnOp::Client(vec![b("SETNAME"), b("x")]).changes_the_connection());
    }

    #[test]
    fn every_reply_shape_becomes_its_frame_shape() {
        assert_eq!(reply_frame(&Reply::Null), Frame::Null);
        assert_eq!(reply_frame(&Reply::NullArray), Frame::NullArray);
        assert_eq!(reply_frame(&Reply::ok()), Frame::ok());
        let map = Reply::Map(vec![(Reply::Bulk(b("f")), Reply::Bulk(b("v")))]);
        assert_eq!(
            reply_frame(&map),
            Frame::Map(vec![(Frame::bulk("f"), Frame::bulk("v"))])
        );
        let set = Reply::Set(vec![Reply::Bulk(b("m"))]);
        assert_eq!(reply_frame(&set), Frame::Set(vec![Frame::bulk("m")]));
        assert_eq!(
            reply_frame(&Reply::Double(b("1.5"))),
            Frame::Double(b("1.5"))
        );
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
