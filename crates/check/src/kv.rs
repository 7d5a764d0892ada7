//! The bundled models: a key-value store, a read/write register and a counter.
//!
//! All three read the same history vocabulary ([`Command`] in, [`Outcome`] out), so one history
//! file format serves them all. Each partitions by key: the operations on one key never see
//! another key, so P-compositionality lets the checker search each key alone, and each model's
//! state is the value of *that one key*.
//!
//! ```text
//!   kv        get put append cas delete incr   state: Option<String>  (nil = absent)
//!   register  get put                          state: Option<String>
//!   counter   get incr                         state: i64             (absent reads as 0)
//! ```
//!
//! Semantics follow Redis, which the server's RESP front end speaks: `append` to an absent key
//! creates it, `incr` treats an absent key as 0 and a non-integer value as an error, and `cas`
//! with `expected = nil` succeeds only if the key is absent.
//!
//! With no return (`output = None`) every command is accepted from every state (see the
//! contract in `model.rs`): a `cas` swaps if the compare holds, an `incr` on a non-integer
//! changes nothing (it would have failed), a `get` changes nothing.

use std::fmt;
use std::str::FromStr;

use crate::model::Model;

/// What a client asked the store to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Read the key's value.
    Get {
        /// The key read; also the partition.
        key: String,
    },
    /// Overwrite the key's value.
    Put {
        /// The key written.
        key: String,
        /// The new value.
        value: String,
    },
    /// Append to the key's value (an absent key counts as "").
    Append {
        /// The key written.
        key: String,
        /// The suffix added.
        value: String,
    },
    /// Compare-and-set: write `new` only if the value is `expected` (`None` = absent).
    Cas {
        /// The key compared and written.
        key: String,
        /// The value the key must hold for the swap to happen; `None` means absent.
        expected: Option<String>,
        /// The value written on success.
        new: String,
    },
    /// Remove the key.
    Delete {
        /// The key removed.
        key: String,
    },
    /// Add `delta` to the key's integer value (absent = 0) and return the result.
    Incr {
        /// The key incremented.
        key: String,
        /// How much to add; may be negative.
        delta: i64,
    },
}

impl Command {
    /// `get(key)`.
    pub fn get(key: &str) -> Self {
        Command::Get {
            key: key.to_string(),
        }
    }

    /// `put(key, value)`.
    pub fn put(key: &str, value: &str) -> Self {
        Command::Put {
            key: key.to_string(),
            value: value.to_string(),
        }
    }

    /// `append(key, value)`.
    pub fn append(key: &str, value: &str) -> Self {
        Command::Append {
            key: key.to_string(),
            value: value.to_string(),
        }
    }

    /// `cas(key, expected -> new)`; `expected = None` means "only if absent".
    pub fn cas(key: &str, expected: Option<&str>, new: &str) -> Self {
        let expected = expected.map(str::to_string);
        Command::Cas {
            key: key.to_string(),
            expected,
            new: new.to_string(),
        }
    }

    /// `delete(key)`.
    pub fn delete(key: &str) -> Self {
        Command::Delete {
            key: key.to_string(),
        }
    }

    /// `incr(key, delta)`.
    pub fn incr(key: &str, delta: i64) -> Self {
        Command::Incr {
            key: key.to_string(),
            delta,
        }
    }

    /// The key this command touches.
    pub fn key(&self) -> &str {
        match self {
            Command::Get { key }
            | Command::Put { key, .. }
            | Command::Append { key, .. }
            | Command::Cas { key, .. }
            | Command::Delete { key }
            | Command::Incr { key, .. } => key,
        }
    }

    /// The history file's name for this command (`"get"`, `"cas"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Get { .. } => "get",
            Command::Put { .. } => "put",
            Command::Append { .. } => "append",
            Command::Cas { .. } => "cas",
            Command::Delete { .. } => "delete",
            Command::Incr { .. } => "incr",
        }
    }

    /// Whether `outcome` is the kind of answer this command gets (a `get` gets a value, ...).
    pub fn accepts_outcome(&self, outcome: &Outcome) -> bool {
        matches!(
            (self, outcome),
            (Command::Get { .. }, Outcome::Value(_))
                | (
                    Command::Put { .. } | Command::Append { .. } | Command::Delete { .. },
                    Outcome::Done
                )
                | (Command::Cas { .. }, Outcome::Swapped(_))
                | (Command::Incr { .. }, Outcome::Counter(_))
        )
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Get { key } => write!(f, "get({key})"),
            Command::Put { key, value } => write!(f, "put({key}, {value:?})"),
            Command::Append { key, value } => write!(f, "append({key}, {value:?})"),
            Command::Cas { key, expected, new } => {
                write!(
                    f,
                    "cas({key}, {} -> {new:?})",
                    show_value(expected.as_deref())
                )
            }
            Command::Delete { key } => write!(f, "delete({key})"),
            Command::Incr { key, delta } => write!(f, "incr({key}, {delta})"),
        }
    }
}

/// What the client was told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A write (`put`, `append`, `delete`) was acknowledged.
    Done,
    /// A `get` read this value; `None` means the key was absent.
    Value(Option<String>),
    /// A `cas` swapped (`true`) or found another value (`false`).
    Swapped(bool),
    /// An `incr` returned the new value.
    Counter(i64),
}

impl Outcome {
    /// A `get` that read `value`.
    pub fn value(value: &str) -> Self {
        Outcome::Value(Some(value.to_string()))
    }

    /// A `get` that found the key absent.
    pub fn nil() -> Self {
        Outcome::Value(None)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done => write!(f, "ok"),
            Outcome::Value(v) => write!(f, "{}", show_value(v.as_deref())),
            Outcome::Swapped(b) => write!(f, "{b}"),
            Outcome::Counter(n) => write!(f, "{n}"),
        }
    }
}

/// `"x"` for a value, `nil` for absent: the notation reports use for states and reads.
fn show_value(v: Option<&str>) -> String {
    match v {
        Some(s) => format!("{s:?}"),
        None => "nil".to_string(),
    }
}

/// `put(k, "x")` for writes (their `ok` says nothing), `get(k) -> "x"` for the rest.
fn describe(input: &Command, output: Option<&Outcome>) -> String {
    match output {
        None | Some(Outcome::Done) => input.to_string(),
        Some(out) => format!("{input} -> {out}"),
    }
}

/// Which bundled model a history is checked against; a history file may name it in its
/// first line (`{"model":"register"}`), and `Kv` is the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModelKind {
    /// [`KvModel`]: every command.
    #[default]
    Kv,
    /// [`RegisterModel`]: `get` and `put`.
    Register,
    /// [`CounterModel`]: `get` and `incr`.
    Counter,
}

impl ModelKind {
    /// The name used in history files and reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Kv => "kv",
            ModelKind::Register => "register",
            ModelKind::Counter => "counter",
        }
    }

    /// Whether this model understands `command`.
    pub fn accepts(self, command: &Command) -> bool {
        match self {
            ModelKind::Kv => true,
            ModelKind::Register => matches!(command, Command::Get { .. } | Command::Put { .. }),
            ModelKind::Counter => matches!(command, Command::Get { .. } | Command::Incr { .. }),
        }
    }
}

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kv" => Ok(ModelKind::Kv),
            "register" => Ok(ModelKind::Register),
            "counter" => Ok(ModelKind::Counter),
            other => Err(format!(
                "unknown model {other:?} (expected kv, register or counter)"
            )),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A key-value store (Redis semantics), one key per partition.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

impl Model for KvModel {
    type State = Option<String>;
    type Input = Command;
    type Output = Outcome;

    fn name(&self) -> &str {
        "kv"
    }

    fn init(&self) -> Self::State {
        None
    }

    fn step(
        &self,
        state: &Self::State,
        input: &Command,
        output: Option<&Outcome>,
    ) -> Option<Self::State> {
        match input {
            Command::Get { .. } => read(state, output),
            Command::Put { value, .. } => acknowledged(output, Some(value.clone())),
            Command::Append { value, .. } => {
                let mut next = state.clone().unwrap_or_default();
                next.push_str(value);
                acknowledged(output, Some(next))
            }
            Command::Delete { .. } => acknowledged(output, None),
            Command::Cas { expected, new, .. } => {
                let swaps = state == expected;
                let next = if swaps {
                    Some(new.clone())
                } else {
                    state.clone()
                };
                match output {
                    None => Some(next),
                    Some(Outcome::Swapped(said)) if *said == swaps => Some(next),
                    Some(_) => None,
                }
            }
            Command::Incr { delta, .. } => {
                let current = state.as_deref().map_or(Some(0), |s| s.parse::<i64>().ok());
                let Some(next) = current.and_then(|n| n.checked_add(*delta)) else {
                    // A real store would have answered with an error: nothing it could have
                    // acknowledged, and nothing changed if the client never heard back.
                    return if output.is_none() {
                        Some(state.clone())
                    } else {
                        None
                    };
                };
                match output {
                    None => Some(Some(next.to_string())),
                    Some(Outcome::Counter(said)) if *said == next => Some(Some(next.to_string())),
                    Some(_) => None,
                }
            }
        }
    }

    fn partition(&self, input: &Command) -> String {
        input.key().to_string()
    }

    fn is_read_only(&self, input: &Command) -> bool {
        matches!(input, Command::Get { .. })
    }

    fn describe_operation(&self, input: &Command, output: Option<&Outcome>) -> String {
        describe(input, output)
    }

    fn describe_state(&self, state: &Self::State) -> String {
        show_value(state.as_deref())
    }
}

/// A `get` leaves the state alone and must have read it (or read nothing, with no return).
fn read(state: &Option<String>, output: Option<&Outcome>) -> Option<Option<String>> {
    match output {
        None => Some(state.clone()),
        Some(Outcome::Value(seen)) if seen == state => Some(state.clone()),
        Some(_) => None,
    }
}

/// A blind write: `next` whatever the state, if the answer was an acknowledgement.
fn acknowledged(output: Option<&Outcome>, next: Option<String>) -> Option<Option<String>> {
    match output {
        None | Some(Outcome::Done) => Some(next),
        Some(_) => None,
    }
}

/// A read/write register, one register per key: the classic first example of the literature.
#[derive(Clone, Copy, Debug, Default)]
pub struct RegisterModel;

impl Model for RegisterModel {
    type State = Option<String>;
    type Input = Command;
    type Output = Outcome;

    fn name(&self) -> &str {
        "register"
    }

    fn init(&self) -> Self::State {
        None
    }

    fn step(
        &self,
        state: &Self::State,
        input: &Command,
        output: Option<&Outcome>,
    ) -> Option<Self::State> {
        match input {
            Command::Get { .. } => read(state, output),
            Command::Put { value, .. } => acknowledged(output, Some(value.clone())),
            // Rejected by `History` validation before any search; impossible if it gets here.
            _ => None,
        }
    }

    fn partition(&self, input: &Command) -> String {
        input.key().to_string()
    }

    fn is_read_only(&self, input: &Command) -> bool {
        matches!(input, Command::Get { .. })
    }

    fn describe_operation(&self, input: &Command, output: Option<&Outcome>) -> String {
        describe(input, output)
    }

    fn describe_state(&self, state: &Self::State) -> String {
        show_value(state.as_deref())
    }
}

/// A counter per key: `incr` returns the new count, `get` reads it (absent reads as 0).
///
/// Cheaper than the kv model for counters (the state is an `i64`, not a string) and stricter:
/// a `get` must read an integer.
#[derive(Clone, Copy, Debug, Default)]
pub struct CounterModel;

impl Model for CounterModel {
    type State = i64;
    type Input = Command;
    type Output = Outcome;

    fn name(&self) -> &str {
        "counter"
    }

    fn init(&self) -> i64 {
        0
    }

    fn step(&self, state: &i64, input: &Command, output: Option<&Outcome>) -> Option<i64> {
        match (input, output) {
            (Command::Get { .. }, None) => Some(*state),
            (Command::Get { .. }, Some(Outcome::Value(None))) => (*state == 0).then_some(0),
            (Command::Get { .. }, Some(Outcome::Value(Some(s)))) => {
                (s.parse::<i64>().ok() == Some(*state)).then_some(*state)
            }
            (Command::Incr { delta, .. }, output) => match (state.checked_add(*delta), output) {
                (Some(next), None) => Some(next),
                (Some(next), Some(Outcome::Counter(said))) if *said == next => Some(next),
                (None, None) => Some(*state),
                _ => None,
            },
            _ => None,
        }
    }

    fn partition(&self, input: &Command) -> String {
        input.key().to_string()
    }

    fn is_read_only(&self, input: &Command) -> bool {
        matches!(input, Command::Get { .. })
    }

    fn describe_operation(&self, input: &Command, output: Option<&Outcome>) -> String {
        describe(input, output)
    }

    fn describe_state(&self, state: &i64) -> String {
        state.to_string()
    }
}
