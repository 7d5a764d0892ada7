//! A recorded history of key-value operations, and the builder that records one.
//!
//! A history is what clients saw: for each operation, who sent it, what it asked, when it was
//! invoked, and when and what it returned (or that it never did). The simulator and the real
//! client library record into a [`HistoryBuilder`] as events happen:
//!
//! ```text
//!   t=10  client 3 sends put(k1,"x")  ──► let id = b.invoke(3, Command::put("k1", "x"), 10)
//!   t=14  client 3 gets ok            ──► b.complete(id, Outcome::Done, 14)?
//!   t=20  client 4 sends get(k1)      ──► let id2 = b.invoke(4, Command::get("k1"), 20)
//!         client 4 times out          ──► (nothing: an operation never completed is "no return")
//!   end                               ──► let history = b.build()?
//! ```
//!
//! Invariants every [`History`] keeps (checked by [`History::new`], so parsing and building
//! share them): each command is one the model understands, each output is the kind its command
//! gets (`get` → value, `cas` → bool, `incr` → integer, other writes → ok, a transaction → one
//! answer per sub-command or aborted; see `kv/outcome.rs`), a transaction holds 1 to
//! `MULTI_OPS_MAX` sub-commands and no transaction, a time to live is at least 1, and no
//! operation returns before it was invoked.
//!
//! A history may also carry each replica's **final state**, read after a quiet period (no client
//! writing, replication finished): one [`FinalValue`] per (replica, key). Only eventual
//! convergence (`weak/convergence.rs`) reads it; the other checkers ignore it. Invariants: at
//! most one final value per (replica, key), and a final value's values are sorted, distinct and
//! at most [`SIBLINGS_MAX`].

use std::collections::BTreeMap;
use std::fmt;

use crate::checker::{CheckResult, Checker};
use crate::kv::{command_from_kv, outcome_from_kv, Command, ModelKind, Outcome, MULTI_OPS_MAX};
use crate::model::{ClientId, Completion, Operation, Time};

/// An operation of a key-value history.
pub type KvOperation = Operation<Command, Outcome>;

/// Why a history was rejected: what is wrong and, for a file, on which line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryError {
    /// 1-based line of the history file, when the history came from one.
    pub line: Option<usize>,
    /// What is wrong, in words a person can act on.
    pub message: String,
}

impl HistoryError {
    /// An error not tied to a file line.
    pub fn new(message: impl Into<String>) -> Self {
        HistoryError {
            line: None,
            message: message.into(),
        }
    }

    /// An error at a 1-based file line.
    pub fn at_line(line: usize, message: impl Into<String>) -> Self {
        HistoryError {
            line: Some(line),
            message: message.into(),
        }
    }
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for HistoryError {}

/// A validated history and the model it is to be checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History {
    /// Which bundled model's rules apply (named by the file's header line, `kv` by default).
    model: ModelKind,
    /// The operations, in the order they were recorded (the checker does not need any order).
    ops: Vec<KvOperation>,
    /// Each replica's final value of each key it reported, sorted by (replica, key): what
    /// eventual convergence compares. Empty when the recorder read no final state.
    finals: Vec<FinalValue>,
}

/// The most values one final value may hold (siblings of one key on one replica): bounds
/// memory for untrusted input.
pub const SIBLINGS_MAX: usize = 64;

/// One replica's final value of one key, read after a quiet period: what eventual convergence
/// compares across replicas. A key a replica did not report reads as absent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FinalValue {
    /// The replica that reported it (any number the recorder uses for its nodes).
    pub replica: u64,
    /// The key.
    pub key: String,
    /// Its values, sorted and distinct: none = the key is absent, one = a register's value,
    /// several = siblings (a store that keeps concurrent writes side by side, Dynamo-style, or
    /// a multi-value register). Sorted, so equal states compare equal.
    pub values: Vec<String>,
}

impl FinalValue {
    /// Replica `replica` ends with `values` at `key` (sorted here; duplicates are refused by
    /// [`History::with_finals`]).
    pub fn new(replica: u64, key: &str, values: &[&str]) -> Self {
        let mut values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        values.sort();
        FinalValue {
            replica,
            key: key.to_string(),
            values,
        }
    }
}

impl fmt::Display for FinalValue {
    /// `replica 2: k = "x"`, `replica 2: k = nil`, `replica 2: k = {"x", "y"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replica {}: {} = {}",
            self.replica,
            self.key,
            show_values(&self.values)
        )
    }
}

/// A final value's values as one word: `nil`, `"x"`, or `{"x", "y"}` (siblings).
pub(crate) fn show_values(values: &[String]) -> String {
    match values {
        [] => "nil".to_string(),
        [one] => format!("{one:?}"),
        many => {
            let shown: Vec<String> = many.iter().map(|v| format!("{v:?}")).collect();
            format!("{{{}}}", shown.join(", "))
        }
    }
}

impl History {
    /// A history of `ops` under `model`; rejects an operation that breaks an invariant
    /// (see the module docs), naming it by its index.
    pub fn new(model: ModelKind, ops: Vec<KvOperation>) -> Result<Self, HistoryError> {
        for (i, op) in ops.iter().enumerate() {
            validate(model, op).map_err(|m| HistoryError::new(format!("operation #{i}: {m}")))?;
        }
        Ok(History {
            model,
            ops,
            finals: Vec::new(),
        })
    }

    /// This history with the replicas' final state; rejects two final values for one
    /// (replica, key), a value listed twice, or more than [`SIBLINGS_MAX`] values.
    pub fn with_finals(mut self, mut finals: Vec<FinalValue>) -> Result<Self, HistoryError> {
        for f in &mut finals {
            f.values.sort();
            if f.values.len() > SIBLINGS_MAX {
                return Err(HistoryError::new(format!(
                    "final value of {} on replica {}: {} values, at most {SIBLINGS_MAX}",
                    f.key,
                    f.replica,
                    f.values.len()
                )));
            }
            if let Some(dup) = f.values.windows(2).find(|w| w[0] == w[1]) {
                return Err(HistoryError::new(format!(
                    "final value of {} on replica {} lists {:?} twice",
                    f.key, f.replica, dup[0]
                )));
            }
        }
        finals.sort();
        if let Some(w) = finals
            .windows(2)
            .find(|w| (w[0].replica, &w[0].key) == (w[1].replica, &w[1].key))
        {
            return Err(HistoryError::new(format!(
                "replica {} reports two final values for key {}",
                w[0].replica, w[0].key
            )));
        }
        self.finals = finals;
        Ok(self)
    }

    /// The replicas' final values, sorted by (replica, key); empty if none were recorded.
    pub fn finals(&self) -> &[FinalValue] {
        &self.finals
    }

    /// The model this history is checked against.
    pub fn model(&self) -> ModelKind {
        self.model
    }

    /// The operations, in recorded order.
    pub fn ops(&self) -> &[KvOperation] {
        &self.ops
    }

    /// Check with the default [`Checker`] (all cores, default budget).
    pub fn check(&self) -> CheckResult {
        Checker::default().check_history(self)
    }
}

/// Whether one operation keeps the history's invariants; the error says which one it breaks.
pub(crate) fn validate(model: ModelKind, op: &KvOperation) -> Result<(), String> {
    validate_command(model, &op.input)?;
    if let Completion::Returned { at, output } = &op.completion {
        if *at < op.invoke {
            return Err(format!(
                "returns at t={at}, before its invoke at t={}",
                op.invoke
            ));
        }
        if !op.input.accepts_outcome(output) {
            return Err(format!(
                "{} gets {} as output, not {output}",
                op.input.name(),
                op.input.wanted()
            ));
        }
    }
    Ok(())
}

/// Whether the model knows `command` and it is well formed: a transaction holds 1 to
/// [`MULTI_OPS_MAX`] sub-commands and no transaction; a time to live is at least 1.
fn validate_command(model: ModelKind, command: &Command) -> Result<(), String> {
    if !model.accepts(command) {
        return Err(format!(
            "the {model} model has no {} operation",
            command.name()
        ));
    }
    match command {
        Command::Multi(commands) => {
            if commands.is_empty() || commands.len() > MULTI_OPS_MAX {
                return Err(format!(
                    "a multi holds 1 to {MULTI_OPS_MAX} sub-commands, not {}",
                    commands.len()
                ));
            }
            if commands.iter().any(|c| matches!(c, Command::Multi(_))) {
                return Err("a multi cannot hold another multi".to_string());
            }
            commands.iter().try_for_each(|c| validate_command(model, c))
        }
        Command::PutPx { ttl_ms: 0, .. } | Command::PExpire { ttl_ms: 0, .. } => Err(format!(
            "{} needs a time to live of at least 1",
            command.name()
        )),
        _ => Ok(()),
    }
}

/// A handle to an operation recorded by [`HistoryBuilder::invoke`], used to complete it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(usize);

/// Records a history as it happens (see the module docs for the flow).
#[derive(Clone, Debug, Default)]
pub struct HistoryBuilder {
    /// The model the finished history is checked against.
    model: ModelKind,
    /// Operations so far; an entry stays `NoReturn` until completed.
    ops: Vec<KvOperation>,
    /// What was sent for each operation recorded with [`HistoryBuilder::invoke_kv`] and not
    /// yet completed: its reply is read against the body (`DEL a b`'s one count stands for
    /// two deletes), which the model's command alone no longer shows.
    pending_kv: BTreeMap<usize, kv::Body>,
    /// Final values recorded with [`HistoryBuilder::final_value`], validated by `build`.
    finals: Vec<FinalValue>,
}

impl HistoryBuilder {
    /// A builder for a `kv` history.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for a history checked against `model`.
    pub fn with_model(model: ModelKind) -> Self {
        HistoryBuilder {
            model,
            ..Self::default()
        }
    }

    /// Record that `client` sent `body` (the store's own request body: one command, or an
    /// `EXEC`) at time `at`. Errors, recording nothing, if the model cannot state it
    /// (`kv/request.rs` lists what it knows).
    pub fn invoke_kv(
        &mut self,
        client: ClientId,
        body: &kv::Body,
        at: Time,
    ) -> Result<OpId, HistoryError> {
        let command = command_from_kv(body).map_err(HistoryError::new)?;
        validate_command(self.model, &command).map_err(HistoryError::new)?;
        let id = self.invoke(client, command, at);
        self.pending_kv.insert(id.0, body.clone());
        Ok(id)
    }

    /// Record that operation `id`, invoked with [`HistoryBuilder::invoke_kv`], was answered
    /// `reply` at time `at`. Errors, recording nothing, as [`HistoryBuilder::complete`] does,
    /// or if the model cannot state the reply (an error other than `WRONGTYPE`, a shape the
    /// command never answers): the operation then stays "no return", the safe reading.
    pub fn complete_kv(
        &mut self,
        id: OpId,
        reply: &kv::Reply,
        at: Time,
    ) -> Result<(), HistoryError> {
        let Some(body) = self.pending_kv.get(&id.0) else {
            return Err(HistoryError::new(format!(
                "operation #{} was not invoked with invoke_kv, or completed already",
                id.0
            )));
        };
        let output = outcome_from_kv(body, reply)
            .map_err(|m| HistoryError::new(format!("operation #{}: {m}", id.0)))?;
        self.complete(id, output, at)?;
        self.pending_kv.remove(&id.0);
        Ok(())
    }

    /// Record that `client` sent `command` at time `at`.
    pub fn invoke(&mut self, client: ClientId, command: Command, at: Time) -> OpId {
        self.ops.push(Operation::no_return(client, command, at));
        OpId(self.ops.len() - 1)
    }

    /// Record that operation `id` returned `output` at time `at`.
    ///
    /// Errors (and records nothing) if `id` already completed, `at` is before its invoke, or
    /// `output` is not the kind of answer its command gets.
    pub fn complete(&mut self, id: OpId, output: Outcome, at: Time) -> Result<(), HistoryError> {
        let op = self
            .ops
            .get_mut(id.0)
            .ok_or_else(|| HistoryError::new(format!("operation #{} was never invoked", id.0)))?;
        if op.ret().is_some() {
            return Err(HistoryError::new(format!(
                "operation #{} completed twice",
                id.0
            )));
        }
        let candidate = Operation::returned(op.client, op.input.clone(), op.invoke, at, output);
        validate(self.model, &candidate)
            .map_err(|m| HistoryError::new(format!("operation #{}: {m}", id.0)))?;
        *op = candidate;
        Ok(())
    }

    /// Record a finished operation in one call (invoke and return already known).
    pub fn returned(
        &mut self,
        client: ClientId,
        command: Command,
        invoke: Time,
        ret: Time,
        output: Outcome,
    ) -> Result<OpId, HistoryError> {
        let id = self.invoke(client, command, invoke);
        if let Err(e) = self.complete(id, output, ret) {
            self.ops.pop();
            return Err(e);
        }
        Ok(id)
    }

    /// Record an operation that never returned (same as `invoke` without `complete`).
    pub fn no_return(&mut self, client: ClientId, command: Command, invoke: Time) -> OpId {
        self.invoke(client, command, invoke)
    }

    /// How many operations are recorded.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing is recorded yet.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Record that replica `replica` ended with `values` at `key` after the quiet period (none:
    /// absent; several: siblings).
    pub fn final_value(&mut self, replica: u64, key: &str, values: &[&str]) {
        self.finals.push(FinalValue::new(replica, key, values));
    }

    /// The finished history; operations never completed are "no return". Errors if a command
    /// is one the model does not understand, or the final values break their invariants.
    pub fn build(self) -> Result<History, HistoryError> {
        History::new(self.model, self.ops)?.with_finals(self.finals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_never_completed_is_recorded_as_no_return() {
        let mut b = HistoryBuilder::new();
        let put = b.invoke(1, Command::put("k", "x"), 10);
        b.invoke(2, Command::get("k"), 11);
        b.complete(put, Outcome::Done, 14).unwrap();
        let h = b.build().unwrap();
        assert_eq!(h.ops()[0].ret(), Some(14));
        assert_eq!(h.ops()[1].completion, Completion::NoReturn);
    }

    #[test]
    fn completing_twice_or_before_the_invoke_is_an_error_not_a_crash() {
        let mut b = HistoryBuilder::new();
        let id = b.invoke(1, Command::put("k", "x"), 10);
        let early = b.complete(id, Outcome::Done, 9).unwrap_err();
        assert!(early.message.contains("before its invoke"), "{early}");
        b.complete(id, Outcome::Done, 12).unwrap();
        let twice = b.complete(id, Outcome::Done, 13).unwrap_err();
        assert!(twice.message.contains("completed twice"), "{twice}");
    }

    #[test]
    fn an_output_of_the_wrong_kind_is_rejected_with_what_was_expected() {
        let mut b = HistoryBuilder::new();
        let err = b
            .returned(1, Command::cas("k", None, "x"), 1, 2, Outcome::Done)
            .unwrap_err();
        assert!(err.message.contains("true or false"), "{err}");
        assert!(b.is_empty(), "a rejected operation leaves nothing behind");
    }

    #[test]
    fn a_register_history_cannot_contain_an_increment() {
        let mut b = HistoryBuilder::with_model(ModelKind::Register);
        b.no_return(1, Command::incr("k", 1), 5);
        let err = b.build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "operation #0: the register model has no incr operation"
        );
    }
}
