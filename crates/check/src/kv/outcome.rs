//! What the client was told: [`Outcome`], and which kind of answer each command gets.
//!
//! ```text
//!   get hget lpop rpop zscore           Value("x") | Value(nil) | WrongType
//!   put delete                          Done
//!   append                              Done | WrongType
//!   cas                                 Swapped(bool) | WrongType
//!   incr                                Counter(n) | WrongType
//!   hset hdel hlen lpush rpush llen
//!   sadd srem sismember scard
//!   zadd zrem zcard                     Int(n) | WrongType
//!   pexpire persist pttl ttl exists     Int(n)
//!   multi                               Multi([one answer per sub-command]) | Aborted
//! ```
//!
//! `WrongType` is Redis's `WRONGTYPE` error: the command met a key holding another type, and
//! nothing changed. `Aborted` is an `EXEC` answered nil because a `WATCH`ed key changed: the
//! transaction applied nothing.

use std::fmt;

use super::command::{show, Command};

/// What the client was told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A write (`put`, `append`, `delete`) was acknowledged.
    Done,
    /// A read answered this value; `None` means nothing there (absent key, field or member).
    Value(Option<String>),
    /// A `cas` swapped (`true`) or found another value (`false`).
    Swapped(bool),
    /// An `incr` returned the new value.
    Counter(i64),
    /// An integer reply: a count, a length, a 0/1 flag, a time to live.
    Int(i64),
    /// `WRONGTYPE`: the key holds another type; nothing changed.
    WrongType,
    /// A transaction's answers, one per sub-command, in order.
    Multi(Vec<Outcome>),
    /// A transaction that applied nothing (`EXEC` answered nil: a watched key changed).
    Aborted,
}

impl Outcome {
    /// A read that answered `value`.
    pub fn value(value: &str) -> Self {
        Outcome::Value(Some(value.to_string()))
    }

    /// A read that found nothing.
    pub fn nil() -> Self {
        Outcome::Value(None)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done => write!(f, "ok"),
            Outcome::Value(v) => write!(f, "{}", show(v.as_deref())),
            Outcome::Swapped(b) => write!(f, "{b}"),
            Outcome::Counter(n) | Outcome::Int(n) => write!(f, "{n}"),
            Outcome::WrongType => write!(f, "WRONGTYPE"),
            Outcome::Aborted => write!(f, "aborted"),
            Outcome::Multi(outs) => {
                f.write_str("[")?;
                for (i, o) in outs.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{o}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// The kinds of answer a command gets (see the module table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// `Value`.
    Value,
    /// `Done`.
    Done,
    /// `Swapped`.
    Swapped,
    /// `Counter`.
    Counter,
    /// `Int`.
    Int,
    /// `Multi` or `Aborted`.
    Transaction,
}

impl Command {
    /// The kind of answer this command gets when it succeeds.
    pub(crate) fn answer(&self) -> Answer {
        use Command as C;
        match self {
            C::Get { .. } | C::HGet { .. } | C::LPop { .. } | C::RPop { .. } | C::ZScore { .. } => {
                Answer::Value
            }
            C::Put { .. } | C::PutPx { .. } | C::Append { .. } | C::Delete { .. } => Answer::Done,
            C::Cas { .. } => Answer::Swapped,
            C::Incr { .. } => Answer::Counter,
            C::Multi(_) => Answer::Transaction,
            _ => Answer::Int,
        }
    }

    /// Whether the command can meet a key of another type and answer `WRONGTYPE`: every
    /// command that reads or changes a value in place (not `put`, `delete` and the expiry
    /// commands, which work on any type).
    pub(crate) fn can_be_wrongtype(&self) -> bool {
        !matches!(
            self,
            Command::Put { .. }
                | Command::PutPx { .. }
                | Command::Delete { .. }
                | Command::PExpire { .. }
                | Command::PTtl { .. }
                | Command::Persist { .. }
                | Command::Ttl { .. }
                | Command::Exists { .. }
                | Command::Multi(_)
        )
    }

    /// Whether `outcome` is the kind of answer this command gets (a `get` gets a value, a
    /// transaction one answer per sub-command or `aborted`, ...).
    pub fn accepts_outcome(&self, outcome: &Outcome) -> bool {
        match (self.answer(), outcome) {
            (_, Outcome::WrongType) => self.can_be_wrongtype(),
            (Answer::Transaction, Outcome::Aborted) => true,
            (Answer::Transaction, Outcome::Multi(outs)) => match self {
                Command::Multi(commands) => {
                    commands.len() == outs.len()
                        && commands.iter().zip(outs).all(|(c, o)| c.accepts_outcome(o))
                }
                _ => false,
            },
            (Answer::Value, Outcome::Value(_))
            | (Answer::Done, Outcome::Done)
            | (Answer::Swapped, Outcome::Swapped(_))
            | (Answer::Counter, Outcome::Counter(_))
            | (Answer::Int, Outcome::Int(_)) => true,
            _ => false,
        }
    }

    /// What a history must answer for this command, in words, for error messages.
    pub(crate) fn wanted(&self) -> &'static str {
        match self.answer() {
            Answer::Value => "a value (string or null)",
            Answer::Done => "nothing (ok)",
            Answer::Swapped => "true or false",
            Answer::Counter => "the new integer value",
            Answer::Int => "an integer",
            Answer::Transaction => "one answer per sub-command, or \"aborted\"",
        }
    }
}

/// `put(k, "x")` for writes (their `ok` says nothing), `get(k) -> "x"` for the rest, and a
/// transaction with each answer next to its sub-command:
/// `multi[put(a, "1"); incr(n, 1) -> 2]`.
pub(crate) fn describe(input: &Command, output: Option<&Outcome>) -> String {
    match (input, output) {
        (Command::Multi(commands), Some(Outcome::Multi(outs))) => {
            let parts: Vec<String> = commands
                .iter()
                .zip(outs)
                .map(|(c, o)| describe(c, Some(o)))
                .collect();
            format!("multi[{}]", parts.join("; "))
        }
        (_, None | Some(Outcome::Done)) => input.to_string(),
        (_, Some(out)) => format!("{input} -> {out}"),
    }
}
