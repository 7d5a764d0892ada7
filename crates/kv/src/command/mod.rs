//! Commands and requests: what a client asks the replicated keyspace to do.
//!
//! A [`Command`] is a Redis command as its words (`SET k v EX 10`), checked against the
//! command table (`table.rs`) for its name and arity when it is built. The words travel
//! through the log as they are, and every replica runs them with the same function, the way
//! RedisRaft replicates Redis: the front end never translates, so a new command is one row in
//! the table and one function.
//!
//! ```text
//!   RESP *3 $3 SET $1 k $1 v ──► Command::from_words([SET, k, v]) ──► table: "set", arity -3 ok
//!   Request { client_id, seq, time_ms, body: One(command) | Exec { watched, since, commands } }
//!        └─ the log ──► every replica: exec(command) at (index, time_ms) ──► Reply
//! ```
//!
//! `time_ms` is the leader's clock when it proposed the request: the log's time, by which every
//! replica judges expiry (`machine.rs`). `Exec` is a MULTI/EXEC transaction: its commands
//! apply in one log entry, all or nothing, unless a watched key changed after index `since`.
//!
//! Ours, not Redis': `CAS key expected new` writes `new` only if the key holds exactly
//! `expected`, and `CAS key new` only if the key is absent; both answer `[1|0, current value]`.
//!
//! Invariants: a `Command` always names a command in the table with an accepted number of
//! words; its meaning lives in `exec/`, its bytes in `codec/`, its one-line text in
//! `display.rs`.

pub mod table;

use bytes::Bytes;

use crate::reply::KvError;
use table::{lookup, unknown_command_message, Spec};

/// One command: a row of the table and the words after its name.
#[derive(Clone, Debug)]
pub struct Command {
    /// The table row: name, flags, keys, and the function that runs it.
    spec: &'static Spec,
    /// The arguments, the name excluded.
    args: Vec<Bytes>,
}

impl PartialEq for Command {
    fn eq(&self, other: &Self) -> bool {
        self.spec.name == other.spec.name && self.args == other.args
    }
}

impl Eq for Command {}

impl Command {
    /// The command `name` with `args`, or the error Redis gives for an unknown command or a
    /// wrong number of arguments.
    pub fn new(name: &[u8], args: Vec<Bytes>) -> Result<Command, KvError> {
        let spec = lookup(name).ok_or_else(|| KvError::Other {
            code: "ERR".into(),
            message: unknown_command_message(name, &args),
        })?;
        if !spec.arity_accepts(args.len() + 1) {
            return Err(KvError::WrongArity {
                command: spec.name.to_string(),
            });
        }
        Ok(Command { spec, args })
    }

    /// The command whose words (its name first) are `words`.
    pub fn from_words(mut words: Vec<Bytes>) -> Result<Command, KvError> {
        if words.is_empty() {
            return Err(KvError::Other {
                code: "ERR".into(),
                message: "empty command".into(),
            });
        }
        let name = words.remove(0);
        Command::new(&name, words)
    }

    /// Its table row.
    pub fn spec(&self) -> &'static Spec {
        self.spec
    }

    /// Its name, lower-case.
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// The words after the name.
    pub fn args(&self) -> &[Bytes] {
        &self.args
    }

    /// True if it never changes the keyspace (a read path may serve it without the log).
    pub fn is_read_only(&self) -> bool {
        self.spec.is_read_only()
    }

    /// The arguments that are keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &Bytes> + '_ {
        self.spec
            .key_positions(self.args.len())
            .map(|p| &self.args[p])
    }
}

/// Shorthands for the commands tests and workloads build most; each is a valid command.
impl Command {
    fn fixed(name: &str, args: Vec<Bytes>) -> Command {
        Command::new(name.as_bytes(), args).expect("a shorthand builds a valid command")
    }

    /// `GET key`.
    pub fn get(key: impl Into<Bytes>) -> Command {
        Command::fixed("get", vec![key.into()])
    }

    /// `SET key value`.
    pub fn set(key: impl Into<Bytes>, value: impl Into<Bytes>) -> Command {
        Command::fixed("set", vec![key.into(), value.into()])
    }

    /// `DEL key…` (at least one key).
    pub fn del(keys: Vec<Bytes>) -> Command {
        Command::fixed("del", keys)
    }

    /// `APPEND key value`.
    pub fn append(key: impl Into<Bytes>, value: impl Into<Bytes>) -> Command {
        Command::fixed("append", vec![key.into(), value.into()])
    }

    /// `INCRBY key by`.
    pub fn incr_by(key: impl Into<Bytes>, by: i64) -> Command {
        Command::fixed("incrby", vec![key.into(), Bytes::from(by.to_string())])
    }

    /// `CAS key expected new`, or `CAS key new` (the key must be absent) for `None`.
    pub fn cas(key: impl Into<Bytes>, expected: Option<Bytes>, new: impl Into<Bytes>) -> Command {
        let mut args = vec![key.into()];
        args.extend(expected);
        args.push(new.into());
        Command::fixed("cas", args)
    }

    /// `DISTRIBUTED.NOOP`: changes nothing, through the log (tests, and a leader's barrier).
    pub fn noop() -> Command {
        Command::fixed("distributed.noop", Vec::new())
    }
}

/// What one log entry asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// One command.
    One(Command),
    /// A MULTI/EXEC transaction: every command in order, in this one entry, unless a key in
    /// `watched` changed after log index `since` (WATCH), in which case nothing runs.
    Exec {
        /// Keys the client watched; empty without WATCH.
        watched: Vec<Bytes>,
        /// The applied index at which the client read its watched keys.
        since: u64,
        /// The queued commands.
        commands: Vec<Command>,
    },
}

impl Body {
    /// True if nothing in it can change the keyspace.
    pub fn is_read_only(&self) -> bool {
        match self {
            Body::One(c) => c.is_read_only(),
            Body::Exec { commands, .. } => commands.iter().all(Command::is_read_only),
        }
    }
}

/// A command (or transaction) plus who sent it and when: what a log entry holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The client's session, or `NO_SESSION` for a one-shot request (see `session.rs`).
    pub client_id: u64,
    /// The client's request number within its session (1, 2, …).
    pub seq: u64,
    /// The leader's clock, in milliseconds, when it proposed this request: the log's time.
    /// 0 until a leader stamps it.
    pub time_ms: u64,
    /// What to do.
    pub body: Body,
}

impl Request {
    /// The `client_id` of a request that belongs to no session.
    pub const NO_SESSION: u64 = 0;

    /// A one-shot request: no session, applied as often as it is committed.
    pub fn once(command: Command) -> Self {
        Request::in_session(Self::NO_SESSION, 0, command)
    }

    /// A request in session `client_id` with number `seq`.
    pub fn in_session(client_id: u64, seq: u64, command: Command) -> Self {
        Request {
            client_id,
            seq,
            time_ms: 0,
            body: Body::One(command),
        }
    }

    /// The single command, if this is not a transaction.
    pub fn command(&self) -> Option<&Command> {
        match &self.body {
            Body::One(c) => Some(c),
            Body::Exec { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn a_command_is_checked_against_the_table_when_built() {
        let set = Command::from_words(vec![b("SeT"), b("k"), b("v")]).unwrap();
        assert_eq!(set.name(), "set");
        assert!(!set.is_read_only());
        let err = Command::new(b"get", vec![]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wrong number of arguments for 'get' command"
        );
        let err = Command::new(b"frobnicate", vec![b("a")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown command 'frobnicate', with args beginning with: 'a'"
        );
    }

    #[test]
    fn keys_are_found_by_the_key_spec() {
        let mset = Command::new(b"mset", vec![b("a"), b("1"), b("b"), b("2")]).unwrap();
        let keys: Vec<&Bytes> = mset.keys().collect();
        assert_eq!(keys, [&b("a"), &b("b")]);
        assert_eq!(Command::get("x").keys().count(), 1);
    }

    #[test]
    fn cas_without_an_expected_value_means_the_key_must_be_absent() {
        assert_eq!(Command::cas("k", None, "v").args().len(), 2);
        assert_eq!(Command::cas("k", Some(b("old")), "v").args().len(), 3);
    }
}
