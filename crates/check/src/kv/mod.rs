//! The bundled models: a Redis-like key-value store, a read/write register and a counter.
//!
//! All three read the same history vocabulary ([`Command`] in, [`Outcome`] out), so one history
//! file format serves them all. Operations on independent keys never see each other, so
//! P-compositionality lets the checker search each group of keys alone: a model lists the keys
//! each command touches, and a transaction joins its keys into one partition.
//!
//! ```text
//!   kv        every command, transactions, deadlines   state: the partition's keys' values
//!   register  get put                                   state: Option<String>
//!   counter   get incr                                  state: i64  (absent reads as 0)
//! ```
//!
//! Layout:
//!
//! ```text
//! command.rs   Command: every command, its keys, its name, its Display
//! outcome.rs   Outcome: every answer, which kind each command gets, one-line descriptions
//! types.rs     the values (string, hash, list, set, sorted set) and the typed commands
//! expiry.rs    deadlines judged from invoke/return times: the rule and why it is sound
//! state.rs     KvState: the partition's values in each world still possible
//! model.rs     KvModel: one step = expire, split on doubt, run, keep what fits
//! simple.rs    RegisterModel and CounterModel: one key, one value
//! request.rs   kv::Body and kv::Reply (the store's types) read as Command and Outcome
//! ```

use std::fmt;
use std::str::FromStr;

mod command;
mod expiry;
mod model;
mod outcome;
mod request;
mod simple;
mod state;
mod types;

pub use command::{Command, MULTI_OPS_MAX};
pub use expiry::WORLDS_MAX;
pub use model::KvModel;
pub use outcome::Outcome;
pub(crate) use outcome::{describe, Answer};
pub use request::{command_from_kv, outcome_from_kv};
pub use simple::{CounterModel, RegisterModel};
pub use state::KvState;

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
