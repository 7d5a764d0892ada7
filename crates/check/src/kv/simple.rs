//! The two single-key models: a read/write register and a counter.
//!
//! ```text
//!   register  get put      state: Option<String>  (nil = absent)
//!   counter   get incr     state: i64             (absent reads as 0)
//! ```
//!
//! Both partition by key and keep one key's value: the classic small examples, and cheaper
//! than the kv model when a history uses nothing else. History validation keeps every other
//! command (and transactions) out of their histories.

use super::command::{show, Command};
use super::outcome::{describe, Outcome};
use crate::model::Model;

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

    fn keys(&self, input: &Command) -> Vec<String> {
        vec![input.key().to_string()]
    }

    fn is_read_only(&self, input: &Command) -> bool {
        matches!(input, Command::Get { .. })
    }

    fn describe_operation(&self, input: &Command, output: Option<&Outcome>) -> String {
        describe(input, output)
    }

    fn describe_state(&self, state: &Self::State) -> String {
        show(state.as_deref())
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

    fn keys(&self, input: &Command) -> Vec<String> {
        vec![input.key().to_string()]
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
