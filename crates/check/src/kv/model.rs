//! [`KvModel`]: a Redis-like store over the keys of one partition.
//!
//! One step, for each world the state still allows (`kv/state.rs`):
//!
//! ```text
//!   world ──copy──► (logged write?) drop keys certainly expired       kv/expiry.rs rule 1
//!           │
//!           ├─ split on each touched key whose deadline is in doubt   rule 3
//!           ▼
//!   candidate worlds ──run the command (or each sub-command of a transaction, in order)──►
//!           │            answer == what the client saw?  (no return: any answer)
//!           ▼
//!   the candidates that fit, sorted and distinct ──► next state   (none fit ──► None)
//! ```
//!
//! Semantics follow Redis, which the server's RESP front end speaks: `append` to an absent key
//! creates it, `incr` treats an absent key as 0 and a non-integer as an error, `put` drops a
//! deadline while `append`, `incr` and the typed writes keep it, a command on a key of another
//! type answers `WRONGTYPE` and changes nothing, and `cas` (not Redis: the store's own) with
//! `expected = nil` succeeds only if the key is absent and, on success, writes like `put`.
//!
//! Transactions: the sub-commands run in order on one world, as one step, and all see one
//! clock (one log entry). An aborted transaction (`EXEC` answered nil because a `WATCH`ed key
//! changed) applied nothing, so it is a no-op wherever it is placed: the model accepts it
//! anywhere and the checker drops it before searching. That is sound for what was applied; it
//! cannot tell whether the abort itself was justified, which needs the `WATCH` history.
//!
//! With no return (`output = None`) every command is accepted from every state (see the
//! contract in `model.rs`): a `cas` swaps if the compare holds, an `incr` on a non-integer
//! changes nothing (it would have failed), a read changes nothing.

use std::sync::Arc;

use super::command::Command;
use super::expiry::{expire_certain, in_doubt, run_expiry, ttl_fits, WORLDS_MAX};
use super::outcome::{describe, Outcome};
use super::state::KvState;
use super::types::{fresh, run_typed, Slot, Value};
use crate::model::{Interval, Model};

/// A Redis-like key-value store (strings, hashes, lists, sets, sorted sets, deadlines and
/// transactions); one partition's keys per state.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

/// The model gave up: too many possible worlds.
struct Lost;

impl Model for KvModel {
    type State = KvState;
    type Input = Command;
    type Output = Outcome;

    fn name(&self) -> &str {
        "kv"
    }

    fn init(&self) -> KvState {
        KvState::empty(Arc::from(Vec::new()))
    }

    fn init_partition(&self, keys: &[String]) -> KvState {
        KvState::empty(keys.to_vec().into())
    }

    fn step(&self, state: &KvState, input: &Command, output: Option<&Outcome>) -> Option<KvState> {
        self.step_during(state, input, output, Interval::UNKNOWN)
    }

    fn step_during(
        &self,
        state: &KvState,
        input: &Command,
        output: Option<&Outcome>,
        at: Interval,
    ) -> Option<KvState> {
        if state.lost {
            return Some(state.clone());
        }
        let state = state.with_keys(&input.keys());
        if state.keys.is_empty() {
            // Only an empty transaction touches no key: nothing to run it on.
            return run(&[], &mut [], input, output, at).then_some(state);
        }
        let mut next = Vec::with_capacity(state.slots.len());
        for w in 0..state.worlds {
            if step_world(&state, w, input, output, at, &mut next).is_err() {
                return Some(lost(&state));
            }
        }
        let worlds = next.len() / state.keys.len();
        if worlds == 0 {
            return None;
        }
        let mut after = KvState {
            keys: state.keys,
            slots: next,
            worlds,
            lost: false,
        };
        after.normalize();
        Some(after)
    }

    fn keys(&self, input: &Command) -> Vec<String> {
        input.keys().into_iter().map(str::to_string).collect()
    }

    fn is_read_only(&self, input: &Command) -> bool {
        input.is_read()
    }

    fn reads_may_change(&self, state: &KvState) -> bool {
        state.worlds > 1 || state.has_deadlines()
    }

    fn is_no_op(&self, input: &Command, output: Option<&Outcome>) -> bool {
        matches!(output, Some(Outcome::Aborted)) || (output.is_none() && input.is_read())
    }

    fn gave_up(&self, state: &KvState) -> bool {
        state.lost
    }

    fn describe_operation(&self, input: &Command, output: Option<&Outcome>) -> String {
        describe(input, output)
    }

    fn describe_state(&self, state: &KvState) -> String {
        state.describe()
    }
}

/// The state the model gives up in.
fn lost(state: &KvState) -> KvState {
    KvState {
        keys: state.keys.clone(),
        slots: Vec::new(),
        worlds: 0,
        lost: true,
    }
}

/// Append to `next` every world that world `w` of `state` can become under `input` with
/// `output`: none if the output is impossible there, two or more if expiry is in doubt.
fn step_world(
    state: &KvState,
    w: usize,
    input: &Command,
    output: Option<&Outcome>,
    at: Interval,
    next: &mut Vec<Slot>,
) -> Result<(), Lost> {
    let k = state.keys.len();
    let start = next.len();
    next.extend_from_slice(state.world(w));
    if state.has_deadlines() {
        if is_logged(input, output) {
            expire_certain(&mut next[start..], at.invoke);
        }
        for key in input.keys() {
            let i = state.index(key).expect("with_keys added every key");
            split_on(next, start, k, i, at)?;
        }
    }
    // Run the command on each candidate; keep, packed at the front, those that fit.
    let candidates = (next.len() - start) / k;
    let mut kept = 0;
    for c in 0..candidates {
        let row = start + c * k..start + (c + 1) * k;
        if run(&state.keys, &mut next[row], input, output, at) {
            if kept != c {
                for j in 0..k {
                    next.swap(start + kept * k + j, start + c * k + j);
                }
            }
            kept += 1;
        }
    }
    next.truncate(start + kept * k);
    if next.len() / k > WORLDS_MAX {
        return Err(Lost);
    }
    Ok(())
}

/// Split every candidate row from `start` on whether key `i` is already gone (rule 3).
fn split_on(
    next: &mut Vec<Slot>,
    start: usize,
    k: usize,
    i: usize,
    at: Interval,
) -> Result<(), Lost> {
    let rows = (next.len() - start) / k;
    for c in 0..rows {
        if in_doubt(&next[start + c * k + i], at) {
            if next.len() / k >= WORLDS_MAX * 2 {
                return Err(Lost);
            }
            let mut gone = next[start + c * k..start + (c + 1) * k].to_vec();
            gone[i] = None;
            next.extend(gone);
        }
    }
    Ok(())
}

/// Whether the operation went through the log, so its stamp is at or after its invoke:
/// a command that changes something and did not answer `WRONGTYPE` (which a store might
/// answer without logging). Reads may be served without the log (read index, leases).
fn is_logged(input: &Command, output: Option<&Outcome>) -> bool {
    !input.is_read() && !matches!(output, Some(Outcome::WrongType | Outcome::Aborted))
}

/// Run `input` on one world's row; whether `output` is what it would have answered.
fn run(
    keys: &[String],
    row: &mut [Slot],
    input: &Command,
    output: Option<&Outcome>,
    at: Interval,
) -> bool {
    match (input, output) {
        (Command::Multi(_), Some(Outcome::Aborted)) => true,
        (Command::Multi(commands), Some(Outcome::Multi(outs))) => {
            commands.len() == outs.len()
                && commands
                    .iter()
                    .zip(outs)
                    .all(|(c, o)| run(keys, row, c, Some(o), at))
        }
        (Command::Multi(commands), None) => commands.iter().all(|c| run(keys, row, c, None, at)),
        (Command::Multi(_), Some(_)) => false,
        (one, output) => {
            let i = keys
                .binary_search_by(|k| k.as_str().cmp(one.key()))
                .expect("with_keys added every key");
            run_one(&mut row[i], one, output, at)
        }
    }
}

/// Run one command on its key's slot; whether `output` fits. A command the store would answer
/// with an error the history cannot name (incr of a non-integer) fits only with no return, and
/// then changes nothing.
fn run_one(slot: &mut Slot, command: &Command, output: Option<&Outcome>, at: Interval) -> bool {
    if let (Command::PTtl { .. } | Command::Ttl { .. }, Some(Some(d)), Some(Outcome::Int(said))) =
        (command, slot.as_ref().map(|e| e.deadline), output)
    {
        return ttl_fits(d, *said, at, matches!(command, Command::Ttl { .. }));
    }
    let answer = run_typed(slot, command)
        .or_else(|| run_expiry(slot, command, at))
        .or_else(|| run_string(slot, command));
    match (output, answer) {
        // No return: whatever it answered; an error changed nothing (`run_*` leave the slot
        // alone when they answer `None`).
        (None, _) => true,
        (Some(said), Some(answer)) => *said == answer,
        (Some(_), None) => false,
    }
}

/// Run a string command (get put append cas delete incr); `None` if the store would answer an
/// error the history has no name for (or if `command` is not one of these).
fn run_string(slot: &mut Slot, command: &Command) -> Option<Outcome> {
    let current = match slot.as_ref().map(|e| &e.value) {
        None => None,
        Some(Value::Str(s)) => Some(s.as_str()),
        Some(_) if command.can_be_wrongtype() => return Some(Outcome::WrongType),
        Some(_) => None,
    };
    let answer = match command {
        Command::Get { .. } => Outcome::Value(current.map(str::to_string)),
        Command::Put { value, .. } => {
            *slot = Some(fresh(Value::Str(value.clone())));
            Outcome::Done
        }
        Command::Delete { .. } => {
            *slot = None;
            Outcome::Done
        }
        Command::Append { value, .. } => {
            let joined = format!("{}{value}", current.unwrap_or(""));
            set_keeping_deadline(slot, joined);
            Outcome::Done
        }
        Command::Cas { expected, new, .. } => {
            let swaps = current == expected.as_deref();
            if swaps {
                *slot = Some(fresh(Value::Str(new.clone())));
            }
            Outcome::Swapped(swaps)
        }
        Command::Incr { delta, .. } => {
            let now = current.map_or(Some(0), |s| s.parse::<i64>().ok())?;
            let next = now.checked_add(*delta)?;
            set_keeping_deadline(slot, next.to_string());
            Outcome::Counter(next)
        }
        _ => return None,
    };
    Some(answer)
}

/// Give the key string `value`, keeping its deadline if it had one (Redis `APPEND`, `INCR`).
fn set_keeping_deadline(slot: &mut Slot, value: String) {
    match slot {
        Some(entry) => entry.value = Value::Str(value),
        None => *slot = Some(fresh(Value::Str(value))),
    }
}
